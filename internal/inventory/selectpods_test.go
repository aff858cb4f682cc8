package inventory_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/manifest"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// TestSelectPods: a selector the inventory did not resolve is matched
// against the pods of a namespace as Build matches a Service's: a
// template's labels, the labels a controller adds (a StatefulSet pod's
// name, for as many replicas as it runs), and a custom resource's pods.
func TestSelectPods(t *testing.T) {
	loaded := manifest.Parse("pods.yaml", []byte(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web, tier: front}}, spec: {containers: [{name: web, image: web}]}}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec: {replicas: 2, serviceName: db, selector: {matchLabels: {app: db}}, template: {metadata: {labels: {app: db}}, spec: {containers: [{name: db, image: db}]}}}
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: api, namespace: shop}
spec: {template: {metadata: {labels: {app: api, tier: front}}, spec: {containers: [{name: api, image: api}]}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: other}
spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: web}]}}}
`), inventory.Source{File: "pods.yaml"})
	if len(loaded.Errors) > 0 {
		t.Fatal(loaded.Errors[0])
	}
	inv := inventory.Build(inventory.FromManifests, loaded.Objects, inventory.WithPodRunners(platform.PodRunners))
	for _, tc := range []struct {
		selector string
		want     []string
	}{
		{"tier=front", []string{"Deployment shop/web", "Rollout shop/api"}},
		{"app=db,statefulset.kubernetes.io/pod-name=db-1", []string{"StatefulSet shop/db"}},
		{"app=db,statefulset.kubernetes.io/pod-name=db-2", nil},
		{"app=cache", nil},
	} {
		sel, err := labels.Parse(tc.selector)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, o := range inv.SelectPods("shop", sel) {
			got = append(got, o.ID())
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("SelectPods(shop, %s) (-want +got):\n%s", tc.selector, diff)
		}
	}
}
