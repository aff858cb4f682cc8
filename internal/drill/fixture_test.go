package drill_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/internal/checks/checktest"
	"github.com/plimsoll/plimsoll/internal/drill"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

// cluster writes a cluster's objects as the API server returns them:
// nodes, workloads with their ReplicaSets and ready pods placed on nodes,
// and budgets.
type cluster struct{ b strings.Builder }

func (c *cluster) add(format string, args ...any) {
	fmt.Fprintf(&c.b, "---\n"+format+"\n", args...)
}

// node adds a node in a zone with 4 CPUs, 16Gi and room for 110 pods;
// extra is more YAML under spec.
func (c *cluster) node(name, zone string, extra ...string) {
	c.nodeSized(name, zone, "4", extra...)
}

func (c *cluster) nodeSized(name, zone, cpu string, extra ...string) {
	c.add(`apiVersion: v1
kind: Node
metadata:
  name: %[1]s
  uid: node-%[1]s
  labels: {kubernetes.io/hostname: %[1]s, topology.kubernetes.io/zone: %[2]s, pool: %[4]s}
spec: {%[5]s}
status:
  allocatable: {cpu: "%[3]s", memory: 16Gi, pods: "110"}
  capacity: {cpu: "%[3]s", memory: 16Gi, pods: "110"}
  conditions: [{type: Ready, status: "True"}]`, name, zone, cpu, poolOf(name), strings.Join(extra, ", "))
}

func poolOf(node string) string {
	if strings.HasPrefix(node, "spot") {
		return "spot"
	}
	return "general"
}

// workload describes a Deployment (or StatefulSet) and where its pods run.
type workload struct {
	kind, ns, name string
	nodes          []string // one ready pod on each
	spec           string   // more YAML of the pod spec, indented by 6
	cpu            string   // each pod's CPU request; default 100m
	replicas       int      // default len(nodes)
}

func (c *cluster) workload(w workload) {
	if w.kind == "" {
		w.kind = "Deployment"
	}
	if w.cpu == "" {
		w.cpu = "100m"
	}
	if w.replicas == 0 {
		w.replicas = len(w.nodes)
	}
	spec := "containers: [{name: app, image: app:1, resources: {requests: {cpu: " + w.cpu + "}}}]"
	if w.spec != "" {
		spec += "\n      " + strings.ReplaceAll(strings.TrimSpace(w.spec), "\n", "\n      ")
	}
	c.add(`apiVersion: apps/v1
kind: %[1]s
metadata: {name: %[3]s, namespace: %[2]s, uid: %[3]s-uid}
spec:
  replicas: %[4]d
  selector: {matchLabels: {app: %[3]s}}
  template:
    metadata: {labels: {app: %[3]s}}
    spec:
      %[5]s`, w.kind, w.ns, w.name, w.replicas, spec)
	owner := fmt.Sprintf("{apiVersion: apps/v1, kind: %s, name: %s, uid: %s-uid, controller: true}", w.kind, w.name, w.name)
	if w.kind == "Deployment" {
		c.add(`apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: %[2]s-rs, namespace: %[1]s, uid: %[2]s-rs-uid, ownerReferences: [%[3]s]}
spec:
  replicas: %[4]d
  selector: {matchLabels: {app: %[2]s}}
  template:
    metadata: {labels: {app: %[2]s}}
    spec: {containers: [{name: app, image: app:1}]}`, w.ns, w.name, owner, w.replicas)
		owner = fmt.Sprintf("{apiVersion: apps/v1, kind: ReplicaSet, name: %s-rs, uid: %s-rs-uid, controller: true}", w.name, w.name)
	}
	for i, n := range w.nodes {
		c.pod(w.ns, fmt.Sprintf("%s-%d", w.name, i), "app: "+w.name, "ownerReferences: ["+owner+"]", n, spec)
	}
}

// pod adds a ready pod on a node.
func (c *cluster) pod(ns, name, labels, meta, node, spec string) {
	if spec == "" {
		spec = "containers: [{name: app, image: app:1, resources: {requests: {cpu: 100m}}}]"
	}
	c.add(`apiVersion: v1
kind: Pod
metadata:
  name: %[2]s
  namespace: %[1]s
  uid: %[2]s-uid
  labels: {%[3]s}
  %[4]s
spec:
  nodeName: %[5]s
  %[6]s
status:
  phase: Running
  conditions: [{type: Ready, status: "True"}]`, ns, name, labels, meta, node, strings.ReplaceAll(spec, "\n      ", "\n  "))
}

// pdb adds a budget selecting app=app with a spec such as
// "maxUnavailable: 1"; the status is what the disruption controller
// would record, so that no disagreement is reported.
func (c *cluster) pdb(ns, name, app, spec string) {
	c.add(`apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: %[2]s, namespace: %[1]s}
spec:
  selector: {matchLabels: {app: %[3]s}}
  %[4]s`, ns, name, app, spec)
}

func (c *cluster) inventory(t *testing.T) *inventory.Inventory {
	t.Helper()
	return checktest.Inventory(t, inventory.FromCluster, c.b.String())
}

func (c *cluster) drill(t *testing.T, sc drill.Scenario) *drill.Report {
	t.Helper()
	r, err := drill.Run(c.inventory(t), sc, drill.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// threeZones adds six nodes, two in each of zones a, b and c.
func (c *cluster) threeZones() {
	for _, z := range []string{"a", "b", "c"} {
		c.node("node-"+z+"1", z)
		c.node("node-"+z+"2", z)
	}
}

func verdictOf(t *testing.T, r *drill.Report, name string) drill.WorkloadResult {
	t.Helper()
	for _, w := range r.Workloads {
		if w.Name == name {
			return w
		}
	}
	t.Fatalf("no result for workload %s in %+v", name, r.Workloads)
	return drill.WorkloadResult{}
}

func nodeResult(t *testing.T, r *drill.Report, name string) drill.NodeResult {
	t.Helper()
	for _, n := range r.Nodes {
		if n.Name == name {
			return n
		}
	}
	t.Fatalf("no result for node %s", name)
	return drill.NodeResult{}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}
