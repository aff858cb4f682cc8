package export_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/util/yaml"

	"github.com/plimsoll/plimsoll/internal/checks"
	"github.com/plimsoll/plimsoll/internal/checks/custom"
	"github.com/plimsoll/plimsoll/internal/export"
	"github.com/plimsoll/plimsoll/internal/policy"
)

// TestBuiltinPoliciesCompile holds every exportable check's policy to what
// the API server holds a policy to: its validation, every expression
// compiling in the environment of new policies, and no type-checking
// warning against the kinds it matches.
func TestBuiltinPoliciesCompile(t *testing.T) {
	n := 0
	for _, c := range checks.All() {
		if ok, _ := export.Exportable(c); !ok {
			continue
		}
		n++
		t.Run(c.ID, func(t *testing.T) {
			p, err := export.Builtin(c, export.Options{Action: admissionregistrationv1.Deny, ExcludeNamespaces: []string{"kube-system"}, Version: "v1.2.3"})
			if err != nil {
				t.Fatal(err)
			}
			spec := p.Policy.Spec.DeepCopy()
			policy.Default(spec)
			if errs := policy.Validate(spec); len(errs) > 0 {
				t.Errorf("the API server would refuse the policy: %v", errs.ToAggregate())
			}
			compiled := policy.Compile(p.Policy)
			if errs := compiled.CompileErrors(); len(errs) > 0 {
				t.Errorf("does not compile: %v", errs.ToAggregate())
			}
			for _, w := range compiled.TypeCheck() {
				t.Errorf("type checking: %s: %s", w.FieldRef, w.Warning)
			}
			// The policy matches exactly the kinds the check applies to.
			var kinds []string
			for _, r := range spec.MatchConstraints.ResourceRules {
				for _, res := range policy.Builtin().Matching(r.RuleWithOperations, admissionregistrationv1.Create) {
					kinds = append(kinds, res.Kind)
				}
			}
			slices.Sort(kinds)
			want := slices.Sorted(slices.Values(c.Kinds))
			if !slices.Equal(kinds, want) {
				t.Errorf("policy matches kinds %v, want the check's %v", kinds, want)
			}
			if p.Policy.Name != "plimsoll-"+c.ID || p.Binding.Spec.PolicyName != p.Policy.Name {
				t.Errorf("names: policy %q, binding's policy %q, want plimsoll-%s", p.Policy.Name, p.Binding.Spec.PolicyName, c.ID)
			}
			if got := p.Binding.Spec.ValidationActions; !slices.Equal(got, []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}) {
				t.Errorf("validationActions %v, want [Deny]", got)
			}
		})
	}
	if n == 0 {
		t.Fatal("no built-in check is exportable")
	}
}

// TestNotExportableSaysWhy: a check without CEL data is refused, with the
// reason.
func TestNotExportableSaysWhy(t *testing.T) {
	reg := checks.Registry()
	for _, id := range []string{"pss-baseline", "pdb-coverage", "runtime-pods-ready"} {
		c := reg.Get(id)
		if c == nil {
			t.Fatalf("no check %s", id)
		}
		ok, why := export.Exportable(c)
		if ok || why == "" {
			t.Errorf("%s: exportable %v (%q), want not, with a reason", id, ok, why)
		}
		if _, err := export.Builtin(c, export.Options{}); err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("%s: Builtin error %v, want one saying %q", id, err, why)
		}
	}
}

// TestCustomPolicies exports the custom checks of policies/ as
// themselves, the params object included, and the stream decodes back
// into the objects written.
func TestCustomPolicies(t *testing.T) {
	set := custom.Load([]string{"../../policies"}, func(string) bool { return false })
	if len(set.Errors) > 0 {
		t.Fatal(set.Errors[0])
	}
	var out []*export.Policy
	for _, c := range set.Checks {
		p, err := export.Custom(c, export.Options{ParamsNamespace: "house", ExcludeNamespaces: []string{"kube-system"}})
		if len(c.Objects()) > 0 {
			// It lists other objects, which the API server cannot.
			if err == nil || !strings.Contains(err.Error(), "it lists other objects with plimsoll.objects") {
				t.Errorf("%s: got error %v, want it refused for calling plimsoll.objects", c.ID, err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if got, want := p.Policy.Spec.Validations, c.Policy.Spec().Validations; !slices.EqualFunc(got, want, func(a, b admissionregistrationv1.Validation) bool { return a.Expression == b.Expression }) {
			t.Errorf("%s: validations %v, want the check's own %v", c.ID, got, want)
		}
		out = append(out, p)
	}
	mem := set.Get("house-memory-limit")
	if mem == nil {
		t.Fatal("no house-memory-limit in policies/")
	}
	var buf bytes.Buffer
	if err := export.Write(&buf, "test", out); err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewYAMLOrJSONDecoder(&buf, 4096)
	var kinds []string
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			break
		}
		if len(m) == 0 {
			continue // the header, a comment
		}
		kinds = append(kinds, m["kind"].(string))
		if m["kind"] == "ValidatingAdmissionPolicyBinding" && m["metadata"].(map[string]any)["name"] == "plimsoll-house-memory-limit" {
			ref := m["spec"].(map[string]any)["paramRef"].(map[string]any)
			if ref["name"] != "house-memory-limit" || ref["namespace"] != "house" || ref["parameterNotFoundAction"] != "Deny" {
				t.Errorf("paramRef %v, want house-memory-limit in house, Deny when it is missing", ref)
			}
		}
	}
	want := []string{"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "ConfigMap", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}
	if !slices.Equal(kinds, want) {
		t.Errorf("stream kinds %v, want %v", kinds, want)
	}
}
