package policy

import (
	"os"
	"regexp"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestResourcesRelease fails when the embedded schemas are not of the
// release k8s.io/api is at in go.mod: go run ./hack/apischema brings them
// up to date.
func TestResourcesRelease(t *testing.T) {
	gomod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*k8s\.io/api (v0\.\S+)`).FindSubmatch(gomod)
	if m == nil {
		t.Fatal("go.mod does not require k8s.io/api")
	}
	if want := "v1" + strings.TrimPrefix(string(m[1]), "v0"); Builtin().Kubernetes != want {
		t.Errorf("the embedded schemas are of Kubernetes %s, k8s.io/api of %s: go run ./hack/apischema", Builtin().Kubernetes, want)
	}
}

func TestResources(t *testing.T) {
	rs := Builtin()
	for _, tt := range []struct {
		gvk        schema.GroupVersionKind
		resource   string
		namespaced bool
	}{
		{schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, "pods", true},
		{schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, "namespaces", false},
		{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, "deployments", true},
		{schema.GroupVersionKind{Group: "networking.k8s.io", Version: "v1", Kind: "IngressClass"}, "ingressclasses", false},
		{schema.GroupVersionKind{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"}, "horizontalpodautoscalers", true},
		{schema.GroupVersionKind{Group: "policy", Version: "v1", Kind: "PodDisruptionBudget"}, "poddisruptionbudgets", true},
	} {
		r, ok := rs.ForKind(tt.gvk)
		if !ok || r.Resource != tt.resource || r.Namespaced != tt.namespaced {
			t.Errorf("%v: got %+v (%v), want resource %s, namespaced %v", tt.gvk, r, ok, tt.resource, tt.namespaced)
		}
		kinds, err := rs.RESTMapper().KindsFor(r.GVR())
		if err != nil || len(kinds) != 1 || kinds[0] != tt.gvk {
			t.Errorf("RESTMapper: %v is %v (%v), want %v", r.GVR(), kinds, err, tt.gvk)
		}
	}
	rule := func(groups, versions, resources []string, ops ...admissionregistrationv1.OperationType) admissionregistrationv1.RuleWithOperations {
		return admissionregistrationv1.RuleWithOperations{Operations: ops, Rule: admissionregistrationv1.Rule{APIGroups: groups, APIVersions: versions, Resources: resources}}
	}
	kinds := func(rs []Resource) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Kind)
		}
		return out
	}
	for _, tt := range []struct {
		name string
		rule admissionregistrationv1.RuleWithOperations
		want string
	}{
		{"named", rule([]string{"apps"}, []string{"v1"}, []string{"deployments", "statefulsets"}, "CREATE"), "Deployment StatefulSet"},
		{"every resource of a group", rule([]string{"policy"}, []string{"*"}, []string{"*"}, "*"), "PodDisruptionBudget"},
		{"a subresource names none", rule([]string{"apps"}, []string{"v1"}, []string{"deployments/scale"}, "CREATE"), ""},
		{"every subresource names the resource too", rule([]string{"apps"}, []string{"v1"}, []string{"deployments/*"}, "CREATE"), "Deployment"},
		{"not for CREATE", rule([]string{"apps"}, []string{"v1"}, []string{"deployments"}, "DELETE"), ""},
	} {
		if got := strings.Join(kinds(rs.Matching(tt.rule, admissionregistrationv1.Create)), " "); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}
