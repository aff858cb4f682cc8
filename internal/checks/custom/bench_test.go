package custom

import (
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks"
	"github.com/plimsoll/plimsoll/internal/checks/checktest"
	"github.com/plimsoll/plimsoll/internal/checks/custom/custombench"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// benchChecks loads custombench's fifty checks.
func benchChecks(tb testing.TB) *Set {
	tb.Helper()
	dir := tb.TempDir()
	if err := custombench.Write(dir); err != nil {
		tb.Fatal(err)
	}
	set := Load([]string{dir}, builtin)
	if len(set.Errors) > 0 || len(set.Checks) != custombench.Count {
		tb.Fatalf("loaded %d checks, errors %v; want %d", len(set.Checks), set.Errors, custombench.Count)
	}
	return set
}

// TestBenchChecks: the benchmark's checks load and judge the corpus
// without an error or an expression that cannot be evaluated, so the
// benchmark measures evaluations, not failures.
func TestBenchChecks(t *testing.T) {
	set := benchChecks(t)
	reg, err := check.NewRegistry(set.All())
	if err != nil {
		t.Fatal(err)
	}
	a := audit.Run(platform.Inventory(inventory.FromManifests, checktest.CorpusObjects(t)), audit.Options{Registry: reg, Now: time.Now()})
	judged := 0
	for _, r := range a.Results {
		switch {
		case r.Status == audit.Error || r.Unassessed:
			t.Errorf("%s on %s: %s", r.Check.ID, r.Object.ID(), r.Message)
		case r.Status == audit.Pass || r.Status == audit.Fail:
			judged++
		}
	}
	if judged == 0 {
		t.Error("the benchmark's checks judged nothing in the corpus")
	}
}

// BenchmarkAuditCorpusCustom measures what fifty custom checks add to the
// engine on the corpus: the audit with every built-in check, then with the
// fifty besides. go run ./hack/bench measures the whole command on a corpus
// twenty times larger.
func BenchmarkAuditCorpusCustom(b *testing.B) {
	inv := platform.Inventory(inventory.FromManifests, checktest.CorpusObjects(b))
	builtins := checks.All()
	withCustom, err := check.NewRegistry(append(checks.All(), benchChecks(b).All()...))
	if err != nil {
		b.Fatal(err)
	}
	builtinOnly, err := check.NewRegistry(builtins)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		reg  *check.Registry
	}{{"builtin", builtinOnly}, {"builtin+50custom", withCustom}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				audit.Run(inv, audit.Options{Registry: bc.reg, Now: time.Now()})
			}
		})
	}
}
