package drill

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	schedulingcorev1 "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"
)

// The scheduler's own words for why a node does not fit a pod, as its
// filter plugins return them, so that a drill's reasons read like the
// Pending pod's event ("0/6 nodes are available: ...").
const (
	whyUnschedulable = "node(s) were unschedulable"
	whyAffinity      = "node(s) didn't match Pod's node affinity/selector"
	whyPorts         = "node(s) didn't have free ports for the requested pod ports"
	whySpreadLabel   = "node(s) didn't match pod topology spread constraints (missing required label)"
	whySpread        = "node(s) didn't match pod topology spread constraints"
	whyAntiAffinity  = "node(s) didn't match pod anti-affinity rules"
	whyAffinityRules = "node(s) didn't match pod affinity rules"
	whyVolume        = "node(s) had volume node affinity conflict"
	whyTooManyPods   = "Too many pods"
)

// placeable reports whether the node is a candidate at all: it exists, is
// not cordoned and not lost.
func (s *state) placeable(n int) bool { return !s.gone[n] && !s.down[n] && !s.cordoned[n] }

// schedule finds a node for p among the nodes that remain, with the
// scheduler's filters, and returns its index, or -1 and why no node fits,
// worded as the scheduler's FitError is. Of the nodes that fit, it takes
// the least requested one (the scheduler's default LeastAllocated score, in
// short), then the first by name.
func (s *state) schedule(p *pod) (int, string) {
	reasons := map[string]int{}
	best, bestScore := -1, math.Inf(1)
	spread, affinity := s.newSpreadContext(p), s.newAffinityContext(p)
	considered := 0
	for n := range s.m.nodes {
		if s.gone[n] {
			continue
		}
		considered++
		if why := s.filter(p, n, spread, affinity); why != "" {
			reasons[why]++
			continue
		}
		if score := s.requested(n); score < bestScore {
			best, bestScore = n, score
		}
	}
	if best >= 0 {
		return best, ""
	}
	return -1, fitError(considered, reasons)
}

// fitError words the reasons as the scheduler's FitError does: "0/N nodes
// are available: " and each reason with its count, sorted.
func fitError(n int, reasons map[string]int) string {
	list := make([]string, 0, len(reasons))
	for why, count := range reasons {
		list = append(list, fmt.Sprintf("%d %s", count, why))
	}
	sort.Strings(list)
	return fmt.Sprintf("0/%d nodes are available: %s", n, strings.Join(list, ", "))
}

// filter runs the scheduler's filters that the model covers, in the
// scheduler's order, and returns the first failure, or "".
func (s *state) filter(p *pod, n int, spread *spreadContext, affinity *affinityContext) string {
	node := s.m.nodes[n].obj
	// NodeUnschedulable: a cordoned node, unless the pod tolerates it.
	if s.cordoned[n] && !tolerates(p, corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}) {
		return whyUnschedulable
	}
	// TaintToleration.
	if taint, bad := untolerated(p, s.taints(n)); bad {
		return fmt.Sprintf("node(s) had untolerated taint {%s: %s}", taint.Key, taint.Value)
	}
	// NodeAffinity: nodeSelector and required node affinity.
	if ok, err := p.affinity.Match(node); !ok || err != nil {
		return whyAffinity
	}
	// NodePorts.
	if s.portsTaken(p, n) {
		return whyPorts
	}
	// NodeResourcesFit.
	if why := s.fits(p, n); why != "" {
		return why
	}
	// VolumeBinding: a bound volume's node affinity.
	for _, v := range p.volumeNodes {
		if ok, err := v.selector.Match(node); !ok || err != nil {
			return whyVolume
		}
	}
	if why := s.spreadFilter(p, n, spread); why != "" {
		return why
	}
	return s.interPodAffinity(n, affinity)
}

// taints are the node's taints as the drill has them: a lost node gets the
// unreachable taints the node lifecycle controller sets, and a cordoned
// one the unschedulable taint it sets (TaintNodesByCondition).
func (s *state) taints(n int) []corev1.Taint {
	t := s.m.nodes[n].obj.Spec.Taints
	if s.down[n] {
		t = append(t[:len(t):len(t)],
			corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoSchedule},
			corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute})
	}
	if s.cordoned[n] {
		t = append(t[:len(t):len(t)], corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule})
	}
	return t
}

// untolerated finds a NoSchedule or NoExecute taint the pod does not
// tolerate, as the scheduler's TaintToleration filter does.
func untolerated(p *pod, taints []corev1.Taint) (corev1.Taint, bool) {
	return schedulingcorev1.FindMatchingUntoleratedTaint(klog.Background(), taints, p.obj.Spec.Tolerations, func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
	}, true)
}

func tolerates(p *pod, t corev1.Taint) bool {
	return schedulingcorev1.TolerationsTolerateTaint(klog.Background(), p.obj.Spec.Tolerations, &t, true)
}

// portsTaken mirrors the NodePorts filter: a host port (protocol, port)
// already used on the node, on the same IP or where either is 0.0.0.0.
func (s *state) portsTaken(p *pod, n int) bool {
	if len(p.ports) == 0 {
		return false
	}
	for _, q := range s.onNode[n] {
		for _, a := range q.ports {
			for _, b := range p.ports {
				if a.port == b.port && a.protocol == b.protocol && (a.ip == b.ip || anyIP(a.ip) || anyIP(b.ip)) {
					return true
				}
			}
		}
	}
	return false
}

func anyIP(ip string) bool { return ip == "" || ip == "0.0.0.0" || ip == "::" }

// fits mirrors NodeResourcesFit: the number of pods, then each resource
// the pod requests against the node's allocatable less what the pods
// placed there request.
func (s *state) fits(p *pod, n int) string {
	alloc := s.m.nodes[n].alloc
	if max := alloc[corev1.ResourcePods]; int64(len(s.onNode[n]))+1 > max {
		return whyTooManyPods
	}
	used := s.used[n]
	for _, r := range p.reqs {
		if alloc[r.name]-used[r.name] < r.value {
			return "Insufficient " + string(r.name)
		}
	}
	return ""
}

// requested is how full the node is: the larger of its CPU and memory
// shares requested, for choosing among nodes that fit.
func (s *state) requested(n int) float64 {
	alloc, used := s.m.nodes[n].alloc, s.used[n]
	share := func(r corev1.ResourceName) float64 {
		if alloc[r] <= 0 {
			return 0
		}
		return float64(used[r]) / float64(alloc[r])
	}
	return max(share(corev1.ResourceCPU), share(corev1.ResourceMemory))
}

// spreadContext holds, for one pod being placed, the match counts per
// topology domain of each of its DoNotSchedule spread constraints.
type spreadContext struct {
	constraints []spreadConstraint
}

type spreadConstraint struct {
	c        corev1.TopologySpreadConstraint
	selector labels.Selector
	counts   map[string]int
	eligible []bool
	minMatch int
	self     int
}

// newSpreadContext mirrors the PodTopologySpread plugin's PreFilter
// (k8s.io/kubernetes pkg/scheduler/framework/plugins/podtopologyspread,
// calPreFilterState): for each DoNotSchedule constraint, the nodes that
// count are those that carry every constraint's topology key and pass the
// node inclusion policies (nodeAffinityPolicy Honor by default: the pod's
// node affinity; nodeTaintsPolicy Ignore by default: taints do not matter,
// so a cordoned node, or a lost one that still exists, still counts as a
// domain); on them it counts the pods of the namespace that match the
// selector and are not being deleted. The smallest count is the global
// minimum, 0 when there are fewer domains than minDomains.
func (s *state) newSpreadContext(p *pod) *spreadContext {
	ctx := &spreadContext{}
	if len(p.spread) == 0 {
		return ctx
	}
	aff := p.affinity
	for _, sc := range p.spread {
		sc.counts, sc.eligible = map[string]int{}, make([]bool, len(s.m.nodes))
		ctx.constraints = append(ctx.constraints, sc)
	}
	eligible := make([]bool, len(s.m.nodes))
	for n, nd := range s.m.nodes {
		if s.gone[n] || !hasKeys(nd.obj, ctx.constraints) {
			continue
		}
		eligible[n] = true
		for i := range ctx.constraints {
			sc := &ctx.constraints[i]
			if s.includedBySpread(p, n, sc.c, aff) {
				sc.eligible[n] = true
				domain := nd.obj.Labels[sc.c.TopologyKey]
				sc.counts[domain] += 0
			}
		}
	}
	for _, q := range s.nsPods[p.namespace] {
		n := s.where[q.id]
		if n < 0 || !eligible[n] || s.deleting[q.id] {
			continue
		}
		for i := range ctx.constraints {
			sc := &ctx.constraints[i]
			if sc.eligible[n] && sc.selector.Matches(labels.Set(q.obj.Labels)) {
				sc.counts[s.m.nodes[n].obj.Labels[sc.c.TopologyKey]]++
			}
		}
	}
	for i := range ctx.constraints {
		sc := &ctx.constraints[i]
		sc.minMatch = math.MaxInt
		for _, c := range sc.counts {
			sc.minMatch = min(sc.minMatch, c)
		}
		minDomains := 1
		if sc.c.MinDomains != nil {
			minDomains = int(*sc.c.MinDomains)
		}
		if sc.minMatch == math.MaxInt || len(sc.counts) < minDomains {
			sc.minMatch = 0
		}
	}
	return ctx
}

// spreadConstraints parses a pod's DoNotSchedule spread constraints once:
// each selector, with the pod's values of its matchLabelKeys added, and
// whether the pod matches it itself.
func spreadConstraints(p *corev1.Pod) []spreadConstraint {
	var out []spreadConstraint
	for _, c := range p.Spec.TopologySpreadConstraints {
		if c.WhenUnsatisfiable != corev1.DoNotSchedule {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(c.LabelSelector)
		if err != nil {
			sel = labels.Nothing()
		}
		for _, key := range c.MatchLabelKeys {
			if v, ok := p.Labels[key]; ok {
				if r, err := labels.NewRequirement(key, "=", []string{v}); err == nil {
					sel = sel.Add(*r)
				}
			}
		}
		sc := spreadConstraint{c: c, selector: sel}
		if sel.Matches(labels.Set(p.Labels)) {
			sc.self = 1
		}
		out = append(out, sc)
	}
	return out
}

// includedBySpread applies a constraint's node inclusion policies.
func (s *state) includedBySpread(p *pod, n int, c corev1.TopologySpreadConstraint, aff nodeaffinity.RequiredNodeAffinity) bool {
	if c.NodeAffinityPolicy == nil || *c.NodeAffinityPolicy == corev1.NodeInclusionPolicyHonor {
		if ok, err := aff.Match(s.m.nodes[n].obj); !ok || err != nil {
			return false
		}
	}
	if c.NodeTaintsPolicy != nil && *c.NodeTaintsPolicy == corev1.NodeInclusionPolicyHonor {
		if _, bad := untolerated(p, s.taints(n)); bad {
			return false
		}
	}
	return true
}

func hasKeys(n *corev1.Node, constraints []spreadConstraint) bool {
	for _, c := range constraints {
		if _, ok := n.Labels[c.c.TopologyKey]; !ok {
			return false
		}
	}
	return true
}

// spreadFilter mirrors the PodTopologySpread Filter: placing the pod on
// the node must not raise its domain's count above the global minimum by
// more than maxSkew.
func (s *state) spreadFilter(p *pod, n int, ctx *spreadContext) string {
	node := s.m.nodes[n].obj
	for _, sc := range ctx.constraints {
		domain, ok := node.Labels[sc.c.TopologyKey]
		if !ok {
			return whySpreadLabel
		}
		if sc.counts[domain]+sc.self-sc.minMatch > int(sc.c.MaxSkew) {
			return whySpread
		}
	}
	return ""
}

// affinityContext holds, for one pod being placed, the topology domains
// its required inter-pod terms see, so that each node is judged in
// constant time.
type affinityContext struct {
	anti      []termDomains // the pod's required anti-affinity terms
	affinity  []termDomains // the pod's required affinity terms
	forbidden []termDomains // placed pods' anti-affinity terms the pod matches
}

type termDomains struct {
	key    string
	values map[string]bool
	// first: no pod anywhere matches the affinity term and the pod matches
	// it itself, so the term does not hold it back (the first pod of a
	// group).
	first bool
}

// newAffinityContext mirrors the InterPodAffinity plugin's PreFilter for
// required terms (k8s.io/kubernetes pkg/scheduler/framework/plugins/
// interpodaffinity): the domains holding a pod that the pod's
// anti-affinity or affinity terms match, and the domains of placed pods
// whose anti-affinity matches the pod. Unlike topology spread, it counts
// pods being deleted: a pod Terminating on an unreachable node still
// holds its domain.
func (s *state) newAffinityContext(p *pod) *affinityContext {
	ctx := &affinityContext{}
	for _, t := range p.anti {
		ctx.anti = append(ctx.anti, s.matchingDomains(p, t))
	}
	for _, t := range p.aff {
		d := s.matchingDomains(p, t)
		d.first = len(d.values) == 0 && t.matches(p)
		ctx.affinity = append(ctx.affinity, d)
	}
	for _, q := range s.antiPods[p.namespace] {
		n := s.where[q.id]
		if n < 0 {
			continue
		}
		for _, t := range q.anti {
			if v, ok := s.m.nodes[n].obj.Labels[t.key]; ok && t.matches(p) {
				ctx.forbidden = append(ctx.forbidden, termDomains{key: t.key, values: map[string]bool{v: true}})
			}
		}
	}
	return ctx
}

// matchingDomains returns the values of the term's topology key on the
// nodes that hold a pod matching the term.
func (s *state) matchingDomains(owner *pod, t term) termDomains {
	d := termDomains{key: t.key, values: map[string]bool{}}
	for _, ns := range t.namespaces {
		for _, q := range s.nsPods[ns] {
			n := s.where[q.id]
			if n < 0 || q == owner || !t.matches(q) {
				continue
			}
			if v, ok := s.m.nodes[n].obj.Labels[t.key]; ok {
				d.values[v] = true
			}
		}
	}
	return d
}

// interPodAffinity mirrors the InterPodAffinity filter for required terms.
func (s *state) interPodAffinity(n int, ctx *affinityContext) string {
	labels := s.m.nodes[n].obj.Labels
	in := func(d termDomains) bool {
		v, ok := labels[d.key]
		return ok && d.values[v]
	}
	for _, d := range ctx.anti {
		if in(d) {
			return whyAntiAffinity
		}
	}
	for _, d := range ctx.forbidden {
		if in(d) {
			return whyAntiAffinity
		}
	}
	for _, d := range ctx.affinity {
		if !in(d) && !d.first {
			return whyAffinityRules
		}
	}
	return ""
}

// term is a required pod (anti-)affinity term, parsed once: its topology
// key, the namespaces it looks in (its owner's when it names none; a
// namespaceSelector is out of the model and looks in the owner's only) and
// its selector.
type term struct {
	key        string
	namespaces []string
	selector   labels.Selector
}

func terms(p *corev1.Pod, list []corev1.PodAffinityTerm) []term {
	out := make([]term, 0, len(list))
	for _, t := range list {
		sel, err := metav1.LabelSelectorAsSelector(t.LabelSelector)
		if err != nil {
			sel = labels.Nothing()
		}
		namespaces := t.Namespaces
		if len(namespaces) == 0 {
			namespaces = []string{p.Namespace}
		}
		out = append(out, term{t.TopologyKey, namespaces, sel})
	}
	return out
}

// matches reports whether a pod is in the term's namespaces and matches its
// selector.
func (t term) matches(target *pod) bool {
	return slices.Contains(t.namespaces, target.namespace) && t.selector.Matches(labels.Set(target.obj.Labels))
}
