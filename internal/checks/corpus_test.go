package checks

import (
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/checks/checktest"
	"github.com/plimsoll/plimsoll/internal/config"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// corpusInventory indexes the corpus as manifests.
func corpusInventory(tb testing.TB) *inventory.Inventory {
	tb.Helper()
	return platform.Inventory(inventory.FromManifests, checktest.CorpusObjects(tb))
}

// TestCorpusAudit runs every check, optional ones included, over real
// manifests: no check may error (panic) on what real users ship.
func TestCorpusAudit(t *testing.T) {
	inv := corpusInventory(t)
	reg := Registry()
	cfg := config.Default()
	for _, c := range reg.All() {
		cfg.Checks.Enable = append(cfg.Checks.Enable, c.ID)
	}
	cfg.Parameters.AllowedRegistries = []string{"registry.k8s.io"}
	a := audit.Run(inv, audit.Options{Registry: reg, Config: cfg, Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	var pass, fail int
	for _, r := range a.Results {
		switch r.Status {
		case audit.Error:
			t.Errorf("check %s errored on %s (%s): %s", r.Check.ID, r.Object.ID(), r.Object.Source, r.Message)
		case audit.Pass:
			pass++
		case audit.Fail:
			fail++
		}
	}
	if pass == 0 || fail == 0 {
		t.Errorf("got %d passes and %d failures on the corpus, want some of each", pass, fail)
	}
}

// BenchmarkAuditCorpus measures the engine alone (every check, scoring) on
// the corpus, loaded once outside the timer. hack/bench measures the whole
// command on a corpus twenty times larger.
func BenchmarkAuditCorpus(b *testing.B) {
	inv := corpusInventory(b)
	reg := Registry()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		audit.Run(inv, audit.Options{Registry: reg, Now: time.Now()})
	}
}
