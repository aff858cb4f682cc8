package manifest

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/checks/pod"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

func networkPolicyChecks() []*check.Check {
	return []*check.Check{
		{
			ID:            "namespace-default-deny-ingress",
			Title:         "Application namespaces deny ingress by default",
			Layer:         check.Security,
			Severity:      check.High,
			Kinds:         []string{"Namespace"},
			Reads:         []string{"NetworkPolicy"},
			Rationale:     "By default every pod accepts traffic from every other pod in the cluster, so one compromised pod can reach every service. A NetworkPolicy that selects all pods of a namespace for ingress turns that into deny-by-default: only traffic a policy allows gets in.",
			Remediation:   "Add a NetworkPolicy with podSelector: {} and policyTypes: [Ingress] to the namespace, then allow the traffic each workload needs with further policies.",
			ChecklistItem: checklist.DefaultDeny,
			Applies:       inApplicationNamespace,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				return defaultDeny(o, c, networkingv1.PolicyTypeIngress)
			},
		},
		{
			ID:            "namespace-default-deny-egress",
			Title:         "Application namespaces deny egress by default",
			Layer:         check.Security,
			Severity:      check.Medium,
			Kinds:         []string{"Namespace"},
			Reads:         []string{"NetworkPolicy"},
			Rationale:     "Without an egress restriction a compromised pod can reach every pod in the cluster, the cloud metadata endpoint and the internet, which makes exfiltration and lateral movement easy. A NetworkPolicy that selects all pods of a namespace for egress makes outgoing traffic deny-by-default.",
			Remediation:   "Add a NetworkPolicy with podSelector: {} and policyTypes: [Egress] to the namespace, allowing DNS (port 53 over UDP and TCP) and the destinations each workload needs.",
			ChecklistItem: checklist.DefaultDeny,
			Applies:       inApplicationNamespace,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				return defaultDeny(o, c, networkingv1.PolicyTypeEgress)
			},
		},
		{
			ID:            "pod-network-policy",
			Title:         "Workload pods' ingress and egress are restricted by NetworkPolicies",
			Layer:         check.Security,
			Severity:      check.Medium,
			Kinds:         pod.WorkloadKinds,
			Reads:         []string{"NetworkPolicy"},
			Rationale:     "Pods that no NetworkPolicy selects accept traffic from, and send traffic to, anything in the cluster. A policy restricts only the directions of its policyTypes (Ingress, and Egress too when it has egress rules, if it lists none): the other direction stays open.",
			Remediation:   "Add NetworkPolicies whose podSelector matches the workload's pod labels with policyTypes Ingress and Egress (a default-deny policy with podSelector: {} counts), allowing only the traffic the workload needs.",
			ChecklistItem: checklist.DefaultDeny,
			Applies:       podsUnderNetworkPolicy,
			Run:           podNetworkPolicyRun,
		},
		{
			ID:            "egress-allows-dns",
			Title:         "Restricted egress still allows DNS",
			Layer:         check.Security,
			Severity:      check.High,
			Kinds:         pod.WorkloadKinds,
			Reads:         []string{"NetworkPolicy"},
			Rationale:     "Once a NetworkPolicy restricts a pod's egress, everything not allowed is dropped, DNS included. Without port 53 the pod cannot resolve any name and fails in ways that look like network outages. DNS needs TCP as well as UDP: large answers are truncated over UDP and retried over TCP.",
			Remediation:   "Add an egress rule allowing port 53 over UDP and over TCP to the cluster DNS (for example to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}}]) in a policy that selects the workload's pods.",
			ChecklistItem: checklist.DefaultDenyDNS,
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				if ok, why := podsUnderNetworkPolicy(o, c); !ok {
					return false, why
				}
				if len(egressPolicies(c.Inventory.NetworkPolicies(o))) == 0 {
					return false, "no NetworkPolicy among the inputs restricts its pods' egress"
				}
				return true, ""
			},
			Run: egressAllowsDnsRun,
		},
		{
			ID:            "networkpolicy-selects-pods",
			Title:         "NetworkPolicies select some workload's pods",
			Layer:         check.Security,
			Severity:      check.Low,
			Kinds:         []string{"NetworkPolicy"},
			Reads:         pod.WorkloadKinds,
			Rationale:     "A NetworkPolicy whose podSelector matches no pods protects nothing; it is usually a label typo, and the pods it was meant for are left open.",
			Remediation:   "Make the podSelector match the labels of the pods the policy is meant for, or delete the policy.",
			ChecklistItem: checklist.DefaultDeny,
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				// A policy can only be judged against workloads the audit
				// sees: with none in its namespace, the pods live elsewhere.
				if len(c.Inventory.Workloads(o.Namespace)) == 0 {
					return false, fmt.Sprintf("no workload of namespace %q is among the inputs", o.Namespace)
				}
				return true, ""
			},
			Run: networkpolicySelectsPodsRun,
		},
	}
}

// podNetworkPolicyRun is pod-network-policy's Run: it says which
// directions of the pods' traffic no policy restricts.
func podNetworkPolicyRun(o *inventory.Object, c *check.Context) []check.Finding {
	policies := c.Inventory.NetworkPolicies(o)
	if len(policies) == 0 {
		return []check.Finding{check.Failf(podLabelsPath(o), "no NetworkPolicy among the inputs selects its pods (pod labels: %s)", podLabelsText(o))}
	}
	var open []string
	for _, dir := range []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress} {
		if why := directionOpen(policies, dir); why != "" {
			open = append(open, why)
		}
	}
	if len(open) == 0 {
		return nil
	}
	return []check.Finding{check.Failf(podLabelsPath(o), "%s", strings.Join(open, "; "))}
}

// directionOpen says why the policies that select a workload's pods leave
// one direction of their traffic open, or "": none of them has the
// direction's policy type, so none isolates the pods that way.
func directionOpen(policies []*inventory.Object, dir networkingv1.PolicyType) string {
	var names []string
	defaulted := false
	for _, p := range policies {
		np, ok := p.Typed.(*networkingv1.NetworkPolicy)
		if !ok {
			continue
		}
		if hasPolicyType(np, dir) {
			return ""
		}
		if !slices.Contains(names, p.Name) {
			names = append(names, p.Name)
		}
		defaulted = defaulted || len(np.Spec.PolicyTypes) == 0
	}
	msg := fmt.Sprintf("its pods' %s is left open: no NetworkPolicy that selects them (%s) has policyType %s", strings.ToLower(string(dir)), commaList(names), dir)
	if defaulted && dir == networkingv1.PolicyTypeEgress {
		msg += " (one that lists no policyTypes has Egress only when it has egress rules)"
	}
	return msg
}

// egressAllowsDnsRun is egress-allows-dns's Run.
func egressAllowsDnsRun(o *inventory.Object, c *check.Context) []check.Finding {
	restricting := egressPolicies(c.Inventory.NetworkPolicies(o))
	var rules []networkingv1.NetworkPolicyEgressRule
	var names []string
	for _, p := range restricting {
		np := p.Typed.(*networkingv1.NetworkPolicy)
		rules = append(rules, np.Spec.Egress...)
		names = append(names, p.Name)
	}
	udp, tcp := dnsAllowed(rules)
	var missing []string
	if !udp {
		missing = append(missing, "UDP")
	}
	if !tcp {
		missing = append(missing, "TCP")
	}
	if len(missing) == 0 {
		return nil
	}
	which := "NetworkPolicy " + names[0] + " restricts"
	if len(names) > 1 {
		which = "NetworkPolicies " + strings.Join(names, ", ") + " restrict"
	}
	return []check.Finding{check.Failf(podLabelsPath(o), "%s its pods' egress but no egress rule allows DNS (port 53) over %s",
		which, strings.Join(missing, " or "))}
}

// networkpolicySelectsPodsRun is networkpolicy-selects-pods's Run.
func networkpolicySelectsPodsRun(o *inventory.Object, c *check.Context) []check.Finding {
	np, ok := o.Typed.(*networkingv1.NetworkPolicy)
	if !ok {
		return nil
	}
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil {
		return []check.Finding{check.Failf("spec.podSelector", "podSelector is invalid and selects no pods: %v", err)}
	}
	// podSelector: {} selects every pod of the namespace.
	if sel.Empty() || selectsPods(c.Inventory, o) {
		return nil
	}
	return []check.Finding{check.Failf("spec.podSelector", "podSelector %q matches the pods of no workload among the inputs", sel.String())}
}

// inApplicationNamespace makes a namespace-level check skip system
// namespaces, which the platform, not application teams, manages.
func inApplicationNamespace(o *inventory.Object, c *check.Context) (bool, string) {
	if c.Params.IsSystemNamespace(o.Name) {
		return false, fmt.Sprintf("%s is a system namespace", o.Name)
	}
	return true, ""
}

// impliedNote is added to the findings on a namespace that no input
// declared, so readers know the audit saw only objects placed in it.
func impliedNote(ns *inventory.Object) string {
	if !ns.Implied {
		return ""
	}
	return " (the Namespace object was not among the inputs)"
}

// podsUnderNetworkPolicy says whether NetworkPolicies can govern a
// workload's pods at all.
func podsUnderNetworkPolicy(o *inventory.Object, c *check.Context) (bool, string) {
	if spec := pod.Spec(o); spec != nil && spec.HostNetwork {
		return false, "its pods use the host network, which NetworkPolicies do not govern"
	}
	if c.Params.IsSystemNamespace(o.Namespace) {
		return false, fmt.Sprintf("%s is a system namespace", o.Namespace)
	}
	return true, ""
}

// defaultDeny finds whether some policy of the namespace selects all of its
// pods for the direction and allows no traffic from (or to) everywhere.
func defaultDeny(ns *inventory.Object, c *check.Context, dir networkingv1.PolicyType) []check.Finding {
	var denying bool
	var out []check.Finding
	for _, p := range c.Inventory.InNamespace("NetworkPolicy", ns.Name) {
		np, ok := p.Typed.(*networkingv1.NetworkPolicy)
		if !ok || !selectsAllPods(np) || !hasPolicyType(np, dir) {
			continue
		}
		if i := allowAllRule(np, dir); i >= 0 {
			// An empty rule in an all-pods policy allows everything for
			// every pod, whatever other policies deny.
			out = append(out, check.Failf("", "NetworkPolicy %s selects all pods and its rule spec.%s[%d] is empty, which allows all %s traffic, so the namespace has no default deny%s",
				p.Name, strings.ToLower(string(dir)), i, strings.ToLower(string(dir)), impliedNote(ns)))
			continue
		}
		denying = true
	}
	if len(out) > 0 || denying {
		return out
	}
	open := "accept traffic from anywhere"
	if dir == networkingv1.PolicyTypeEgress {
		open = "may send traffic anywhere"
	}
	// Other policies may select every pod there is today; the finding is
	// about the pods no policy selects, including those added later.
	return []check.Finding{check.Failf("", "no NetworkPolicy among the inputs selects all pods of namespace %s (podSelector: {}) with policyType %s: its pods that no other %s policy selects, now or later, %s%s",
		ns.Name, dir, dir, open, impliedNote(ns))}
}

// selectsAllPods reports whether a policy's podSelector is empty, which
// selects every pod of its namespace. An empty selector is written
// podSelector: {} and is not a missing one.
func selectsAllPods(np *networkingv1.NetworkPolicy) bool {
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	return err == nil && sel.Empty()
}

// hasPolicyType applies the API's defaulting: with no policyTypes a policy
// is an Ingress policy, and an Egress one too when it has egress rules
// (SetDefaults_NetworkPolicy in
// k8s.io/kubernetes/pkg/apis/networking/v1/defaults.go).
func hasPolicyType(np *networkingv1.NetworkPolicy, t networkingv1.PolicyType) bool {
	if len(np.Spec.PolicyTypes) == 0 {
		return t == networkingv1.PolicyTypeIngress || len(np.Spec.Egress) > 0
	}
	for _, pt := range np.Spec.PolicyTypes {
		if pt == t {
			return true
		}
	}
	return false
}

// allowAllRule returns the index of a rule with neither peers nor ports,
// which allows all traffic in that direction, or -1.
func allowAllRule(np *networkingv1.NetworkPolicy, dir networkingv1.PolicyType) int {
	if dir == networkingv1.PolicyTypeIngress {
		for i, r := range np.Spec.Ingress {
			if len(r.From) == 0 && len(r.Ports) == 0 {
				return i
			}
		}
		return -1
	}
	for i, r := range np.Spec.Egress {
		if len(r.To) == 0 && len(r.Ports) == 0 {
			return i
		}
	}
	return -1
}

// egressPolicies keeps the policies that restrict egress; the others leave
// it alone.
func egressPolicies(policies []*inventory.Object) []*inventory.Object {
	var out []*inventory.Object
	for _, p := range policies {
		if np, ok := p.Typed.(*networkingv1.NetworkPolicy); ok && hasPolicyType(np, networkingv1.PolicyTypeEgress) {
			out = append(out, p)
		}
	}
	return out
}

// dnsAllowed reports whether the union of egress rules allows port 53 over
// UDP and over TCP to some destination. Any destination counts: the audit
// cannot know where the cluster DNS runs.
func dnsAllowed(rules []networkingv1.NetworkPolicyEgressRule) (udp, tcp bool) {
	for _, r := range rules {
		if len(r.Ports) == 0 {
			// A rule without ports allows every port and protocol.
			return true, true
		}
		for _, p := range r.Ports {
			if !portAllows53(p) {
				continue
			}
			proto := corev1.ProtocolTCP // the API's default
			if p.Protocol != nil {
				proto = *p.Protocol
			}
			switch proto {
			case corev1.ProtocolUDP:
				udp = true
			case corev1.ProtocolTCP:
				tcp = true
			}
		}
	}
	return udp, tcp
}

// portAllows53 reports whether a policy port covers port 53: no port means
// every port, endPort makes a range, and the port names cluster DNS
// servers use (dns, dns-tcp) count as 53.
func portAllows53(p networkingv1.NetworkPolicyPort) bool {
	if p.Port == nil {
		return true
	}
	if name := p.Port.StrVal; name != "" {
		return name == "dns" || name == "dns-tcp"
	}
	n := p.Port.IntVal
	return n == 53 || (p.EndPort != nil && n <= 53 && 53 <= *p.EndPort)
}

// podLabelsPath is the field path of a workload's pod labels, which decide
// the policies that select its pods.
func podLabelsPath(o *inventory.Object) string {
	_, path := o.PodTemplate()
	if path == "" {
		return "metadata.labels"
	}
	return path + ".metadata.labels"
}

// podLabelsText lists the labels a workload gives its pods, leaving out
// those Kubernetes itself adds to running pods (the node's zone, the
// template hash), so the evidence reads the same live and in manifests.
func podLabelsText(o *inventory.Object) string {
	tmpl, _ := o.PodTemplate()
	set := labels.Set{}
	if tmpl != nil {
		for k, v := range tmpl.Labels {
			if !systemPodLabel(k) {
				set[k] = v
			}
		}
	}
	if len(set) == 0 {
		return "none"
	}
	return set.String()
}

func systemPodLabel(key string) bool {
	for _, prefix := range []string{"topology.kubernetes.io/", "statefulset.kubernetes.io/", "batch.kubernetes.io/", "apps.kubernetes.io/"} {
		if strings.HasPrefix(key, prefix) {
			return true
		}
	}
	return key == "pod-template-hash" || key == "controller-revision-hash"
}
