package cli

import (
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/internal/cluster"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

// TestNamespaceScopedAuditLeavesTheClusterOut: an audit limited to one
// namespace cannot see the platform, so the checks of the cluster as a
// whole are not assessed rather than judged on that namespace's objects.
func TestNamespaceScopedAuditLeavesTheClusterOut(t *testing.T) {
	scoped := clusterInputs(cluster.Header{Namespace: "shop"}, nil, nil, "cluster")
	if why := scoped.unreadable[inventory.ClusterKey]; !strings.Contains(why, "limited to namespace shop") {
		t.Errorf("namespace-scoped: got %q for the cluster, want it out of scope", why)
	}
	whole := clusterInputs(cluster.Header{}, nil, nil, "cluster")
	if why, ok := whole.unreadable[inventory.ClusterKey]; ok {
		t.Errorf("whole cluster: got %q for the cluster, want it readable", why)
	}
}
