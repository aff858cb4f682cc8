package platform

import (
	"maps"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	schedulingcorev1 "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// The node-role labels kubeadm and most installers set on control-plane
// nodes; "master" is the old name.
const (
	ControlPlaneLabel = "node-role.kubernetes.io/control-plane"
	MasterLabel       = "node-role.kubernetes.io/master"
)

// IsControlPlane reports whether a Node is a control-plane node.
func IsControlPlane(n *inventory.Object) bool {
	_, cp := n.Labels[ControlPlaneLabel]
	_, master := n.Labels[MasterLabel]
	return cp || master
}

// Schedulable reports whether ordinary pods may be placed on a Node: it is
// not cordoned and has no NoSchedule or NoExecute taint.
func Schedulable(n *corev1.Node) bool {
	_, untolerated := untoleratedTaint(n, nil)
	return !n.Spec.Unschedulable && !untolerated
}

// untoleratedTaint finds a NoSchedule or NoExecute taint of the node that
// the tolerations do not tolerate, as the scheduler's TaintToleration
// filter does (k8s.io/component-helpers).
func untoleratedTaint(n *corev1.Node, tolerations []corev1.Toleration) (corev1.Taint, bool) {
	return schedulingcorev1.FindMatchingUntoleratedTaint(klog.Background(), n.Spec.Taints, tolerations, func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
	}, true)
}

// Gap is a node a node agent (a log shipper, a node exporter) should run
// on and has no ready pod on, and why.
type Gap struct {
	Node string
	// Why is what keeps the agent off the node ("taint
	// node-role.kubernetes.io/control-plane:NoSchedule not tolerated",
	// "nodeSelector disktype=ssd"), or "no ready pod" when it may run there.
	Why string
}

// Gaps returns the nodes whose logs and metrics matter that have no ready
// pod of a DaemonSet, with why, and how many nodes matter: every visible
// Node but virtual ones (virtual-kubelet, EKS Fargate), which run no
// DaemonSet pods. Control-plane nodes count, so a shipper that does not
// tolerate their taint misses the API server's, etcd's and the scheduler's
// logs; a managed provider's control plane has no Node, so it never counts.
// It reads Nodes and Pods.
func Gaps(inv *inventory.Inventory, ds *inventory.Object) (gaps []Gap, nodes int) {
	tmpl, _ := ds.PodTemplate()
	ready := map[string]bool{}
	for _, p := range inv.PodsOf(ds) {
		if pod, ok := p.Typed.(*corev1.Pod); ok && PodReady(pod) {
			ready[pod.Spec.NodeName] = true
		}
	}
	for _, n := range inv.OfKind("Node") {
		node, ok := n.Typed.(*corev1.Node)
		if !ok || virtualNode(n) {
			continue
		}
		nodes++
		if ready[n.Name] {
			continue
		}
		why := "no ready pod"
		if off := keptOff(tmpl, node); off != "" {
			why = off
		}
		gaps = append(gaps, Gap{Node: n.Name, Why: why})
	}
	sort.Slice(gaps, func(i, j int) bool { return gaps[i].Node < gaps[j].Node })
	return gaps, nodes
}

// virtualNode reports whether a Node is virtual: virtual-kubelet (ACI,
// Admiralty) or an EKS Fargate node, on which DaemonSets do not run.
func virtualNode(n *inventory.Object) bool {
	return n.Labels["type"] == "virtual-kubelet" || n.Labels["eks.amazonaws.com/compute-type"] == "fargate"
}

// keptOff says what keeps a DaemonSet's pods off a node, or "" when they
// may run there: its required node affinity or nodeSelector (matched with
// k8s.io/component-helpers, as the scheduler does), or a NoSchedule or
// NoExecute taint its tolerations, with those the DaemonSet controller adds,
// do not tolerate.
func keptOff(tmpl *corev1.PodTemplateSpec, n *corev1.Node) string {
	var spec corev1.PodSpec
	if tmpl != nil {
		spec = tmpl.Spec
	}
	pod := &corev1.Pod{Spec: spec}
	if ok, err := nodeaffinity.GetRequiredNodeAffinity(pod).Match(n); !ok || err != nil {
		if len(spec.NodeSelector) > 0 && !labels.SelectorFromSet(spec.NodeSelector).Matches(labels.Set(n.Labels)) {
			return "nodeSelector " + labels.Set(spec.NodeSelector).String()
		}
		return "required node affinity"
	}
	tolerations := append(daemonTolerations(spec.HostNetwork), spec.Tolerations...)
	if taint, untolerated := untoleratedTaint(n, tolerations); untolerated {
		return "taint " + taint.ToString() + " not tolerated"
	}
	return ""
}

// daemonTolerations are the tolerations the DaemonSet controller adds to
// every DaemonSet pod, mirroring AddOrUpdateDaemonPodTolerations in
// k8s.io/kubernetes pkg/controller/daemon/util: a DaemonSet pod stays on a
// node that is not ready, unreachable, under pressure or cordoned, and one
// with the host's network on a node whose network is not ready.
func daemonTolerations(hostNetwork bool) []corev1.Toleration {
	tol := func(key string, effect corev1.TaintEffect) corev1.Toleration {
		return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: effect}
	}
	out := []corev1.Toleration{
		tol(corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute),
		tol(corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute),
		tol(corev1.TaintNodeDiskPressure, corev1.TaintEffectNoSchedule),
		tol(corev1.TaintNodeMemoryPressure, corev1.TaintEffectNoSchedule),
		tol(corev1.TaintNodePIDPressure, corev1.TaintEffectNoSchedule),
		tol(corev1.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule),
	}
	if hostNetwork {
		out = append(out, tol(corev1.TaintNodeNetworkUnavailable, corev1.TaintEffectNoSchedule))
	}
	return out
}

// PodReady reports whether a pod's Ready condition is true.
func PodReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Provider is a managed Kubernetes service whose control plane users
// cannot see.
type Provider struct {
	Name string
	// Evidence names the object and field that gave it away.
	Evidence string
}

// managedSignals recognise managed control planes by the labels their
// nodes always carry, and by the version string their API servers report.
var managedSignals = []struct {
	name, labelPrefix, version string
}{
	{"Amazon EKS", "eks.amazonaws.com/", "-eks-"},
	{"Google GKE", "cloud.google.com/gke-", "-gke."},
	{"Azure AKS", "kubernetes.azure.com/", ""},
	{"DigitalOcean Kubernetes", "doks.digitalocean.com/", ""},
	{"Oracle OKE", "oci.oraclecloud.com/", ""},
}

// ManagedReads are the kinds Managed consults.
var ManagedReads = []string{"Node", inventory.ClusterKey}

// Managed returns the managed service the cluster runs on, or nil for a
// self-managed control plane (or one plimsoll cannot place). It reads
// Nodes and the cluster object (ManagedReads).
func Managed(inv *inventory.Inventory) *Provider {
	nodes := inv.OfKind("Node")
	for _, s := range managedSignals {
		for _, n := range nodes {
			for _, k := range slices.Sorted(maps.Keys(n.Labels)) {
				if strings.HasPrefix(k, s.labelPrefix) {
					return &Provider{s.name, "Node " + n.Name + " label " + k}
				}
			}
		}
	}
	if c := inv.Cluster(); c != nil {
		v := c.ClusterInfo().Version
		for _, s := range managedSignals {
			if s.version != "" && strings.Contains(v, s.version) {
				return &Provider{s.name, "API server version " + v}
			}
		}
	}
	return nil
}
