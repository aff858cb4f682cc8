package manifest

import (
	"testing"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checktest"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

func TestKubeVersionAtLeast(t *testing.T) {
	for _, tc := range []struct {
		v, w string
		want bool
	}{
		{"1.22", "1.9", true}, // numeric, not lexical: 1.9 < 1.22
		{"1.9", "1.22", false},
		{"1.22", "1.22", true},
		{"v1.22.3", "1.22", true}, // patch releases are the same minor
		{"1.21", "1.22", false},
		{"1.100", "1.37", true},
		{LatestKnownVersion, "1.32", true},
	} {
		if got := mustVersion(tc.v).atLeast(mustVersion(tc.w)); got != tc.want {
			t.Errorf("%s at least %s: got %v, want %v", tc.v, tc.w, got, tc.want)
		}
	}
}

// TestUpgradeTargets runs the upgrade checks against several target
// versions, and on Endpoints that Kubernetes maintains itself.
func TestUpgradeTargets(t *testing.T) {
	const objects = `apiVersion: networking.k8s.io/v1beta1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  backend: {serviceName: web, servicePort: 80}
---
apiVersion: v1
kind: Endpoints
metadata: {name: legacy-db, namespace: shop}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
---
apiVersion: v1
kind: Endpoints
metadata: {name: web, namespace: shop}
---
apiVersion: v1
kind: Endpoints
metadata: {name: kubernetes, namespace: default}
`
	inv := checktest.Inventory(t, inventory.FromManifests, objects)
	checks := map[string]*check.Check{}
	for _, c := range upgradeChecks() {
		checks[c.ID] = c
	}
	for _, tc := range []struct {
		target, check, object string
		want                  string // "pass", "fail" or "skip"
	}{
		{"1.18", "api-removed", "Ingress shop/web", "pass"},
		{"1.18", "api-deprecated", "Ingress shop/web", "pass"},
		{"1.19", "api-deprecated", "Ingress shop/web", "fail"},
		{"1.21", "api-deprecated", "Ingress shop/web", "fail"},
		{"1.21", "api-removed", "Ingress shop/web", "pass"},
		{"1.22", "api-removed", "Ingress shop/web", "fail"},
		{"1.22", "api-deprecated", "Ingress shop/web", "pass"},
		{"", "api-removed", "Ingress shop/web", "fail"},
		{"1.32", "api-deprecated", "Endpoints shop/legacy-db", "pass"},
		{"1.33", "api-deprecated", "Endpoints shop/legacy-db", "fail"},
		{"", "api-deprecated", "Endpoints shop/legacy-db", "fail"},
		{"", "api-removed", "Endpoints shop/legacy-db", "pass"},
		{"", "api-deprecated", "Endpoints shop/web", "skip"},
		{"", "api-deprecated", "Endpoints default/kubernetes", "skip"},
	} {
		var obj *inventory.Object
		for _, o := range inv.Objects() {
			if o.ID() == tc.object {
				obj = o
			}
		}
		params := check.Defaults()
		params.KubernetesVersion = tc.target
		ctx := &check.Context{Inventory: inv, Params: &params}
		c := checks[tc.check]
		got := "pass"
		if ok, _ := c.Applies(obj, ctx); !ok {
			got = "skip"
		} else if findings := c.Run(obj, ctx); len(findings) > 0 {
			got = "fail"
		}
		if got != tc.want {
			t.Errorf("%s on %s at %q: got %s, want %s", tc.check, tc.object, tc.target, got, tc.want)
		}
	}
}
