package manifest

import (
	"context"
	"os"
	"path/filepath"
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

// TestPSSControlsMatchEvaluator holds pssAt to the Pod Security library's
// own evaluator on every workload of the corpus and the fixtures, at both
// levels and at every policy version from v1.0 to one past the newest
// check's, and latest: the same failing controls, in the same order, so
// pod-security-admits-pods words them as the API server does. pss-baseline
// and pss-restricted read the latest set's parts.
func TestPSSControlsMatchEvaluator(t *testing.T) {
	ev, err := psa.NewEvaluator(psa.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	versions := []psaapi.Version{psaapi.LatestVersion()}
	newest := 0
	for _, c := range psa.DefaultChecks() {
		newest = max(newest, c.Versions[len(c.Versions)-1].MinimumVersion.Minor())
	}
	for minor := 0; minor <= newest+1; minor++ {
		versions = append(versions, psaapi.MajorMinorVersion(1, minor))
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
	var evaluated, overridden int
	for _, o := range objects {
		tmpl, _ := o.PodTemplate()
		if tmpl == nil {
			continue
		}
		evaluated++
		if len(pssViolations(o, pssControls().overridden)) > 0 {
			overridden++
		}
		for _, v := range versions {
			for _, level := range []psaapi.Level{psaapi.LevelBaseline, psaapi.LevelRestricted} {
				lv := psaapi.LevelVersion{Level: level, Version: v}
				want := failing(ev.EvaluatePod(lv, &tmpl.ObjectMeta, &tmpl.Spec))
				if diff := cmp.Diff(want, templateViolations(tmpl, pssAt(lv))); diff != "" {
					t.Errorf("%s at %s (-evaluator +pssAt):\n%s", o.ID(), lv, diff)
				}
			}
		}
	}
	if evaluated < 100 || overridden == 0 {
		t.Errorf("evaluated %d workloads, %d with an overridden control failing; want at least 100, and some", evaluated, overridden)
	}
}
