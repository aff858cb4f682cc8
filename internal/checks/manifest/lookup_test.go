package manifest

import (
	"testing"

	"github.com/plimsoll/plimsoll/internal/checks/checktest"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

// TestLookupMade: among manifests, the objects every cluster has and
// those an operator makes for a custom resource among the inputs are
// found though no input declares them; on a cluster, where they are listed
// like any other object, one that is not there is missing.
func TestLookupMade(t *testing.T) {
	const inputs = `apiVersion: v1
kind: ServiceAccount
metadata: {name: api, namespace: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
---
apiVersion: v1
kind: Secret
metadata: {name: token, namespace: shop}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: shop}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 1000
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: web, namespace: shop}
spec: {secretName: web-tls}
`
	for _, tc := range []struct {
		key, ns, name string
		made          string // among manifests: who makes it, "object" or "missing"
	}{
		{"ServiceAccount", "shop", "default", "the ServiceAccount controller, in every namespace"},
		{"ServiceAccount", "shop", "web", "missing"},
		{"ConfigMap", "shop", "kube-root-ca.crt", "the controller-manager's root CA publisher, in every namespace"},
		{"Secret", "shop", "web-tls", "Certificate shop/web"},
		{"Secret", "shop", "web", "missing"},
		{"Role", "kube-system", "system:controller:bootstrap-signer", "the API server"},
		{"Role", "shop", "system:reader", "missing"},
		{"ClusterRole", "", "system:auth-delegator", "the API server"},
		{"ClusterRole", "", "view", "the API server"},
		{"PriorityClass.scheduling.k8s.io", "", "system-node-critical", "the API server"},
		{"Service", "default", "kubernetes", "object"},
	} {
		for _, mode := range []inventory.Mode{inventory.FromManifests, inventory.FromCluster} {
			f := lookup(checktest.Inventory(t, mode, inputs), tc.key, tc.ns, tc.name)
			got := f.made
			switch {
			case f.object != nil:
				got = "object"
			case f.missing != "":
				got = "missing"
			case f.unknown != "":
				got = "unknown: " + f.unknown
			}
			want := tc.made
			if mode == inventory.FromCluster {
				want = "missing"
			}
			if got != want {
				t.Errorf("%s, %s %s/%s: got %q, want %q", mode, tc.key, tc.ns, tc.name, got, want)
			}
		}
	}
}
