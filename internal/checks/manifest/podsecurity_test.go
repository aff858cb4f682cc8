package manifest

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	psaapi "k8s.io/pod-security-admission/api"
	psa "k8s.io/pod-security-admission/policy"

	"github.com/plimsoll/plimsoll/internal/checks/checktest"
	"github.com/plimsoll/plimsoll/internal/checks/pod"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/manifest"
)

// TestSecretValuesNotReported makes sure secret-literal-env names the
// variable but never prints its value: every literal value of a variable the
// check flags must be absent from the expected findings.
func TestSecretValuesNotReported(t *testing.T) {
	fails, _ := filepath.Glob(filepath.Join("..", "testdata", "secret-literal-env", "fail-*.yaml"))
	if len(fails) == 0 {
		t.Fatal("no fail fixtures for secret-literal-env")
	}
	for _, f := range fails {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		golden, err := os.ReadFile(strings.TrimSuffix(f, ".yaml") + ".golden")
		if err != nil {
			t.Fatal(err)
		}
		loaded := manifest.Parse(f, data, inventory.Source{File: f})
		var flagged int
		for _, o := range loaded.Objects {
			for _, c := range pod.Containers(o) {
				for _, e := range c.Env {
					if e.ValueFrom != nil || (!literalSecret(e.Name, e.Value) && literalCredential(e.Value) == "") {
						continue
					}
					flagged++
					if !strings.Contains(string(golden), e.Name) {
						t.Errorf("%s: findings do not name the variable %s", f, e.Name)
					}
					if strings.Contains(string(golden), e.Value) || credentialShown(string(golden), e.Value) {
						t.Errorf("%s: findings contain the value of %s", f, e.Name)
					}
				}
			}
		}
		if flagged == 0 {
			t.Errorf("%s: no variable flagged", f)
		}
	}
}

// credentialShown reports whether text contains the credential a value
// holds, or the password of a URL in it.
func credentialShown(text, value string) bool {
	for _, p := range credentialPatterns {
		if m := p.re.FindString(value); m != "" && strings.Contains(text, m) {
			return true
		}
	}
	for _, m := range urlPassword.FindAllStringSubmatch(value, -1) {
		if strings.Contains(text, m[1]) {
			return true
		}
	}
	return false
}

// TestPSSControlsMatchEvaluator holds pssControls to the Pod Security
// library's own evaluator at the latest policy version, on every workload of
// the corpus and the fixtures: baseline gives what the evaluator gives at
// baseline, in its order, and the restricted level is the baseline controls
// no restricted control replaces plus the restricted ones.
func TestPSSControlsMatchEvaluator(t *testing.T) {
	ev, err := psa.NewEvaluator(psa.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	objects := checktest.CorpusObjects(t)
	fixtures := manifest.Load(context.Background(), []string{filepath.Join("..", "testdata")}, manifest.Options{})
	objects = append(objects, fixtures.Objects...)
	failing := func(rs []psa.CheckResult) []psa.CheckResult {
		var out []psa.CheckResult
		for _, r := range rs {
			if !r.Allowed {
				out = append(out, r)
			}
		}
		return out
	}
	byText := func(a, b psa.CheckResult) int {
		return strings.Compare(a.ForbiddenReason+a.ForbiddenDetail, b.ForbiddenReason+b.ForbiddenDetail)
	}
	set := pssControls()
	overridden := map[string]bool{}
	var evaluated int
	for _, o := range objects {
		tmpl, _ := o.PodTemplate()
		if tmpl == nil {
			continue
		}
		evaluated++
		at := func(level psaapi.Level) []psa.CheckResult {
			return failing(ev.EvaluatePod(psaapi.LevelVersion{Level: level, Version: psaapi.LatestVersion()}, &tmpl.ObjectMeta, &tmpl.Spec))
		}
		if diff := cmp.Diff(at(psaapi.LevelBaseline), pssViolations(o, set.baseline)); diff != "" {
			t.Errorf("%s: baseline (-evaluator +pssControls):\n%s", o.ID(), diff)
		}
		for _, r := range pssViolations(o, set.overridden) {
			overridden[r.ForbiddenReason] = true
		}
		var restricted []psa.CheckResult
		for _, r := range pssViolations(o, set.baseline) {
			if !slices.ContainsFunc(pssViolations(o, set.overridden), func(x psa.CheckResult) bool { return x == r }) {
				restricted = append(restricted, r)
			}
		}
		restricted = append(restricted, pssViolations(o, set.restricted)...)
		want := at(psaapi.LevelRestricted)
		slices.SortFunc(want, byText)
		slices.SortFunc(restricted, byText)
		if diff := cmp.Diff(want, restricted); diff != "" {
			t.Errorf("%s: restricted (-evaluator +pssControls):\n%s", o.ID(), diff)
		}
	}
	if evaluated < 100 || len(overridden) == 0 {
		t.Errorf("evaluated %d workloads, %d with an overridden control failing; want at least 100, and some", evaluated, len(overridden))
	}
}
