// Package checktest is what the tests of the check packages share: reading
// objects as a cluster returns them, auditing them at a time, picking one
// check's results, and loading the public corpus beside the repository.
package checktest

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/config"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/manifest"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// ParseCluster decodes the objects of a YAML stream, as a cluster returns
// them.
func ParseCluster(t *testing.T, yaml string) []*inventory.Object {
	t.Helper()
	loaded := manifest.Parse("cluster.yaml", []byte(yaml), inventory.Source{File: "cluster.yaml"})
	if len(loaded.Errors) > 0 {
		t.Fatal(loaded.Errors[0])
	}
	return loaded.Objects
}

// Inventory parses a YAML stream and builds the inventory plimsoll audits
// of its objects, read in a mode.
func Inventory(t *testing.T, mode inventory.Mode, yaml string) *inventory.Inventory {
	t.Helper()
	return platform.Inventory(mode, ParseCluster(t, yaml))
}

// Audit audits objects read as a cluster, as it was at a time, with these
// checks under the default configuration. No check may error.
func Audit(t *testing.T, checks []*check.Check, objects []*inventory.Object, at time.Time) *audit.Audit {
	t.Helper()
	reg, err := check.NewRegistry(checks)
	if err != nil {
		t.Fatal(err)
	}
	a := audit.Run(platform.Inventory(inventory.FromCluster, objects), audit.Options{Registry: reg, Config: config.Default(), Now: at})
	for _, r := range a.Results {
		if r.Status == audit.Error {
			t.Errorf("check %s errored on %s: %s", r.Check.ID, r.Object.ID(), r.Message)
		}
	}
	return a
}

// ResultsOf returns one check's results in an audit, and its state.
func ResultsOf(a *audit.Audit, id string) ([]audit.Result, *audit.CheckState) {
	var out []audit.Result
	for _, r := range a.Results {
		if r.Check.ID == id {
			out = append(out, r)
		}
	}
	for _, st := range a.Checks {
		if st.Check.ID == id {
			return out, st
		}
	}
	return out, nil
}

// BenchEach runs one sub-benchmark a function, in the order of their names,
// each calling its function on every input, and reports the time an input
// takes besides the time an operation.
func BenchEach(b *testing.B, inputs []string, funcs map[string]func(string)) {
	for _, name := range slices.Sorted(maps.Keys(funcs)) {
		f := funcs[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, in := range inputs {
					f(in)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(inputs)), "ns/input")
		})
	}
}

// CorpusObjects loads the real public manifests in shared/corpus, which
// sits beside the clone. Without them the test fails: it never skips.
func CorpusObjects(tb testing.TB) []*inventory.Object {
	tb.Helper()
	corpus := filepath.Join(moduleRoot(tb), "..", "shared", "corpus")
	if _, err := os.Stat(corpus); err != nil {
		tb.Fatalf("the corpus must sit beside the repository (shared/ next to the clone): %v", err)
	}
	res := manifest.Load(context.Background(), []string{corpus}, manifest.Options{})
	for _, e := range res.Errors {
		// internal/manifest's TestLoadCorpus pins the three archived
		// examples the API server refuses; nothing else may fail.
		if !strings.Contains(e.Err.Error(), "the API server would refuse it") {
			tb.Fatalf("loading the corpus: %v", e)
		}
	}
	return res.Objects
}

// UpstreamCRD reads one of the unmodified upstream
// CustomResourceDefinitions in shared/fixtures/crds beside the clone, by
// its path there ("cert-manager/certificates.cert-manager.io.yaml").
func UpstreamCRD(tb testing.TB, path string) string {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(moduleRoot(tb), "..", "shared", "fixtures", "crds", path))
	if err != nil {
		tb.Fatalf("the upstream CRDs must sit beside the repository (shared/ next to the clone): %v", err)
	}
	return string(data)
}

// moduleRoot is the directory of go.mod, above the test's directory.
func moduleRoot(tb testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}
