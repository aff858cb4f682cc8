// Package policy evaluates ValidatingAdmissionPolicies offline, with the
// API server's own code: the CEL environment of k8s.io/apiserver at its
// compatibility version, the composited compiler of its admission plugins
// (variables), its validator (validations, messageExpression, reason, the
// runtime cost budget), its matchConditions matcher and its matching of
// matchConstraints (resource rules, selectors, matchPolicy). What it adds is
// what a request would carry and an offline audit does not have: each object
// is judged as the request that creates it (operation CREATE, no old
// object), by no user, with no authorizer.
//
// A Policy is compiled once and evaluated on many objects, from several
// goroutines at once. plimsoll's custom checks (internal/checks/custom) are
// policies; so will be a cluster's own ValidatingAdmissionPolicies judged
// offline.
package policy

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/generic"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	apiservercel "k8s.io/apiserver/pkg/cel"
	"k8s.io/apiserver/pkg/cel/environment"
)

// Policy is a ValidatingAdmissionPolicy compiled for evaluation.
type Policy struct {
	vap       *admissionregistrationv1.ValidatingAdmissionPolicy
	accessor  generic.PolicyAccessor
	validator validating.Validator
	// conditions evaluates matchConditions; nil when there are none. The
	// validator could do it too, but Match needs the answer before
	// Validate is asked, and evaluating them once is enough.
	conditions matchconditions.Matcher
	compileErr field.ErrorList
	// objects marks a policy compiled with plimsoll.objects.
	objects bool
	// fields are the paths of the validations, made once: a policy judges
	// thousands of objects.
	fields []string
}

// baseEnv is the API server's CEL environment at its compatibility version,
// with strict cost enforcement, as kube-apiserver builds it for admission
// policies.
var baseEnv = environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion())

// Default sets the defaults the API server sets on a policy it stores
// (SetDefaults_ValidatingAdmissionPolicySpec, SetDefaults_MatchResources and
// SetDefaults_Rule of k8s.io/kubernetes/pkg/apis/admissionregistration/v1):
// failurePolicy Fail, matchPolicy Equivalent, empty selectors that select
// everything, and scope "*" on every rule.
func Default(spec *admissionregistrationv1.ValidatingAdmissionPolicySpec) {
	if spec.FailurePolicy == nil {
		f := admissionregistrationv1.Fail
		spec.FailurePolicy = &f
	}
	if mc := spec.MatchConstraints; mc != nil {
		defaultMatchResources(mc)
	}
}

// defaultMatchResources sets the defaults of SetDefaults_MatchResources
// and SetDefaults_Rule, for a policy's matchConstraints and a binding's
// matchResources alike.
func defaultMatchResources(mc *admissionregistrationv1.MatchResources) {
	if mc.MatchPolicy == nil {
		p := admissionregistrationv1.Equivalent
		mc.MatchPolicy = &p
	}
	if mc.NamespaceSelector == nil {
		mc.NamespaceSelector = &metav1.LabelSelector{}
	}
	if mc.ObjectSelector == nil {
		mc.ObjectSelector = &metav1.LabelSelector{}
	}
	for _, rules := range [][]admissionregistrationv1.NamedRuleWithOperations{mc.ResourceRules, mc.ExcludeResourceRules} {
		for i := range rules {
			if rules[i].Scope == nil {
				s := admissionregistrationv1.AllScopes
				rules[i].Scope = &s
			}
		}
	}
}

// Validate returns what the API server would refuse a defaulted policy for,
// besides expressions that do not compile (Policy.CompileErrors): required
// fields, unsupported values, malformed selectors and rules, the rules of
// k8s.io/kubernetes/pkg/apis/admissionregistration/validation that an
// offline policy can break. Field paths start at spec.
func Validate(spec *admissionregistrationv1.ValidatingAdmissionPolicySpec) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec")
	if f := spec.FailurePolicy; f != nil && *f != admissionregistrationv1.Fail && *f != admissionregistrationv1.Ignore {
		errs = append(errs, field.NotSupported(p.Child("failurePolicy"), *f, []string{"Fail", "Ignore"}))
	}
	if pk := spec.ParamKind; pk != nil {
		if pk.APIVersion == "" {
			errs = append(errs, field.Required(p.Child("paramKind", "apiVersion"), ""))
		}
		if pk.Kind == "" {
			errs = append(errs, field.Required(p.Child("paramKind", "kind"), ""))
		}
	}
	mc := spec.MatchConstraints
	switch {
	case mc == nil:
		errs = append(errs, field.Required(p.Child("matchConstraints"), ""))
	case len(mc.ResourceRules) == 0:
		errs = append(errs, field.Required(p.Child("matchConstraints", "resourceRules"), "at least one resource rule says which kinds the policy judges"))
	default:
		errs = append(errs, validateMatchResources(mc, p.Child("matchConstraints"))...)
	}
	names := map[string]bool{}
	for i, c := range spec.MatchConditions {
		fp := p.Child("matchConditions").Index(i)
		switch {
		case c.Name == "":
			errs = append(errs, field.Required(fp.Child("name"), ""))
		case names[c.Name]:
			errs = append(errs, field.Duplicate(fp.Child("name"), c.Name))
		}
		names[c.Name] = true
		if strings.TrimSpace(c.Expression) == "" {
			errs = append(errs, field.Required(fp.Child("expression"), ""))
		}
	}
	for i, v := range spec.Variables {
		fp := p.Child("variables").Index(i)
		if !celIdentifier.MatchString(v.Name) {
			errs = append(errs, field.Invalid(fp.Child("name"), v.Name, "must be a valid CEL identifier"))
		}
		if strings.TrimSpace(v.Expression) == "" {
			errs = append(errs, field.Required(fp.Child("expression"), "expression is not specified"))
		}
	}
	if len(spec.Validations) == 0 {
		errs = append(errs, field.Required(p.Child("validations"), "plimsoll judges objects by validations; it has no use for a policy of auditAnnotations alone"))
	}
	for i, v := range spec.Validations {
		fp := p.Child("validations").Index(i)
		if strings.TrimSpace(v.Expression) == "" {
			errs = append(errs, field.Required(fp.Child("expression"), "expression is not specified"))
		}
		if strings.ContainsAny(strings.TrimSpace(v.Message), "\n") {
			errs = append(errs, field.Invalid(fp.Child("message"), v.Message, "must not contain line breaks"))
		}
		if v.Reason != nil && !slices.Contains(reasons, *v.Reason) {
			errs = append(errs, field.NotSupported(fp.Child("reason"), *v.Reason, []string{"Forbidden", "Invalid", "RequestEntityTooLarge"}))
		}
	}
	return errs
}

// reasons are the reasons a validation may give.
var reasons = []metav1.StatusReason{metav1.StatusReasonForbidden, metav1.StatusReasonInvalid, metav1.StatusReasonRequestEntityTooLarge}

var celIdentifier = regexp.MustCompile(`^[_a-zA-Z][_a-zA-Z0-9]*$`)

func validateMatchResources(mc *admissionregistrationv1.MatchResources, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if mp := mc.MatchPolicy; mp != nil && *mp != admissionregistrationv1.Exact && *mp != admissionregistrationv1.Equivalent {
		errs = append(errs, field.NotSupported(p.Child("matchPolicy"), *mp, []string{"Equivalent", "Exact"}))
	}
	opts := metav1validation.LabelSelectorValidationOptions{}
	errs = append(errs, metav1validation.ValidateLabelSelector(mc.NamespaceSelector, opts, p.Child("namespaceSelector"))...)
	errs = append(errs, metav1validation.ValidateLabelSelector(mc.ObjectSelector, opts, p.Child("objectSelector"))...)
	for name, rules := range map[string][]admissionregistrationv1.NamedRuleWithOperations{"resourceRules": mc.ResourceRules, "excludeResourceRules": mc.ExcludeResourceRules} {
		for i, r := range rules {
			errs = append(errs, validateRule(&r, p.Child(name).Index(i))...)
		}
	}
	return errs
}

// validateRule holds a rule to validateRuleWithOperations and validateRule
// of the API server's validation.
func validateRule(r *admissionregistrationv1.NamedRuleWithOperations, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	wildcard := func(list []string) bool { return len(list) > 1 && slices.Contains(list, "*") }
	if len(r.Operations) == 0 {
		errs = append(errs, field.Required(p.Child("operations"), ""))
	}
	ops := make([]string, len(r.Operations))
	for i, op := range r.Operations {
		ops[i] = string(op)
		if !slices.Contains([]string{"*", "CREATE", "UPDATE", "DELETE", "CONNECT"}, string(op)) {
			errs = append(errs, field.NotSupported(p.Child("operations").Index(i), op, []string{"*", "CONNECT", "CREATE", "DELETE", "UPDATE"}))
		}
	}
	if wildcard(ops) {
		errs = append(errs, field.Invalid(p.Child("operations"), r.Operations, "if '*' is present, must not specify other operations"))
	}
	if len(r.APIGroups) == 0 {
		errs = append(errs, field.Required(p.Child("apiGroups"), ""))
	}
	if wildcard(r.APIGroups) {
		errs = append(errs, field.Invalid(p.Child("apiGroups"), r.APIGroups, "if '*' is present, must not specify other API groups"))
	}
	if len(r.APIVersions) == 0 {
		errs = append(errs, field.Required(p.Child("apiVersions"), ""))
	}
	if wildcard(r.APIVersions) {
		errs = append(errs, field.Invalid(p.Child("apiVersions"), r.APIVersions, "if '*' is present, must not specify other API versions"))
	}
	if len(r.Resources) == 0 {
		errs = append(errs, field.Required(p.Child("resources"), ""))
	}
	for i, res := range r.Resources {
		if res == "" {
			errs = append(errs, field.Required(p.Child("resources").Index(i), ""))
		}
	}
	if s := r.Scope; s != nil && !slices.Contains([]admissionregistrationv1.ScopeType{"*", "Cluster", "Namespaced"}, *s) {
		errs = append(errs, field.NotSupported(p.Child("scope"), *s, []string{"*", "Cluster", "Namespaced"}))
	}
	return errs
}

// Compile compiles a policy the way kube-apiserver's ValidatingAdmissionPolicy
// plugin does (compilePolicy in k8s.io/apiserver's
// plugin/policy/validating), from the same exported parts. It defaults a
// copy of the policy first. An expression that does not compile is not an
// error here: CompileErrors says what the API server would refuse the
// policy for, and an evaluation reports it, as the API server's does.
func Compile(vap *admissionregistrationv1.ValidatingAdmissionPolicy) *Policy {
	return compile(vap, false, nil)
}

// CompileWithObjects compiles a custom check's policy as Compile does, in
// the API server's environment extended with plimsoll.objects
// (ObjectsFunction), which list answers; a nil list answers with empty
// lists. WithObjects compiles it again for another list.
func CompileWithObjects(vap *admissionregistrationv1.ValidatingAdmissionPolicy, list Lister) *Policy {
	return compile(vap, true, list)
}

// WithObjects is the policy compiled again with plimsoll.objects answered
// by list: a custom check compiles its policy once per inventory it lists.
func (p *Policy) WithObjects(list Lister) *Policy { return compile(p.vap, true, list) }

func compile(vap *admissionregistrationv1.ValidatingAdmissionPolicy, objects bool, list Lister) *Policy {
	vap = vap.DeepCopy()
	Default(&vap.Spec)
	p := &Policy{vap: vap, accessor: validating.NewValidatingAdmissionPolicyAccessor(vap), objects: objects}
	spec := &vap.Spec
	for i := range spec.Validations {
		p.fields = append(p.fields, fmt.Sprintf("spec.validations[%d]", i))
	}
	hasParams := spec.ParamKind != nil
	vars := plugincel.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: true}
	messageVars := plugincel.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: false}
	env, stateless := baseEnv, statelessCompiler()
	if objects {
		var err error
		if env, err = withObjects(baseEnv, list); err != nil {
			p.validator = validating.NewValidator(nil, nil, nil, nil, spec.FailurePolicy, err)
			return p
		}
		stateless = plugincel.NewCompiler(env)
	}
	// One compiler serves both the evaluation and the check of what a new
	// policy may use: building one is most of the cost of a policy.
	compiler, err := plugincel.NewCompositedCompiler(env)
	if err != nil {
		p.validator = validating.NewValidator(nil, nil, nil, nil, spec.FailurePolicy, err)
		return p
	}
	p.compileErr = compileErrors(compiler, stateless, spec, vars, messageVars)
	if len(spec.MatchConditions) > 0 {
		conds := make([]plugincel.ExpressionAccessor, len(spec.MatchConditions))
		for i := range spec.MatchConditions {
			conds[i] = (*matchconditions.MatchCondition)(&spec.MatchConditions[i])
		}
		p.conditions = matchconditions.NewMatcher(compiler.CompileCondition(conds, vars, environment.StoredExpressions), spec.FailurePolicy, "policy", "validate", vap.Name)
	}
	validations := make([]plugincel.ExpressionAccessor, len(spec.Validations))
	messages := make([]plugincel.ExpressionAccessor, len(spec.Validations))
	hasMessages := false
	for i, v := range spec.Validations {
		validations[i] = &validating.ValidationCondition{Expression: v.Expression, Message: v.Message, Reason: v.Reason}
		if v.MessageExpression != "" {
			messages[i] = &validating.MessageExpressionCondition{MessageExpression: v.MessageExpression}
			hasMessages = true
		}
	}
	if !hasMessages {
		// No message expression: none is evaluated either way, but an
		// empty list spares the evaluation of nothing its activation
		// (the validator reads message results only where they exist).
		messages = nil
	}
	p.validator = validating.NewValidator(
		compiler.CompileCondition(validations, vars, environment.StoredExpressions),
		nil, // matchConditions: see Policy.conditions
		compiler.CompileCondition(nil, vars, environment.StoredExpressions),
		compiler.CompileCondition(messages, messageVars, environment.StoredExpressions),
		spec.FailurePolicy,
		nil,
	)
	return p
}

// statelessCompiler compiles matchConditions, which may not use variables,
// as the API server's validation does (getStrictStatelessCELCompiler).
var statelessCompiler = sync.OnceValue(func() plugincel.Compiler { return plugincel.NewCompiler(baseEnv) })

// compileErrors compiles every expression as the API server does when it
// validates a new policy (validateValidatingAdmissionPolicySpec): in the
// environment of new expressions, which has only the libraries of the
// compatibility version; matchConditions without variables; messages
// without the authorizer. It stores the variables in compiler, each for
// evaluation after its check, so that a variable sees only those before
// it, as there.
func compileErrors(compiler *plugincel.CompositedCompiler, stateless plugincel.Compiler, spec *admissionregistrationv1.ValidatingAdmissionPolicySpec, vars, messageVars plugincel.OptionalVariableDeclarations) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec")
	check := func(c plugincel.Compiler, fp *field.Path, e plugincel.ExpressionAccessor, decls plugincel.OptionalVariableDeclarations) {
		if e.GetExpression() == "" {
			return
		}
		if res := c.CompileCELExpression(e, decls, environment.NewExpressions); res.Error != nil {
			errs = append(errs, celError(fp, e.GetExpression(), res.Error))
		}
	}
	for i := range spec.MatchConditions {
		check(stateless, p.Child("matchConditions").Index(i).Child("expression"), (*matchconditions.MatchCondition)(&spec.MatchConditions[i]), vars)
	}
	for i, v := range spec.Variables {
		variable := &validating.Variable{Name: v.Name, Expression: v.Expression}
		check(compiler, p.Child("variables").Index(i).Child("expression"), variable, vars)
		compiler.CompileAndStoreVariable(variable, vars, environment.StoredExpressions)
	}
	for i, v := range spec.Validations {
		fp := p.Child("validations").Index(i)
		check(compiler, fp.Child("expression"), &validating.ValidationCondition{Expression: v.Expression}, vars)
		check(compiler, fp.Child("messageExpression"), &validating.MessageExpressionCondition{MessageExpression: v.MessageExpression}, messageVars)
	}
	return errs
}

// celError words a compilation error as the API server's validation does
// (convertCELErrorToValidationError).
func celError(p *field.Path, expression string, err *apiservercel.Error) *field.Error {
	switch err.Type {
	case apiservercel.ErrorTypeRequired:
		return field.Required(p, err.Detail)
	case apiservercel.ErrorTypeInvalid:
		return field.Invalid(p, expression, err.Detail)
	}
	return field.InternalError(p, err)
}

// CompileErrors are the expressions that do not compile, each at its
// field path: the API server would refuse to create the policy. Evaluating
// such a policy reports them as errors, as the API server does for one it
// stored before they stopped compiling.
func (p *Policy) CompileErrors() field.ErrorList { return p.compileErr }

// Spec is the policy's spec, defaulted. Callers do not change it.
func (p *Policy) Spec() *admissionregistrationv1.ValidatingAdmissionPolicySpec { return &p.vap.Spec }

// Decision is the outcome of one validation on one object.
type Decision struct {
	// Field is the validation's path: spec.validations[0].
	Field string
	// Denied is true when the expression is false: the API server would
	// refuse the object with Message and Reason.
	Denied bool
	// Error is true when the validation could not be evaluated: a compile
	// error, a runtime error, or the cost budget spent. Message says why.
	Error   bool
	Message string
	Reason  metav1.StatusReason
}

// validate evaluates the policy's validations on a request it matched as
// resource, under the API server's runtime cost budget
// (celconfig.RuntimeCELCostBudget). There is one decision per validation,
// in order; when the evaluation as a whole fails (the budget spent), a
// single error decision says why.
func (p *Policy) validate(ctx context.Context, r *Request, resource schema.GroupVersionResource, params runtime.Object) []Decision {
	res := p.validator.Validate(ctx, resource, r.attrs, params, r.namespace, celconfig.RuntimeCELCostBudget, nil)
	out := make([]Decision, len(res.Decisions))
	for i, d := range res.Decisions {
		out[i] = Decision{Message: d.Message, Reason: d.Reason}
		if len(res.Decisions) == len(p.fields) {
			out[i].Field = p.fields[i]
		}
		switch d.Evaluation {
		case validating.EvalDeny:
			out[i].Denied = true
		case validating.EvalError:
			out[i].Error = true
			out[i].Message = withoutAuthorizer(d.Message)
		}
	}
	return out
}

// withoutAuthorizer explains the error of an expression that calls the
// authorizer, which an offline evaluation does not have.
func withoutAuthorizer(msg string) string {
	if strings.Contains(msg, "no such attribute") && strings.Contains(msg, "authorizer") {
		return msg + " (offline there is no authorizer to ask)"
	}
	return msg
}
