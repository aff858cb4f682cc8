// Package export writes plimsoll's checks out as what the API server
// enforces itself: a ValidatingAdmissionPolicy and its binding for each
// check that can be judged on one object by what the object says alone.
//
// A built-in check is exportable when it holds its CEL as data
// (check.Check.Admission, internal/checks/admission/<id>.yaml): the
// variables, matchConditions and validations that give exactly its verdict
// and messages. What export adds is the same for every check and mirrors
// how an audit picks the objects a check judges (internal/audit):
// matchConstraints naming the kinds the check applies to, and two
// matchConditions, one that leaves out objects a built-in workload
// controller owns (an audit judges a Deployment's pods through the
// Deployment: the policy judges the Deployment, and its pod template, when
// it is created or updated, and not the ReplicaSets and Pods it makes) and
// one that honours the plimsoll.dev/ignore annotation. A custom check is
// exported as itself: its spec, with its params object when it has one.
package export

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/custom"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/policy"
)

// Labels and annotations of the objects export writes.
const (
	ManagedByLabel        = "app.kubernetes.io/managed-by"
	VersionLabel          = "plimsoll.dev/version"
	CheckAnnotation       = "plimsoll.dev/check"
	TitleAnnotation       = "plimsoll.dev/title"
	RemediationAnnotation = "plimsoll.dev/remediation"
)

// Prefix starts the name of every policy and binding export writes:
// plimsoll-<check-id>.
const Prefix = "plimsoll-"

// ignoreAnnotation is internal/audit's IgnoreAnnotation; audit imports
// the checks, so it is named here rather than imported.
const ignoreAnnotation = "plimsoll.dev/ignore"

// Options say how the policies are bound.
type Options struct {
	// Action is the binding's validation action: Warn, Deny or Audit.
	Action admissionregistrationv1.ValidationAction
	// ExcludeNamespaces are left out by the binding's namespaceSelector.
	ExcludeNamespaces []string
	// Version is plimsoll's version, set as a label.
	Version string
	// ParamsNamespace is where a custom check's params object is put when
	// its file names no namespace.
	ParamsNamespace string
}

// Policy is one check as the API server enforces it: the policy, its
// binding and, for a custom check with params, the params object.
type Policy struct {
	ID      string
	Policy  *admissionregistrationv1.ValidatingAdmissionPolicy
	Binding *admissionregistrationv1.ValidatingAdmissionPolicyBinding
	Params  *unstructured.Unstructured
}

// Actions are the validation actions a binding may take.
var Actions = []admissionregistrationv1.ValidationAction{admissionregistrationv1.Warn, admissionregistrationv1.Deny, admissionregistrationv1.Audit}

// ParseAction reads a validation action as written on the command line,
// in any case.
func ParseAction(s string) (admissionregistrationv1.ValidationAction, error) {
	for _, a := range Actions {
		if strings.EqualFold(s, string(a)) {
			return a, nil
		}
	}
	return "", fmt.Errorf("unknown action %q (want Warn, Deny or Audit)", s)
}

// Exportable says whether a built-in check can be exported, and why not
// when it cannot.
func Exportable(c *check.Check) (bool, string) {
	if c.Admission != "" {
		return true, ""
	}
	switch {
	case c.Requires == check.Cluster:
		return false, "it judges what a cluster shows, which an admission request does not carry"
	case c.Requires == check.Declared:
		return false, "it judges how a manifest declares an object, which the API server has converted by admission"
	case strings.HasPrefix(c.ID, "pss-"):
		return false, "Kubernetes enforces the Pod Security Standards itself: label the namespace pod-security.kubernetes.io/enforce"
	case len(c.Reads) > 0:
		return false, "it reads other objects (" + strings.Join(c.Reads, ", ") + "), which a policy judging one object cannot"
	}
	return false, "its verdict depends on parameters or on more than the object's own fields, which a policy could not give exactly"
}

// Builtin exports a built-in check. It fails for a check that is not
// exportable and for CEL data that does not decode.
func Builtin(c *check.Check, opts Options) (*Policy, error) {
	if ok, why := Exportable(c); !ok {
		return nil, fmt.Errorf("check %s cannot be exported: %s", c.ID, why)
	}
	var spec admissionregistrationv1.ValidatingAdmissionPolicySpec
	if err := yaml.UnmarshalStrict([]byte(c.Admission), &spec); err != nil {
		return nil, fmt.Errorf("check %s: internal/checks/admission/%s.yaml: %w", c.ID, c.ID, err)
	}
	if spec.MatchConstraints != nil {
		return nil, fmt.Errorf("check %s: internal/checks/admission/%s.yaml sets matchConstraints, which export derives from the check's kinds", c.ID, c.ID)
	}
	rules, err := resourceRules(c.Kinds)
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", c.ID, err)
	}
	spec.MatchConstraints = &admissionregistrationv1.MatchResources{ResourceRules: rules}
	spec.MatchConditions = append(engineConditions(c.ID), spec.MatchConditions...)
	fail := admissionregistrationv1.Fail
	spec.FailurePolicy = &fail
	return bind(c.ID, describe(c, opts), spec, nil, opts), nil
}

// CustomExportable says whether a custom check can be exported, and why
// not when it cannot: its policy must be one the API server accepts, and
// it must not list other objects with plimsoll.objects, which the API
// server does not have.
func CustomExportable(c *custom.Check) (bool, string) {
	if kinds := c.Objects(); len(kinds) > 0 {
		return false, "it lists other objects with " + policy.ObjectsFunction + ", plimsoll's own extension, which the API server does not have"
	}
	if errs := c.Policy.CompileErrors(); len(errs) > 0 {
		return false, "the API server would refuse its policy: " + errs.ToAggregate().Error()
	}
	return true, ""
}

// Custom exports a custom check as itself: its spec, named for the
// export, and its params object when it has one.
func Custom(c *custom.Check, opts Options) (*Policy, error) {
	spec := c.Policy.Spec().DeepCopy()
	var params *unstructured.Unstructured
	if c.Params != nil {
		params = c.Params.DeepCopy()
		if params.GetNamespace() == "" {
			params.SetNamespace(opts.ParamsNamespace)
		}
	}
	if ok, why := CustomExportable(c); !ok {
		return nil, fmt.Errorf("check %s cannot be exported: %s", c.ID, why)
	}
	return bind(c.ID, describe(c.Check, opts), *spec, params, opts), nil
}

// describe returns the metadata of the objects exported for a check.
func describe(c *check.Check, opts Options) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:   Prefix + c.ID,
		Labels: map[string]string{ManagedByLabel: "plimsoll", VersionLabel: labelValue(opts.Version)},
		Annotations: map[string]string{
			CheckAnnotation:       c.ID,
			TitleAnnotation:       c.Title,
			RemediationAnnotation: c.Remediation,
		},
	}
}

// labelValue makes a version a label value: "v1.2.3+dirty" is
// "v1.2.3_dirty"; what cannot be made one is "unknown".
func labelValue(v string) string {
	v = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, v)
	v = strings.Trim(v, "-_.")
	if len(v) > validation.LabelValueMaxLength {
		v = strings.Trim(v[:validation.LabelValueMaxLength], "-_.")
	}
	if v == "" {
		return "unknown"
	}
	return v
}

func bind(id string, meta metav1.ObjectMeta, spec admissionregistrationv1.ValidatingAdmissionPolicySpec, params *unstructured.Unstructured, opts Options) *Policy {
	action := opts.Action
	if action == "" {
		action = admissionregistrationv1.Warn
	}
	b := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: admissionregistrationv1.SchemeGroupVersion.String(), Kind: "ValidatingAdmissionPolicyBinding"},
		ObjectMeta: *meta.DeepCopy(),
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        meta.Name,
			ValidationActions: []admissionregistrationv1.ValidationAction{action},
		},
	}
	if len(opts.ExcludeNamespaces) > 0 {
		b.Spec.MatchResources = &admissionregistrationv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
			MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn,
				Values: slices.Sorted(slices.Values(opts.ExcludeNamespaces)),
			}},
		}}
	}
	if params != nil {
		deny := admissionregistrationv1.DenyAction
		b.Spec.ParamRef = &admissionregistrationv1.ParamRef{
			Name: params.GetName(), Namespace: params.GetNamespace(), ParameterNotFoundAction: &deny,
		}
	}
	return &Policy{
		ID: id,
		Policy: &admissionregistrationv1.ValidatingAdmissionPolicy{
			TypeMeta:   metav1.TypeMeta{APIVersion: admissionregistrationv1.SchemeGroupVersion.String(), Kind: "ValidatingAdmissionPolicy"},
			ObjectMeta: meta,
			Spec:       spec,
		},
		Binding: b,
		Params:  params,
	}
}

// engineConditions are the matchConditions that pick the objects an audit
// judges with a check (internal/audit's runner.object and exempted): not
// one a built-in workload controller owns (inventory.Object.Controlled),
// and not one whose plimsoll.dev/ignore annotation names the check or *.
func engineConditions(id string) []admissionregistrationv1.MatchCondition {
	controllers := inventory.WorkloadKinds(func(w inventory.WorkloadKind) bool { return w.Controller })
	quoted := make([]string, len(controllers))
	for i, k := range controllers {
		quoted[i] = "'" + k + "'"
	}
	return []admissionregistrationv1.MatchCondition{
		{
			Name: "plimsoll-not-controlled",
			Expression: "!has(object.metadata.ownerReferences) || !object.metadata.ownerReferences.exists(r, " +
				"has(r.controller) && r.controller && r.kind in [" + strings.Join(quoted, ", ") + "])",
		},
		{
			Name: "plimsoll-not-ignored",
			Expression: "!has(object.metadata.annotations) || !('" + ignoreAnnotation + "' in object.metadata.annotations) || " +
				"!object.metadata.annotations['" + ignoreAnnotation + "'].split(',').exists(x, x.trim() in ['" + id + "', '*'])",
		},
	}
}

// resourceRules are the rules that match the built-in kinds of kind keys,
// for CREATE and UPDATE, one rule per API group. A kind key plimsoll has no
// built-in resource for is an error.
func resourceRules(kinds []string) ([]admissionregistrationv1.NamedRuleWithOperations, error) {
	type gv struct{ group, version string }
	resources := map[gv][]string{}
	var order []gv
	for _, key := range kinds {
		found := false
		for _, r := range policy.Builtin().All() {
			if inventory.KindKeyOf(r.GVR().GroupVersion().String(), r.Kind) != key {
				continue
			}
			found = true
			k := gv{r.Group, r.Version}
			if _, ok := resources[k]; !ok {
				order = append(order, k)
			}
			if !slices.Contains(resources[k], r.Resource) {
				resources[k] = append(resources[k], r.Resource)
			}
		}
		if !found {
			return nil, fmt.Errorf("no built-in resource holds kind %s", key)
		}
	}
	slices.SortFunc(order, func(a, b gv) int {
		return strings.Compare(a.group+"/"+a.version, b.group+"/"+b.version)
	})
	var out []admissionregistrationv1.NamedRuleWithOperations
	for _, k := range order {
		res := resources[k]
		slices.Sort(res)
		out = append(out, admissionregistrationv1.NamedRuleWithOperations{RuleWithOperations: admissionregistrationv1.RuleWithOperations{
			Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
			Rule:       admissionregistrationv1.Rule{APIGroups: []string{k.group}, APIVersions: []string{k.version}, Resources: res},
		}})
	}
	return out, nil
}

// Write writes the policies as a YAML stream, after the header comment:
// for each check in the order given, its params object, its policy and
// its binding.
func Write(w io.Writer, header string, policies []*Policy) error {
	var buf bytes.Buffer
	for _, l := range strings.Split(strings.TrimRight(header, "\n"), "\n") {
		buf.WriteString(strings.TrimRight("# "+l, " ") + "\n")
	}
	for _, p := range policies {
		objs := []runtime.Object{p.Policy, p.Binding}
		if p.Params != nil {
			objs = append([]runtime.Object{p.Params}, objs...)
		}
		for _, o := range objs {
			b, err := Marshal(o)
			if err != nil {
				return fmt.Errorf("check %s: %w", p.ID, err)
			}
			buf.WriteString("---\n")
			buf.Write(b)
		}
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// Marshal writes an object as YAML without the fields a new object does
// not have (metadata.creationTimestamp, status).
func Marshal(o runtime.Object) ([]byte, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		return nil, err
	}
	if meta, ok := m["metadata"].(map[string]any); ok {
		delete(meta, "creationTimestamp")
	}
	delete(m, "status")
	return yaml.Marshal(m)
}
