package manifest

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/checks/pod"
	"github.com/plimsoll/plimsoll/internal/checks/say"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

// The traffic family: NetworkPolicies the API server stores and the CNI
// enforces, whose rules allow traffic that cannot flow: a peer that
// selects nothing, a port no selected container listens on. Under a
// default deny, what the rule was written for is dropped.

func trafficChecks() []*check.Check {
	return []*check.Check{
		{
			ID:            "networkpolicy-peers-select-pods",
			Title:         "NetworkPolicy rules' peers select some pods",
			Layer:         check.Security,
			Severity:      check.Medium,
			Kinds:         []string{"NetworkPolicy"},
			Reads:         append(append([]string{}, pod.WorkloadKinds...), "Namespace"),
			AllNamespaces: true,
			Rationale:     "A NetworkPolicy rule allows traffic from (or to) the pods and namespaces its peers select. A peer whose selector matches nothing allows nothing: the traffic it was written for is dropped by the namespace's default deny, usually because of a label typo or a renamed app.",
			Remediation:   "Make the peer's podSelector match the labels of the pods that send (or receive) the traffic, and its namespaceSelector the labels of their namespace (every namespace has kubernetes.io/metadata.name: <name>).",
			ChecklistItem: checklist.DefaultDeny,
			Run:           networkPolicyPeersSelectPodsRun,
		},
		{
			ID:            "networkpolicy-ports-declared",
			Title:         "NetworkPolicy ingress rules allow ports the selected pods listen on",
			Layer:         check.Security,
			Severity:      check.Medium,
			Kinds:         []string{"NetworkPolicy"},
			Reads:         pod.WorkloadKinds,
			Rationale:     "An ingress rule admits traffic only to the ports it lists. When none of them is a port the selected pods' containers declare, the rule admits nothing they are known to serve (a named port that no container declares admits nothing at all): the traffic it was written for is dropped, usually after a port was renamed or renumbered in the Deployment but not in the policy.",
			Remediation:   "List in the rule's ports the containerPort numbers or port names the selected containers declare, with their protocol.",
			ChecklistItem: checklist.DefaultDeny,
			Applies:       networkPolicyPortsDeclaredApplies,
			Run:           networkPolicyPortsDeclaredRun,
		},
	}
}

// networkPolicyPeersSelectPodsRun is networkpolicy-peers-select-pods's
// Run. A peer's podSelector alone selects pods of the policy's namespace;
// with a namespaceSelector, pods of the namespaces it selects (every
// namespace, for {}). Among manifests a namespaceSelector is not judged
// (namespaces outside the inputs may carry its labels, and {} selects them
// too), nor a podSelector in a namespace with no workload among the
// inputs; on a cluster both are facts. An empty podSelector selects every
// pod and is not judged.
func networkPolicyPeersSelectPodsRun(o *inventory.Object, c *check.Context) []check.Finding {
	np, ok := o.Typed.(*networkingv1.NetworkPolicy)
	if !ok {
		return nil
	}
	manifests := c.Inventory.Mode == inventory.FromManifests
	var out []check.Finding
	judged := 0
	var unjudged []string // why, each reason once
	unjudge := func(why string) {
		if !slices.Contains(unjudged, why) {
			unjudged = append(unjudged, why)
		}
	}
	visit := func(peers []networkingv1.NetworkPolicyPeer, base, dir string) {
		for j, p := range peers {
			at := fmt.Sprintf("%s[%d]", base, j)
			if p.PodSelector == nil && p.NamespaceSelector == nil {
				continue // an ipBlock
			}
			namespaces := []string{o.Namespace}
			every := false
			if p.NamespaceSelector != nil {
				nsSel, err := metav1.LabelSelectorAsSelector(p.NamespaceSelector)
				switch {
				case err != nil:
					unjudge(fmt.Sprintf("a namespaceSelector is not a valid label selector (%v)", err))
					continue
				case manifests:
					unjudge("a namespaceSelector selects namespaces, which the inputs may not all show")
					continue
				}
				every = nsSel.Empty()
				namespaces = nil
				for _, ns := range c.Inventory.Namespaces() {
					if set, _ := c.Inventory.NamespaceLabels(ns.Name); nsSel.Matches(set) {
						namespaces = append(namespaces, ns.Name)
					}
				}
				judged++
				if len(namespaces) == 0 {
					out = append(out, check.Failf(at+".namespaceSelector", "namespaceSelector %s selects no namespace: the rule allows traffic %s nothing", nsSel.String(), dir))
					continue
				}
			}
			if p.PodSelector == nil {
				continue
			}
			podSel, err := metav1.LabelSelectorAsSelector(p.PodSelector)
			if err != nil || podSel.Empty() {
				continue
			}
			if manifests && len(c.Inventory.Workloads(o.Namespace)) == 0 {
				unjudge(fmt.Sprintf("a podSelector selects pods of namespace %s, where no workload is among the inputs", namespaceName(o.Namespace)))
				continue
			}
			judged++
			if selectsSomePod(c.Inventory, namespaces, podSel) {
				continue
			}
			where := "in namespace " + namespaceName(namespaces[0])
			switch {
			case every:
				where = "in any namespace"
			case len(namespaces) > 1:
				where = "in namespaces " + say.List(namespaces, ", ")
			}
			what := "selects no pod"
			if manifests {
				what, where = "selects the pods of no workload", "among the inputs "+inNamespace(namespaces[0])
			}
			out = append(out, check.Failf(at+".podSelector", "podSelector %s %s %s: the rule allows traffic %s nothing", podSel.String(), what, where, dir))
		}
	}
	for i, r := range np.Spec.Ingress {
		visit(r.From, fmt.Sprintf("spec.ingress[%d].from", i), "from")
	}
	for i, r := range np.Spec.Egress {
		visit(r.To, fmt.Sprintf("spec.egress[%d].to", i), "to")
	}
	if len(out) == 0 && len(unjudged) > 0 {
		which := "some of its peers"
		if judged == 0 {
			which = "its peers"
		}
		return []check.Finding{check.NotAssessedf("%s cannot be judged: %s", which, strings.Join(unjudged, "; "))}
	}
	return out
}

func selectsSomePod(inv *inventory.Inventory, namespaces []string, sel labels.Selector) bool {
	for _, ns := range namespaces {
		if len(inv.SelectPods(ns, sel)) > 0 {
			return true
		}
	}
	return false
}

// networkPolicyPortsDeclaredApplies is networkpolicy-ports-declared's
// Applies: an ingress policy with rules that list ports, selecting
// workloads among the inputs and no custom resource, whose containers'
// ports cannot be read.
func networkPolicyPortsDeclaredApplies(o *inventory.Object, c *check.Context) (bool, string) {
	np, ok := o.Typed.(*networkingv1.NetworkPolicy)
	if !ok || !hasPolicyType(np, networkingv1.PolicyTypeIngress) {
		return false, "it restricts no ingress"
	}
	ported := false
	for _, r := range np.Spec.Ingress {
		ported = ported || len(r.Ports) > 0
	}
	switch {
	case !ported:
		return false, "no ingress rule limits ports"
	case len(c.Inventory.Selected(o)) == 0:
		return false, "it selects no workload among the inputs"
	case len(c.Inventory.SelectedCustom(o)) > 0:
		return false, "it selects the pods of custom resources, whose ports the inputs do not show"
	}
	return true, ""
}

// networkPolicyPortsDeclaredRun is networkpolicy-ports-declared's Run. A
// named port is resolved against the ports the selected pods' containers
// declare, as the CNI resolves it; a numbered port is judged only when
// every running container of the selected pods declares its ports (a
// container that declares none may listen anywhere), and a port a probe
// uses counts as one the container listens on.
func networkPolicyPortsDeclaredRun(o *inventory.Object, c *check.Context) []check.Finding {
	np := o.Typed.(*networkingv1.NetworkPolicy)
	selected := c.Inventory.Selected(o)
	var out []check.Finding
	for i, r := range np.Spec.Ingress {
		if len(r.Ports) == 0 || ruleReachesPort(r.Ports, selected) {
			continue
		}
		var allowed []string
		named := true
		for _, p := range r.Ports {
			allowed = append(allowed, policyPortText(p))
			named = named && p.Port.Type == intstr.String
		}
		them := "any of them"
		if len(allowed) == 1 {
			them = "it"
		}
		consequence := "the rule admits traffic only to ports the pods do not declare"
		if named {
			consequence = "a named port means only a port a container declares, so the rule admits nothing"
		}
		out = append(out, check.Failf(fmt.Sprintf("spec.ingress[%d].ports", i),
			"the rule allows %s, but no container of %s declares %s (they declare %s): %s",
			strings.Join(allowed, ", "), objectIDs(selected), them, declaredPorts(selected), consequence))
	}
	return out
}

// ruleReachesPort reports whether one of a rule's ports may reach a port
// a selected container listens on.
func ruleReachesPort(ports []networkingv1.NetworkPolicyPort, selected []*inventory.Object) bool {
	for _, p := range ports {
		proto := corev1.ProtocolTCP
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		switch {
		case p.Port == nil:
			return true // every port of the protocol
		case p.Port.Type == intstr.String:
			if workloadsDeclarePort(selected, p.Port.StrVal, proto) {
				return true
			}
		case workloadsMayListen(selected, p.Port.IntVal, p.EndPort, proto):
			return true
		}
	}
	return false
}

// workloadsMayListen reports whether a running container of the workloads
// may listen on a port number in the range: it declares one, or a probe
// of it uses one, or it declares no ports at all.
func workloadsMayListen(workloads []*inventory.Object, from int32, to *int32, proto corev1.Protocol) bool {
	for _, w := range workloads {
		for _, ct := range pod.RunningContainers(w) {
			if len(ct.Ports) == 0 || probesPort(ct.Container, from, to) {
				return true
			}
			for _, cp := range ct.Ports {
				if protocolOrTCP(cp.Protocol) == proto && inPortRange(cp.ContainerPort, from, to) {
					return true
				}
			}
		}
	}
	return false
}

func inPortRange(port, from int32, to *int32) bool {
	if to == nil {
		return port == from
	}
	return from <= port && port <= *to
}

// probesPort reports whether a probe of the container uses a port number
// in the range: the container listens there, declared or not.
func probesPort(ct *corev1.Container, from int32, to *int32) bool {
	for _, p := range []*corev1.Probe{ct.LivenessProbe, ct.ReadinessProbe, ct.StartupProbe} {
		if port, _ := probePort(p); port.Type == intstr.Int && port.IntVal != 0 && inPortRange(port.IntVal, from, to) {
			return true
		}
	}
	return false
}

func policyPortText(p networkingv1.NetworkPolicyPort) string {
	proto := "TCP"
	if p.Protocol != nil {
		proto = string(*p.Protocol)
	}
	switch {
	case p.Port == nil:
		return "every " + proto + " port"
	case p.Port.Type == intstr.String:
		return fmt.Sprintf("%q/%s", p.Port.StrVal, proto)
	case p.EndPort != nil:
		return fmt.Sprintf("%d-%d/%s", p.Port.IntVal, *p.EndPort, proto)
	}
	return fmt.Sprintf("%d/%s", p.Port.IntVal, proto)
}

// declaredPorts lists the ports the selected workloads' running
// containers declare.
func declaredPorts(selected []*inventory.Object) string {
	var ports []string
	for _, w := range selected {
		for _, ct := range pod.RunningContainers(w) {
			for _, cp := range ct.Ports {
				s := fmt.Sprintf("%d/%s", cp.ContainerPort, protocolOrTCP(cp.Protocol))
				if cp.Name != "" {
					s += fmt.Sprintf(" %q", cp.Name)
				}
				ports = append(ports, s)
			}
		}
	}
	if len(ports) == 0 {
		return "none"
	}
	return say.List(ports, ", ")
}
