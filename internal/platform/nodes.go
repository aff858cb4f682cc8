package platform

import (
	"maps"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
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
	return SchedulableFor(n, nil)
}

// SchedulableFor reports whether pods with these tolerations may be placed
// on a Node.
func SchedulableFor(n *corev1.Node, tolerations []corev1.Toleration) bool {
	if n.Spec.Unschedulable {
		return false
	}
	for i := range n.Spec.Taints {
		t := &n.Spec.Taints[i]
		if t.Effect == corev1.TaintEffectPreferNoSchedule {
			continue
		}
		tolerated := false
		for _, tol := range tolerations {
			if tol.ToleratesTaint(klog.Background(), t, true) {
				tolerated = true
				break
			}
		}
		if !tolerated {
			return false
		}
	}
	return true
}

// Uncovered returns the nodes a DaemonSet's pods may run on that have no
// ready pod of it, and how many such nodes there are. It reads Nodes and
// Pods.
func Uncovered(inv *inventory.Inventory, ds *inventory.Object) (missing []string, eligible int) {
	tmpl, _ := ds.PodTemplate()
	var tolerations []corev1.Toleration
	if tmpl != nil {
		tolerations = tmpl.Spec.Tolerations
	}
	ready := map[string]bool{}
	for _, p := range inv.PodsOf(ds) {
		if pod, ok := p.Typed.(*corev1.Pod); ok && PodReady(pod) {
			ready[pod.Spec.NodeName] = true
		}
	}
	for _, n := range inv.OfKind("Node") {
		node, ok := n.Typed.(*corev1.Node)
		if !ok || !SchedulableFor(node, tolerations) || !selects(tmpl, node) {
			continue
		}
		eligible++
		if !ready[n.Name] {
			missing = append(missing, n.Name)
		}
	}
	sort.Strings(missing)
	return missing, eligible
}

// selects reports whether a pod template's nodeSelector admits the node.
func selects(tmpl *corev1.PodTemplateSpec, n *corev1.Node) bool {
	if tmpl == nil {
		return true
	}
	for k, v := range tmpl.Spec.NodeSelector {
		if n.Labels[k] != v {
			return false
		}
	}
	return true
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
