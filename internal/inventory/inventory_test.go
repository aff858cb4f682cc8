package inventory_test

import (
	"fmt"
	"maps"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/manifest"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// owners is a cluster's worth of ownership: a Deployment with a current and
// an old ReplicaSet, a CronJob with a Job, a StatefulSet, a bare Pod, and
// pods whose owners are gone or were replaced by namesakes.
var owners = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, uid: d-web}
spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: web}]}}}
` + webReplicaSet("web-new", "rs-new") + webReplicaSet("web-old", "rs-old") +
	ownedPod("web-new-a", "shop", "apps/v1", "ReplicaSet", "web-new", "rs-new") +
	ownedPod("web-old-a", "shop", "apps/v1", "ReplicaSet", "web-old", "rs-old") +
	// Its ReplicaSet of that name was deleted and made again: another UID.
	ownedPod("web-stale", "shop", "apps/v1", "ReplicaSet", "web-new", "rs-gone") + `---
apiVersion: batch/v1
kind: CronJob
metadata: {name: report, namespace: shop}
spec: {schedule: "@daily", jobTemplate: {spec: {template: {spec: {restartPolicy: Never, containers: [{name: r, image: r}]}}}}}
---
# Hand-written: no UIDs, so kind and name resolve the owners.
apiVersion: batch/v1
kind: Job
metadata:
  name: report-1
  namespace: shop
  ownerReferences: [{apiVersion: batch/v1, kind: CronJob, name: report, controller: true}]
spec: {template: {spec: {restartPolicy: Never, containers: [{name: r, image: r}]}}}
` + ownedPod("report-1-x", "shop", "batch/v1", "Job", "report-1", "") + `---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop, uid: s-db}
spec: {serviceName: db, selector: {matchLabels: {app: db}}, template: {metadata: {labels: {app: db}}, spec: {containers: [{name: db, image: db}]}}}
` + ownedPod("db-0", "shop", "apps/v1", "StatefulSet", "db", "s-db") +
	// Same name, other namespace: not db's.
	ownedPod("db-0", "other", "apps/v1", "StatefulSet", "db", "") + `---
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: shop}
spec: {containers: [{name: sh, image: busybox}]}
`

// ownedPod is a pod whose controller is the named owner; an empty uid
// leaves the reference without one, as hand-written manifests do.
func ownedPod(name, namespace, apiVersion, kind, owner, uid string) string {
	ref := fmt.Sprintf("{apiVersion: %s, kind: %s, name: %s, controller: true}", apiVersion, kind, owner)
	if uid != "" {
		ref = fmt.Sprintf("{apiVersion: %s, kind: %s, name: %s, uid: %s, controller: true}", apiVersion, kind, owner, uid)
	}
	return fmt.Sprintf(`---
apiVersion: v1
kind: Pod
metadata: {name: %s, namespace: %s, ownerReferences: [%s]}
spec: {containers: [{name: c, image: c}]}
`, name, namespace, ref)
}

func webReplicaSet(name, uid string) string {
	return `---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: ` + name + `
  namespace: shop
  uid: ` + uid + `
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: d-web, controller: true}]
spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: web}]}}}
`
}

func build(t *testing.T) *inventory.Inventory {
	t.Helper()
	return buildFrom(t, inventory.FromCluster, owners)
}

// buildFrom indexes a YAML stream, read as mode says, knowing the custom
// resources that run pods as plimsoll audit does (platform.PodRunners).
func buildFrom(t *testing.T, mode inventory.Mode, doc string) *inventory.Inventory {
	t.Helper()
	loaded := manifest.Parse("inputs.yaml", []byte(doc), inventory.Source{File: "inputs.yaml"})
	for _, e := range loaded.Errors {
		t.Fatal(e)
	}
	return platform.Inventory(mode, loaded.Objects)
}

func names(objs []*inventory.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.Namespace+"/"+o.Name)
	}
	return out
}

func TestPodsOf(t *testing.T) {
	inv := build(t)
	for _, tc := range []struct {
		kind, namespace, name string
		want                  []string
	}{
		{"Deployment", "shop", "web", []string{"shop/web-new-a", "shop/web-old-a"}},
		{"CronJob", "shop", "report", []string{"shop/report-1-x"}},
		{"Job", "shop", "report-1", []string{"shop/report-1-x"}},
		{"StatefulSet", "shop", "db", []string{"shop/db-0"}},
		{"Pod", "shop", "debug", []string{"shop/debug"}},
	} {
		t.Run(tc.kind+"/"+tc.name, func(t *testing.T) {
			w := inv.Get(tc.kind, tc.namespace, tc.name)
			if w == nil {
				t.Fatalf("got no %s %s/%s", tc.kind, tc.namespace, tc.name)
			}
			if diff := cmp.Diff(tc.want, names(inv.PodsOf(w))); diff != "" {
				t.Errorf("PodsOf (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTrace(t *testing.T) {
	inv := build(t)
	web := inv.Get("Deployment", "shop", "web")
	cron := inv.Get("CronJob", "shop", "report")
	for _, tc := range []struct {
		name string
		read func()
		want []string
	}{
		{"PodsOf a Deployment reads its ReplicaSets", func() { inv.PodsOf(web) }, []string{"Pod", "ReplicaSet"}},
		{"PodsOf a CronJob reads its Jobs", func() { inv.PodsOf(cron) }, []string{"Job", "Pod"}},
		{"an empty answer is still a read", func() { inv.PDBs(web) }, []string{"PodDisruptionBudget"}},
		{"Workloads reads every workload kind", func() { inv.Workloads("nowhere") },
			[]string{"CronJob", "DaemonSet", "Deployment", "Job", "Pod", "ReplicaSet", "ReplicationController", "StatefulSet"}},
		{"Bindings reads both binding kinds", func() { inv.Bindings("shop", "default") }, []string{"ClusterRoleBinding", "RoleBinding"}},
		{"Objects reads everything", func() { inv.Objects() }, []string{"*"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[string]bool{}
			inv.Trace(func(key string) { seen[key] = true })
			tc.read()
			inv.Trace(nil)
			var got []string
			for k := range seen {
				got = append(got, k)
			}
			sort.Strings(got)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("kinds read (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMayMatchPods(t *testing.T) {
	inv := build(t)
	web := inv.Get("Deployment", "shop", "web")
	for _, tc := range []struct {
		name string
		sel  labels.Selector
		want bool
	}{
		{"the template's labels", labels.SelectorFromSet(labels.Set{"app": "web"}), true},
		{"another application's", labels.SelectorFromSet(labels.Set{"app": "db"}), false},
		{"a label the ReplicaSet sets out of sight", labels.SelectorFromSet(labels.Set{"app": "web", "pod-template-hash": "x"}), true},
		{"everything", labels.Everything(), true},
		{"nothing, as a nil LabelSelector converts", labels.Nothing(), false},
	} {
		if got := inv.MayMatchPods(web, tc.sel); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestImpliedNamespaceSource: a Namespace that no input declares is not at
// the line of the first object placed in it, which is another object.
func TestImpliedNamespaceSource(t *testing.T) {
	inv := buildFrom(t, inventory.FromManifests, `apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
---
apiVersion: v1
kind: Namespace
metadata: {name: billing}
`)
	shop := inv.Get("Namespace", "", "shop")
	if shop == nil || !shop.Implied {
		t.Fatalf("got %+v, want an implied Namespace shop", shop)
	}
	if shop.Source != (inventory.Source{}) {
		t.Errorf("implied Namespace shop has source %q, want none: no input declares it", shop.Source)
	}
	if billing := inv.Get("Namespace", "", "billing"); billing.Source.Line != 5 {
		t.Errorf("declared Namespace billing has source %q, want line 5", billing.Source)
	}
}

// TestNamespaceLabels: a declared Namespace's labels carry the name label
// the API server sets, whether or not the object shows it; a namespace
// objects only imply has the name label alone, and is not known.
func TestNamespaceLabels(t *testing.T) {
	inv := buildFrom(t, inventory.FromManifests, `apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: a}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: staging}
`)
	for _, tc := range []struct {
		name  string
		want  labels.Set
		known bool
	}{
		{"shop", labels.Set{"team": "a", "kubernetes.io/metadata.name": "shop"}, true},
		{"staging", labels.Set{"kubernetes.io/metadata.name": "staging"}, false},
		{"nowhere", labels.Set{"kubernetes.io/metadata.name": "nowhere"}, false},
	} {
		got, known := inv.NamespaceLabels(tc.name)
		if !maps.Equal(got, tc.want) || known != tc.known {
			t.Errorf("NamespaceLabels(%q) = %v, %v; want %v, %v", tc.name, got, known, tc.want, tc.known)
		}
	}
}
