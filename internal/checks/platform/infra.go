package platform

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/checks/runtime"
	"github.com/plimsoll/plimsoll/internal/checks/say"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// minControlPlaneNodes is what seed 000 asks of the control plane: three
// or more nodes, so that etcd keeps quorum when one is lost.
const minControlPlaneNodes = 3

// infraChecks judge the infrastructure layer of a running cluster: the
// control plane, the nodes, storage, autoscaling, and the Kubernetes
// version.
func infraChecks() []*check.Check {
	return []*check.Check{
		{
			ID:            "control-plane-ha",
			Title:         "The control plane runs on three or more nodes",
			Layer:         check.Infrastructure,
			Severity:      check.High,
			Kinds:         clusterKinds,
			Reads:         platform.ManagedReads,
			Rationale:     "etcd needs a majority of its members to accept writes: with one control-plane node, its loss stops every change to the cluster, and with two, losing either does. Three nodes survive the loss of one, which is what an upgrade or a failed disk takes.",
			Remediation:   "Run the control plane on three (or five) nodes, spread across zones, with etcd on each or on a separate group of three; for kubeadm, join more nodes with kubeadm join --control-plane.",
			ChecklistItem: checklist.HAControlPlane,
			Requires:      check.Cluster,
			Run:           controlPlaneHaRun,
		},
		{
			ID:            "control-plane-tainted",
			Title:         "Control-plane nodes are tainted NoSchedule",
			Layer:         check.Infrastructure,
			Severity:      check.Medium,
			Kinds:         []string{"Node"},
			Rationale:     "Without the taint, the scheduler places application pods on control-plane nodes, where a memory-hungry pod can starve the API server and etcd of the resources they need to keep the whole cluster running.",
			Remediation:   "Taint each control-plane node: kubectl taint nodes NAME node-role.kubernetes.io/control-plane:NoSchedule.",
			ChecklistItem: checklist.NoPodsOnControlPlane,
			Requires:      check.Cluster,
			Applies:       isControlPlaneNode,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				node := o.Typed.(*corev1.Node)
				for _, t := range node.Spec.Taints {
					if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
						return []check.Finding{check.Passf("taint %s:%s", t.Key, t.Effect)}
					}
				}
				return []check.Finding{check.Failf("spec.taints", "control-plane node has no NoSchedule or NoExecute taint: the scheduler may place application pods on it")}
			},
		},
		{
			ID:            "control-plane-no-app-pods",
			Title:         "No application pods run on control-plane nodes",
			Layer:         check.Infrastructure,
			Severity:      check.Medium,
			Kinds:         []string{"Node"},
			Reads:         append([]string{"Namespace"}, appNamespaceReads...),
			Rationale:     "Application pods on a control-plane node compete with the API server and etcd for CPU, memory and disk I/O; a runaway one can take the control plane down with it.",
			Remediation:   "Taint the node NoSchedule, remove the tolerations or node selectors that let the application's pods onto it, and evict them (kubectl drain keeps DaemonSets).",
			ChecklistItem: checklist.NoPodsOnControlPlane,
			Requires:      check.Cluster,
			Applies:       isControlPlaneNode,
			Run:           controlPlaneNoAppPodsRun,
		},
		{
			ID:            "nodes-workers-ha",
			Title:         "Enough schedulable worker nodes, across zones",
			Layer:         check.Infrastructure,
			Severity:      check.High,
			Kinds:         clusterKinds,
			Reads:         []string{"Node"},
			Rationale:     "Workloads survive the loss of a node only if there are others to reschedule onto, and the loss of a zone only if nodes run in more than one. Replicas and spread constraints cannot place pods on nodes that do not exist.",
			Remediation:   "Run at least minWorkerNodes schedulable worker nodes, in an auto-scaling group or node pool spread over at least minZones availability zones, and label them with topology.kubernetes.io/zone.",
			ChecklistItem: checklist.HAWorkerNodes,
			Requires:      check.Cluster,
			Run:           nodesWorkersHaRun,
		},
		{
			ID:            "storage-default-class",
			Title:         "One default StorageClass, backed by a driver",
			Layer:         check.Infrastructure,
			Severity:      check.Medium,
			Kinds:         clusterKinds,
			Reads:         []string{"CSIDriver.storage.k8s.io", "StorageClass"},
			Rationale:     "A PersistentVolumeClaim that names no class gets the default one; with none, such claims stay Pending forever, and with two, which one a claim gets is undefined. Charts rely on the default class.",
			Remediation:   "Mark exactly one StorageClass with the annotation storageclass.kubernetes.io/is-default-class: \"true\", backed by an installed CSI driver.",
			ChecklistItem: checklist.SharedStorage,
			Requires:      check.Cluster,
			Run:           storageDefaultClassRun,
		},
		{
			ID:            "node-autoscaler",
			Title:         "A node autoscaler runs",
			Layer:         check.Infrastructure,
			Severity:      check.Medium,
			Kinds:         clusterKinds,
			Reads:         append(append([]string{"NodePool.karpenter.sh"}, platform.Reads...), platform.ManagedReads...),
			Rationale:     "Pod autoscalers add replicas only as far as the nodes have room; without a node autoscaler, a traffic peak leaves new pods Pending, and idle nodes are paid for after it.",
			Remediation:   "Install the Cluster Autoscaler for your provider, or Karpenter with at least one NodePool, or enable the provider's managed node autoscaling.",
			ChecklistItem: checklist.ClusterAutoscaler,
			Requires:      check.Cluster,
			Run:           nodeAutoscalerRun,
		},
		{
			ID:            "metrics-server",
			Title:         "metrics-server runs",
			Layer:         check.Infrastructure,
			Severity:      check.Medium,
			Kinds:         clusterKinds,
			Reads:         platform.Reads,
			Rationale:     "HorizontalPodAutoscalers on CPU or memory, kubectl top and the VerticalPodAutoscaler read the resource metrics API, which metrics-server serves. Without it, every such HPA reports FailedGetResourceMetric and never scales.",
			Remediation:   "Install metrics-server (kubectl apply -f https://github.com/kubernetes-sigs/metrics-server/releases/latest/download/components.yaml, or its Helm chart) with two replicas.",
			ChecklistItem: checklist.ScalableClusters,
			Requires:      check.Cluster,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				return runningComponent(c, platform.MetricsServer)
			},
		},
		{
			ID:            "hpa-metrics-available",
			Title:         "HorizontalPodAutoscalers can compute their metrics",
			Layer:         check.Infrastructure,
			Severity:      check.High,
			Kinds:         []string{"HorizontalPodAutoscaler"},
			Rationale:     "An HPA that cannot read its metrics does not scale at all: the workload stays at its current replica count through any peak, while the HPA looks configured.",
			Remediation:   "Read the HPA's ScalingActive condition (kubectl describe hpa): install metrics-server for resource metrics, or the metrics adapter for custom and external metrics, and make sure the target's containers have the requests the utilization is computed from.",
			ChecklistItem: checklist.ScalableClusters,
			Requires:      check.Cluster,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				hpa := o.Typed.(*autoscalingv2.HorizontalPodAutoscaler)
				for i, cond := range hpa.Status.Conditions {
					if cond.Type == autoscalingv2.ScalingActive && cond.Status == corev1.ConditionFalse {
						return []check.Finding{runtime.ConditionFinding(i, string(cond.Type), cond.Status, cond.Reason, cond.Message, ": the autoscaler cannot compute its metrics and does not scale")}
					}
				}
				return nil
			},
		},
		{
			ID:            "kubernetes-version-supported",
			Title:         "The cluster runs a Kubernetes release that still gets patches",
			Layer:         check.Upgrade,
			Severity:      check.High,
			Kinds:         clusterKinds,
			Rationale:     "The Kubernetes project patches each minor release for about fourteen months. After that, security fixes stop, and the upgrade path grows longer with every release skipped, since the control plane moves one minor version at a time.",
			Remediation:   "Plan an upgrade to a supported minor release, one minor version at a time, running plimsoll's api-removed and api-deprecated checks on your manifests against each target version first.",
			ChecklistItem: checklist.UpgradePlan,
			Requires:      check.Cluster,
			Run:           kubernetesVersionSupportedRun,
		},
		{
			ID:            "kubelet-version-skew",
			Title:         "Kubelets are within the supported version skew",
			Layer:         check.Upgrade,
			Severity:      check.Medium,
			Kinds:         []string{"Node"},
			Reads:         []string{inventory.ClusterKey},
			Rationale:     "A kubelet may be up to three minor versions older than the API server and never newer. Outside that skew, the combination is untested and the next control-plane upgrade is blocked until the node is upgraded.",
			Remediation:   "Upgrade (or replace) the node so that its kubelet is no newer than the API server and at most three minor versions older, before upgrading the control plane further.",
			ChecklistItem: checklist.UpgradePlan,
			Requires:      check.Cluster,
			Run:           kubeletVersionSkewRun,
		},
		{
			ID:            "cost-monitoring",
			Title:         "Cost monitoring runs",
			Layer:         check.Governance,
			Severity:      check.Info,
			Kinds:         clusterKinds,
			Reads:         platform.Reads,
			Rationale:     "Cost labels on namespaces and workloads are only useful when something turns them into a bill per team: OpenCost or Kubecost allocate the cluster's cost to namespaces, labels and workloads.",
			Remediation:   "Install OpenCost (or Kubecost), and label namespaces with the cost labels it allocates by.",
			ChecklistItem: checklist.CostMonitoring,
			Requires:      check.Cluster,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				return runningComponent(c, platform.CostMonitoring)
			},
		},
		{
			ID:            "chaos-tooling",
			Title:         "A chaos engineering tool is installed",
			Layer:         check.ClusterServices,
			Severity:      check.Info,
			Kinds:         clusterKinds,
			Reads:         platform.Reads,
			Rationale:     "Replicas, disruption budgets and failover are only proven when something breaks on purpose: Chaos Mesh or LitmusChaos kill pods and cut networks in a controlled way, so resilience is tested before an outage tests it.",
			Remediation:   "Install Chaos Mesh or LitmusChaos and run regular experiments (pod kill, node drain, network partition) against staging first.",
			ChecklistItem: checklist.ChaosEngineering,
			Requires:      check.Cluster,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				return runningComponent(c, platform.Chaos)
			},
		},
	}
}

// controlPlaneHaRun is control-plane-ha's Run.
func controlPlaneHaRun(o *inventory.Object, c *check.Context) []check.Finding {
	if p := platform.Managed(c.Inventory); p != nil {
		return []check.Finding{check.NotAssessedf("provider-managed: %s (%s) runs the control plane out of sight", p.Name, p.Evidence)}
	}
	cps := controlPlaneNodes(c.Inventory)
	switch {
	case len(cps) == 0:
		return []check.Finding{check.NotAssessedf("no Node carries the %s label and no managed provider was recognised: the control plane is not visible", platform.ControlPlaneLabel)}
	case len(cps) < minControlPlaneNodes:
		return []check.Finding{check.Failf("", "%s (%s): losing one stops etcd from accepting writes; run %d or more", say.Count(len(cps), "control-plane node", "control-plane nodes"), names(cps), minControlPlaneNodes)}
	}
	return []check.Finding{check.Passf("%d control-plane nodes: %s", len(cps), names(cps))}
}

// controlPlaneNoAppPodsRun is control-plane-no-app-pods's Run.
func controlPlaneNoAppPodsRun(o *inventory.Object, c *check.Context) []check.Finding {
	var apps []string
	for _, ns := range appNamespaces(c) {
		for _, p := range c.Inventory.InNamespace("Pod", ns.Name) {
			if pod, ok := p.Typed.(*corev1.Pod); ok && pod.Spec.NodeName == o.Name && !podDone(pod) {
				apps = append(apps, p.Namespace+"/"+p.Name)
			}
		}
	}
	if len(apps) > 0 {
		return []check.Finding{check.Failf("", "application pods run on this control-plane node: %s", say.ListUpTo(apps, ", ", listedNodes))}
	}
	return nil
}

// nodesWorkersHaRun is nodes-workers-ha's Run.
func nodesWorkersHaRun(o *inventory.Object, c *check.Context) []check.Finding {
	var workers []string
	zones := map[string]bool{}
	for _, n := range c.Inventory.OfKind("Node") {
		node, ok := n.Typed.(*corev1.Node)
		if !ok || platform.IsControlPlane(n) || !platform.Schedulable(node) {
			continue
		}
		workers = append(workers, n.Name)
		if z := n.Labels[corev1.LabelTopologyZone]; z != "" {
			zones[z] = true
		}
	}
	zoneList := slices.Sorted(maps.Keys(zones))
	var out []check.Finding
	if got, want := len(workers), int(c.Params.MinWorkerNodes); got < want {
		out = append(out, check.Failf("", "%s: %s; want at least %d (minWorkerNodes)", say.Count(got, "schedulable worker node", "schedulable worker nodes"), orNone(say.ListUpTo(workers, ", ", listedNodes)), want))
	}
	if got, want := len(zoneList), int(c.Params.MinZones); got < want {
		out = append(out, check.Failf("", "schedulable worker nodes are in %s by their %s label: %s; want at least %d (minZones)", say.Count(got, "zone", "zones"), corev1.LabelTopologyZone, orNone(strings.Join(zoneList, ", ")), want))
	}
	if len(out) > 0 {
		return out
	}
	return []check.Finding{check.Passf("%d schedulable worker nodes in zones %s", len(workers), strings.Join(zoneList, ", "))}
}

// storageDefaultClassRun is storage-default-class's Run.
func storageDefaultClassRun(o *inventory.Object, c *check.Context) []check.Finding {
	var defaults []*inventory.Object
	for _, sc := range c.Inventory.OfKind("StorageClass") {
		if sc.Annotations["storageclass.kubernetes.io/is-default-class"] == "true" || sc.Annotations["storageclass.beta.kubernetes.io/is-default-class"] == "true" {
			defaults = append(defaults, sc)
		}
	}
	switch len(defaults) {
	case 0:
		return []check.Finding{check.Failf("", "no StorageClass is marked default (annotation storageclass.kubernetes.io/is-default-class: \"true\"): claims without a storageClassName stay Pending")}
	case 1:
	default:
		return []check.Finding{check.Failf("", "%d StorageClasses are marked default (%s): which one a claim gets is undefined", len(defaults), names(defaults))}
	}
	sc := defaults[0].Typed.(*storagev1.StorageClass)
	driver := "an in-tree or external provisioner"
	if c.Inventory.Get("CSIDriver.storage.k8s.io", "", sc.Provisioner) != nil {
		driver = "CSIDriver " + sc.Provisioner + " registered"
	}
	return []check.Finding{check.Passf("default StorageClass %s (provisioner %s, %s)", sc.Name, sc.Provisioner, driver)}
}

// nodeAutoscalerRun is node-autoscaler's Run.
func nodeAutoscalerRun(o *inventory.Object, c *check.Context) []check.Finding {
	found := platform.Find(c.Inventory, platform.NodeAutoscaler)
	running, down := platform.Running(found)
	var pools []string
	for _, p := range c.Inventory.OfKind("NodePool.karpenter.sh") {
		pools = append(pools, p.Name)
	}
	for _, m := range running {
		if m.Impl.Name == "Karpenter" && len(pools) == 0 {
			return []check.Finding{check.Failf("", "%s runs but there is no NodePool (karpenter.sh): it will not add nodes", m)}
		}
		if m.Impl.Name == "Karpenter" {
			return []check.Finding{check.Passf("%s, NodePools %s", m, strings.Join(pools, ", "))}
		}
		return []check.Finding{check.Passf("%s", m)}
	}
	if len(down) > 0 {
		return []check.Finding{check.Failf("", "%s", strings.Join(down, "; "))}
	}
	if p := platform.Managed(c.Inventory); p != nil && p.Name != "Amazon EKS" {
		return []check.Finding{check.NotAssessedf("provider-managed: %s (%s) runs its node autoscaler in the control plane, out of sight", p.Name, p.Evidence)}
	}
	return []check.Finding{check.Failf("", "no Cluster Autoscaler or Karpenter workload was found (by their labels, images or names)")}
}

// kubernetesVersionSupportedRun is kubernetes-version-supported's Run.
func kubernetesVersionSupportedRun(o *inventory.Object, c *check.Context) []check.Finding {
	v := o.ClusterInfo().Version
	minor, ok := minorOf(v)
	if !ok {
		return []check.Finding{check.NotAssessedf("the API server's version is not known")}
	}
	r, known := releaseOf(minor)
	switch {
	case !known && minorLess(minor, releases[0].minor):
		return []check.Finding{check.Failf("", "Kubernetes %s is older than %s, whose patch support ended on %s", v, releases[0].minor, releases[0].endOfLife)}
	case !known:
		return []check.Finding{check.Passf("Kubernetes %s is newer than the releases plimsoll's calendar knows (up to %s)", v, releases[len(releases)-1].minor)}
	}
	eol, _ := time.Parse(time.DateOnly, r.endOfLife)
	switch {
	case !c.Now.Before(eol):
		return []check.Finding{check.Failf("", "Kubernetes %s: patch support for %s ended on %s", v, minor, r.endOfLife)}
	case eol.Sub(c.Now) < 60*24*time.Hour:
		return []check.Finding{check.Failf("", "Kubernetes %s: patch support for %s ends on %s, in %d days", v, minor, r.endOfLife, int(eol.Sub(c.Now).Hours()/24))}
	}
	return []check.Finding{check.Passf("Kubernetes %s: %s is patched until %s", v, minor, r.endOfLife)}
}

// kubeletVersionSkewRun is kubelet-version-skew's Run.
func kubeletVersionSkewRun(o *inventory.Object, c *check.Context) []check.Finding {
	kubelet := o.Typed.(*corev1.Node).Status.NodeInfo.KubeletVersion
	var server string
	if cl := c.Inventory.Cluster(); cl != nil {
		server = cl.ClusterInfo().Version
	}
	sMinor, ok1 := minorOf(server)
	kMinor, ok2 := minorOf(kubelet)
	if !ok1 || !ok2 {
		return []check.Finding{check.NotAssessedf("the API server's or the kubelet's version is not known (API server %q, kubelet %q)", server, kubelet)}
	}
	behind := minorNumber(sMinor) - minorNumber(kMinor)
	switch {
	case behind < 0:
		return []check.Finding{check.Failf("status.nodeInfo.kubeletVersion", "kubelet %s is newer than the API server %s: a kubelet must never be newer", kubelet, server)}
	case behind > 3:
		return []check.Finding{check.Failf("status.nodeInfo.kubeletVersion", "kubelet %s is %d minor versions behind the API server %s; at most 3 are supported", kubelet, behind, server)}
	}
	return []check.Finding{check.Passf("kubelet %s, API server %s", kubelet, server)}
}

// runningComponent is the finding of a check that a component runs: the
// running workloads, with their ready replicas, as evidence, or what was
// looked for and found instead.
func runningComponent(c *check.Context, comp platform.Component) []check.Finding {
	running, f := componentRunning(string(comp), lookedFor(comp), platform.Find(c.Inventory, comp), nil)
	if f != nil {
		return []check.Finding{*f}
	}
	return []check.Finding{check.Passf("%s", describeRunning(running))}
}

func isControlPlaneNode(o *inventory.Object, c *check.Context) (bool, string) {
	if platform.IsControlPlane(o) {
		return true, ""
	}
	return false, "not a control-plane node"
}

func controlPlaneNodes(inv *inventory.Inventory) []*inventory.Object {
	var out []*inventory.Object
	for _, n := range inv.OfKind("Node") {
		if platform.IsControlPlane(n) {
			out = append(out, n)
		}
	}
	return out
}

func podDone(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// names lists the names of nodes, or of other cluster-scoped objects.
func names(objs []*inventory.Object) string {
	ns := make([]string, len(objs))
	for i, o := range objs {
		ns[i] = o.Name
	}
	return say.ListUpTo(ns, ", ", listedNodes)
}

// release is one Kubernetes minor release in the support calendar.
type release struct {
	minor string
	// endOfLife is the date its patch support ends.
	endOfLife string
}

// releases is the upstream support calendar, oldest first, from
// https://kubernetes.io/releases/ (the "End of Life" column; releases not
// yet out have the date of the patch releases page's schedule). Add a row
// with each Kubernetes minor release; TestReleaseCalendarIsCurrent fails
// when the k8s.io/api module plimsoll builds with is newer than the last
// row, so bumping client-go forces the update.
var releases = []release{
	{"1.27", "2024-06-28"},
	{"1.28", "2024-10-28"},
	{"1.29", "2025-02-28"},
	{"1.30", "2025-06-28"},
	{"1.31", "2025-10-28"},
	{"1.32", "2026-02-28"},
	{"1.33", "2026-06-28"},
	{"1.34", "2026-10-27"},
	{"1.35", "2027-02-28"},
	{"1.36", "2027-06-28"},
	{"1.37", "2027-10-28"},
}

func releaseOf(minor string) (release, bool) {
	for _, r := range releases {
		if r.minor == minor {
			return r, true
		}
	}
	return release{}, false
}

// minorOf returns "1.33" for versions like v1.33.2, 1.33.2-eks-1234 or
// v1.33.2+k3s1.
func minorOf(v string) (string, bool) {
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(parts) < 2 {
		return "", false
	}
	if parts[0] != "1" { // not Kubernetes: kwok's kubelets say v0.8.0
		return "", false
	}
	digits := parts[1]
	if i := strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		digits = digits[:i]
	}
	if digits == "" {
		return "", false
	}
	return parts[0] + "." + digits, true
}

// minorNumber returns the minor number of "1.33".
func minorNumber(minor string) int {
	_, m, _ := strings.Cut(minor, ".")
	n, _ := strconv.Atoi(m)
	return n
}

func minorLess(a, b string) bool { return minorNumber(a) < minorNumber(b) }
