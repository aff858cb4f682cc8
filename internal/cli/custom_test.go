package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/internal/golden"
	"github.com/plimsoll/plimsoll/internal/report"
)

// The custom checks the README documents, run from this package's
// directory.
var (
	examplePolicies = filepath.Join("..", "..", "policies")
	notReady        = filepath.Join("..", "..", "examples", "not-ready")
)

// replicaCap is the custom check replica-cap, of Deployments, with these
// validations.
func replicaCap(validations string) string {
	return `apiVersion: plimsoll.dev/v1alpha1
kind: Check
metadata: {name: replica-cap}
check: {title: At most five replicas, layer: workloads, severity: low, rationale: A test., remediation: Scale down., checklistItem: Test rule}
spec:
  matchConstraints:
    resourceRules: [{apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}]
  validations:` + validations
}

// TestTestExamples runs plimsoll test on the README's custom checks: every
// fixture gives what it should.
func TestTestExamples(t *testing.T) {
	o := run(t, "test", examplePolicies)
	wantCode(t, o, ExitOK)
	golden.Check(t, filepath.Join("testdata", "test-examples.golden"), []byte(o.out), *update)
}

// TestTestFailures: a fixture the check does not meet, and a check without
// fixtures of a kind, fail the run with exit 1 and say which; a check file
// that does not load makes it exit 2.
func TestTestFailures(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "replicas.yaml", replicaCap(`
    - expression: object.spec.replicas <= 5
      messageExpression: "'replicas ' + string(object.spec.replicas) + ' is above 5'"
`))
	deployment := func(replicas string) string {
		return "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  replicas: " + replicas +
			"\n  selector: {matchLabels: {app: web}}\n  template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: web:1}]}}\n"
	}
	// Meant to fail, but passes: one replica.
	write(t, dir, "replica-cap/fail/one.yaml", deployment("1"))
	o := run(t, "test", dir)
	wantCode(t, o, ExitGate)
	for _, want := range []string{
		"FAIL replica-cap (" + filepath.Join(dir, "replicas.yaml") + ")\n",
		"  FAIL fail/one.yaml: want a failure, got 1 passed\n",
		"  FAIL no fixture: " + filepath.Join(dir, "replica-cap", "pass", "*.yaml") + "\n",
		"1 check(s), 1 fixture(s): 1 check(s) failed\n",
	} {
		if !strings.Contains(o.out, want) {
			t.Errorf("got:\n%s\nwant it to contain %q", o.out, want)
		}
	}

	// Meant to pass, but fails: the failure is shown.
	write(t, dir, "replica-cap/pass/nine.yaml", deployment("9"))
	o = run(t, "test", dir)
	wantCode(t, o, ExitGate)
	if want := "  FAIL pass/nine.yaml: want a pass, got 1 failed\n         Deployment shop/web: replicas 9 is above 5\n"; !strings.Contains(o.out, want) {
		t.Errorf("got:\n%s\nwant it to contain %q", o.out, want)
	}

	write(t, dir, "broken.yaml", "apiVersion: plimsoll.dev/v1alpha1\nkind: Check\nmetadata: {name: broken}\nspec: {validations: oops}\n")
	o = run(t, "test", dir)
	wantCode(t, o, ExitPartial)
	if !strings.Contains(o.errOut, filepath.Join(dir, "broken.yaml")+":4: check broken: spec.validations is a string, want a list") {
		t.Errorf("got stderr:\n%s\nwant the broken file's line and what is wrong", o.errOut)
	}
}

// TestAuditCustomChecks: custom checks are reported like built-in ones, in
// every format; a file that does not load is an input error of the run
// (exit 2), and the other checks still run.
func TestAuditCustomChecks(t *testing.T) {
	for _, format := range report.Formats() {
		o := run(t, "audit", notReady, "--checks", examplePolicies, "-o", format)
		wantCode(t, o, ExitOK)
		for _, id := range []string{"house-allowed-registries", "house-memory-limit", "house-team-label"} {
			if !strings.Contains(o.out, id) {
				t.Errorf("-o %s: the report does not name %s", format, id)
			}
		}
	}

	dir := t.TempDir()
	broken := write(t, dir, "broken.yaml", "apiVersion: plimsoll.dev/v1alpha1\nkind: Check\nmetadata: {name: broken}\ncheck: {layer: nowhere}\n")
	o := run(t, "audit", notReady, "--checks", examplePolicies, "--checks", broken, "-o", "json")
	wantCode(t, o, ExitPartial)
	r := decodeReport(t, o)
	if len(r.InputErrors) != 1 || r.InputErrors[0].File != broken || r.InputErrors[0].Line != 4 {
		t.Errorf("got input errors %+v, want the broken check file at line 4", r.InputErrors)
	}
	if got := results(r, "house-team-label"); !slices.Contains(got, "fail Deployment default/web") {
		t.Errorf("house-team-label: got %q, want it run though another file is broken", got)
	}
}

// TestCustomChecksConfig: the configuration's checks.custom loads custom
// checks, relative to the file, and its other keys may name them.
func TestCustomChecksConfig(t *testing.T) {
	abs, err := filepath.Abs(examplePolicies)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(abs, filepath.Join(dir, "policies")); err != nil {
		t.Fatal(err)
	}
	write(t, dir, ".plimsoll.yaml", `checks:
  custom: [policies]
  severity: {house-team-label: critical}
exemptions:
  - checks: [house-memory-limit]
    kinds: [Pod]
    reason: debug pods are short-lived
`)
	o := invocation{dir: dir}.run(t, "audit", notReady, "-o", "json")
	wantCode(t, o, ExitOK)
	r := decodeReport(t, o)
	var sev, exempted string
	for _, res := range r.Results {
		switch {
		case res.Check == "house-team-label" && res.Status == "fail":
			sev = res.Severity
		case res.Check == "house-memory-limit" && res.Object.Kind == "Pod":
			exempted = res.Status + ": " + res.Message
		}
	}
	if sev != "critical" {
		t.Errorf("house-team-label failed at severity %q, want critical from the configuration", sev)
	}
	if exempted != "skip: exempted by configuration: debug pods are short-lived" {
		t.Errorf("house-memory-limit on the Pod: got %q, want it exempted by the configuration", exempted)
	}

	o = invocation{dir: dir}.run(t, "checks", "-o", "json")
	wantCode(t, o, ExitOK)
	var rows []struct{ ID, File string }
	if err := json.Unmarshal([]byte(o.out), &rows); err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, row := range rows {
		if strings.HasPrefix(row.ID, "house-") {
			files = append(files, row.File)
		}
	}
	if len(files) != 4 || !strings.HasPrefix(files[0], filepath.Join(dir, "policies")) {
		t.Errorf("plimsoll checks with the configuration's custom checks: got files %q, want the four examples", files)
	}
}

// TestExplainCustomCheck: explain says where a custom check is defined and
// what the API server's type checker says of it.
func TestExplainCustomCheck(t *testing.T) {
	dir := t.TempDir()
	f := write(t, dir, "typo.yaml", replicaCap(`
    - expression: object.spec.replica <= 5
`))
	o := run(t, "checks", "explain", "replica-cap", "--checks", f)
	wantCode(t, o, ExitOK)
	for _, want := range []string{
		"replica-cap: At most five replicas\n",
		"An example that passes:\n  none: put manifests it must pass in " + filepath.Join(dir, "replica-cap", "pass") + "\n",
		"Defined in:\n  " + f + ":1, a custom check written in CEL\n",
		"Type checking (what the API server would put in status.typeChecking):\n  spec.validations[0].expression: apps/v1, Kind=Deployment: ERROR: <input>:1:12: undefined field 'replica'\n",
	} {
		if !strings.Contains(o.out, want) {
			t.Errorf("got:\n%s\nwant it to contain %q", o.out, want)
		}
	}
	o = run(t, "checks", "--checks", examplePolicies)
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.out, "\nhouse-team-label ") {
		t.Errorf("plimsoll checks --checks: got:\n%s\nwant the custom checks listed", o.out)
	}
}
