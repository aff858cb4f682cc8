package runtime

import (
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checktest"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

// twoPodsOn is a StatefulSet with two ready pods, on nodes worker-a1 and
// worker-a2.
var twoPodsOn = `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop, uid: s-db}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: postgres, image: postgres}]}
` + readyDBPod("db-0", "worker-a1") + readyDBPod("db-1", "worker-a2")

func readyDBPod(name, node string) string {
	return `---
apiVersion: v1
kind: Pod
metadata:
  name: ` + name + `
  namespace: shop
  ownerReferences: [{apiVersion: apps/v1, kind: StatefulSet, name: db, uid: s-db, controller: true}]
spec: {nodeName: ` + node + `, containers: [{name: postgres, image: postgres}]}
status: {phase: Running, conditions: [{type: Ready, status: "True"}]}
`
}

// TestZoneSpreadDoesNotGuess covers what fixtures cannot: a pass fixture
// needs an object that passes, and in these clusters the zone check
// applies to nothing. It must skip, saying why, rather than conclude.
func TestZoneSpreadDoesNotGuess(t *testing.T) {
	node := func(name, zone string) string {
		return "---\napiVersion: v1\nkind: Node\nmetadata: {name: " + name + ", labels: {topology.kubernetes.io/zone: " + zone + "}}\n"
	}
	for _, tc := range []struct {
		name, nodes, want string
	}{
		{"no Nodes visible", "", "not known to span more than one zone"},
		{"every node in one zone", node("worker-a1", "eu-west-1a") + node("worker-a2", "eu-west-1a"), "not known to span more than one zone"},
		{"a pod's node not visible", node("worker-a1", "eu-west-1a") + node("worker-b1", "eu-west-1b"), `the zone of pod db-1 is not known: its node "worker-a2"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := checktest.Inventory(t, inventory.FromCluster, twoPodsOn+tc.nodes)
			params := check.Defaults()
			c := checkByID(t, "runtime-replicas-across-zones")
			ok, why := c.Applies(inv.Get("StatefulSet", "shop", "db"), &check.Context{Inventory: inv, Params: &params})
			if ok || !strings.Contains(why, tc.want) {
				t.Errorf("got applies %v, reason %q; want a skip whose reason contains %q", ok, why, tc.want)
			}
		})
	}
}

// checkByID returns one of this package's checks.
func checkByID(t *testing.T, id string) *check.Check {
	t.Helper()
	for _, c := range Checks() {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no check %s", id)
	return nil
}
