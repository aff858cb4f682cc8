package policy

import (
	"context"
	"fmt"

	"github.com/google/cel-go/common/types/ref"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	corelisters "k8s.io/client-go/listers/core/v1"
)

// Request is the admission request that creates one object, as a policy
// sees it: operation CREATE, no old object, no user. It is built once and
// judged by any number of policies, one at a time.
type Request struct {
	attrs     *admission.VersionedAttributes
	resource  schema.GroupVersionResource
	namespace *corev1.Namespace
	// nsUnknown marks a namespace whose labels the inputs do not show.
	nsUnknown bool
}

// Namespace is the namespace a request's object is created in.
type Namespace struct {
	// Object is the Namespace; nil for a cluster-scoped object.
	Object *corev1.Namespace
	// Unknown marks a Namespace no input declares: only its name is known,
	// and its name label (kubernetes.io/metadata.name), which the API
	// server sets on every Namespace. A namespaceSelector that asks for
	// other labels cannot tell whether it selects it.
	Unknown bool
}

// NewRequest returns the request that creates obj, a resource of the kind
// obj names (its apiVersion and kind are set), in ns. obj is what the
// policy's expressions see as object: a built-in kind's typed object, as
// the API server hands it to its admission plugins, or an Unstructured. The
// caller has it as the API server would (defaulted, in its namespace), and
// leaves it unchanged from now on.
func NewRequest(obj runtime.Object, resource schema.GroupVersionResource, ns Namespace) (*Request, error) {
	gvk := obj.GetObjectKind().GroupVersionKind()
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	attrs := admission.NewAttributesRecord(obj, nil, gvk, m.GetNamespace(), m.GetName(), resource, "",
		admission.Create, &metav1.CreateOptions{}, false, offlineUser)
	lazy := lazyObject(obj)
	r := &Request{
		attrs:     &admission.VersionedAttributes{Attributes: attrs, VersionedKind: gvk, VersionedObject: lazy},
		resource:  resource,
		nsUnknown: ns.Unknown,
	}
	if ns.Object != nil {
		// Every Namespace the API server holds has its name label.
		r.namespace = ns.Object.DeepCopy()
		r.namespace.Labels = namespaceLabels(ns.Object)
	}
	// The CEL value of the object is made now, once: the policies that
	// judge the request then only read it.
	if _, err := r.attrs.VersionedObject.CELValue(); err != nil {
		return nil, err
	}
	return r, nil
}

// Value is obj as a CEL value, made as a request's object is: what
// plimsoll.objects lists an object as. obj is as NewRequest takes it.
func Value(obj runtime.Object) (ref.Val, error) {
	lazy := lazyObject(obj)
	return lazy.CELValue()
}

// lazyObject is obj as the API server's admission plugins read it.
func lazyObject(obj runtime.Object) admission.LazyObject {
	lazy := admission.NewLazyObject(obj)
	// The API server's admission plugins read typed objects through
	// reflection (newActivation sets this on every evaluation); set here,
	// the object's CEL value is made the same way, once.
	lazy.UseSchemalessTypeRef = true //nolint:staticcheck // SA1019: deprecated only until it becomes the default, as k8s.io/apiserver's cel.newActivation says
	return lazy
}

// offlineUser is who sends an offline request: someone authenticated,
// whom plimsoll does not know.
var offlineUser = &user.DefaultInfo{Groups: []string{user.AllAuthenticated}}

// Match says whether a policy applies to a request, and why not.
type Match struct {
	Matched bool
	// Why says why the policy does not apply, or why it cannot tell when
	// Unknown is set.
	Why     string
	Unknown bool
	// resource is the resource the policy matched the request as: the
	// request's own, or an equivalent one under matchPolicy Equivalent.
	resource schema.GroupVersionResource
}

// Match decides whether the policy applies to the request: its
// matchConstraints as the API server's matcher reads them (resource rules
// and exclusions, namespaceSelector, objectSelector, matchPolicy), then its
// matchConditions, with params.
func (p *Policy) Match(ctx context.Context, r *Request, params runtime.Object) Match {
	m := p.MatchConstraints(r)
	if !m.Matched {
		return m
	}
	if p.conditions != nil {
		res := p.conditions.Match(ctx, r.attrs, params, nil)
		switch {
		case res.Error != nil:
			return Match{Unknown: true, Why: "spec.matchConditions: " + withoutAuthorizer(res.Error.Error())}
		case !res.Matches && res.FailedConditionName != "":
			return Match{Why: fmt.Sprintf("matchCondition %q is false", res.FailedConditionName)}
		case !res.Matches:
			return Match{Why: "a matchCondition failed to evaluate, and failurePolicy Ignore skips the object"}
		}
	}
	return m
}

// objectLabels are the labels of the request's object.
func objectLabels(r *Request) labels.Set {
	if obj, err := meta.Accessor(r.attrs.GetObject()); err == nil {
		return labels.Set(obj.GetLabels())
	}
	return nil
}

// Namespace is the name of the namespace the request's object is created
// in; "" for a cluster-scoped object.
func (r *Request) Namespace() string { return r.attrs.GetNamespace() }

// Evaluate matches the policy against the request and, when it applies,
// validates it: what the API server's ValidatingAdmissionPolicy plugin
// decides on the request.
func (p *Policy) Evaluate(ctx context.Context, r *Request, params runtime.Object) (Match, []Decision) {
	m := p.Match(ctx, r, params)
	if !m.Matched {
		return m, nil
	}
	return m, p.validate(ctx, r, m.resource, params)
}

// nameOnly reports whether a namespace selector asks for nothing but the
// name label, which every namespace carries.
func nameOnly(sel *metav1.LabelSelector) bool {
	if sel == nil {
		return true
	}
	for k := range sel.MatchLabels {
		if k != corev1.LabelMetadataName {
			return false
		}
	}
	for _, e := range sel.MatchExpressions {
		if e.Key != corev1.LabelMetadataName {
			return false
		}
	}
	return true
}

// namespaceLabels are the labels of a namespace as namespace selectors see
// them: the API server sets the name label on every Namespace.
func namespaceLabels(ns *corev1.Namespace) labels.Set {
	set := labels.Set{corev1.LabelMetadataName: ns.Name}
	for k, v := range ns.Labels {
		set[k] = v
	}
	return set
}

// namespaceLister serves the one namespace a request is in to the API
// server's namespace matcher, with the name label set.
type namespaceLister struct{ ns *corev1.Namespace }

func (l namespaceLister) List(sel labels.Selector) ([]*corev1.Namespace, error) {
	if l.ns == nil || !sel.Matches(namespaceLabels(l.ns)) {
		return nil, nil
	}
	ns, _ := l.Get(l.ns.Name)
	return []*corev1.Namespace{ns}, nil
}

func (l namespaceLister) Get(name string) (*corev1.Namespace, error) {
	if l.ns == nil || l.ns.Name != name {
		// Never asked: the matcher asks only for the request's namespace.
		return nil, apierrors.NewNotFound(corev1.Resource("namespaces"), name)
	}
	ns := l.ns.DeepCopy()
	ns.Labels = namespaceLabels(l.ns)
	return ns, nil
}

var _ corelisters.NamespaceLister = namespaceLister{}
