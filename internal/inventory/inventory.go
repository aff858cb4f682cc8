package inventory

import (
	"runtime"
	"slices"
	"strings"
	"sync"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"

	"github.com/plimsoll/plimsoll/internal/parallel"
)

// Mode says what an inventory was built from.
type Mode string

const (
	// FromManifests is an inventory of declared objects: files, charts,
	// Kustomize builds.
	FromManifests Mode = "manifests"
	// FromCluster is an inventory read from a live cluster or a snapshot of
	// one.
	FromCluster Mode = "cluster"
)

// Inventory is the indexed, read-only set of objects an audit looks at.
type Inventory struct {
	Mode Mode

	objects    []*Object
	byKey      map[string][]*Object
	byKeyNS    map[nameKey][]*Object // name left empty
	byName     map[nameKey]*Object
	namespaces []*Object
	// nsLabels are, by name, the labels of the Namespaces the inputs
	// declare, the name label included (NamespaceLabels).
	nsLabels  map[string]labels.Set
	workloads map[string][]*Object // by namespace

	// selecting holds, by kind key, the objects of that kind that select
	// (or, for HPAs, scale) each workload.
	selecting map[string]map[*Object][]*Object
	selected  map[*Object][]*Object // selector owner -> workloads
	// selectedCustom holds, by selector owner, the custom resources whose
	// pods it selects; customPods, by namespace, every custom resource
	// that runs pods the inputs show.
	selectedCustom map[*Object][]*Object
	customPods     map[string][]*Object
	// targets are, by namespace, the workloads and custom resources that
	// run pods, with the labels their pods carry (podTargets); podLabels
	// holds the same labels by object.
	targets     map[string][]podTarget
	podLabels   map[*Object]podLabels
	bindingsFor map[nameKey][]*Object // ServiceAccount or Group -> bindings naming it
	custom      map[string][]*Object  // by namespace: kinds without a typed decoding
	children    map[*Object][]*Object // controller -> the objects it controls

	// runners are the custom kinds whose pods get labels of their
	// controllers' making (WithPodRunners), by kind key; unknownKeys,
	// the label keys whose values a controller sets out of the inputs'
	// sight, theirs included.
	runners     map[string]*podRunner
	unknownKeys map[string]bool

	trace func(key string)
	memos *memos
}

type nameKey struct{ key, namespace, name string }

// Build indexes objects. It sorts them by namespace, kind and name, adds a
// Namespace marked Implied for every namespace that objects use but no input
// declares, and resolves the selectors, owners and bindings checks need.
// Options tell it what the objects alone do not, such as which custom
// resources run pods (WithPodRunners).
func Build(mode Mode, objects []*Object, opts ...Option) *Inventory {
	inv := &Inventory{
		Mode:           mode,
		byKey:          map[string][]*Object{},
		byKeyNS:        map[nameKey][]*Object{},
		byName:         map[nameKey]*Object{},
		nsLabels:       map[string]labels.Set{},
		workloads:      map[string][]*Object{},
		selecting:      map[string]map[*Object][]*Object{},
		selected:       map[*Object][]*Object{},
		selectedCustom: map[*Object][]*Object{},
		customPods:     map[string][]*Object{},
		bindingsFor:    map[nameKey][]*Object{},
		custom:         map[string][]*Object{},
		children:       map[*Object][]*Object{},
		memos:          &memos{entries: map[string]*memo{}},
		unknownKeys:    builtinUnknown,
	}
	for _, opt := range opts {
		opt(inv)
	}
	objects = append(objects[:0:0], objects...)
	objects = append(objects, impliedNamespaces(objects)...)
	if mode == FromCluster && !hasKey(objects, ClusterKey) {
		objects = append(objects, ClusterObject(ClusterInfo{}))
	}
	slices.SortStableFunc(objects, Compare)
	inv.objects = objects

	for _, o := range objects {
		inv.byKey[o.key] = append(inv.byKey[o.key], o)
		ns := nameKey{key: o.key, namespace: o.Namespace}
		inv.byKeyNS[ns] = append(inv.byKeyNS[ns], o)
		k := nameKey{o.key, o.Namespace, o.Name}
		if _, dup := inv.byName[k]; !dup {
			inv.byName[k] = o
		}
		if o.key == "Namespace" {
			inv.namespaces = append(inv.namespaces, o)
			if _, dup := inv.nsLabels[o.Name]; !dup && !o.Implied {
				inv.nsLabels[o.Name] = withLabels(o.Labels, corev1.LabelMetadataName, o.Name)
			}
		}
		if o.IsWorkload() {
			inv.workloads[o.Namespace] = append(inv.workloads[o.Namespace], o)
		}
		if o.Typed == nil && o.Content != nil && o.key != ClusterKey {
			inv.custom[o.Namespace] = append(inv.custom[o.Namespace], o)
		}
	}
	inv.resolveSelectors()
	inv.resolveBindings()
	inv.resolveControllers()
	return inv
}

// memos holds an inventory's memoized indexes, shared by every copy Memo
// makes of the inventory.
type memos struct {
	mu      sync.Mutex
	entries map[string]*memo
}

// memo is one memoized index and the kind keys its build consulted.
type memo struct {
	once  sync.Once
	built bool
	value any
	reads []string
}

// Memo returns what build returns, building it once per inventory and key:
// an index over the inventory that several checks share, such as which
// workloads are a platform's components. build must read only the
// inventory it is handed, from one goroutine: Memo records the kinds build
// consults there and reports them to the trace (see Inventory.Trace) on
// every call, so a caller's reads are traced whether or not its call built
// the index. Keys are shared by every caller, so a key starts with its
// package's path below internal/ and a dot ("checks/manifest.crdScopes",
// "platform.index"), and every caller of a key asks for the same type.
func Memo[T any](inv *Inventory, key string, build func(inv *Inventory) T) T {
	inv.memos.mu.Lock()
	m := inv.memos.entries[key]
	if m == nil {
		m = &memo{}
		inv.memos.entries[key] = m
	}
	inv.memos.mu.Unlock()
	m.once.Do(func() {
		recording := *inv
		recording.trace = func(k string) {
			if !slices.Contains(m.reads, k) {
				m.reads = append(m.reads, k)
			}
		}
		m.value = build(&recording)
		m.built = true
	})
	if !m.built {
		panic("inventory: the memo " + key + " was not built: its build panicked")
	}
	if inv.trace != nil {
		for _, k := range m.reads {
			inv.trace(k)
		}
	}
	return m.value.(T)
}

// Compare orders objects by namespace, kind, name, then where they came
// from.
func Compare(a, b *Object) int {
	if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
		return c
	}
	if c := strings.Compare(a.key, b.key); c != 0 {
		return c
	}
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	if c := strings.Compare(a.Source.File, b.Source.File); c != 0 {
		return c
	}
	return a.Source.Line - b.Source.Line
}

func hasKey(objects []*Object, key string) bool {
	for _, o := range objects {
		if o.key == key {
			return true
		}
	}
	return false
}

func impliedNamespaces(objects []*Object) []*Object {
	declared := map[string]bool{}
	for _, o := range objects {
		if o.key == "Namespace" {
			declared[o.Name] = true
		}
	}
	var implied []*Object
	for _, o := range objects {
		ns := o.Namespace
		if ns == "" || declared[ns] {
			continue
		}
		declared[ns] = true
		// No input declares it, so it has no file or line: those of the
		// object placed in it would point findings at another object.
		// Where the inputs came from (a chart, a cluster) still holds.
		implied = append(implied, &Object{
			APIVersion: "v1", Kind: "Namespace", Name: ns,
			Typed:   &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
			Source:  Source{Origin: o.Source.Origin},
			Implied: true,
			key:     "Namespace",
		})
	}
	return implied
}

// Trace makes every accessor that hands out objects report, through f, the
// kind keys it consulted, whether or not it found any: an empty answer
// depends on those kinds as much as a full one. Objects reports "*", every
// kind; Memo reports the kinds its index was built from, every time it
// hands the index out. Tests use it to prove that checks declare what they
// read (check.Check.Reads). Set it before any check runs, and only on an
// inventory no audit is using; f must be safe for concurrent use, as checks
// run concurrently. Without a trace the accessors, Memo among them, pay one
// nil test.
func (inv *Inventory) Trace(f func(key string)) { inv.trace = f }

// read reports a consulted kind key to the trace, if one is set.
func (inv *Inventory) read(key string) {
	if inv.trace != nil {
		inv.trace(key)
	}
}

// readWorkloads reports every kind that can be a top-level workload.
func (inv *Inventory) readWorkloads() {
	if inv.trace != nil {
		for _, k := range podTemplateKinds {
			inv.trace(k)
		}
	}
}

// Objects returns every object, sorted.
func (inv *Inventory) Objects() []*Object {
	inv.read("*")
	return inv.objects
}

// OfKind returns the objects of one kind key, sorted.
func (inv *Inventory) OfKind(key string) []*Object {
	inv.read(key)
	return inv.byKey[key]
}

// GroupKey is the kind key that stands for every kind of an API group, for
// groups whose kinds are made at run time (Gatekeeper makes a kind for each
// constraint template). A check that reads such a group lists it in Reads.
func GroupKey(group string) string { return "*." + group }

// OfGroup returns the objects of every kind of an API group, sorted.
func (inv *Inventory) OfGroup(group string) []*Object {
	inv.read(GroupKey(group))
	var out []*Object
	for _, o := range inv.objects {
		if o.group == group {
			out = append(out, o)
		}
	}
	return out
}

// Get returns the object of this kind key, namespace and name, or nil.
func (inv *Inventory) Get(key, namespace, name string) *Object {
	inv.read(key)
	return inv.byName[nameKey{key, namespace, name}]
}

// Namespaces returns the declared and implied namespaces, sorted.
func (inv *Inventory) Namespaces() []*Object {
	inv.read("Namespace")
	return inv.namespaces
}

// NamespaceLabels returns the labels of a namespace as namespace
// selectors see them: its own, and the name label the API server sets on
// every Namespace (kubernetes.io/metadata.name), whether or not the object
// read shows it. known is false for a namespace no input declares (an
// Implied one, or none at all): then only the name label is known, and a
// requirement on any other label may hold. The set is shared: callers do
// not change it.
func (inv *Inventory) NamespaceLabels(name string) (set labels.Set, known bool) {
	inv.read("Namespace")
	if set, ok := inv.nsLabels[name]; ok {
		return set, true
	}
	return labels.Set{corev1.LabelMetadataName: name}, false
}

// Workloads returns the top-level workloads of a namespace.
func (inv *Inventory) Workloads(namespace string) []*Object {
	inv.readWorkloads()
	return inv.workloads[namespace]
}

// InNamespace returns the objects of a kind key in one namespace, sorted.
// Checks call it for every object they judge, so it is an index lookup.
func (inv *Inventory) InNamespace(key, namespace string) []*Object {
	inv.read(key)
	return inv.byKeyNS[nameKey{key: key, namespace: namespace}]
}

// Custom returns the objects of a namespace whose kinds plimsoll does not
// decode (custom resources, and built-in kinds no check reads), sorted. Their kinds cannot be named in
// advance, so the trace reports the kind key of each object handed out.
func (inv *Inventory) Custom(namespace string) []*Object {
	objs := inv.custom[namespace]
	if inv.trace != nil {
		for _, o := range objs {
			inv.trace(o.key)
		}
	}
	return objs
}

// PDBs returns the PodDisruptionBudgets whose selector matches a workload's
// pods.
func (inv *Inventory) PDBs(workload *Object) []*Object {
	return inv.selectingOf("PodDisruptionBudget", workload)
}

// Services returns the Services whose selector matches a workload's pods.
func (inv *Inventory) Services(workload *Object) []*Object {
	return inv.selectingOf("Service", workload)
}

// NetworkPolicies returns the NetworkPolicies whose podSelector matches a
// workload's pods.
func (inv *Inventory) NetworkPolicies(workload *Object) []*Object {
	return inv.selectingOf("NetworkPolicy", workload)
}

// HPAs returns the HorizontalPodAutoscalers that scale a workload.
func (inv *Inventory) HPAs(workload *Object) []*Object {
	return inv.selectingOf("HorizontalPodAutoscaler", workload)
}

func (inv *Inventory) selectingOf(key string, workload *Object) []*Object {
	inv.read(key)
	return inv.selecting[key][workload]
}

// addSelecting records that o, of kind key, selects or scales workload.
func (inv *Inventory) addSelecting(o, workload *Object) {
	m := inv.selecting[o.key]
	if m == nil {
		m = map[*Object][]*Object{}
		inv.selecting[o.key] = m
	}
	m[workload] = append(m[workload], o)
}

// MayMatchPods reports whether a label selector may select some of a
// workload's pods, matched as Build matches the selectors of Services,
// PodDisruptionBudgets and NetworkPolicies: against the template's labels
// and those its controller adds, a requirement on a label whose value the
// inputs do not show (a pod-template-hash) holding unless it demands that
// the label be absent.
func (inv *Inventory) MayMatchPods(workload *Object, sel labels.Selector) bool {
	p, ok := inv.podLabels[workload]
	return ok && selectable(sel) && p.selects(sel, inv.mentionsUnknown(sel))
}

// SelectsEveryPod reports whether a label selector selects every pod of a
// workload, as far as the inputs show: it matches the labels they all
// carry (the template's, and those their controller sets to values the
// inputs show), and of a label that differs from pod to pod or whose value
// the inputs do not show (a StatefulSet pod's name, a template hash) it
// requires at most that it be set. A PodDisruptionBudget that selects one
// StatefulSet pod by its name selects that pod alone.
func (inv *Inventory) SelectsEveryPod(workload *Object, sel labels.Selector) bool {
	p, ok := inv.podLabels[workload]
	if !ok || !selectable(sel) {
		return false
	}
	reqs, _ := sel.Requirements()
	for i := range reqs {
		r := &reqs[i]
		if p.varies(r.Key()) {
			if r.Operator() != selection.Exists {
				return false
			}
			continue
		}
		if !r.Matches(p.set) {
			return false
		}
	}
	return true
}

// selectable reports whether a selector can select anything: not nil, nor
// labels.Nothing(), what a nil LabelSelector converts to.
func selectable(sel labels.Selector) bool {
	if sel == nil {
		return false
	}
	_, ok := sel.Requirements()
	return ok
}

// Selected returns the workloads that a PodDisruptionBudget, Service or
// NetworkPolicy selects, or that an HPA scales.
func (inv *Inventory) Selected(o *Object) []*Object {
	if inv.trace != nil {
		if hpa, ok := o.Typed.(*autoscalingv2.HorizontalPodAutoscaler); ok {
			// The target was looked up by its kind, which is a kind key
			// only for the built-in kinds.
			if _, builtin := typedKinds[hpa.Spec.ScaleTargetRef.Kind]; builtin {
				inv.trace(hpa.Spec.ScaleTargetRef.Kind)
			}
		} else {
			inv.readWorkloads()
		}
	}
	return inv.selected[o]
}

// SelectedCustom returns the custom resources whose pods a
// PodDisruptionBudget, Service or NetworkPolicy selects: those with a pod
// template in spec.template, such as an Argo Rollout, and those of the
// kinds Build was given a PodRunner for, such as the Prometheus Operator's
// Prometheus, whose pods the operator labels. They are kept
// apart from Selected because no workload check can judge them. The trace
// sees the kind of every such resource in the namespace, as an empty
// answer depends on them all.
func (inv *Inventory) SelectedCustom(o *Object) []*Object {
	if inv.trace != nil {
		for _, c := range inv.customPods[o.Namespace] {
			inv.trace(c.key)
		}
	}
	return inv.selectedCustom[o]
}

// SelectPods returns the top-level workloads, then the custom resources
// that run pods, of a namespace whose pods a selector may select, matched
// as Build matches the selectors of Services and NetworkPolicies: against
// the labels pods carry, their controllers' included. Checks call it for
// selectors the inventory does not resolve, such as a NetworkPolicy
// rule's peers. The trace sees every workload kind and the kind of every
// custom resource that runs pods in the namespace, as an empty answer
// depends on them all.
func (inv *Inventory) SelectPods(namespace string, sel labels.Selector) []*Object {
	inv.readWorkloads()
	if inv.trace != nil {
		for _, c := range inv.customPods[namespace] {
			inv.trace(c.key)
		}
	}
	slow := inv.mentionsUnknown(sel)
	var out []*Object
	for _, t := range inv.targets[namespace] {
		if t.labels.selects(sel, slow) {
			out = append(out, t.object)
		}
	}
	return out
}

// Bindings returns the RoleBindings and ClusterRoleBindings that name a
// ServiceAccount as a subject.
func (inv *Inventory) Bindings(namespace, serviceAccount string) []*Object {
	inv.read("RoleBinding")
	inv.read("ClusterRoleBinding")
	return inv.bindingsFor[nameKey{rbacv1.ServiceAccountKind, namespace, serviceAccount}]
}

// GroupBindings returns the RoleBindings and ClusterRoleBindings that name
// a group as a subject.
func (inv *Inventory) GroupBindings(group string) []*Object {
	inv.read("RoleBinding")
	inv.read("ClusterRoleBinding")
	return inv.bindingsFor[nameKey{rbacv1.GroupKind, "", group}]
}

// RoleOf returns the Role or ClusterRole a binding refers to, or nil when it
// is not in the inventory.
func (inv *Inventory) RoleOf(binding *Object) *Object {
	var ref rbacv1.RoleRef
	switch b := binding.Typed.(type) {
	case *rbacv1.RoleBinding:
		ref = b.RoleRef
	case *rbacv1.ClusterRoleBinding:
		ref = b.RoleRef
	default:
		return nil
	}
	if ref.Kind == "Role" {
		return inv.Get("Role", binding.Namespace, ref.Name)
	}
	return inv.Get("ClusterRole", "", ref.Name)
}

// PodsOf returns the pods a top-level workload runs, as their owner
// references show: a Deployment's through its ReplicaSets, a CronJob's
// through its Jobs, the others' directly. A bare Pod runs itself. Pods
// whose owners are not in the inventory belong to no workload.
func (inv *Inventory) PodsOf(workload *Object) []*Object {
	if workload.key == "Pod" {
		inv.read("Pod")
		return []*Object{workload}
	}
	between := workloadByKind[workload.key].Through
	if between == "" {
		return inv.OwnedBy(workload, "Pod")
	}
	var pods []*Object
	for _, o := range inv.OwnedBy(workload, between) {
		pods = append(pods, inv.OwnedBy(o, "Pod")...)
	}
	return pods
}

// OwnedBy returns the objects of a kind key that an object controls (the
// Jobs of a CronJob, the Pods of a Job), sorted.
func (inv *Inventory) OwnedBy(controller *Object, key string) []*Object {
	inv.read(key)
	var out []*Object
	for _, o := range inv.children[controller] {
		if o.key == key {
			out = append(out, o)
		}
	}
	return out
}

// resolveControllers indexes every object under the object its controller
// reference names. The reference is resolved by UID, as objects read from a
// cluster carry UIDs; a reference or an object without one (a hand-written
// manifest) is resolved by kind and name in the object's namespace.
func (inv *Inventory) resolveControllers() {
	byUID := map[types.UID]*Object{}
	for _, o := range inv.objects {
		if o.UID != "" {
			byUID[o.UID] = o
		}
	}
	for _, o := range inv.objects {
		ref := o.controllerRef()
		if ref == nil {
			continue
		}
		owner := byUID[ref.UID]
		if owner == nil {
			owner = inv.byName[nameKey{KindKeyOf(ref.APIVersion, ref.Kind), o.Namespace, ref.Name}]
			if owner != nil && ref.UID != "" && owner.UID != "" {
				// Another object of that name: the owner is gone.
				owner = nil
			}
		}
		if owner != nil && owner.Kind == ref.Kind {
			inv.children[owner] = append(inv.children[owner], o)
		}
	}
}

func (inv *Inventory) resolveSelectors() {
	// HPAs first: they bound how many pods a StatefulSet may run.
	for _, o := range inv.byKey["HorizontalPodAutoscaler"] {
		if t, ok := o.Typed.(*autoscalingv2.HorizontalPodAutoscaler); ok {
			inv.resolveScaleTarget(o, t)
		}
	}
	pods := inv.podTargets()
	inv.targets = pods
	inv.podLabels = map[*Object]podLabels{}
	for _, ts := range pods {
		for _, t := range ts {
			inv.podLabels[t.object] = t.labels
		}
	}
	// Matching selectors to the pods of their namespace is most of
	// Build's work: it runs on every core, a chunk of objects at a time,
	// and the matches are recorded in the objects' order.
	type match struct{ owner, target *Object }
	const chunk = 512
	objects := inv.objects
	parallel.Ordered((len(objects)+chunk-1)/chunk, runtime.GOMAXPROCS(0), func(c int) []match {
		var out []match
		for _, o := range objects[c*chunk : min((c+1)*chunk, len(objects))] {
			sel := selectorOf(o)
			if sel == nil {
				continue
			}
			slow := inv.mentionsUnknown(sel) // most selectors: one lookup a key
			for _, t := range pods[o.Namespace] {
				if t.labels.selects(sel, slow) {
					out = append(out, match{o, t.object})
				}
			}
		}
		return out
	}, func(ms []match) {
		for _, m := range ms {
			if m.target.IsWorkload() {
				inv.selected[m.owner] = append(inv.selected[m.owner], m.target)
				inv.addSelecting(m.owner, m.target)
			} else {
				inv.selectedCustom[m.owner] = append(inv.selectedCustom[m.owner], m.target)
			}
		}
	})
}

// podTarget is a workload, or a custom resource that runs pods, with the
// labels its pods carry.
type podTarget struct {
	object *Object
	labels podLabels
}

// podTargets lists, by namespace, the workloads and then the custom
// resources that run pods, and records the latter in customPods.
func (inv *Inventory) podTargets() map[string][]podTarget {
	out := map[string][]podTarget{}
	for ns, ws := range inv.workloads {
		ts := make([]podTarget, len(ws))
		for i, w := range ws {
			ts[i] = podTarget{w, workloadPodLabels(w, inv.maxReplicas(w))}
		}
		out[ns] = ts
	}
	for ns, cs := range inv.custom {
		for _, c := range cs {
			if p, ok := inv.customPodLabels(c); ok {
				out[ns] = append(out[ns], podTarget{c, p})
				inv.customPods[ns] = append(inv.customPods[ns], c)
			}
		}
	}
	return out
}

// maxReplicas is the most pods a workload with a replica count may run:
// that count, or an HPA's maxReplicas when one scales it further.
func (inv *Inventory) maxReplicas(w *Object) int32 {
	n, _ := w.Replicas()
	for _, h := range inv.selecting["HorizontalPodAutoscaler"][w] {
		if hpa, ok := h.Typed.(*autoscalingv2.HorizontalPodAutoscaler); ok {
			n = max(n, hpa.Spec.MaxReplicas)
		}
	}
	return n
}

// selectorOf is the pod selector of a PodDisruptionBudget, Service or
// NetworkPolicy, or nil.
func selectorOf(o *Object) labels.Selector {
	switch t := o.Typed.(type) {
	case *policyv1.PodDisruptionBudget:
		return labelSelector(t.Spec.Selector)
	case *corev1.Service:
		if len(t.Spec.Selector) > 0 {
			return labels.SelectorFromSet(t.Spec.Selector)
		}
	case *networkingv1.NetworkPolicy:
		return labelSelector(&t.Spec.PodSelector)
	}
	return nil
}

// labelSelector converts a LabelSelector; a nil or invalid one selects
// nothing, as the API server treats it.
func labelSelector(ls *metav1.LabelSelector) labels.Selector {
	if ls == nil {
		return nil
	}
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		return nil
	}
	return sel
}

func (inv *Inventory) resolveScaleTarget(hpa *Object, t *autoscalingv2.HorizontalPodAutoscaler) {
	ref := t.Spec.ScaleTargetRef
	target := inv.byName[nameKey{ref.Kind, hpa.Namespace, ref.Name}]
	if target == nil {
		return
	}
	inv.selected[hpa] = []*Object{target}
	inv.addSelecting(hpa, target)
}

func (inv *Inventory) resolveBindings() {
	for _, key := range []string{"RoleBinding", "ClusterRoleBinding"} {
		for _, b := range inv.byKey[key] {
			var subjects []rbacv1.Subject
			switch t := b.Typed.(type) {
			case *rbacv1.RoleBinding:
				subjects = t.Subjects
			case *rbacv1.ClusterRoleBinding:
				subjects = t.Subjects
			}
			for _, s := range subjects {
				var k nameKey
				switch s.Kind {
				case rbacv1.ServiceAccountKind:
					ns := s.Namespace
					if ns == "" {
						ns = b.Namespace
					}
					k = nameKey{s.Kind, ns, s.Name}
				case rbacv1.GroupKind:
					k = nameKey{s.Kind, "", s.Name}
				default:
					continue
				}
				inv.bindingsFor[k] = append(inv.bindingsFor[k], b)
			}
		}
	}
}
