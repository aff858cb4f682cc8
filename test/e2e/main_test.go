// Package e2e tests plimsoll against a real control plane (kube-apiserver,
// etcd, controller-manager, scheduler, and kwok for nodes and pods), started
// once for the package inside a network namespace that has only loopback.
package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/test/controlplane"
)

func TestMain(m *testing.M) {
	controlplane.Main(m,
		controlplane.User{Name: "reader"},    // plimsoll's documented read-only ClusterRole
		controlplane.User{Name: "limited"},   // that role less two types
		controlplane.User{Name: "shop-user"}, // a Role in shop only
	)
}

var nodesOnce sync.Once

// testCluster is the package's control plane, with six kwok nodes over
// three zones (two per zone), added the first time a test asks.
func testCluster(t *testing.T) *controlplane.ControlPlane {
	t.Helper()
	cp := controlplane.Shared()
	var err error
	nodesOnce.Do(func() {
		var nodes []controlplane.Node
		for _, zone := range []string{"a", "b", "c"} {
			for i := 1; i <= 2; i++ {
				nodes = append(nodes, controlplane.Node{Name: fmt.Sprintf("node-%s%d", zone, i), Zone: "zone-" + zone, Role: "worker"})
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		err = cp.AddNodes(ctx, nodes...)
	})
	if err != nil {
		t.Fatalf("add nodes: %v", err)
	}
	return cp
}
