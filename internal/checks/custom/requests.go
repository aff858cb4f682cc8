package custom

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/policy"
)

// crdKey is the kind key of CustomResourceDefinitions, which say what
// resource a custom kind is served as.
const crdKey = "CustomResourceDefinition.apiextensions.k8s.io"

// requests are the requests one object makes, each made once, when a check
// first asks for it, and shared by every custom check: the defaulted copy
// of the object and its CEL value cost more than most evaluations.
type requests struct {
	self, pod lazyRequest
}

type lazyRequest struct {
	once sync.Once
	req  *policy.Request
	why  string // why there is no request

	// last is the outcome of the check that evaluated the request last: a
	// check's Applies evaluates it, and its Run, which follows, reads what
	// Applies found.
	mu   sync.Mutex
	last struct {
		check   *Check
		outcome outcome
	}
}

// outcome is what a check's policy decided on a request.
type outcome struct {
	match     policy.Match
	decisions []policy.Decision
}

// get returns a target's request, or why there is none.
func (r *requests) get(t target, o *inventory.Object, inv *inventory.Inventory) *lazyRequest {
	l, make := &r.self, selfRequest
	if t.pod {
		l, make = &r.pod, podRequest
	}
	l.once.Do(func() { l.req, l.why = make(o, inv) })
	return l
}

// evaluate returns what a check's policy decides on the request, deciding
// it once for its Applies and Run.
func (l *lazyRequest) evaluate(c *Check, inv *inventory.Inventory) outcome {
	l.mu.Lock()
	last := l.last
	l.mu.Unlock()
	if last.check == c {
		return last.outcome
	}
	var out outcome
	if c.binding != nil {
		out = c.binding.evaluate(c.Policy, l.req, inv)
	} else {
		out.match, out.decisions = c.policyFor(inv).Evaluate(context.Background(), l.req, c.params())
	}
	l.mu.Lock()
	l.last.check, l.last.outcome = c, out
	l.mu.Unlock()
	return out
}

// recent holds the requests of the objects judged last. An audit judges an
// object's checks one after another on one goroutine, so the few objects
// the workers are on at any time are all it needs; it never holds the
// requests of a whole inventory.
type recent struct {
	mu    sync.Mutex
	slots [64]struct {
		o *inventory.Object
		r *requests
	}
	next int
}

// requestsOf returns an object's requests, from the inventory's cache of
// recent ones when it has them.
func requestsOf(ctx *check.Context, o *inventory.Object) *requests {
	cache := inventory.Memo(ctx.Inventory, "checks/custom.requests", func(*inventory.Inventory) *recent { return &recent{} })
	cache.mu.Lock()
	defer cache.mu.Unlock()
	for i := range cache.slots {
		if cache.slots[i].o == o {
			return cache.slots[i].r
		}
	}
	r := &requests{}
	cache.slots[cache.next].o, cache.slots[cache.next].r = o, r
	cache.next = (cache.next + 1) % len(cache.slots)
	return r
}

// selfRequest is the request that creates the object, as admitted makes
// it.
func selfRequest(o *inventory.Object, inv *inventory.Inventory) (*policy.Request, string) {
	obj, err := admitted(o, inv)
	if err != nil {
		return nil, err.Error()
	}
	return newRequest(obj, inv)
}

// admitted is the object as an admission request carries it: a built-in
// kind as its typed object at its current version (the version plimsoll
// reads every version of it as), as the API server hands typed objects to
// its admission plugins, defaulted as the API server defaults it unless a
// cluster served it so; any other kind as written. It is a copy, whose
// namespace newRequest may set.
func admitted(o *inventory.Object, inv *inventory.Inventory) (runtime.Object, error) {
	if typed, ok := o.Typed.(runtime.Object); ok {
		typed = typed.DeepCopyObject()
		gvks, _, err := scheme.Scheme.ObjectKinds(typed)
		if err != nil {
			return nil, err
		}
		typed.GetObjectKind().SetGroupVersionKind(gvks[0])
		if inv.Mode == inventory.FromManifests {
			policy.SetDefaults(typed)
		}
		return typed, nil
	}
	// Only the metadata may change (the namespace); the rest is read.
	content := make(map[string]any, len(o.Content))
	for k, v := range o.Content {
		content[k] = v
	}
	if meta, ok := o.Content["metadata"].(map[string]any); ok {
		content["metadata"] = runtime.DeepCopyJSONValue(meta)
	}
	return &unstructured.Unstructured{Object: content}, nil
}

// podRequest is the request that creates a Pod from a workload's
// template, as its controller (or, for a Deployment or a CronJob, the
// controller of the ReplicaSet or Job it makes) would send it: the
// template's metadata and spec, in the workload's namespace, named after
// the workload, controlled by the object that owns such pods, with a Pod's
// defaults. The labels a controller adds (a template hash, a Job's name)
// are not known, and not set.
func podRequest(o *inventory.Object, inv *inventory.Inventory) (*policy.Request, string) {
	tmpl, _ := o.PodTemplate()
	pod := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: *tmpl.ObjectMeta.DeepCopy(), Spec: *tmpl.Spec.DeepCopy()}
	pod.Namespace = o.Namespace
	pod.GenerateName = o.Name + "-"
	pod.Name = o.Name + "-*"
	owner := metav1.OwnerReference{Kind: o.Kind, Name: o.Name, Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}
	if gvks, _, err := scheme.Scheme.ObjectKinds(o.Typed.(runtime.Object)); err == nil {
		owner.APIVersion = gvks[0].GroupVersion().String()
	}
	switch w, _ := inventory.WorkloadKindOf(o.KindKey()); w.Through {
	case "ReplicaSet": // a Deployment's pods belong to its ReplicaSets
		owner.APIVersion, owner.Kind, owner.Name = "apps/v1", "ReplicaSet", o.Name+"-*"
	case "Job": // a CronJob's to its Jobs
		owner.APIVersion, owner.Kind, owner.Name = "batch/v1", "Job", o.Name+"-*"
	}
	pod.OwnerReferences = []metav1.OwnerReference{owner}
	// The template's defaults are set on a cluster already; a Pod's own
	// (requests from limits, service links) never are on a template.
	policy.SetDefaults(pod)
	return newRequest(pod, inv)
}

// newRequest makes the request that creates obj: the resource its kind is
// served as, in its namespace. An object of a namespaced kind without a
// namespace is created where kubectl puts it, in namespace default.
func newRequest(obj runtime.Object, inv *inventory.Inventory) (*policy.Request, string) {
	gvk := obj.GetObjectKind().GroupVersionKind()
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err.Error()
	}
	gvr, namespaced, why := resourceOf(gvk, inv)
	if why != "" {
		return nil, why
	}
	ns := policy.Namespace{}
	if namespaced {
		if m.GetNamespace() == "" {
			m.SetNamespace(metav1.NamespaceDefault)
		}
		ns = namespaceOf(inv, m.GetNamespace())
	} else {
		m.SetNamespace("")
	}
	r, err := policy.NewRequest(obj, gvr, ns)
	if err != nil {
		return nil, err.Error()
	}
	return r, ""
}

// resourceOf is the resource a kind is served as, and whether it is
// namespaced, or why that is unknown.
func resourceOf(gvk schema.GroupVersionKind, inv *inventory.Inventory) (gvr schema.GroupVersionResource, namespaced bool, why string) {
	if r, ok := policy.Builtin().ForKind(gvk); ok {
		return r.GVR(), r.Namespaced, ""
	}
	if crd, ok := crdResources(inv)[gvk.GroupKind()]; ok {
		return gvk.GroupVersion().WithResource(crd.plural), crd.namespaced, ""
	}
	if inventory.IsCustomKey(inventory.KindKeyOf(gvk.GroupVersion().String(), gvk.Kind)) {
		return gvr, false, fmt.Sprintf("the CustomResourceDefinition of %s is not among the inputs, so the resource it is served as is unknown", gvk.GroupKind())
	}
	return gvr, false, fmt.Sprintf("Kubernetes %s does not serve %s at %s", policy.Builtin().Kubernetes, gvk.Kind, gvk.GroupVersion())
}

// namespaceOf is a namespace as the inputs show it, with the name label the
// API server sets; a namespace no input declares is known by its name.
func namespaceOf(inv *inventory.Inventory, name string) policy.Namespace {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	o := inv.Get("Namespace", "", name)
	if o != nil && !o.Implied {
		if typed, ok := o.Typed.(*corev1.Namespace); ok {
			ns = typed.DeepCopy()
		}
	}
	policy.SetDefaults(ns)
	return policy.Namespace{Object: ns, Unknown: o == nil || o.Implied}
}

// crdResource is what a CustomResourceDefinition says of its kind.
type crdResource struct {
	plural     string
	namespaced bool
}

// crdResources are the resources of the custom kinds whose
// CustomResourceDefinitions are among the inputs.
func crdResources(inv *inventory.Inventory) map[schema.GroupKind]crdResource {
	return inventory.Memo(inv, "checks/custom.crdResources", func(inv *inventory.Inventory) map[schema.GroupKind]crdResource {
		out := map[schema.GroupKind]crdResource{}
		for _, o := range inv.OfKind(crdKey) {
			gk := schema.GroupKind{Group: o.FieldString("spec", "group"), Kind: o.FieldString("spec", "names", "kind")}
			if _, dup := out[gk]; !dup {
				out[gk] = crdResource{plural: o.FieldString("spec", "names", "plural"), namespaced: o.FieldString("spec", "scope") == "Namespaced"}
			}
		}
		return out
	})
}
