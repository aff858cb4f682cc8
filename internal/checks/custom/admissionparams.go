package custom

import (
	"context"
	"fmt"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/policy"
)

// bindingEval is how a check of a cluster's policy judges a request through
// one binding: as the API server's dispatcher does (Dispatch in
// k8s.io/apiserver's plugin/policy/validating), the policy's
// matchConstraints, then the binding's matchResources, then its params
// (CollectParams of plugin/policy/generic), then the policy's
// matchConditions and validations once for each params object.
type bindingEval struct {
	binding   *policy.Binding
	paramKind *admissionregistrationv1.ParamKind
	// paramKey is the kind key of the params kind, when the binding has a
	// paramRef.
	paramKey string
	// extra are the objects of --admission-policies files (and of a
	// cluster read beside manifests) that params may name; the audited
	// inputs come first.
	extra []*unstructured.Unstructured
}

// evaluate decides the binding's outcome on a request.
func (b *bindingEval) evaluate(p *policy.Policy, r *policy.Request, inv *inventory.Inventory) outcome {
	if m := p.MatchConstraints(r); !m.Matched {
		return outcome{match: m}
	}
	if m := p.MatchBinding(r, b.binding); !m.Matched {
		return outcome{match: m}
	}
	params, settled := b.params(r, inv)
	if settled != nil {
		return *settled
	}
	if len(params) == 1 {
		m, ds := p.Evaluate(context.Background(), r, params[0])
		return outcome{match: m, decisions: ds}
	}
	// Several params objects: the policy judges the request with each, and
	// each decision says which it was judged with.
	var out outcome
	for _, prm := range params {
		m, ds := p.Evaluate(context.Background(), r, prm)
		with := fmt.Sprintf("with params %s: ", prm.(*unstructured.Unstructured).GetName())
		switch {
		case m.Unknown:
			out.match.Matched = true
			out.decisions = append(out.decisions, policy.Decision{Error: true, Message: with + m.Why})
		case m.Matched:
			out.match = m
			for _, d := range ds {
				d.Message = with + d.Message
				out.decisions = append(out.decisions, d)
			}
		case !out.match.Matched:
			out.match.Why = with + m.Why
		}
	}
	return out
}

// params are the params objects the binding judges a request with: one
// nil when the policy or the binding has none, or the objects its paramRef
// names, from the audited inputs first and then from extra. When none is
// found, the outcome says what the API server would do: with
// parameterNotFoundAction Allow it admits the request without judging it;
// with Deny it refuses it. Either is known only when the params kind was
// read from the very cluster; otherwise the cluster may hold the params
// the inputs lack, and the binding is not assessed.
func (b *bindingEval) params(r *policy.Request, inv *inventory.Inventory) ([]runtime.Object, *outcome) {
	ref := b.binding.Spec().ParamRef
	if b.paramKind == nil || ref == nil {
		return []runtime.Object{nil}, nil
	}
	namespaced, known := b.paramNamespaced(inv)
	ns := ""
	switch {
	case !known:
		return nil, &outcome{match: policy.Match{Unknown: true, Why: fmt.Sprintf("binding %s: whether params of kind %s %s are namespaced is unknown (no CustomResourceDefinition of the kind among the inputs)", b.binding.Name(), b.paramKind.APIVersion, b.paramKind.Kind)}}
	case namespaced && ref.Namespace != "":
		ns = ref.Namespace
	case namespaced && r.Namespace() == "":
		return nil, &outcome{match: policy.Match{Unknown: true, Why: fmt.Sprintf("binding %s: cannot use namespaced paramRef in policy binding that matches cluster-scoped resources (the API server's configuration error)", b.binding.Name())}}
	case namespaced:
		ns = r.Namespace()
	case ref.Namespace != "":
		return nil, &outcome{match: policy.Match{Unknown: true, Why: fmt.Sprintf("binding %s: paramRef.namespace must not be provided for a cluster-scoped `paramKind` (the API server's configuration error)", b.binding.Name())}}
	}
	sel := labels.Everything()
	if ref.Selector != nil {
		s, err := metav1.LabelSelectorAsSelector(ref.Selector)
		if err != nil {
			return nil, &outcome{match: policy.Match{Unknown: true, Why: fmt.Sprintf("binding %s: paramRef.selector: %v", b.binding.Name(), err)}}
		}
		sel = s
	}
	found, why := b.find(inv, ns, ref.Name, sel)
	if why != "" {
		return nil, &outcome{match: policy.Match{Unknown: true, Why: fmt.Sprintf("binding %s: %s", b.binding.Name(), why)}}
	}
	if len(found) > 0 {
		return found, nil
	}
	what := fmt.Sprintf("no %s %s", b.paramKind.Kind, describeRef(ref, ns))
	deny := ref.ParameterNotFoundAction != nil && *ref.ParameterNotFoundAction == admissionregistrationv1.DenyAction
	switch {
	case inv.Mode == inventory.FromCluster && deny:
		// The params kind was read (else the check reads it and is not
		// assessed): the cluster has no such object.
		return nil, &outcome{match: policy.Match{Matched: true}, decisions: []policy.Decision{{
			Denied: true, Message: "no params found for policy binding with `Deny` parameterNotFoundAction", Reason: metav1.StatusReasonInvalid,
		}}}
	case inv.Mode == inventory.FromCluster:
		return nil, &outcome{match: policy.Match{Why: fmt.Sprintf("binding %s: the cluster has %s, and with parameterNotFoundAction Allow the API server admits the object without judging it", b.binding.Name(), what)}}
	case deny:
		return nil, &outcome{match: policy.Match{Unknown: true, Why: fmt.Sprintf("binding %s: %s is among the inputs or the --admission-policies files; with parameterNotFoundAction Deny the API server refuses every object the binding matches, unless the cluster has one", b.binding.Name(), what)}}
	}
	return nil, &outcome{match: policy.Match{Unknown: true, Why: fmt.Sprintf("binding %s: %s is among the inputs or the --admission-policies files; with parameterNotFoundAction Allow the API server admits the object without judging it, unless the cluster has one, which it judges the object by", b.binding.Name(), what)}}
}

// describeRef words what a paramRef looks for.
func describeRef(ref *admissionregistrationv1.ParamRef, ns string) string {
	where := ""
	if ns != "" {
		where = " in namespace " + ns
	}
	if ref.Name != "" {
		return "named " + ref.Name + where
	}
	return "selected by paramRef.selector" + where
}

// paramNamespaced says whether the params kind is namespaced, and whether
// that is known: from the built-in resources, or a CustomResourceDefinition
// among the inputs, or the params objects at hand.
func (b *bindingEval) paramNamespaced(inv *inventory.Inventory) (namespaced, known bool) {
	gv, err := schema.ParseGroupVersion(b.paramKind.APIVersion)
	if err != nil {
		return false, false
	}
	gvk := gv.WithKind(b.paramKind.Kind)
	if r, ok := policy.Builtin().ForKind(gvk); ok {
		return r.Namespaced, true
	}
	if crd, ok := crdResources(inv)[gvk.GroupKind()]; ok {
		return crd.namespaced, true
	}
	for _, o := range inv.OfKind(b.paramKey) {
		return o.Namespace != "", true
	}
	for _, u := range b.extra {
		if u.GroupVersionKind() == gvk {
			return u.GetNamespace() != "", true
		}
	}
	return false, false
}

// find returns the params objects of the kind in ns (every namespace when
// ns is "") named name, or selected by sel: those among the audited inputs,
// then those of extra that no input replaces.
func (b *bindingEval) find(inv *inventory.Inventory, ns, name string, sel labels.Selector) ([]runtime.Object, string) {
	var out []runtime.Object
	seen := map[string]bool{}
	for _, o := range inv.OfKind(b.paramKey) {
		if o.APIVersion != b.paramKind.APIVersion || o.Namespace != ns || name != "" && o.Name != name || name == "" && !sel.Matches(labels.Set(o.Labels)) {
			continue
		}
		if o.Content == nil {
			// A built-in kind: ConfigMaps and Secrets among the inputs
			// are kept without their values.
			return nil, fmt.Sprintf("params %s %s/%s is among the audited inputs, which plimsoll keeps without the values a policy reads; give it in an --admission-policies file instead", o.Kind, o.Namespace, o.Name)
		}
		seen[o.Namespace+"/"+o.Name] = true
		out = append(out, &unstructured.Unstructured{Object: o.Content})
	}
	for _, u := range b.extra {
		if u.GetAPIVersion() != b.paramKind.APIVersion || u.GetKind() != b.paramKind.Kind || u.GetNamespace() != ns ||
			name != "" && u.GetName() != name || name == "" && !sel.Matches(labels.Set(u.GetLabels())) || seen[u.GetNamespace()+"/"+u.GetName()] {
			continue
		}
		out = append(out, u)
	}
	return out, ""
}
