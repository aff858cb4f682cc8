package drill

import (
	"maps"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	resourcehelper "k8s.io/component-helpers/resource"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// Kinds are the kind keys a drill reads: the nodes and the pods placed on
// them, the PodDisruptionBudgets, the controllers whose scale a budget is
// judged by, and the claims and volumes that tie a pod to a zone.
var Kinds = []string{
	"Node", "Pod", "PodDisruptionBudget",
	"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "ReplicationController", "Job", "CronJob",
	"PersistentVolumeClaim", "PersistentVolume.",
}

// model is a cluster as a drill sees it, built once from an inventory and
// never changed: every drill copies what it changes (see state).
type model struct {
	nodes     []*node
	nodeIndex map[string]int
	pods      []*pod
	workloads []*workload
	pdbs      []*pdb
}

type node struct {
	name  string
	obj   *corev1.Node
	zone  string
	alloc map[corev1.ResourceName]int64
}

// pod is a pod placed on a node (or waiting to be), or a replacement a
// drill creates.
type pod struct {
	id        int
	namespace string
	name      string
	obj       *corev1.Pod
	workload  *workload
	pdbs      []*pdb
	req       map[corev1.ResourceName]int64
	reqs      []request // the non-zero ones of req, sorted by name
	ports     []hostPort
	affinity  nodeaffinity.RequiredNodeAffinity
	// anti and aff are the pod's required inter-pod anti-affinity and
	// affinity terms.
	anti, aff []term
	// spread are its DoNotSchedule topology spread constraints.
	spread []spreadConstraint
	// volumeNodes are the node affinities of the persistent volumes the pod
	// mounts: a zonal disk cannot follow its pod out of its zone.
	volumeNodes []volumeAffinity
	// unboundClaim names a claim the pod mounts that is bound to no volume
	// the drill can see.
	unboundClaim string

	daemon, mirror, bare, emptyDir bool
	// initial placement and state
	node        int // index into model.nodes, or -1
	ready       bool
	terminal    bool // Succeeded or Failed
	terminating bool
	phase       corev1.PodPhase
}

type request struct {
	name  corev1.ResourceName
	value int64
}

type volumeAffinity struct {
	pv       string
	selector *nodeaffinity.LazyErrorNodeSelector
}

type hostPort struct {
	protocol corev1.Protocol
	ip       string
	port     int32
}

// workload is a top-level controller (or a bare pod) whose pods a drill
// moves.
type workload struct {
	kind, namespace, name string
	obj                   *inventory.Object
	pods                  []*pod
	pdbs                  []*pdb
	// replicas is the controller's scale as the disruption controller reads
	// it, when scale is scaleKnown.
	replicas int32
	scale    scale
}

func (w *workload) id() string {
	return w.kind + " " + w.namespace + "/" + w.name
}

// pdb is a PodDisruptionBudget with its status recomputed from its spec and
// the pods, as the disruption controller computes it.
type pdb struct {
	name, namespace string
	obj             *policyv1.PodDisruptionBudget
	selector        labels.Selector
	pods            []*pod
	alwaysAllow     bool
	// expected, desired: the disruption controller's expectedCount and
	// desiredHealthy; failure is why it cannot compute them (then it
	// allows no disruption, as its failSafe does), unknown why plimsoll
	// cannot.
	expected, desired int32
	failure, unknown  string
}

// build makes the model of an inventory read from a cluster.
func build(inv *inventory.Inventory) *model {
	m := &model{nodeIndex: map[string]int{}}
	for _, o := range inv.OfKind("Node") {
		n, ok := o.Typed.(*corev1.Node)
		if !ok {
			continue
		}
		m.nodeIndex[n.Name] = len(m.nodes)
		m.nodes = append(m.nodes, &node{name: n.Name, obj: n, zone: n.Labels[corev1.LabelTopologyZone], alloc: quantities(n.Status.Allocatable)})
	}
	volumes := persistentVolumes(inv)
	// Each pod under its top-level workload, as the inventory resolves
	// controllers (a Deployment's through its ReplicaSets, a CronJob's
	// through its Jobs); a pod whose controller is not in the inventory is
	// a workload of its own there.
	workloads := map[string]*workload{}
	add := func(owner, o *inventory.Object) {
		p, ok := o.Typed.(*corev1.Pod)
		if !ok {
			return
		}
		mp := m.newPod(p)
		mp.volumeNodes, mp.unboundClaim = claimAffinities(inv, p, volumes)
		w := newWorkload(owner, o)
		if known := workloads[w.id()]; known != nil {
			w = known
		} else {
			workloads[w.id()] = w
			m.workloads = append(m.workloads, w)
		}
		mp.workload = w
		mp.daemon = w.kind == "DaemonSet"
		// kubectl drain's unreplicatedFilter: a pod with a controller
		// reference is replicated, whether or not plimsoll reads its
		// controller.
		mp.bare = metav1.GetControllerOfNoCopy(p) == nil && !mp.mirror
		w.pods = append(w.pods, mp)
	}
	// Each pod under its top-level workload, as the inventory resolves
	// controllers (a Deployment's through its ReplicaSets, a CronJob's
	// through its Jobs); a pod whose controller is not in the inventory is
	// its own.
	placed := map[*inventory.Object]bool{}
	pods := inv.OfKind("Pod")
	namespaces := map[string]bool{}
	for _, o := range pods {
		namespaces[o.Namespace] = true
	}
	for _, ns := range slices.Sorted(maps.Keys(namespaces)) {
		for _, owner := range inv.Workloads(ns) {
			for _, o := range inv.PodsOf(owner) {
				placed[o] = true
				add(owner, o)
			}
		}
	}
	for _, o := range pods {
		if !placed[o] {
			add(o, o)
		}
	}
	sort.Slice(m.workloads, func(i, j int) bool { return m.workloads[i].id() < m.workloads[j].id() })
	m.buildPDBs(inv)
	return m
}

func (m *model) newPod(p *corev1.Pod) *pod {
	mp := &pod{
		id: len(m.pods), namespace: p.Namespace, name: p.Name, obj: p,
		req:         quantities(resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{})),
		ports:       hostPorts(p),
		affinity:    nodeaffinity.GetRequiredNodeAffinity(p),
		spread:      spreadConstraints(p),
		node:        -1,
		ready:       platform.PodReady(p),
		phase:       p.Status.Phase,
		terminal:    p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed,
		terminating: p.DeletionTimestamp != nil,
	}
	_, mp.mirror = p.Annotations[corev1.MirrorPodAnnotationKey]
	for name, v := range mp.req {
		if v != 0 {
			mp.reqs = append(mp.reqs, request{name, v})
		}
	}
	slices.SortFunc(mp.reqs, func(a, b request) int { return strings.Compare(string(a.name), string(b.name)) })
	if a := p.Spec.Affinity; a != nil {
		if a.PodAntiAffinity != nil {
			mp.anti = terms(p, a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution)
		}
		if a.PodAffinity != nil {
			mp.aff = terms(p, a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution)
		}
	}
	if i, ok := m.nodeIndex[p.Spec.NodeName]; ok {
		mp.node = i
	}
	for _, v := range p.Spec.Volumes {
		if v.EmptyDir != nil {
			mp.emptyDir = true
		}
	}
	m.pods = append(m.pods, mp)
	return mp
}

// newWorkload describes the top-level owner of a pod; for a pod whose
// controller is not in the inventory (a custom resource's, or one the
// reader could not list), the controller as the reference names it.
func newWorkload(owner, pod *inventory.Object) *workload {
	w := &workload{kind: owner.Kind, namespace: owner.Namespace, name: owner.Name, obj: owner}
	if owner == pod {
		if ref := metav1.GetControllerOfNoCopy(&metav1.ObjectMeta{OwnerReferences: pod.OwnerRefs}); ref != nil {
			w.kind, w.name, w.scale = ref.Kind, ref.Name, scaleUnknown
			return w
		}
		w.scale = scaleUnmanaged
		return w
	}
	w.replicas, w.scale = scaleOf(owner)
	return w
}

// scale says what the disruption controller can learn of a workload's
// scale.
type scale uint8

const (
	// scaleKnown: the spec's replicas of a Deployment, ReplicaSet,
	// StatefulSet or ReplicationController.
	scaleKnown scale = iota
	// scaleNone: a DaemonSet, Job or CronJob has no scale, so a budget
	// that needs one fails to sync ("found no controllers for pod").
	scaleNone
	// scaleUnmanaged: a bare pod, which the controller leaves out of the
	// expected count.
	scaleUnmanaged
	// scaleUnknown: a custom controller, whose scale subresource plimsoll
	// does not read.
	scaleUnknown
)

// scaleOf is a controller's scale as the disruption controller's finders
// read it (k8s.io/kubernetes pkg/controller/disruption: getPodReplicaSet,
// getPodDeployment, getPodStatefulSet, getPodReplicationController): the
// spec's replicas, 1 when unset.
func scaleOf(o *inventory.Object) (int32, scale) {
	if replicas, ok := o.Replicas(); ok {
		return replicas, scaleKnown
	}
	switch o.Typed.(type) {
	case *appsv1.DaemonSet, *batchv1.Job, *batchv1.CronJob:
		return 0, scaleNone
	}
	return 0, scaleUnknown
}

// quantities turns a resource list into integers: millicores for CPU,
// whole units for everything else, as the scheduler's NodeResourcesFit
// compares them.
func quantities(list corev1.ResourceList) map[corev1.ResourceName]int64 {
	out := make(map[corev1.ResourceName]int64, len(list))
	for name, q := range list {
		out[name] = quantityValue(name, q)
	}
	return out
}

func quantityValue(name corev1.ResourceName, q resource.Quantity) int64 {
	if name == corev1.ResourceCPU {
		return q.MilliValue()
	}
	return q.Value()
}

func hostPorts(p *corev1.Pod) []hostPort {
	var out []hostPort
	for _, c := range slices.Concat(p.Spec.InitContainers, p.Spec.Containers) {
		for _, port := range c.Ports {
			if port.HostPort > 0 {
				proto := port.Protocol
				if proto == "" {
					proto = corev1.ProtocolTCP
				}
				out = append(out, hostPort{proto, port.HostIP, port.HostPort})
			}
		}
	}
	return out
}

// persistentVolumes decodes the PersistentVolumes, which the inventory
// keeps as content, by name.
func persistentVolumes(inv *inventory.Inventory) map[string]*corev1.PersistentVolume {
	out := map[string]*corev1.PersistentVolume{}
	for _, o := range inv.OfKind("PersistentVolume.") {
		var pv corev1.PersistentVolume
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Content, &pv); err == nil {
			out[o.Name] = &pv
		}
	}
	return out
}

// claimAffinities returns the node affinities of the volumes a pod's
// claims are bound to, and the first claim bound to no volume in sight.
func claimAffinities(inv *inventory.Inventory, p *corev1.Pod, volumes map[string]*corev1.PersistentVolume) (out []volumeAffinity, unbound string) {
	for _, v := range p.Spec.Volumes {
		claim := ""
		switch {
		case v.PersistentVolumeClaim != nil:
			claim = v.PersistentVolumeClaim.ClaimName
		case v.Ephemeral != nil:
			claim = p.Name + "-" + v.Name
		default:
			continue
		}
		o := inv.Get("PersistentVolumeClaim", p.Namespace, claim)
		if o == nil {
			continue
		}
		pvc, ok := o.Typed.(*corev1.PersistentVolumeClaim)
		if !ok || pvc.Spec.VolumeName == "" {
			continue
		}
		pv := volumes[pvc.Spec.VolumeName]
		if pv == nil {
			if unbound == "" {
				unbound = claim
			}
			continue
		}
		if pv.Spec.NodeAffinity != nil && pv.Spec.NodeAffinity.Required != nil {
			out = append(out, volumeAffinity{pv.Name, nodeaffinity.NewLazyErrorNodeSelector(pv.Spec.NodeAffinity.Required)})
		}
	}
	return out, unbound
}

func joinNames(names []string) string { return strings.Join(names, ", ") }
