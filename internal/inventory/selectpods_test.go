package inventory_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/manifest"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// shopPods are the workloads the selector tests match against: a
// Deployment, a StatefulSet, a Job and an Argo Rollout in namespace shop,
// and a Deployment elsewhere.
const shopPods = `
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
---
apiVersion: batch/v1
kind: Job
metadata: {name: report, namespace: shop}
spec: {template: {metadata: {labels: {app: report}}, spec: {restartPolicy: Never, containers: [{name: report, image: report}]}}}
`

// buildShopPods indexes shopPods as plimsoll audit does.
func buildShopPods(t *testing.T) *inventory.Inventory {
	t.Helper()
	loaded := manifest.Parse("pods.yaml", []byte(shopPods), inventory.Source{File: "pods.yaml"})
	if len(loaded.Errors) > 0 {
		t.Fatal(loaded.Errors[0])
	}
	return platform.Inventory(inventory.FromManifests, loaded.Objects)
}

// TestSelectPods: a selector the inventory did not resolve is matched
// against the pods of a namespace as Build matches a Service's: a
// template's labels, the labels a controller adds (a StatefulSet pod's
// name, for as many replicas as it runs), and a custom resource's pods.
func TestSelectPods(t *testing.T) {
	inv := buildShopPods(t)
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

// TestSelectsEveryPod: a selector selects every pod of a workload when it
// matches the labels they all carry, a Job's name included; one that names
// a StatefulSet pod, or a template hash, selects some of them at most,
// though one that asks only that such a label be set selects them all.
func TestSelectsEveryPod(t *testing.T) {
	inv := buildShopPods(t)
	for _, tc := range []struct {
		workload, selector string
		every, some        bool
	}{
		{"Deployment/web", "app=web,tier=front", true, true},
		{"Deployment/web", "app=web,pod-template-hash=abc", false, true},
		{"Deployment/web", "app=web,pod-template-hash", true, true},
		{"Deployment/web", "app=db", false, false},
		{"StatefulSet/db", "statefulset.kubernetes.io/pod-name=db-0", false, true},
		{"StatefulSet/db", "statefulset.kubernetes.io/pod-name=db-2", false, false},
		{"Job/report", "batch.kubernetes.io/job-name=report", true, true},
	} {
		kind, name, _ := strings.Cut(tc.workload, "/")
		w := inv.Get(kind, "shop", name)
		sel, err := labels.Parse(tc.selector)
		if err != nil {
			t.Fatal(err)
		}
		if every, some := inv.SelectsEveryPod(w, sel), inv.MayMatchPods(w, sel); every != tc.every || some != tc.some {
			t.Errorf("%s, %s: selects every pod %v, some %v; want %v, %v", tc.workload, tc.selector, every, some, tc.every, tc.some)
		}
	}
	if inv.SelectsEveryPod(inv.Get("Deployment", "shop", "web"), labels.Nothing()) {
		t.Error("labels.Nothing() selects every pod")
	}
}
