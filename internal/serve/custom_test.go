package serve

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks"
	"github.com/plimsoll/plimsoll/internal/checks/custom"
	"github.com/plimsoll/plimsoll/internal/config"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/manifest"
	"github.com/plimsoll/plimsoll/internal/platform"
	"github.com/plimsoll/plimsoll/internal/policyreport"
	"github.com/plimsoll/plimsoll/internal/report"
)

// TestCustomChecksServed: custom checks reach serve's metrics and the
// PolicyReports like built-in ones, since both are made from the report of
// an audit with the registry's checks.
func TestCustomChecksServed(t *testing.T) {
	builtin := checks.All()
	set := custom.Load([]string{filepath.Join("..", "..", "policies")}, func(id string) bool {
		for _, c := range builtin {
			if c.ID == id {
				return true
			}
		}
		return false
	})
	if len(set.Errors) > 0 {
		t.Fatal(set.Errors)
	}
	reg, err := check.NewRegistry(append(builtin, set.All()...))
	if err != nil {
		t.Fatal(err)
	}
	res := manifest.Load(context.Background(), []string{filepath.Join("testdata", "shop.yaml")}, manifest.Options{})
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	a := audit.Run(platform.Inventory(inventory.FromManifests, res.Objects), audit.Options{Registry: reg, Config: config.Default(), Now: now})
	rep := report.Build(a, report.Input{Tool: "plimsoll", Version: "test", Sources: []string{"testdata/shop.yaml"}})

	promReg := prometheus.NewRegistry()
	newMetrics(promReg).audited(rep, time.Second, now)
	families, err := promReg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := map[string]int{} // metric name -> series of house-team-label
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "check" && l.GetValue() == "house-team-label" {
					series[mf.GetName()]++
				}
			}
		}
	}
	for _, name := range []string{"plimsoll_results", "plimsoll_check_assessed"} {
		if series[name] == 0 {
			t.Errorf("%s has no series for the custom check house-team-label", name)
		}
	}

	found := 0
	for _, pr := range policyreport.Build(rep, now, policyreport.Options{}) {
		results, _ := pr.Object["results"].([]any)
		for _, r := range results {
			if m, _ := r.(map[string]any); m["policy"] == "house-team-label" {
				found++
			}
		}
	}
	if found == 0 {
		t.Error("no PolicyReport result names the custom check house-team-label")
	}
}
