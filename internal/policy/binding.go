package policy

import (
	"fmt"
	"slices"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/admission/plugin/policy/generic"
	"k8s.io/apiserver/pkg/admission/plugin/policy/matching"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
)

// Binding is a ValidatingAdmissionPolicyBinding, defaulted as the API
// server defaults one it stores: it says which of the requests a policy
// matches the policy judges, with which params, and what a failed
// validation does (validationActions).
type Binding struct {
	vapb     *admissionregistrationv1.ValidatingAdmissionPolicyBinding
	accessor generic.BindingAccessor
}

// NewBinding defaults a copy of b (SetObjectDefaults_ValidatingAdmissionPolicyBinding
// of k8s.io/kubernetes/pkg/apis/admissionregistration/v1: the defaults of
// SetDefaults_MatchResources and SetDefaults_Rule on its matchResources,
// when it has them).
func NewBinding(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) *Binding {
	b = b.DeepCopy()
	if mr := b.Spec.MatchResources; mr != nil {
		defaultMatchResources(mr)
	}
	return &Binding{vapb: b, accessor: validating.NewValidatingAdmissionPolicyBindingAccessor(b)}
}

// Spec is the binding's spec, defaulted. Callers do not change it.
func (b *Binding) Spec() *admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec {
	return &b.vapb.Spec
}

// Name is the binding's name.
func (b *Binding) Name() string { return b.vapb.Name }

// ValidateBinding returns what the API server would refuse a binding for
// (validateValidatingAdmissionPolicyBindingSpec of
// k8s.io/kubernetes/pkg/apis/admissionregistration/validation): a policy
// name, validation actions that are known, unique, and not both Deny and
// Warn, a paramRef that names its params by name or by selector with a
// parameterNotFoundAction, and well-formed matchResources. Field paths
// start at spec.
func ValidateBinding(spec *admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec")
	if spec.PolicyName == "" {
		errs = append(errs, field.Required(p.Child("policyName"), ""))
	}
	actions := p.Child("validationActions")
	if len(spec.ValidationActions) == 0 {
		errs = append(errs, field.Required(actions, ""))
	}
	seen := map[admissionregistrationv1.ValidationAction]bool{}
	for i, a := range spec.ValidationActions {
		switch {
		case !slices.Contains([]admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny, admissionregistrationv1.Warn, admissionregistrationv1.Audit}, a):
			errs = append(errs, field.NotSupported(actions.Index(i), a, []string{"Audit", "Deny", "Warn"}))
		case seen[a]:
			errs = append(errs, field.Duplicate(actions.Index(i), a))
		}
		seen[a] = true
	}
	if seen[admissionregistrationv1.Deny] && seen[admissionregistrationv1.Warn] {
		errs = append(errs, field.Invalid(actions, spec.ValidationActions, "must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)"))
	}
	if ref := spec.ParamRef; ref != nil {
		rp := p.Child("paramRef")
		switch {
		case ref.Name != "" && ref.Selector != nil:
			errs = append(errs, field.Forbidden(rp.Child("name"), "name and selector are mutually exclusive"))
		case ref.Name == "" && ref.Selector == nil:
			errs = append(errs, field.Required(rp, "one of name or selector must be specified"))
		}
		if ref.Name != "" {
			for _, msg := range validation.IsDNS1123Subdomain(ref.Name) {
				errs = append(errs, field.Invalid(rp.Child("name"), ref.Name, msg))
			}
		}
		if ref.Namespace != "" {
			for _, msg := range validation.IsDNS1123Label(ref.Namespace) {
				errs = append(errs, field.Invalid(rp.Child("namespace"), ref.Namespace, msg))
			}
		}
		if ref.Selector != nil {
			errs = append(errs, metav1validation.ValidateLabelSelector(ref.Selector, metav1validation.LabelSelectorValidationOptions{}, rp.Child("selector"))...)
		}
		switch a := ref.ParameterNotFoundAction; {
		case a == nil:
			errs = append(errs, field.Required(rp.Child("parameterNotFoundAction"), ""))
		case *a != admissionregistrationv1.AllowAction && *a != admissionregistrationv1.DenyAction:
			errs = append(errs, field.NotSupported(rp.Child("parameterNotFoundAction"), *a, []string{"Allow", "Deny"}))
		}
	}
	if mr := spec.MatchResources; mr != nil {
		errs = append(errs, validateMatchResources(mr, p.Child("matchResources"))...)
	}
	return errs
}

// MatchConstraints decides whether the policy's matchConstraints select a
// request, as the API server's dispatcher asks first
// (DefinitionMatches), before its bindings and matchConditions.
func (p *Policy) MatchConstraints(r *Request) Match {
	var resource schema.GroupVersionResource
	m := p.matchResources(r, p.vap.Spec.MatchConstraints, "spec.matchConstraints", func(m generic.PolicyMatcher) (bool, error) {
		ok, res, _, err := m.DefinitionMatches(r.attrs, Builtin().interfaces, p.accessor)
		resource = res
		return ok, err
	})
	m.resource = resource
	return m
}

// MatchBinding decides whether a binding's matchResources select a
// request, as the API server's dispatcher does (BindingMatches): a
// binding without them selects every request its policy matches. It is
// asked of a request the policy's matchConstraints select.
func (p *Policy) MatchBinding(r *Request, b *Binding) Match {
	mr := b.vapb.Spec.MatchResources
	if mr == nil {
		return Match{Matched: true}
	}
	where := "binding " + b.vapb.Name + " spec.matchResources"
	return p.matchResources(r, mr, where, func(m generic.PolicyMatcher) (bool, error) {
		return m.BindingMatches(r.attrs, Builtin().interfaces, b.accessor)
	})
}

// matchResources asks the API server's matcher whether mr selects a
// request, unless the request's namespace is not among the inputs and mr's
// namespaceSelector asks for more than its name.
func (p *Policy) matchResources(r *Request, mr *admissionregistrationv1.MatchResources, where string, matches func(generic.PolicyMatcher) (bool, error)) Match {
	if r.nsUnknown && r.namespace != nil && !nameOnly(mr.NamespaceSelector) {
		return Match{Unknown: true, Why: fmt.Sprintf("namespace %s is not among the inputs, so whether %s.namespaceSelector selects it is unknown", r.namespace.Name, where)}
	}
	ok, err := matches(generic.NewPolicyMatcher(matching.NewMatcher(namespaceLister{r.namespace}, nil)))
	switch {
	case err != nil:
		return Match{Unknown: true, Why: where + ": " + err.Error()}
	case !ok:
		return Match{Why: notSelected(r, mr, where)}
	}
	return Match{Matched: true}
}

// notSelected says which of mr leaves the request out.
func notSelected(r *Request, mr *admissionregistrationv1.MatchResources, where string) string {
	if sel, err := metav1.LabelSelectorAsSelector(mr.ObjectSelector); err == nil && !sel.Matches(objectLabels(r)) {
		return where + ".objectSelector does not select it"
	}
	if sel, err := metav1.LabelSelectorAsSelector(mr.NamespaceSelector); err == nil && r.namespace != nil && !sel.Matches(namespaceLabels(r.namespace)) {
		return where + ".namespaceSelector does not select namespace " + r.namespace.Name
	}
	return where + " does not match it"
}
