package fix_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/checks"
	"github.com/plimsoll/plimsoll/internal/config"
	"github.com/plimsoll/plimsoll/internal/fix"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/manifest"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// TestFixFixtures holds every fix to its check's failing fixtures
// (internal/checks/testdata/<id>/fail-*.yaml): on at least one of them the
// proven changes remove some of the check's failures, and on none do they
// bring a new failure of any check. Suggestions are applied, as --suggest
// applies them.
func TestFixFixtures(t *testing.T) {
	reg := checks.Registry()
	for _, c := range reg.All() {
		if fix.Describe(c.ID) == "" {
			continue
		}
		t.Run(c.ID, func(t *testing.T) {
			dir := filepath.Join("..", "checks", "testdata", c.ID)
			cfg := config.Default()
			if f, err := os.Open(filepath.Join(dir, "config.yaml")); err == nil {
				defer f.Close()
				if cfg, err = config.Decode(f, reg); err != nil {
					t.Fatal(err)
				}
			}
			cfg.Checks.Enable = append(cfg.Checks.Enable, c.ID)
			run := func(objs []*inventory.Object) *audit.Audit {
				return audit.Run(platform.Inventory(inventory.FromManifests, objs), audit.Options{Registry: reg, Config: cfg, Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
			}
			plan := func(objs []*inventory.Object, a *audit.Audit) []fix.Change {
				return fix.Plan(platform.Inventory(inventory.FromManifests, objs), a, fix.Options{Suggest: true})
			}
			fails, _ := filepath.Glob(filepath.Join(dir, "fail-*.yaml"))
			fixed := 0
			for _, f := range fails {
				if strings.Contains(filepath.Base(f), "-cluster-") {
					continue // fix changes manifests
				}
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				objs := manifest.Parse(f, data, inventory.Source{File: f}).Objects
				before := run(objs)
				// The check's own fixes, as --check asks for them; follow-ups
				// of any check.
				asked := fix.Plan(platform.Inventory(inventory.FromManifests, objs), before, fix.Options{Checks: []string{c.ID}, Suggest: true})
				out := fix.Prove(objs, asked, true, before, run, plan)
				after := reaudit(t, objs, out, run)
				noNewFailures(t, before, after)
				if count(after, c.ID) < count(before, c.ID) {
					fixed++
				}
				for _, d := range out.Dropped {
					t.Logf("%s: dropped %s: %s", filepath.Base(f), d.Change, d.Why)
				}
			}
			if fixed == 0 {
				t.Errorf("the fix removed no failure of %s from its %d failing fixtures", c.ID, len(fails))
			}
		})
	}
}

func count(a *audit.Audit, check string) (n int) {
	for _, r := range a.Results {
		if r.Status == audit.Fail && r.Check.ID == check {
			n++
		}
	}
	return n
}
