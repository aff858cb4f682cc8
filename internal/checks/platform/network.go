package platform

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/checks/say"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// The platform checks of ingress, the pod network and cluster DNS. They
// judge what a cluster runs, so they need a live cluster or a snapshot.

const (
	// defaultClassAnnotation marks the IngressClass that Ingresses without
	// a class get; the API server's admission compares it with "true".
	defaultClassAnnotation = networkingv1.AnnotationIsDefaultIngressClass
	// legacyClassAnnotation is how Ingresses named their class before
	// spec.ingressClassName.
	legacyClassAnnotation = "kubernetes.io/ingress.class"
)

func networkPlatformChecks() []*check.Check {
	return []*check.Check{
		{
			ID:       "ingress-controller",
			Title:    "An ingress controller runs with at least two ready replicas",
			Layer:    check.ClusterServices,
			Severity: check.High,
			Kinds:    clusterKinds,
			Reads:    append(append([]string{}, platform.Reads...), "Ingress", "IngressClass"),
			Rationale: "The ingress controller is the one door all HTTP traffic from outside comes through: with a single replica, a pod restart, a node drain or an upgrade takes every application offline at once. " +
				"A cluster with no ingress at all is told too, since the checklists demand a central controller: without one, each application is exposed on its own load balancer or node port, with its own TLS and logging. " +
				"Where Ingresses or IngressClasses show that a controller plimsoll does not recognise (or a cloud's, outside the cluster) serves them, the check is not assessed rather than failed.",
			Remediation:   "Run a recognised ingress controller (ingress-nginx, Traefik, HAProxy, Kong, an Istio ingress gateway or Envoy Gateway) with at least 2 replicas (controller.replicaCount in the ingress-nginx chart), spread over nodes and covered by a PodDisruptionBudget.",
			ChecklistItem: checklist.IngressController,
			Requires:      check.Cluster,
			Run:           ingressControllerRun,
		},
		{
			ID:            "ingress-class-default",
			Title:         "Exactly one IngressClass is the default",
			Layer:         check.ClusterServices,
			Severity:      check.Medium,
			Kinds:         clusterKinds,
			Reads:         []string{"IngressClass"},
			Rationale:     "An Ingress created without spec.ingressClassName gets the default IngressClass; with none, no controller is bound to it and its hosts are not served, and with several, which class it gets depends on the API server version (older ones refuse such Ingresses).",
			Remediation:   "Annotate the IngressClass of the main controller with ingressclass.kubernetes.io/is-default-class: \"true\" (controller.ingressClassResource.default=true in the ingress-nginx chart), and remove the annotation from every other class.",
			ChecklistItem: checklist.CentralIngress,
			Requires:      check.Cluster,
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				if len(c.Inventory.OfKind("IngressClass")) == 0 {
					return false, "the cluster has no IngressClass"
				}
				return true, ""
			},
			Run: ingressClassDefaultRun,
		},
		{
			ID:            "ingress-class-exists",
			Title:         "Ingresses name an IngressClass that exists",
			Layer:         check.ClusterServices,
			Severity:      check.High,
			Kinds:         []string{"Ingress"},
			Reads:         []string{"IngressClass"},
			Rationale:     "Controllers serve the Ingresses of their own IngressClass: an Ingress whose class does not exist (a typo, a controller removed or installed under another class name) is accepted by the API server and then served by nobody, so its hosts return errors or nothing.",
			Remediation:   "Set spec.ingressClassName to an IngressClass the cluster has (kubectl get ingressclass), or install the controller that class belongs to; an Ingress without a class needs a default IngressClass.",
			ChecklistItem: checklist.CentralIngress,
			Requires:      check.Cluster,
			Run:           ingressClassExistsRun,
		},
		{
			ID:       "cni-enforces-networkpolicy",
			Title:    "The CNI enforces NetworkPolicies",
			Layer:    check.Security,
			Severity: check.Critical,
			Kinds:    clusterKinds,
			// Node is what platform.Managed reads besides the cluster.
			Reads: append([]string{"NetworkPolicy", "Node"}, platform.Reads...),
			Rationale: "NetworkPolicies are enforced by the CNI plugin, not by the API server: with a plugin that ignores them (Flannel on its own), the API server accepts every policy and none has any effect, so default-deny and allow rules only look like isolation. " +
				"Canal (Flannel with Calico) enforces them. A CNI whose enforcement depends on configuration plimsoll cannot see (the AWS VPC CNI) is not assessed.",
			Remediation:   "Run a CNI that enforces NetworkPolicy: Calico, Cilium or Antrea, or add Calico's policy engine to Flannel (Canal); on EKS, enable the VPC CNI's network policy agent (enableNetworkPolicy: \"true\").",
			ChecklistItem: checklist.CNIEnforcesPolicies,
			Requires:      check.Cluster,
			Run:           cniRun,
		},
		{
			ID:            "dns-ha",
			Title:         "Cluster DNS runs two replicas on different nodes, under a PodDisruptionBudget",
			Layer:         check.ClusterServices,
			Severity:      check.High,
			Kinds:         clusterKinds,
			Reads:         append(append([]string{}, platform.Reads...), "PodDisruptionBudget", "Pod", "ReplicaSet"),
			Rationale:     "Every Service name lookup goes through the cluster DNS: when its only replica, or the only node its replicas run on, goes away, names stop resolving across the whole cluster, and a node drain without a PodDisruptionBudget may evict every replica at once.",
			Remediation:   "Run CoreDNS with at least 2 replicas (kubeadm's default), spread over nodes with a required pod anti-affinity or a topology spread constraint, and add a PodDisruptionBudget with maxUnavailable: 1 that selects its pods.",
			ChecklistItem: checklist.ClusterDNS,
			Requires:      check.Cluster,
			Run:           dnsRun,
		},
	}
}

// ingressClassDefaultRun is ingress-class-default's Run.
func ingressClassDefaultRun(o *inventory.Object, c *check.Context) []check.Finding {
	classes := c.Inventory.OfKind("IngressClass")
	defaults := defaultClasses(classes)
	switch len(defaults) {
	case 1:
		return []check.Finding{check.Passf("IngressClass %s is the default (annotation %s=true, controller %s)",
			defaults[0].Name, defaultClassAnnotation, classController(defaults[0]))}
	case 0:
		return []check.Finding{check.Failf("", "no IngressClass is marked default (annotation %s: \"true\") among %s: an Ingress created without spec.ingressClassName is served by no controller",
			defaultClassAnnotation, objectNames(classes))}
	}
	return []check.Finding{check.Failf("", "IngressClasses %s are all marked default (annotation %s=true): which one an Ingress without spec.ingressClassName gets is not well defined",
		objectNames(defaults), defaultClassAnnotation)}
}

// ingressControllerRun judges the controllers by implementation and
// namespace: one install's workloads include control planes that carry no
// traffic (Envoy Gateway's controller beside its proxies), so an install
// passes when any of its workloads has two ready replicas.
func ingressControllerRun(o *inventory.Object, c *check.Context) []check.Finding {
	inv := c.Inventory
	ms := platform.Find(inv, platform.IngressController)
	if len(ms) == 0 {
		return noIngressController(inv)
	}
	var order []string
	installs := map[string][]platform.Match{}
	for _, m := range ms {
		k := m.Impl.Name + "\x00" + m.Workload.Namespace
		if _, ok := installs[k]; !ok {
			order = append(order, k)
		}
		installs[k] = append(installs[k], m)
	}
	var evidence, short []string
	for _, k := range order {
		ha := false
		var each []string
		for _, m := range installs[k] {
			if ready, _ := platform.Ready(m.Workload); ready >= 2 {
				ha = true
			}
			each = append(each, readyText(m))
		}
		if ha {
			evidence = append(evidence, strings.Join(each, ", "))
		} else {
			short = append(short, strings.Join(each, ", "))
		}
	}
	if len(short) == 0 {
		return []check.Finding{check.Passf("%s", strings.Join(evidence, "; "))}
	}
	out := make([]check.Finding, len(short))
	for i, s := range short {
		out[i] = check.Failf("", "%s, want at least 2 ready: one pod restart or node drain stops the traffic it serves", s)
	}
	return out
}

// noIngressController judges a cluster where no controller is recognised:
// Ingresses with an address, or IngressClasses, show that something plimsoll
// does not know serves them.
func noIngressController(inv *inventory.Inventory) []check.Finding {
	known := implementationNames(platform.IngressController)
	if classes := inv.OfKind("IngressClass"); len(classes) > 0 {
		var named []string
		for _, ic := range classes {
			named = append(named, fmt.Sprintf("%s (controller %s)", ic.Name, classController(ic)))
		}
		which := "IngressClass " + named[0] + " names"
		if len(named) > 1 {
			which = "IngressClasses " + strings.Join(named, ", ") + " name"
		}
		return []check.Finding{check.NotAssessedf("no recognised ingress controller (%s) runs, but %s one: its replicas cannot be judged", known, which)}
	}
	ingresses := inv.OfKind("Ingress")
	for _, ing := range ingresses {
		if addr := ingressAddress(ing); addr != "" {
			return []check.Finding{check.NotAssessedf("no recognised ingress controller (%s) runs, but Ingress %s/%s has the address %s in status.loadBalancer.ingress: a controller plimsoll does not recognise, or one outside the cluster, serves it",
				known, ing.Namespace, ing.Name, addr)}
		}
	}
	if len(ingresses) > 0 {
		return []check.Finding{check.Failf("", "no ingress controller runs: none is recognised (%s) and none of the %d Ingresses (%s) has an address in status.loadBalancer.ingress",
			known, len(ingresses), say.List(namespacedNames(ingresses), ", "))}
	}
	return []check.Finding{check.Failf("", "no ingress controller runs: the cluster has no Ingress, no IngressClass and no recognised controller (%s)", known)}
}

// ingressAddress returns the first address a controller published for an
// Ingress, or "".
func ingressAddress(o *inventory.Object) string {
	ing, ok := o.Typed.(*networkingv1.Ingress)
	if !ok {
		return ""
	}
	for _, lb := range ing.Status.LoadBalancer.Ingress {
		if lb.IP != "" {
			return lb.IP
		}
		if lb.Hostname != "" {
			return lb.Hostname
		}
	}
	return ""
}

func ingressClassExistsRun(o *inventory.Object, c *check.Context) []check.Finding {
	ing, ok := o.Typed.(*networkingv1.Ingress)
	if !ok {
		return nil
	}
	inv := c.Inventory
	if name := ing.Spec.IngressClassName; name != nil && *name != "" {
		if ic := inv.Get("IngressClass", "", *name); ic != nil {
			return []check.Finding{check.Passf("spec.ingressClassName %s names IngressClass %s (controller %s)", *name, ic.Name, classController(ic))}
		}
		return []check.Finding{check.Failf("spec.ingressClassName", "spec.ingressClassName is %q, but no IngressClass of that name exists (%s): no controller serves this Ingress",
			*name, classesText(inv))}
	}
	if name, ok := o.Annotations[legacyClassAnnotation]; ok && name != "" {
		if ic := inv.Get("IngressClass", "", name); ic != nil {
			return []check.Finding{check.Passf("annotation %s=%s names IngressClass %s (controller %s)", legacyClassAnnotation, name, ic.Name, classController(ic))}
		}
		// Controllers older than IngressClass (GKE's, Traefik's) match the
		// annotation against their own settings, which no object shows.
		return []check.Finding{check.NotAssessedf("annotation %s is %q, which no IngressClass declares (%s): a controller may still match it against its own settings, which plimsoll cannot see",
			legacyClassAnnotation, name, classesText(inv))}
	}
	defaults := defaultClasses(inv.OfKind("IngressClass"))
	if len(defaults) == 0 {
		return []check.Finding{check.Failf("spec.ingressClassName", "neither spec.ingressClassName nor the annotation %s is set, and no IngressClass is marked default (%s): no controller is bound to serve this Ingress",
			legacyClassAnnotation, classesText(inv))}
	}
	return []check.Finding{check.Passf("no class is set, and IngressClass %s is the default", objectNames(defaults))}
}

// defaultClasses returns the IngressClasses marked default.
func defaultClasses(classes []*inventory.Object) []*inventory.Object {
	var out []*inventory.Object
	for _, ic := range classes {
		if ic.Annotations[defaultClassAnnotation] == "true" {
			out = append(out, ic)
		}
	}
	return out
}

// classController returns an IngressClass's spec.controller.
func classController(o *inventory.Object) string {
	if ic, ok := o.Typed.(*networkingv1.IngressClass); ok && ic.Spec.Controller != "" {
		return ic.Spec.Controller
	}
	return "unset"
}

// classesText names the cluster's IngressClasses for a finding.
func classesText(inv *inventory.Inventory) string {
	classes := inv.OfKind("IngressClass")
	if len(classes) == 0 {
		return "the cluster has no IngressClass"
	}
	return "IngressClasses: " + objectNames(classes)
}

func cniRun(o *inventory.Object, c *check.Context) []check.Finding {
	inv := c.Inventory
	ms := platform.Find(inv, platform.CNI)
	if len(ms) == 0 {
		if p := platform.Managed(inv); p != nil {
			return []check.Finding{check.NotAssessedf("the CNI was not identified; the cluster runs on %s (%s), whose network plugin may run outside the cluster's workloads", p.Name, p.Evidence)}
		}
		return []check.Finding{check.NotAssessedf("the CNI was not identified: no DaemonSet is a recognised CNI (%s)", implementationNames(platform.CNI))}
	}
	var enforcing, ignoring, unknown []platform.Match
	for _, m := range ms {
		switch m.Impl.NetworkPolicy {
		case platform.Enforces:
			enforcing = append(enforcing, m)
		case platform.Ignores:
			ignoring = append(ignoring, m)
		default:
			unknown = append(unknown, m)
		}
	}
	switch {
	case len(enforcing) > 0:
		msg := platform.Describe(enforcing) + " enforces NetworkPolicy"
		if len(ignoring) > 0 {
			msg += " (alongside " + platform.Describe(ignoring) + ", which routes pod traffic)"
		}
		return []check.Finding{check.Passf("%s", msg)}
	case len(unknown) > 0:
		return []check.Finding{check.NotAssessedf("%s enforces NetworkPolicy only when its configuration enables it (the AWS VPC CNI's network policy agent), which plimsoll cannot see", platform.Describe(unknown))}
	}
	policies := inv.OfKind("NetworkPolicy")
	consequence := "no NetworkPolicy can restrict pod traffic in this cluster"
	if len(policies) > 0 {
		consequence = fmt.Sprintf("the %d NetworkPolicies in the cluster are decorative (%s)", len(policies), say.List(namespacedNames(policies), ", "))
		if len(policies) == 1 {
			consequence = fmt.Sprintf("the NetworkPolicy %s is decorative", namespacedNames(policies)[0])
		}
	}
	return []check.Finding{check.Failf("", "%s does not enforce NetworkPolicy: %s", platform.Describe(ignoring), consequence)}
}

func dnsRun(o *inventory.Object, c *check.Context) []check.Finding {
	inv := c.Inventory
	ms := platform.Find(inv, platform.DNS)
	if len(ms) == 0 {
		return []check.Finding{check.NotAssessedf("no cluster DNS was recognised (%s): the cluster's DNS cannot be judged", implementationNames(platform.DNS))}
	}
	// A DNS scaled to nothing beside one that runs is a leftover of a
	// migration (kube-dns after CoreDNS), not the cluster's DNS.
	var live []platform.Match
	for _, m := range ms {
		if _, desired := platform.Ready(m.Workload); desired > 0 {
			live = append(live, m)
		}
	}
	if len(live) == 0 {
		live = ms
	}
	var out, evidence []check.Finding
	for _, m := range live {
		found := dnsGaps(inv, m)
		if len(found) == 0 {
			evidence = append(evidence, check.Passf("%s", dnsEvidence(inv, m)))
		}
		out = append(out, found...)
	}
	if len(out) > 0 {
		return out
	}
	return evidence
}

// dnsGaps returns what keeps one DNS workload from surviving a pod or node
// loss: too few ready replicas, all of them on one node, no PDB.
func dnsGaps(inv *inventory.Inventory, m platform.Match) []check.Finding {
	var out []check.Finding
	if ready, _ := platform.Ready(m.Workload); ready < 2 {
		out = append(out, check.Failf("", "%s, want at least 2: when that pod restarts or its node goes away, no name in the cluster resolves", readyText(m)))
	} else if nodes := readyPodNodes(inv, m.Workload); len(nodes) == 1 {
		out = append(out, check.Failf("", "%s: all its ready pods run on node %s, so losing that node stops DNS for the whole cluster", m, nodes[0]))
	}
	if len(inv.PDBs(m.Workload)) == 0 {
		out = append(out, check.Failf("", "no PodDisruptionBudget selects the pods of %s: a node drain may evict every replica at once", m))
	}
	return out
}

func dnsEvidence(inv *inventory.Inventory, m platform.Match) string {
	s := readyText(m)
	if nodes := readyPodNodes(inv, m.Workload); len(nodes) > 0 {
		s += " on nodes " + strings.Join(nodes, ", ")
	}
	return s + "; PodDisruptionBudget " + objectNames(inv.PDBs(m.Workload)) + " selects its pods"
}

// readyPodNodes returns the nodes a workload's ready pods run on, sorted;
// none when its pods are not in the inventory.
func readyPodNodes(inv *inventory.Inventory, w *inventory.Object) []string {
	nodes := map[string]bool{}
	for _, p := range inv.PodsOf(w) {
		if pod, ok := p.Typed.(*corev1.Pod); ok && platform.PodReady(pod) && pod.Spec.NodeName != "" {
			nodes[pod.Spec.NodeName] = true
		}
	}
	return slices.Sorted(maps.Keys(nodes))
}

// readyText says how many of a recognised workload's replicas are ready:
// "ingress-nginx Deployment ingress-nginx/ingress-nginx-controller (label
// ...) has 1 of 2 replicas ready". A DaemonSet counts its pods.
func readyText(m platform.Match) string {
	ready, desired := platform.Ready(m.Workload)
	unit := "replicas"
	if m.Workload.KindKey() == "DaemonSet" {
		unit = "pods"
	}
	return fmt.Sprintf("%s has %d of %d %s ready", m, ready, desired, unit)
}

// implementationNames lists the implementations of a component that
// plimsoll recognises, for findings that found none.
func implementationNames(c platform.Component) string {
	var names []string
	for _, impl := range platform.Implementations {
		if impl.Component == c {
			names = append(names, impl.Name)
		}
	}
	return strings.Join(names, ", ")
}

// objectNames lists objects by name, for cluster-scoped ones or those of
// one namespace.
func objectNames(objs []*inventory.Object) string {
	names := make([]string, len(objs))
	for i, o := range objs {
		names[i] = o.Name
	}
	return strings.Join(names, ", ")
}

// namespacedNames names objects as namespace/name.
func namespacedNames(objs []*inventory.Object) []string {
	ids := make([]string, len(objs))
	for i, o := range objs {
		ids[i] = o.Name
		if o.Namespace != "" {
			ids[i] = o.Namespace + "/" + o.Name
		}
	}
	return ids
}

// The examples are cluster objects as the API server returns them, status
// included.
