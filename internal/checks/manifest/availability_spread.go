package manifest

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/pod"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

// spreadKeys are the topology keys that keep replicas on different nodes,
// zones or regions. The beta labels are deprecated but still set by some
// providers.
var spreadKeys = map[string]bool{
	corev1.LabelHostname:              true,
	corev1.LabelTopologyZone:          true,
	corev1.LabelFailureDomainBetaZone: true,
	// Replicas in different regions are in different zones too.
	corev1.LabelTopologyRegion:          true,
	corev1.LabelFailureDomainBetaRegion: true,
}

// spreadRule is one topology spread constraint or pod anti-affinity term
// of a workload's pods: its topology key and, when it does not select the
// workload's own pods, why not.
type spreadRule struct {
	key string
	// field names the rule for messages: "topologySpreadConstraints[0]".
	field string
	// notOwn says why the rule selects none of the workload's own pods,
	// or is "" when it does.
	notOwn string
}

// workloadSpreadRun is workload-spread's Run. Only a rule over a spreading
// topology key that selects the workload's own pods spreads them: one that
// selects another application's pods, or pods of other namespaces, or no
// pods at all, leaves the replicas free to share one node.
func workloadSpreadRun(o *inventory.Object, c *check.Context) []check.Finding {
	spec := pod.Spec(o)
	if spec == nil {
		return nil
	}
	rules := spreadRules(o, spec, c.Inventory)
	var keys, ignored []string
	for _, r := range rules {
		if spreadKeys[r.key] && r.notOwn == "" {
			return nil
		}
		keys = append(keys, r.key)
		if spreadKeys[r.key] {
			ignored = append(ignored, r.field+" "+r.notOwn)
		}
	}
	msg := fmt.Sprintf("%s, but neither topologySpreadConstraints nor podAntiAffinity spread them over %s or %s: they may all run on one node",
		describeScale(o, c.Inventory), corev1.LabelHostname, corev1.LabelTopologyZone)
	if len(ignored) > 0 {
		msg += fmt.Sprintf(" (%s)", commaList(ignored))
	} else if len(keys) > 0 {
		msg += fmt.Sprintf(" (the rules set use topology keys %q)", keys)
	}
	return []check.Finding{{Path: o.SpecPath("topologySpreadConstraints"), Message: msg}}
}

// spreadRules returns a pod spec's topology spread constraints and pod
// anti-affinity terms, each judged on whether it selects the workload's
// own pods.
func spreadRules(o *inventory.Object, spec *corev1.PodSpec, inv *inventory.Inventory) []spreadRule {
	var out []spreadRule
	for i, t := range spec.TopologySpreadConstraints {
		out = append(out, spreadRule{t.TopologyKey, fmt.Sprintf("topologySpreadConstraints[%d]", i), constraintNotOwn(o, t, inv)})
	}
	a := spec.Affinity
	if a == nil || a.PodAntiAffinity == nil {
		return out
	}
	for i, t := range a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
		field := fmt.Sprintf("podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[%d]", i)
		out = append(out, spreadRule{t.TopologyKey, field, antiAffinityNotOwn(o, t, inv)})
	}
	for i, t := range a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
		field := fmt.Sprintf("podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[%d]", i)
		out = append(out, spreadRule{t.PodAffinityTerm.TopologyKey, field, antiAffinityNotOwn(o, t.PodAffinityTerm, inv)})
	}
	return out
}

// constraintNotOwn says why a topology spread constraint spreads none of
// the workload's own pods, or "". The scheduler counts, in the pod's own
// namespace, the pods its labelSelector matches, and a nil selector
// matches none (filterTopologySpreadConstraints in
// k8s.io/kubernetes/pkg/scheduler/framework/plugins/podtopologyspread/common.go).
// matchLabelKeys only narrow the selector to pods that share the pod's own
// values, which the workload's pods do.
func constraintNotOwn(o *inventory.Object, t corev1.TopologySpreadConstraint, inv *inventory.Inventory) string {
	if t.LabelSelector == nil {
		return "has no labelSelector, so it spreads no pods"
	}
	return selectorNotOwn(o, t.LabelSelector, inv)
}

// antiAffinityNotOwn says why a pod anti-affinity term keeps none of the
// workload's own pods apart, or "". A term matches the pods its
// labelSelector selects (none when it is nil) in the namespaces it lists
// and those its namespaceSelector selects, or in the pod's own namespace
// when it sets neither (newAffinityTerm, getNamespacesFromPodAffinityTerm
// and AffinityTerm.Matches in k8s.io/kube-scheduler/framework/types.go).
func antiAffinityNotOwn(o *inventory.Object, t corev1.PodAffinityTerm, inv *inventory.Inventory) string {
	if t.LabelSelector == nil {
		return "has no labelSelector, so it matches no pods"
	}
	if why := selectorNotOwn(o, t.LabelSelector, inv); why != "" {
		return why
	}
	for _, k := range t.MismatchLabelKeys {
		if tmpl, _ := o.PodTemplate(); tmpl != nil {
			if _, ok := tmpl.Labels[k]; ok {
				return fmt.Sprintf("excludes, through mismatchLabelKeys %s, the pods that share the workload's own %s label", k, k)
			}
		}
	}
	return namespacesNotOwn(o, t, inv)
}

// selectorNotOwn says why a label selector selects none of the workload's
// own pods, or "".
func selectorNotOwn(o *inventory.Object, ls *metav1.LabelSelector, inv *inventory.Inventory) string {
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		return fmt.Sprintf("has an invalid labelSelector, which selects no pods: %v", err)
	}
	if inv.MayMatchPods(o, sel) {
		return ""
	}
	return fmt.Sprintf("selects pods %s, not the workload's own (pod labels: %s)", describeSelector(sel), podLabelsText(o))
}

// namespacesNotOwn says why a pod affinity term's namespaces leave out the
// workload's own, or "". A workload without a namespace gets one at apply
// time, which the term may well name; the labels of a Namespace that is
// not among the inputs are known only by the name label the API server
// sets on every Namespace, and a selector on any other label may match.
func namespacesNotOwn(o *inventory.Object, t corev1.PodAffinityTerm, inv *inventory.Inventory) string {
	if (len(t.Namespaces) == 0 && t.NamespaceSelector == nil) || o.Namespace == "" {
		return ""
	}
	for _, n := range t.Namespaces {
		if n == o.Namespace {
			return ""
		}
	}
	if t.NamespaceSelector != nil && namespaceMayMatch(o.Namespace, t.NamespaceSelector, inv) {
		return ""
	}
	var where []string
	if len(t.Namespaces) > 0 {
		where = append(where, "namespaces "+commaList(t.Namespaces))
	}
	if t.NamespaceSelector != nil {
		sel, _ := metav1.LabelSelectorAsSelector(t.NamespaceSelector)
		where = append(where, "the namespaces its namespaceSelector "+describeSelector(sel)+" selects")
	}
	return fmt.Sprintf("applies only to pods in %s, not in the workload's namespace %s", strings.Join(where, " and "), o.Namespace)
}

// namespaceMayMatch reports whether a namespace selector may select the
// namespace: it does when the Namespace's labels meet it, the name label
// kubernetes.io/metadata.name included, and for a Namespace not among the
// inputs when no requirement on that name label fails.
func namespaceMayMatch(name string, ls *metav1.LabelSelector, inv *inventory.Inventory) bool {
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		return false
	}
	set, known := inv.NamespaceLabels(name)
	if known {
		return sel.Matches(set)
	}
	reqs, _ := sel.Requirements()
	for _, r := range reqs {
		if r.Key() == corev1.LabelMetadataName && !r.Matches(set) {
			return false
		}
	}
	return true
}

// describeSelector writes a selector as kubectl does, or "everything" for
// an empty one.
func describeSelector(sel labels.Selector) string {
	if sel.Empty() {
		return "everything"
	}
	return sel.String()
}
