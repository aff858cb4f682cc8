package checks

import (
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checktest"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// TestMemoReadsTracedPerCheck runs two checks that share a memoized index
// the way TestReadsDeclared runs every check: one after the other on one
// inventory, each under its own trace. The first builds the index, the
// second finds it built; neither reads a kind outside the index only so
// that the trace sees it, and both are traced with every kind the index
// was built from.
func TestMemoReadsTracedPerCheck(t *testing.T) {
	objects := checktest.ParseCluster(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: web}]}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: shop}
spec: {maxUnavailable: 1, selector: {matchLabels: {app: web}}}
`)
	// guarded counts, once per inventory, the workloads of each namespace
	// that a PodDisruptionBudget selects.
	guarded := func(inv *inventory.Inventory, namespace string) int {
		return inventory.Memo(inv, "test.guarded", func(inv *inventory.Inventory) map[string]int {
			out := map[string]int{}
			for _, ns := range inv.Namespaces() {
				for _, w := range inv.Workloads(ns.Name) {
					if len(inv.PDBs(w)) > 0 {
						out[ns.Name]++
					}
				}
			}
			return out
		})[namespace]
	}
	reads := append([]string{"PodDisruptionBudget"}, inventory.WorkloadKinds(nil)...)
	var checks []*check.Check
	for _, id := range []string{"first", "second"} {
		checks = append(checks, &check.Check{
			ID:    id,
			Kinds: []string{"Namespace"},
			Reads: reads,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				if guarded(c.Inventory, o.Name) == 0 {
					return []check.Finding{check.Failf("", "no workload has a PodDisruptionBudget")}
				}
				return nil
			},
		})
	}
	inv := platform.Inventory(inventory.FromCluster, objects)
	in := traceInput{"two checks", inv, check.Defaults(), inv.Objects()}
	for _, c := range checks {
		touched := map[string]bool{}
		inv.Trace(func(key string) { touched[key] = true })
		runCheck(t, c, in)
		inv.Trace(nil)
		var got []string
		for k := range touched {
			got = append(got, k)
		}
		sort.Strings(got)
		want := c.Needs()
		sort.Strings(want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("check %s: kinds read (-want +got):\n%s", c.ID, diff)
		}
	}
}
