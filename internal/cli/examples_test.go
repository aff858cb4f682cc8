package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/plimsoll/plimsoll/internal/report"
)

// The examples directory is the demo of what plimsoll finds (not-ready) and
// what passing looks like (ready); these tests keep both true as checks
// change.
const (
	examplesReady    = "../../examples/ready"
	examplesNotReady = "../../examples/not-ready"
)

// examplesConfig turns on the checks that need configuration; written as
// .plimsoll.yaml into the working directory, it is found like a user's.
const examplesConfig = `checks:
  enable: [recommended-labels]
parameters:
  allowedRegistries: [registry.example.com]
`

// auditExample runs plimsoll in-process in dir with args and returns the
// exit code, the decoded report (when the output is JSON) and stderr.
func auditExample(t *testing.T, dir string, args ...string) (int, *report.Report, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(context.Background(), append([]string{"audit"}, args...), Streams{
		In:     bytes.NewReader(nil),
		Out:    &out,
		Err:    &errOut,
		Getenv: func(string) string { return "" },
		Dir:    dir,
	})
	var rep *report.Report
	for _, a := range args {
		if a == "json" {
			rep = &report.Report{}
			if err := json.Unmarshal(out.Bytes(), rep); err != nil {
				t.Fatalf("decode JSON report: %v\nstderr: %s", err, errOut.String())
			}
		}
	}
	return code, rep, errOut.String()
}

// exampleProblems lists the fail and error results of a report, for messages.
func exampleProblems(rep *report.Report) []string {
	var out []string
	for _, r := range rep.Results {
		if r.Status == "fail" || r.Status == "error" {
			out = append(out, r.Status+" "+r.Check+" "+r.Object.ID()+" ("+r.Source.Where()+"): "+r.Message)
		}
	}
	return out
}

func assertExampleReady(t *testing.T, dir string, args ...string) {
	t.Helper()
	code, rep, stderr := auditExample(t, dir, append([]string{examplesReady, "-o", "json"}, args...)...)
	if code != ExitOK {
		t.Errorf("exit code %d, want %d; stderr: %s", code, ExitOK, stderr)
	}
	if rep.Partial || len(rep.InputErrors) > 0 {
		t.Errorf("partial run, input errors: %+v", rep.InputErrors)
	}
	if rep.Summary.Fail != 0 || rep.Summary.Error != 0 {
		t.Errorf("%d fail and %d error results, want none:", rep.Summary.Fail, rep.Summary.Error)
		for _, p := range exampleProblems(rep) {
			t.Log("  ", p)
		}
	}
	if rep.Summary.Pass == 0 {
		t.Error("no check passed: were the examples read at all?")
	}
	for _, c := range rep.Checks {
		if c.Error > 0 {
			t.Errorf("check %s: %d errors", c.ID, c.Error)
		}
	}
	assessed := map[string]bool{}
	for _, l := range rep.Score.Layers {
		if l.Score == nil {
			continue
		}
		assessed[l.Layer] = true
		if *l.Score != 100 {
			t.Errorf("layer %s scores %v, want 100", l.Layer, *l.Score)
		}
	}
	for _, layer := range []string{"workloads", "security", "governance", "upgrade"} {
		if !assessed[layer] {
			t.Errorf("layer %s was not assessed", layer)
		}
	}
	if rep.Score.Overall == nil || *rep.Score.Overall != 100 {
		t.Errorf("overall score %v, want 100", rep.Score.Overall)
	}
}

func TestExamplesReady(t *testing.T) {
	assertExampleReady(t, t.TempDir())
}

func TestExamplesReadyWithConfiguredChecks(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".plimsoll.yaml"), []byte(examplesConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	assertExampleReady(t, dir)

	// The configuration must have been found and used: the checks it
	// turns on ran.
	_, rep, _ := auditExample(t, dir, examplesReady, "-o", "json")
	for _, id := range []string{"image-registry-allowed", "recommended-labels"} {
		var found bool
		for _, c := range rep.Checks {
			if c.ID == id {
				found = true
				if c.Pass == 0 {
					t.Errorf("check %s passed on no object", id)
				}
			}
		}
		if !found {
			t.Errorf("check %s is not in the report", id)
		}
	}
}

func TestExamplesReadyGates(t *testing.T) {
	code, _, stderr := auditExample(t, t.TempDir(), examplesReady, "--fail-on", "low", "--min-score", "100")
	if code != ExitOK {
		t.Errorf("--fail-on low --min-score 100: exit code %d, want %d; stderr: %s", code, ExitOK, stderr)
	}
}

func TestExamplesNotReady(t *testing.T) {
	code, rep, stderr := auditExample(t, t.TempDir(), examplesNotReady, "-o", "json")
	if code != ExitOK {
		t.Errorf("exit code %d without gates, want %d; stderr: %s", code, ExitOK, stderr)
	}
	if rep.Partial || len(rep.InputErrors) > 0 {
		t.Errorf("partial run, input errors: %+v", rep.InputErrors)
	}
	if rep.Summary.Error != 0 {
		t.Errorf("%d error results, want none:", rep.Summary.Error)
		for _, p := range exampleProblems(rep) {
			t.Log("  ", p)
		}
	}

	failed := map[string]int{}
	for _, r := range rep.Results {
		if r.Status == "fail" {
			failed[r.Layer]++
		}
	}
	for _, layer := range []string{"workloads", "security", "governance", "upgrade"} {
		if failed[layer] == 0 {
			t.Errorf("no failure in layer %s", layer)
		}
	}
	for _, l := range rep.Score.Layers {
		if l.Score != nil && *l.Score >= 100 {
			t.Errorf("layer %s scores %v, want below 100", l.Layer, *l.Score)
		}
	}

	// The mistakes the demo is built around must each be found.
	fails := map[string]int{}
	for _, c := range rep.Checks {
		fails[c.ID] = c.Fail
	}
	for _, id := range []string{
		"container-liveness-probe", "liveness-readiness-probes-differ", "image-tag-latest",
		"workload-min-replicas", "pdb-allows-disruption", "container-cpu-request",
		"default-service-account", "secret-literal-env", "pss-baseline", "pss-restricted",
		"namespace-default-deny-ingress", "namespace-default-deny-egress", "egress-allows-dns",
		"rbac-wildcard", "rbac-cluster-admin-binding", "namespace-limitrange",
		"namespace-resourcequota", "workload-cost-labels",
		"workload-default-namespace", "api-removed",
	} {
		if fails[id] == 0 {
			t.Errorf("check %s fails on no object of not-ready", id)
		}
	}
	// The demo aims at every check failing somewhere; name the others that
	// do not, without failing, so new checks do not break this test.
	for _, c := range rep.Checks {
		if c.Fail == 0 {
			t.Logf("check %s fails on no object of not-ready (%d pass, %d skip)", c.ID, c.Pass, c.Skip)
		}
	}
}

func TestExamplesNotReadyGate(t *testing.T) {
	code, _, stderr := auditExample(t, t.TempDir(), examplesNotReady, "--fail-on", "high")
	if code != ExitGate {
		t.Errorf("--fail-on high: exit code %d, want %d; stderr: %s", code, ExitGate, stderr)
	}
}
