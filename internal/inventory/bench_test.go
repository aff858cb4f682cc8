package inventory_test

import (
	"testing"

	"github.com/plimsoll/plimsoll/internal/checks/checktest"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// BenchmarkCorpusBuild measures indexing the corpus, as every audit does
// once.
func BenchmarkCorpusBuild(b *testing.B) {
	objects := checktest.CorpusObjects(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		platform.Inventory(inventory.FromManifests, objects)
	}
}

// BenchmarkCorpusAccessors measures what checks ask of the inventory for
// every workload, without a trace: the objects selecting it, its pods and
// a memoized index. It is the cost Trace and Memo add to every audit.
func BenchmarkCorpusAccessors(b *testing.B) {
	inv := platform.Inventory(inventory.FromManifests, checktest.CorpusObjects(b))
	var workloads []*inventory.Object
	for _, ns := range inv.Namespaces() {
		workloads = append(workloads, inv.Workloads(ns.Name)...)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		for _, w := range workloads {
			n += len(inv.PDBs(w)) + len(inv.Services(w)) + len(inv.NetworkPolicies(w)) + len(inv.HPAs(w)) + len(inv.PodsOf(w))
			n += inventory.Memo(inv, "bench.bindings", func(inv *inventory.Inventory) int {
				return len(inv.OfKind("ClusterRoleBinding"))
			})
		}
		if n < 0 {
			b.Fatal(n)
		}
	}
}
