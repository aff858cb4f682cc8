package policy

import (
	"embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/kubernetes/scheme"
)

// apischema holds what kube-apiserver publishes at /openapi/v3 for its
// built-in group versions, at the release k8s.io/api is of: the schemas,
// without descriptions, and the resource table read from the paths.
// hack/apischema writes it.
//
//go:embed apischema/*.gz apischema/resources.json
var apischema embed.FS

// Resource is a resource a built-in group version serves.
type Resource struct {
	Group      string `json:"group"`
	Version    string `json:"version"`
	Resource   string `json:"resource"`
	Kind       string `json:"kind"`
	Namespaced bool   `json:"namespaced"`
}

// GVR is the resource's group, version and resource.
func (r Resource) GVR() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: r.Group, Version: r.Version, Resource: r.Resource}
}

// GVK is the kind the resource holds, at its group and version.
func (r Resource) GVK() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind}
}

// Resources are the resources of the built-in APIs of one Kubernetes
// release, with what the API server's matching and type checking need of
// them: a RESTMapper and the resources each is equivalent to (the same
// group and resource at another version).
type Resources struct {
	// Kubernetes is the release, as v1.37.2.
	Kubernetes string
	all        []Resource
	byGVK      map[schema.GroupVersionKind]Resource
	mapper     *meta.DefaultRESTMapper
	interfaces admission.ObjectInterfaces
}

// Builtin returns the resources of the built-in APIs, read once from the
// embedded table.
var Builtin = sync.OnceValue(func() *Resources {
	rs, err := readResources()
	if err != nil {
		panic(fmt.Sprintf("policy: the embedded resource table: %v", err)) // fixed at build time
	}
	return rs
})

func readResources() (*Resources, error) {
	data, err := apischema.ReadFile("apischema/resources.json")
	if err != nil {
		return nil, err
	}
	var table struct {
		Kubernetes string     `json:"kubernetes"`
		Resources  []Resource `json:"resources"`
	}
	if err := json.Unmarshal(data, &table); err != nil {
		return nil, err
	}
	rs := &Resources{Kubernetes: table.Kubernetes, all: table.Resources, byGVK: map[schema.GroupVersionKind]Resource{}}
	var gvs []schema.GroupVersion
	equivalents := runtime.NewEquivalentResourceRegistry()
	for _, r := range table.Resources {
		if gv := r.GVR().GroupVersion(); !slices.Contains(gvs, gv) {
			gvs = append(gvs, gv)
		}
	}
	rs.mapper = meta.NewDefaultRESTMapper(gvs)
	for _, r := range table.Resources {
		scope := meta.RESTScopeRoot
		if r.Namespaced {
			scope = meta.RESTScopeNamespace
		}
		gvk := r.GVK()
		// The first resource of a kind is its own (pods, not bindings'
		// Binding in another sense); later ones are aliases.
		if _, dup := rs.byGVK[gvk]; !dup {
			rs.byGVK[gvk] = r
		}
		rs.mapper.AddSpecific(gvk, r.GVR(), gvk.GroupVersion().WithResource(singular(r.Kind)), scope)
		equivalents.RegisterKindFor(r.GVR(), "", gvk)
	}
	rs.interfaces = &admission.RuntimeObjectInterfaces{
		ObjectCreater: scheme.Scheme, ObjectTyper: scheme.Scheme, ObjectDefaulter: scheme.Scheme, ObjectConvertor: scheme.Scheme,
		EquivalentResourceMapper: equivalents,
	}
	return rs, nil
}

// singular is a kind's singular resource name, as the API server's
// discovery gives it.
func singular(kind string) string {
	b := []byte(kind)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// All returns every resource, sorted by group, version and resource.
func (rs *Resources) All() []Resource { return rs.all }

// ForKind returns the resource that holds a kind at a group version.
func (rs *Resources) ForKind(gvk schema.GroupVersionKind) (Resource, bool) {
	r, ok := rs.byGVK[gvk]
	return r, ok
}

// RESTMapper maps the built-in resources to their kinds and back.
func (rs *Resources) RESTMapper() meta.RESTMapper { return rs.mapper }

// Matching returns the built-in resources a rule names for an operation,
// wildcards expanded; subresources name none (plimsoll judges objects, not
// their subresources). Scope is left to the matching of each request.
func (rs *Resources) Matching(rule admissionregistrationv1.RuleWithOperations, op admissionregistrationv1.OperationType) []Resource {
	if !slices.Contains(rule.Operations, op) && !slices.Contains(rule.Operations, admissionregistrationv1.OperationAll) {
		return nil
	}
	var out []Resource
	for _, r := range rs.all {
		if anyOf(rule.APIGroups, r.Group) && anyOf(rule.APIVersions, r.Version) && namesResource(rule.Resources, r.Resource) {
			out = append(out, r)
		}
	}
	return out
}

// namesResource reports whether a rule's resources name a resource itself,
// as the API server's rule matcher reads them: "pods", "pods/*", "*" and
// "*/*" do; "pods/status" names a subresource.
func namesResource(resources []string, resource string) bool {
	for _, rs := range resources {
		res, sub, _ := strings.Cut(rs, "/")
		if (res == "*" || res == resource) && (sub == "" || sub == "*") {
			return true
		}
	}
	return false
}

// anyOf reports whether a rule's list names s, or everything.
func anyOf(list []string, s string) bool {
	return slices.Contains(list, "*") || slices.Contains(list, s)
}
