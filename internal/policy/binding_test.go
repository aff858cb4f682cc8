package policy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"sigs.k8s.io/yaml"
)

func parseBinding(t testing.TB, text string) *Binding {
	t.Helper()
	var b admissionregistrationv1.ValidatingAdmissionPolicyBinding
	if err := yaml.UnmarshalStrict([]byte(text), &b); err != nil {
		t.Fatal(err)
	}
	return NewBinding(&b)
}

// testBinding is the documentation's binding of the policy to the
// namespaces labelled environment: test.
const testBinding = `metadata: {name: demo-binding-test.example.com}
spec:
  policyName: demo-policy.example.com
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels: {environment: test}`

// The bindings of the API server's documentation of
// ValidatingAdmissionPolicy: a binding's matchResources narrow its
// policy's matchConstraints, by namespace, object labels and resource
// rules.
func TestMatchBinding(t *testing.T) {
	// The policy matches Deployments and ReplicaSets.
	policy := Compile(parsePolicy(t, strings.Replace(replicaLimit, "resources: [deployments]", "resources: [deployments, replicasets]", 1)))
	replicaSet := "{apiVersion: apps/v1, kind: ReplicaSet, metadata: {name: web, namespace: shop}, spec: {replicas: 1}}"
	for _, tc := range []struct {
		name, binding, object string
		nsLabels              map[string]string
		want                  string
	}{
		{
			name:    "a binding without matchResources selects what its policy matches",
			binding: "metadata: {name: all}\nspec: {policyName: demo-policy.example.com, validationActions: [Deny]}",
			object:  deployment(1), nsLabels: map[string]string{}, want: "matched",
		},
		{
			name:    "the documentation's binding: namespaces labelled environment: test",
			binding: testBinding,
			object:  deployment(1), nsLabels: map[string]string{"environment": "test"}, want: "matched",
		},
		{
			name:    "... and not the others",
			binding: testBinding,
			object:  deployment(1), nsLabels: map[string]string{"environment": "prod"},
			want: "not matched: binding demo-binding-test.example.com spec.matchResources.namespaceSelector does not select namespace shop",
		},
		{
			name:    "... nor can tell of a namespace no input declares",
			binding: testBinding,
			object:  deployment(1), nsLabels: nil,
			want: "unknown: namespace shop is not among the inputs, so whether binding demo-binding-test.example.com spec.matchResources.namespaceSelector selects it is unknown",
		},
		{
			name: "objectSelector",
			binding: `metadata: {name: labelled}
spec:
  policyName: demo-policy.example.com
  validationActions: [Deny]
  matchResources:
    objectSelector:
      matchLabels: {app: api}`,
			object: deployment(1), nsLabels: map[string]string{},
			want: "not matched: binding labelled spec.matchResources.objectSelector does not select it",
		},
		{
			name: "resource rules narrow the policy's: Deployments only",
			binding: `metadata: {name: deployments}
spec:
  policyName: demo-policy.example.com
  validationActions: [Deny]
  matchResources:
    resourceRules:
    - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}`,
			object: replicaSet, nsLabels: map[string]string{},
			want: "not matched: binding deployments spec.matchResources does not match it",
		},
		{
			name: "excludeResourceRules",
			binding: `metadata: {name: not-web}
spec:
  policyName: demo-policy.example.com
  validationActions: [Deny]
  matchResources:
    excludeResourceRules:
    - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments], resourceNames: [web]}`,
			object: deployment(1), nsLabels: map[string]string{},
			want: "not matched: binding not-web spec.matchResources does not match it",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := request(t, tc.object, tc.nsLabels)
			if m := policy.MatchConstraints(r); !m.Matched {
				t.Fatalf("the policy does not match: %s", m.Why)
			}
			m := policy.MatchBinding(r, parseBinding(t, tc.binding))
			got := "matched"
			switch {
			case m.Unknown:
				got = "unknown: " + m.Why
			case !m.Matched:
				got = "not matched: " + m.Why
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestValidateBinding holds a binding to what the API server's validation
// requires of one.
func TestValidateBinding(t *testing.T) {
	for _, tc := range []struct{ spec, want string }{
		{"{policyName: p, validationActions: [Deny]}", ""},
		{"{policyName: p, validationActions: [Warn, Audit]}", ""},
		{"{validationActions: [Deny]}", "spec.policyName: Required value"},
		{"{policyName: p}", "spec.validationActions: Required value"},
		{"{policyName: p, validationActions: [Deny, Warn]}", `spec.validationActions: Invalid value: ["Deny","Warn"]: must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)`},
		{"{policyName: p, validationActions: [Deny, Deny]}", `spec.validationActions[1]: Duplicate value: "Deny"`},
		{"{policyName: p, validationActions: [Block]}", `spec.validationActions[0]: Unsupported value: "Block": supported values: "Audit", "Deny", "Warn"`},
		{"{policyName: p, validationActions: [Deny], paramRef: {name: a, selector: {}, parameterNotFoundAction: Deny}}", "spec.paramRef.name: Forbidden: name and selector are mutually exclusive"},
		{"{policyName: p, validationActions: [Deny], paramRef: {parameterNotFoundAction: Deny}}", "spec.paramRef: Required value: one of name or selector must be specified"},
		{"{policyName: p, validationActions: [Deny], paramRef: {name: a}}", "spec.paramRef.parameterNotFoundAction: Required value"},
		{"{policyName: p, validationActions: [Deny], matchResources: {namespaceSelector: {matchExpressions: [{key: a, operator: Among}]}}}", `spec.matchResources.namespaceSelector.matchExpressions[0].operator: Invalid value: "Among": not a valid selector operator`},
	} {
		var b admissionregistrationv1.ValidatingAdmissionPolicyBinding
		if err := yaml.UnmarshalStrict([]byte("spec: "+tc.spec), &b); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range ValidateBinding(&NewBinding(&b).vapb.Spec) {
			got = append(got, e.Error())
		}
		if diff := cmp.Diff(tc.want, strings.Join(got, "; ")); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.spec, diff)
		}
	}
}
