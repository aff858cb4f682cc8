package drill

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
)

// state is the cluster during one drill: where each pod is, which are
// ready, which nodes are cordoned, lost or gone. The model underneath is
// shared and never changed.
type state struct {
	m        *model
	pods     []*pod // the model's, then the replacements
	where    []int  // node of each pod by id, -1 for none
	ready    []bool
	deleting []bool
	onNode   [][]*pod
	used     []map[corev1.ResourceName]int64
	nsPods   map[string][]*pod
	// antiPods are the placed pods with required anti-affinity, by the
	// namespaces their terms look in.
	antiPods map[string][]*pod

	cordoned, down, gone []bool

	// per workload: ready pods now and at the lowest point; per budget:
	// healthy pods now and at the lowest point.
	readyNow, readyMin map[*workload]int
	healthy, healthyLo map[*pdb]int32
	displaced          map[*workload]int
	// why is the causal chain of each workload, blocked the workloads whose
	// pods stopped a drain, unknown those a budget of could not be judged.
	why     map[*workload][]string
	blocked map[*workload]bool
	unsure  map[*workload]string
	inWay   map[*pdb]bool
}

func newState(m *model) *state {
	s := &state{
		m: m, pods: slices.Clone(m.pods),
		where: make([]int, len(m.pods)), ready: make([]bool, len(m.pods)), deleting: make([]bool, len(m.pods)),
		onNode: make([][]*pod, len(m.nodes)), used: make([]map[corev1.ResourceName]int64, len(m.nodes)),
		nsPods: map[string][]*pod{}, antiPods: map[string][]*pod{},
		cordoned: make([]bool, len(m.nodes)), down: make([]bool, len(m.nodes)), gone: make([]bool, len(m.nodes)),
		readyNow: map[*workload]int{}, readyMin: map[*workload]int{},
		healthy: map[*pdb]int32{}, healthyLo: map[*pdb]int32{},
		displaced: map[*workload]int{},
		why:       map[*workload][]string{}, blocked: map[*workload]bool{}, unsure: map[*workload]string{},
		inWay: map[*pdb]bool{},
	}
	for n, nd := range m.nodes {
		s.used[n] = map[corev1.ResourceName]int64{}
		s.cordoned[n] = nd.obj.Spec.Unschedulable
	}
	for _, p := range m.pods {
		s.where[p.id] = -1
		s.deleting[p.id] = p.terminating
		s.ready[p.id] = p.ready && !p.terminating
		s.nsPods[p.namespace] = append(s.nsPods[p.namespace], p)
		if p.node >= 0 && !p.terminal {
			s.place(p, p.node)
		}
		if s.ready[p.id] {
			s.readyNow[p.workload]++
			for _, d := range p.pdbs {
				s.healthy[d]++
			}
		}
	}
	maps.Copy(s.readyMin, s.readyNow)
	maps.Copy(s.healthyLo, s.healthy)
	return s
}

// place puts a pod on a node and counts what it requests there.
func (s *state) place(p *pod, n int) {
	s.where[p.id] = n
	s.onNode[n] = append(s.onNode[n], p)
	for r, v := range p.req {
		s.used[n][r] += v
	}
	for _, t := range p.anti {
		for _, ns := range t.namespaces {
			if !slices.Contains(s.antiPods[ns], p) {
				s.antiPods[ns] = append(s.antiPods[ns], p)
			}
		}
	}
}

// remove deletes a pod from its node.
func (s *state) remove(p *pod) {
	s.setReady(p, false)
	n := s.where[p.id]
	if n < 0 {
		return
	}
	s.where[p.id] = -1
	s.onNode[n] = slices.DeleteFunc(s.onNode[n], func(q *pod) bool { return q == p })
	for r, v := range p.req {
		s.used[n][r] -= v
	}
}

// setReady changes a pod's readiness and keeps the counts of its workload
// and budgets, with their lowest points.
func (s *state) setReady(p *pod, ready bool) {
	if s.ready[p.id] == ready {
		return
	}
	s.ready[p.id] = ready
	d := 1
	if !ready {
		d = -1
	}
	w := p.workload
	s.readyNow[w] += d
	s.readyMin[w] = min(s.readyMin[w], s.readyNow[w])
	for _, b := range p.pdbs {
		s.healthy[b] += int32(d)
		s.healthyLo[b] = min(s.healthyLo[b], s.healthy[b])
	}
}

func (s *state) cordon(n int)   { s.cordoned[n] = true }
func (s *state) uncordon(n int) { s.cordoned[n] = s.m.nodes[n].obj.Spec.Unschedulable }

func (s *state) note(w *workload, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if !slices.Contains(s.why[w], msg) {
		s.why[w] = append(s.why[w], msg)
	}
}

// replace makes the replacement a controller creates for a pod that is
// gone, and schedules it: a ReplicaSet's, a StatefulSet's (same name, same
// claims), a Job's. A bare pod, a mirror pod and a DaemonSet's pod have
// none here.
func (s *state) replace(p *pod) {
	w := p.workload
	if p.bare || p.mirror || p.daemon || p.terminal {
		if p.bare {
			s.note(w, "bare pod %s is not recreated: no controller owns it", p.name)
		}
		return
	}
	r := *p
	r.id = len(s.pods)
	r.pdbs = p.pdbs
	s.pods = append(s.pods, &r)
	s.where = append(s.where, -1)
	s.ready = append(s.ready, false)
	s.deleting = append(s.deleting, false)
	s.nsPods[r.namespace] = append(s.nsPods[r.namespace], &r)
	if w.scale == scaleUnknown {
		s.unsure[w] = fmt.Sprintf("its controller, %s %s, is not among what plimsoll reads: whether and how it replaces pod %s is not known", w.kind, w.name, p.name)
	}
	if len(p.obj.Spec.ResourceClaims) > 0 {
		s.unsure[w] = fmt.Sprintf("pod %s claims dynamic resources, which the drill does not model", p.name)
	}
	if p.unboundClaim != "" {
		s.unsure[w] = fmt.Sprintf("claim %s of pod %s names a volume the drill cannot see", p.unboundClaim, p.name)
	}
	n, why := s.schedule(&r)
	if n < 0 {
		s.note(w, "the replacement of pod %s stays Pending: %s", p.name, why)
		return
	}
	s.place(&r, n)
	s.setReady(&r, true)
}

// drain drains a wave of cordoned nodes at once, in rounds of evictions,
// as kubectl drain does (k8s.io/kubectl pkg/drain): every pod is evicted
// at once and each refused eviction (429, the budget allows no disruption)
// is retried until it succeeds. A budget's allowance comes back only when
// a replacement is ready, so a drain may take several rounds, or never
// end: then it blocks.
func (s *state) drain(wave []int, waveNo int) []NodeResult {
	results := make([]NodeResult, len(wave))
	var pending []*pod
	nodeOf := map[*pod]int{}
	for i, n := range wave {
		res := &results[i]
		*res = NodeResult{Name: s.m.nodes[n].name, Zone: s.m.nodes[n].zone, Wave: waveNo, Verdict: Drains, Needs: []string{}}
		pods := slices.Clone(s.onNode[n])
		sort.Slice(pods, func(a, b int) bool { return podLess(pods[a], pods[b]) })
		res.Pods = len(pods)
		for _, p := range pods {
			evict, flags := drainFilter(p)
			for _, flag := range flags {
				if !slices.Contains(res.Needs, flag) {
					res.Needs = append(res.Needs, flag)
				}
			}
			if evict {
				pending = append(pending, p)
				nodeOf[p] = i
				if !p.daemon && !p.mirror {
					s.displaced[p.workload]++
				}
			}
		}
		sort.Strings(res.Needs)
	}
	waits := map[int][]string{}
	waited := map[*pod]*pdb{}
	for round := 1; len(pending) > 0; round++ {
		var next, evicted []*pod
		waits = map[int][]string{}
		for _, p := range pending {
			ok, permanent, why := s.evictable(p)
			switch {
			case ok:
				if d := waited[p]; d != nil {
					s.note(p.workload, "its pods are evicted one at a time, as PodDisruptionBudget %s (%s) allows", d.name, d.describe())
				}
				s.remove(p)
				evicted = append(evicted, p)
				res := &results[nodeOf[p]]
				res.Evicted++
				res.Rounds = round
			case permanent:
				res := &results[nodeOf[p]]
				res.Verdict = Blocks
				if res.Reason == "" {
					res.Reason = "pod " + p.namespace + "/" + p.name + ": " + why
				}
				s.blocked[p.workload] = true
				s.note(p.workload, "%s", why)
			default:
				next = append(next, p)
				waits[nodeOf[p]] = append(waits[nodeOf[p]], "pod "+p.namespace+"/"+p.name+": "+why)
				waited[p] = p.pdbs[0]
			}
		}
		for _, p := range evicted {
			s.replace(p)
		}
		if len(evicted) == 0 {
			for _, p := range next {
				res := &results[nodeOf[p]]
				if res.Verdict != Blocks {
					res.Verdict = Blocks
					res.Reason = waits[nodeOf[p]][0]
				}
				s.blocked[p.workload] = true
				_, _, why := s.evictable(p)
				s.note(p.workload, "the drain of %s never evicts pod %s: %s", res.Name, p.name, why)
			}
			break
		}
		pending = next
	}
	for i := range results {
		res := &results[i]
		if res.Verdict == Drains && res.Rounds > 1 {
			res.Verdict = Serializes
			res.Reason = fmt.Sprintf("%d rounds of evictions: budgets let pods go only as their replacements become ready", res.Rounds)
		}
		if res.Verdict == Drains {
			res.Reason = fmt.Sprintf("%d pod(s) evicted at once", res.Evicted)
			if res.Evicted == 0 {
				res.Reason = "nothing to evict"
			}
		}
		for _, p := range s.onNode[wave[i]] {
			if u := s.unsure[p.workload]; u != "" && res.Verdict != Blocks {
				res.Verdict, res.Reason = Undetermined, u
			}
		}
	}
	return results
}

// drainFilter mirrors kubectl drain's pod filters (k8s.io/kubectl
// pkg/drain/filters.go, makeFilters), which a pod passes in turn until one
// leaves it on the node: a DaemonSet's pod stays, and without
// --ignore-daemonsets stops the drain; a mirror pod stays (deleting it is
// pointless); a pod with emptyDir data needs --delete-emptydir-data, and
// one no controller owns --force, both unless it has finished. It returns
// whether the pod is evicted and every flag it needs.
func drainFilter(p *pod) (evict bool, flags []string) {
	switch {
	case p.daemon:
		return false, []string{"--ignore-daemonsets"}
	case p.mirror:
		return false, nil
	case p.terminal:
		return true, nil
	}
	if p.emptyDir {
		flags = append(flags, "--delete-emptydir-data")
	}
	if p.bare {
		flags = append(flags, "--force")
	}
	return true, flags
}

// evictable mirrors the eviction API (k8s.io/kubernetes
// pkg/registry/core/pod/storage/eviction.go, EvictionREST.Create): a pod
// that is Pending, finished or being deleted goes without a budget
// (canIgnorePDB); a pod two budgets select is refused (500, "This pod has
// more than one PodDisruptionBudget"); an unready pod goes without using
// the budget when the policy is AlwaysAllow, or when the budget is healthy
// (IfHealthyBudget, the default); otherwise the budget must allow a
// disruption (checkAndDecrement), else 429. permanent says the refusal
// never ends.
func (s *state) evictable(p *pod) (ok, permanent bool, why string) {
	if p.phase == corev1.PodPending || p.terminal || s.deleting[p.id] {
		return true, false, ""
	}
	switch len(p.pdbs) {
	case 0:
		return true, false, ""
	case 1:
	default:
		names := make([]string, len(p.pdbs))
		for i, d := range p.pdbs {
			names[i] = d.name
			s.inWay[d] = true
		}
		sort.Strings(names)
		return false, true, fmt.Sprintf("%d PodDisruptionBudgets select it (%s), and the eviction API refuses a pod with more than one", len(names), joinNames(names))
	}
	d := p.pdbs[0]
	s.inWay[d] = true
	if d.unknown != "" {
		s.unsure[p.workload] = fmt.Sprintf("PodDisruptionBudget %s cannot be judged: %s", d.name, d.unknown)
		return true, false, ""
	}
	healthy := s.healthy[d]
	if !s.ready[p.id] {
		if d.alwaysAllow || (healthy >= d.desired && d.desired > 0) {
			return true, false, ""
		}
	}
	if d.allowed(healthy) > 0 {
		return true, false, ""
	}
	if d.failure != "" {
		return false, true, fmt.Sprintf("PodDisruptionBudget %s allows no disruption: %s", d.name, d.failure)
	}
	return false, false, fmt.Sprintf("PodDisruptionBudget %s (%s) allows 0 disruptions: %d healthy, %d needed", d.name, d.describe(), healthy, d.desired)
}

// lose takes the nodes away at once: an involuntary disruption, which no
// budget protects against.
func (s *state) lose(nodes []int, deleted bool) []NodeResult {
	results := make([]NodeResult, len(nodes))
	var lost []*pod
	for i, n := range nodes {
		if deleted {
			s.gone[n] = true
		} else {
			s.down[n] = true
		}
		results[i] = NodeResult{Name: s.m.nodes[n].name, Zone: s.m.nodes[n].zone, Verdict: Lost, Needs: []string{}, Pods: len(s.onNode[n])}
		for _, p := range s.onNode[n] {
			lost = append(lost, p)
		}
	}
	sort.Slice(lost, func(a, b int) bool { return podLess(lost[a], lost[b]) })
	for _, p := range lost {
		s.setReady(p, false)
		if !p.daemon && !p.mirror {
			s.displaced[p.workload]++
		}
	}
	for i := range results {
		results[i].Reason = fmt.Sprintf("lost with its %d pod(s)", results[i].Pods)
	}
	for _, p := range lost {
		if p.daemon || p.mirror {
			continue
		}
		if deleted {
			s.remove(p)
			s.replace(p)
			continue
		}
		if forever := toleratesUnreachableForever(p); forever {
			s.note(p.workload, "pod %s tolerates node.kubernetes.io/unreachable without a time limit: it is never evicted, so never replaced", p.name)
			continue
		}
		s.deleting[p.id] = true
		if p.workload.kind == "StatefulSet" {
			s.note(p.workload, "pod %s stays Terminating on its unreachable node, and a StatefulSet does not replace a pod until it is gone: force-delete it or delete the node", p.name)
			continue
		}
		s.replace(p)
	}
	return results
}

// toleratesUnreachableForever reports whether a pod tolerates the
// unreachable NoExecute taint with no tolerationSeconds, so that the taint
// manager never evicts it.
func toleratesUnreachableForever(p *pod) bool {
	t := corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute}
	for _, tol := range p.obj.Spec.Tolerations {
		if tol.ToleratesTaint(klog.Background(), &t, true) && tol.TolerationSeconds == nil {
			return true
		}
	}
	return false
}

func podLess(a, b *pod) bool {
	if a.namespace != b.namespace {
		return a.namespace < b.namespace
	}
	return a.name < b.name
}

// verdicts judges every workload the drill touched.
func (s *state) verdicts(sc Scenario, stale bool) []WorkloadResult {
	out := []WorkloadResult{}
	for _, w := range s.m.workloads {
		if s.displaced[w] == 0 || w.kind == "DaemonSet" {
			continue
		}
		before := 0
		for _, p := range w.pods {
			if p.ready && !p.terminating {
				before++
			}
		}
		r := WorkloadResult{
			Kind: w.kind, Namespace: w.namespace, Name: w.name,
			ReadyBefore: before, ReadyDuring: s.readyMin[w], ReadyAfter: s.readyNow[w],
			Displaced: s.displaced[w], PDBs: []string{},
		}
		for _, d := range w.pdbs {
			r.PDBs = append(r.PDBs, d.name)
		}
		why := slices.Clone(s.why[w])
		r.Verdict = Unaffected
		floor, floorWhy := s.floor(w)
		switch {
		case before > 0 && r.ReadyDuring == 0:
			r.Verdict = Outage
			all := fmt.Sprintf("all %d ready pods were", before)
			if before == 1 {
				all = "its only ready pod was"
			}
			why = append([]string{fmt.Sprintf("no ready pod for a while: %s on the %s nodes", all, affected(sc))}, why...)
		case s.blocked[w]:
			r.Verdict = Blocks
		case r.ReadyAfter < before:
			r.Verdict = Pending
		case r.ReadyDuring < floor:
			r.Verdict = Degraded
			why = append([]string{fmt.Sprintf("%d ready at the lowest point, below %s", r.ReadyDuring, floorWhy)}, why...)
		}
		if r.Verdict == Unaffected {
			switch {
			case s.unsure[w] != "":
				r.Verdict = Undetermined
				why = append(why, s.unsure[w])
			case stale:
				r.Verdict = Undetermined
				why = append(why, "the snapshot is stale: a prediction from it cannot pass")
			case r.ReadyDuring < before && floorWhy == "":
				why = append(why, fmt.Sprintf("%d of %d ready at the lowest point; no budget asks for more", r.ReadyDuring, before))
			case r.ReadyDuring < before:
				why = append(why, fmt.Sprintf("%d of %d ready at the lowest point, never below %s", r.ReadyDuring, before, floorWhy))
			default:
				why = append(why, "keeps all its ready pods")
			}
		}
		r.Reason = strings.Join(why, "; ")
		out = append(out, r)
	}
	return out
}

func affected(sc Scenario) string {
	if sc.Voluntary() {
		return "drained"
	}
	return "lost"
}

// floor is the number of ready pods a workload should keep, and who asks
// for it: its budget's desiredHealthy, or for a StatefulSet of three or
// more replicas without one, a majority (a quorum).
func (s *state) floor(w *workload) (int, string) {
	for _, d := range w.pdbs {
		if d.failure == "" && d.unknown == "" && d.desired > 0 && len(w.pdbs) == 1 {
			return int(d.desired), fmt.Sprintf("the %d its PodDisruptionBudget %s asks for", d.desired, d.name)
		}
	}
	if w.kind == "StatefulSet" && len(w.pdbs) == 0 && w.replicas >= 3 {
		q := int(w.replicas)/2 + 1
		return q, fmt.Sprintf("a quorum (%d of %d)", q, w.replicas)
	}
	return 0, ""
}

// budgetsInTheWay are the budgets the drill met whose status is not what
// the cluster records, or that cannot be met or computed.
func (s *state) budgetsInTheWay() []PDBStatus {
	out := []PDBStatus{}
	for _, d := range s.m.pdbs {
		if !s.inWay[d] {
			continue
		}
		st := d.status()
		if st.Cluster != nil || st.Problem != "" {
			out = append(out, st)
		}
	}
	return out
}

// generalUnknowns are what keeps the whole drill from passing: kinds the
// read could not show, and a stale snapshot.
func (s *state) generalUnknowns(o Options) []Unknown {
	var out []Unknown
	for _, k := range Kinds {
		if why, ok := o.Unreadable[k]; ok {
			out = append(out, Unknown{Reason: fmt.Sprintf("%s could not be read (%s)", strings.TrimSuffix(k, "."), why)})
		}
	}
	maxAge := o.MaxAge
	if maxAge == 0 {
		maxAge = DefaultMaxAge
	}
	if !o.At.IsZero() && !o.Now.IsZero() && o.Now.Sub(o.At) > maxAge {
		out = append(out, Unknown{Reason: fmt.Sprintf("the cluster was read %s ago, more than %s: it may have changed since", o.Now.Sub(o.At).Round(time.Minute), maxAge)})
	}
	return out
}
