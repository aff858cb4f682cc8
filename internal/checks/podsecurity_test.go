package checks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/manifest"
)

// TestSecretValuesNotReported makes sure secret-literal-env names the
// variable but never prints its value: every literal value of a variable the
// check flags must be absent from the expected findings.
func TestSecretValuesNotReported(t *testing.T) {
	fails, _ := filepath.Glob(filepath.Join("testdata", "secret-literal-env", "fail-*.yaml"))
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
			for _, c := range containers(o) {
				for _, e := range c.Env {
					if e.ValueFrom != nil || !literalSecret(e.Name, e.Value) {
						continue
					}
					flagged++
					if !strings.Contains(string(golden), e.Name) {
						t.Errorf("%s: findings do not name the variable %s", f, e.Name)
					}
					if strings.Contains(string(golden), e.Value) {
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
