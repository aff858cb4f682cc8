package drill_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/internal/drill"
)

func drain(nodes ...string) drill.Scenario { return drill.Scenario{Kind: drill.Drain, Nodes: nodes} }

func zone(z string, deleted bool) drill.Scenario {
	return drill.Scenario{Kind: drill.Zone, Zone: z, NodesDeleted: deleted}
}

func TestDrainVerdicts(t *testing.T) {
	c := &cluster{}
	c.threeZones()
	c.workload(workload{ns: "shop", name: "single", nodes: []string{"node-a1"}})
	c.workload(workload{ns: "shop", name: "guarded", nodes: []string{"node-a1"}})
	c.pdb("shop", "guarded", "guarded", "minAvailable: 1")
	c.workload(workload{ns: "shop", name: "three", nodes: []string{"node-a1", "node-a1", "node-a1"}})
	c.pdb("shop", "three", "three", "maxUnavailable: 1")
	c.workload(workload{ns: "shop", name: "spread", nodes: []string{"node-a1", "node-b1"}})
	c.workload(workload{ns: "shop", name: "elsewhere", nodes: []string{"node-b1", "node-c1"}})

	r := c.drill(t, drain("node-a1"))
	for name, want := range map[string]string{
		"single":  drill.Outage,
		"guarded": drill.Blocks,
		"three":   drill.Unaffected,
		"spread":  drill.Unaffected,
	} {
		if got := verdictOf(t, r, name); got.Verdict != want {
			t.Errorf("%s: verdict %s, want %s (%s)", name, got.Verdict, want, got.Reason)
		}
	}
	if slices.ContainsFunc(r.Workloads, func(w drill.WorkloadResult) bool { return w.Name == "elsewhere" }) {
		t.Error("a workload with no pod on the drained node is listed")
	}
	g := verdictOf(t, r, "guarded")
	if !strings.Contains(g.Reason, "PodDisruptionBudget guarded (minAvailable 1) allows 0 disruptions: 1 healthy, 1 needed") {
		t.Errorf("guarded: reason %q does not name the budget and its arithmetic", g.Reason)
	}
	if three := verdictOf(t, r, "three"); three.ReadyBefore != 3 || three.ReadyDuring != 2 || three.ReadyAfter != 3 {
		t.Errorf("three: ready %d/%d/%d, want 3/2/3", three.ReadyBefore, three.ReadyDuring, three.ReadyAfter)
	}
	n := nodeResult(t, r, "node-a1")
	if n.Verdict != drill.Blocks || !strings.Contains(n.Reason, "guarded") {
		t.Errorf("node-a1: %s (%s), want blocks by guarded", n.Verdict, n.Reason)
	}
	if r.Verdict != drill.Outage {
		t.Errorf("overall verdict %s, want outage", r.Verdict)
	}
}

func TestDrainSerializes(t *testing.T) {
	c := &cluster{}
	c.threeZones()
	c.workload(workload{ns: "shop", name: "three", nodes: []string{"node-a1", "node-a1", "node-a1"}})
	c.pdb("shop", "three", "three", "maxUnavailable: 1")
	r := c.drill(t, drain("node-a1"))
	n := nodeResult(t, r, "node-a1")
	if n.Verdict != drill.Serializes || n.Rounds != 3 || n.Evicted != 3 {
		t.Errorf("node-a1: %s in %d rounds, %d evicted; want serializes in 3, 3 evicted", n.Verdict, n.Rounds, n.Evicted)
	}
	if r.Verdict != drill.Unaffected {
		t.Errorf("overall verdict %s, want unaffected", r.Verdict)
	}
}

func TestOverlappingBudgetsBlock(t *testing.T) {
	c := &cluster{}
	c.threeZones()
	c.workload(workload{ns: "shop", name: "web", nodes: []string{"node-a1", "node-b1", "node-c1"}})
	c.pdb("shop", "web", "web", "maxUnavailable: 1")
	c.pdb("shop", "web-too", "web", "minAvailable: 1")
	r := c.drill(t, drain("node-a1"))
	w := verdictOf(t, r, "web")
	if w.Verdict != drill.Blocks || !strings.Contains(w.Reason, "2 PodDisruptionBudgets select it (web, web-too)") {
		t.Errorf("web: %s (%s), want blocks by two budgets", w.Verdict, w.Reason)
	}
}

func TestDrainNeeds(t *testing.T) {
	c := &cluster{}
	c.threeZones()
	c.pod("shop", "bare", "app: bare", "", "node-a1", "")
	c.workload(workload{ns: "shop", name: "scratch", nodes: []string{"node-a1", "node-b1"}, spec: "volumes: [{name: tmp, emptyDir: {}}]"})
	c.add(`apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: kube-system, uid: agent-uid}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: a, image: a:1}]}`)
	c.pod("kube-system", "agent-x", "app: agent", "ownerReferences: [{apiVersion: apps/v1, kind: DaemonSet, name: agent, uid: agent-uid, controller: true}]", "node-a1", "")
	r := c.drill(t, drain("node-a1"))
	n := nodeResult(t, r, "node-a1")
	if want := []string{"--delete-emptydir-data", "--force", "--ignore-daemonsets"}; !slices.Equal(n.Needs, want) {
		t.Errorf("needs %v, want %v", n.Needs, want)
	}
	if b := verdictOf(t, r, "bare"); b.Verdict != drill.Outage || !strings.Contains(b.Reason, "not recreated") {
		t.Errorf("bare pod: %s (%s), want outage, not recreated", b.Verdict, b.Reason)
	}
	if slices.ContainsFunc(r.Workloads, func(w drill.WorkloadResult) bool { return w.Kind == "DaemonSet" }) {
		t.Error("a DaemonSet is judged: its pods are not evicted")
	}
}

// A cordoned node still counts as a domain of a DoNotSchedule spread over
// hostnames, with no pod: a replacement elsewhere would exceed maxSkew
// (kubernetes/kubernetes#106127).
func TestCordonedDomainStillCounts(t *testing.T) {
	spread := `topologySpreadConstraints: [{maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: web}}}]`
	c := &cluster{}
	c.threeZones()
	c.workload(workload{ns: "shop", name: "web", nodes: []string{"node-a1", "node-a2", "node-b1", "node-b2", "node-c1", "node-c2"}, spec: spread})
	r := c.drill(t, drain("node-a1"))
	w := verdictOf(t, r, "web")
	if w.Verdict != drill.Pending || !strings.Contains(w.Reason, "5 node(s) didn't match pod topology spread constraints") {
		t.Errorf("web: %s (%s), want pending on the spread", w.Verdict, w.Reason)
	}
	// Honouring taints leaves the cordoned node out of the count.
	c = &cluster{}
	c.threeZones()
	c.workload(workload{ns: "shop", name: "web", nodes: []string{"node-a1", "node-a2", "node-b1", "node-b2", "node-c1", "node-c2"},
		spec: strings.Replace(spread, "whenUnsatisfiable", "nodeTaintsPolicy: Honor, whenUnsatisfiable", 1)})
	if w := verdictOf(t, c.drill(t, drain("node-a1")), "web"); w.Verdict != drill.Unaffected {
		t.Errorf("web with nodeTaintsPolicy Honor: %s (%s), want unaffected", w.Verdict, w.Reason)
	}
}

func TestZoneLoss(t *testing.T) {
	spread := `topologySpreadConstraints: [{maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: web}}}]`
	build := func() *cluster {
		c := &cluster{}
		c.threeZones()
		c.workload(workload{ns: "shop", name: "web", nodes: []string{"node-a1", "node-b1", "node-c1"}, spec: spread})
		c.workload(workload{ns: "shop", name: "api", nodes: []string{"node-a1", "node-a2"}})
		c.pdb("shop", "api", "api", "minAvailable: 1")
		c.workload(workload{ns: "shop", name: "db", kind: "StatefulSet", nodes: []string{"node-a1", "node-b1", "node-c1"}})
		return c
	}
	r := build().drill(t, zone("a", false))
	for name, want := range map[string]string{
		"web": drill.Pending, // the lost zone still counts, with no pod
		"api": drill.Outage,  // budgets do not protect against a zone loss
		"db":  drill.Pending, // its pod stays Terminating
	} {
		if got := verdictOf(t, r, name); got.Verdict != want {
			t.Errorf("zone a lost: %s: %s, want %s (%s)", name, got.Verdict, want, got.Reason)
		}
	}
	if n := nodeResult(t, r, "node-a1"); n.Verdict != drill.Lost {
		t.Errorf("node-a1: %s, want lost", n.Verdict)
	}
	r = build().drill(t, zone("a", true))
	for name, want := range map[string]string{"web": drill.Unaffected, "api": drill.Outage, "db": drill.Unaffected} {
		if got := verdictOf(t, r, name); got.Verdict != want {
			t.Errorf("zone a deleted: %s: %s, want %s (%s)", name, got.Verdict, want, got.Reason)
		}
	}
	if _, err := drill.Run(build().inventory(t), zone("x", false), drill.Options{}); err == nil || !strings.Contains(err.Error(), "the nodes' zones: a, b, c") {
		t.Errorf("an unknown zone: %v", err)
	}
}

func TestRequiredAntiAffinityWithNoRoomLeft(t *testing.T) {
	c := &cluster{}
	for _, n := range []string{"n1", "n2", "n3"} {
		c.node(n, "a")
	}
	c.workload(workload{ns: "shop", name: "cache", nodes: []string{"n1", "n2", "n3"}, spec: `affinity: {podAntiAffinity: {requiredDuringSchedulingIgnoredDuringExecution: [{topologyKey: kubernetes.io/hostname, labelSelector: {matchLabels: {app: cache}}}]}}`})
	w := verdictOf(t, c.drill(t, drain("n1")), "cache")
	if w.Verdict != drill.Pending || !strings.Contains(w.Reason, "0/3 nodes are available: 1 node(s) were unschedulable, 2 node(s) didn't match pod anti-affinity rules") {
		t.Errorf("cache: %s (%s)", w.Verdict, w.Reason)
	}
}

func TestZonalVolume(t *testing.T) {
	c := &cluster{}
	c.threeZones()
	c.workload(workload{kind: "StatefulSet", ns: "shop", name: "db", nodes: []string{"node-a1"}, spec: `volumes: [{name: data, persistentVolumeClaim: {claimName: data-db-0}}]`})
	c.add(`apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data-db-0, namespace: shop}
spec: {volumeName: pv-db, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
status: {phase: Bound}`)
	c.add(`apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-db}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  csi: {driver: disk.csi, volumeHandle: d1}
  nodeAffinity: {required: {nodeSelectorTerms: [{matchExpressions: [{key: topology.kubernetes.io/zone, operator: In, values: [a]}]}]}}`)
	// Drained, it moves to the other node of its zone.
	if w := verdictOf(t, c.drill(t, drain("node-a1")), "db"); w.Verdict != drill.Outage || w.ReadyAfter != 1 {
		t.Errorf("drain: %s (%s), want a brief outage and a replacement", w.Verdict, w.Reason)
	}
	// Its zone lost, it has nowhere to go.
	w := verdictOf(t, c.drill(t, zone("a", true)), "db")
	if w.ReadyAfter != 0 || !strings.Contains(w.Reason, "4 node(s) had volume node affinity conflict") {
		t.Errorf("zone loss: %s (%s)", w.Verdict, w.Reason)
	}
}

func TestPoolTooSmall(t *testing.T) {
	c := &cluster{}
	for _, n := range []string{"n1", "n2"} {
		c.nodeSized(n, "a", "1")
	}
	c.workload(workload{ns: "shop", name: "big", nodes: []string{"n1", "n2"}, cpu: "600m"})
	w := verdictOf(t, c.drill(t, drain("n1")), "big")
	if w.Verdict != drill.Pending || !strings.Contains(w.Reason, "1 Insufficient cpu") {
		t.Errorf("big: %s (%s)", w.Verdict, w.Reason)
	}
}

func TestUpgradeWaves(t *testing.T) {
	c := &cluster{}
	c.threeZones()
	c.workload(workload{ns: "shop", name: "web", nodes: []string{"node-a1", "node-b1", "node-c1"}})
	c.pdb("shop", "web", "web", "maxUnavailable: 1")
	r := c.drill(t, drill.Scenario{Kind: drill.Upgrade, MaxUnavailable: 2})
	if len(r.Nodes) != 6 || r.Nodes[0].Wave != 1 || r.Nodes[1].Wave != 1 || r.Nodes[5].Wave != 3 {
		t.Errorf("waves: %+v", r.Nodes)
	}
	if w := verdictOf(t, r, "web"); w.Verdict != drill.Unaffected || w.ReadyDuring != 2 {
		t.Errorf("web: %s, %d ready at the lowest (%s)", w.Verdict, w.ReadyDuring, w.Reason)
	}
}

func TestNodesBySelector(t *testing.T) {
	c := &cluster{}
	c.threeZones()
	c.node("spot-1", "a")
	c.node("spot-2", "b")
	c.workload(workload{ns: "shop", name: "batch", nodes: []string{"spot-1", "spot-2"}})
	r := c.drill(t, drill.Scenario{Kind: drill.Nodes, Selector: "pool=spot", NodesDeleted: true})
	if len(r.Nodes) != 2 {
		t.Fatalf("nodes lost: %+v", r.Nodes)
	}
	if w := verdictOf(t, r, "batch"); w.Verdict != drill.Outage || w.ReadyAfter != 2 {
		t.Errorf("batch: %s (%s), want an outage until its pods are replaced", w.Verdict, w.Reason)
	}
}

func TestStaleSnapshotNeverPasses(t *testing.T) {
	c := &cluster{}
	c.threeZones()
	c.workload(workload{ns: "shop", name: "web", nodes: []string{"node-a1", "node-b1"}})
	inv := c.inventory(t)
	at := mustTime(t, "2026-01-01T00:00:00Z")
	r, err := drill.Run(inv, drain("node-a1"), drill.Options{At: at, Now: at.Add(48 * 3600e9)})
	if err != nil {
		t.Fatal(err)
	}
	if w := verdictOf(t, r, "web"); w.Verdict != drill.Undetermined {
		t.Errorf("web from a stale snapshot: %s (%s), want unknown", w.Verdict, w.Reason)
	}
	if len(r.Unknowns) == 0 || !strings.Contains(r.Unknowns[0].Reason, "read 48h0m0s ago") {
		t.Errorf("unknowns: %+v", r.Unknowns)
	}
}

// kubectl drain runs every pod through all its filters: a bare pod with
// emptyDir data needs both flags. A pod whose controller plimsoll does not
// read is not bare: it needs no --force, and what its controller does is
// unknown, never fine.
func TestDrainFiltersAddUp(t *testing.T) {
	c := &cluster{}
	c.threeZones()
	c.pod("shop", "scratch", "app: scratch", "", "node-a1", "containers: [{name: a, image: a:1}]\n  volumes: [{name: tmp, emptyDir: {}}]")
	c.pod("shop", "pg-1", "app: pg", "ownerReferences: [{apiVersion: postgresql.cnpg.io/v1, kind: Cluster, name: pg, uid: pg-uid, controller: true}]", "node-b1", "")
	c.pod("shop", "pg-2", "app: pg", "ownerReferences: [{apiVersion: postgresql.cnpg.io/v1, kind: Cluster, name: pg, uid: pg-uid, controller: true}]", "node-c1", "")
	r := c.drill(t, drain("node-a1", "node-b1"))
	if n := nodeResult(t, r, "node-a1"); !slices.Equal(n.Needs, []string{"--delete-emptydir-data", "--force"}) {
		t.Errorf("node-a1 needs %v, want --delete-emptydir-data and --force", n.Needs)
	}
	if n := nodeResult(t, r, "node-b1"); len(n.Needs) != 0 {
		t.Errorf("node-b1 needs %v, want nothing: its pod has a controller", n.Needs)
	}
	if w := verdictOf(t, r, "pg"); w.Verdict != drill.Undetermined || !strings.Contains(w.Reason, "Cluster pg, is not among what plimsoll reads") {
		t.Errorf("pg: %s (%s), want unknown", w.Verdict, w.Reason)
	}
}

// A pod left Terminating on an unreachable node still holds its domain for
// required anti-affinity (the scheduler's InterPodAffinity counts it),
// though not for topology spread.
func TestTerminatingPodsHoldAntiAffinity(t *testing.T) {
	anti := `affinity: {podAntiAffinity: {requiredDuringSchedulingIgnoredDuringExecution: [{topologyKey: topology.kubernetes.io/zone, labelSelector: {matchLabels: {app: quorum}}}]}}`
	c := &cluster{}
	c.threeZones()
	c.workload(workload{ns: "shop", name: "quorum", nodes: []string{"node-a1", "node-b1", "node-c1"}, spec: anti})
	r := c.drill(t, drill.Scenario{Kind: drill.Nodes, Selector: "kubernetes.io/hostname=node-a1"})
	if w := verdictOf(t, r, "quorum"); w.Verdict != drill.Pending || !strings.Contains(w.Reason, "didn't match pod anti-affinity rules") {
		t.Errorf("quorum: %s (%s), want pending: its Terminating pod still holds zone a", w.Verdict, w.Reason)
	}
}

// A pod whose ReplicaSet the read did not show is still drilled, under its
// controller as the reference names it, and judged unknown, not fine.
func TestPodOfAnUnreadController(t *testing.T) {
	c := &cluster{}
	c.threeZones()
	c.pod("shop", "orphan-1", "app: orphan", "ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: gone-rs, uid: gone-uid, controller: true}]", "node-a1", "")
	c.pod("shop", "orphan-2", "app: orphan", "ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: gone-rs, uid: gone-uid, controller: true}]", "node-b1", "")
	r := c.drill(t, drain("node-a1"))
	w := verdictOf(t, r, "gone-rs")
	if w.Kind != "ReplicaSet" || w.Verdict != drill.Undetermined || w.ReadyBefore != 2 {
		t.Errorf("gone-rs: %s %s, %d ready (%s); want an unknown ReplicaSet of 2", w.Kind, w.Verdict, w.ReadyBefore, w.Reason)
	}
	if n := nodeResult(t, r, "node-a1"); len(n.Needs) != 0 {
		t.Errorf("node-a1 needs %v: a pod with a controller needs no --force", n.Needs)
	}
}
