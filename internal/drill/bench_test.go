package drill_test

import (
	"testing"

	"github.com/plimsoll/plimsoll/internal/drill"
	"github.com/plimsoll/plimsoll/internal/drill/drillbench"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// BenchmarkDrills measures what the speed figure names: on a
// cluster of 100 nodes and 10,000 pods, an upgrade of every node one at a
// time (100 waves) and the loss of each of the three zones, from the
// decoded objects (the inventory and the model are built in every
// iteration, as a command builds them). hack/bench -drill measures the
// same through the binary, with its peak memory.
func BenchmarkDrills(b *testing.B) {
	objs := benchCluster(b)
	scenarios := []drill.Scenario{
		{Kind: drill.Upgrade, MaxUnavailable: 1},
		{Kind: drill.Zone, Zone: "zone-a"}, {Kind: drill.Zone, Zone: "zone-b"}, {Kind: drill.Zone, Zone: "zone-c"},
	}
	for b.Loop() {
		inv := platform.Inventory(inventory.FromCluster, objs)
		for _, sc := range scenarios {
			r, err := drill.Run(inv, sc, drill.Options{})
			if err != nil {
				b.Fatal(err)
			}
			if len(r.Workloads) == 0 {
				b.Fatalf("%s: no workload touched", sc.Kind)
			}
		}
	}
}

// BenchmarkSurvey measures the drills an audit runs: every node drained
// alone and each zone lost, on the same cluster.
func BenchmarkSurvey(b *testing.B) {
	objs := benchCluster(b)
	for b.Loop() {
		if s := drill.SurveyOf(platform.Inventory(inventory.FromCluster, objs)); len(s.ZoneNames) != 3 {
			b.Fatalf("zones %v", s.ZoneNames)
		}
	}
}

// benchCluster decodes the objects of a cluster of 100 nodes and 10,000
// pods.
func benchCluster(b *testing.B) []*inventory.Object {
	var objs []*inventory.Object
	for _, m := range drillbench.Cluster(100, 10000) {
		o, err := inventory.New(m, inventory.Source{Origin: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		objs = append(objs, o)
	}
	return objs
}
