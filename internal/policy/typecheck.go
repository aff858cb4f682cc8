package policy

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/cel/openapi/resolver"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/openapi"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// TypeCheck type-checks the policy's validations and message expressions
// against the schemas of the built-in kinds its rules match (and of its
// paramKind), with the API server's own type checker, and returns what
// the API server would put in the policy's status.typeChecking: a warning
// for each expression that is wrong for some kind, naming the kind. As
// there, a warning changes nothing about how the policy is evaluated, and
// custom resources, whose schemas are their CustomResourceDefinitions',
// are not checked.
//
// An expression that calls plimsoll.objects, which that type checker does
// not know, gets a note that it is not type-checked instead.
func (p *Policy) TypeCheck() []admissionregistrationv1.ExpressionWarning {
	tc := &validating.TypeChecker{SchemaResolver: builtinSchemas(), RestMapper: Builtin().RESTMapper()}
	warnings := tc.Check(p.vap)
	if !p.objects {
		return warnings
	}
	var notes []string
	forEachExpression(&p.vap.Spec, func(f *field.Path, expression string) {
		if usesObjects(expression) {
			notes = append(notes, f.String())
		}
	})
	var out []admissionregistrationv1.ExpressionWarning
	for _, w := range warnings {
		if !slices.Contains(notes, w.FieldRef) {
			out = append(out, w)
		}
	}
	for _, f := range notes {
		out = append(out, admissionregistrationv1.ExpressionWarning{FieldRef: f, Warning: objectsNote()})
	}
	return out
}

// builtinSchemas resolves the schemas of the built-in kinds from the
// embedded OpenAPI documents, with the API server's own resolver reading
// them as it reads a server's /openapi/v3. Each kind's schema is resolved
// once.
var builtinSchemas = sync.OnceValue(func() resolver.SchemaResolver {
	return &cachedResolver{
		inner:   &resolver.ClientDiscoveryResolver{Discovery: offlineDiscovery{client: embeddedOpenAPI{}}},
		schemas: map[schema.GroupVersionKind]*spec.Schema{},
	}
})

// cachedResolver resolves each kind once; the type checker only reads the
// schemas it is given.
type cachedResolver struct {
	inner   resolver.SchemaResolver
	mu      sync.Mutex
	schemas map[schema.GroupVersionKind]*spec.Schema
}

func (c *cachedResolver) ResolveSchema(gvk schema.GroupVersionKind) (*spec.Schema, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.schemas[gvk]; ok {
		if s == nil {
			return nil, resolver.ErrSchemaNotFound
		}
		return s, nil
	}
	s, err := c.inner.ResolveSchema(gvk)
	if err != nil && !errors.Is(err, resolver.ErrSchemaNotFound) {
		return nil, err
	}
	c.schemas[gvk] = s
	return s, err
}

// offlineDiscovery is discovery that knows one thing, the embedded
// OpenAPI documents: all the API server's resolver asks of it. Any other
// question is a programming error.
type offlineDiscovery struct {
	discovery.DiscoveryInterface
	client openapi.Client
}

func (d offlineDiscovery) OpenAPIV3() openapi.Client { return d.client }

// embeddedOpenAPI serves the embedded documents by API path, as a server
// serves /openapi/v3: api/v1, apis/apps/v1, ...
type embeddedOpenAPI struct{}

func (embeddedOpenAPI) Paths() (map[string]openapi.GroupVersion, error) {
	files, err := fs.Glob(apischema, "apischema/*_openapi.json.gz")
	if err != nil {
		return nil, err
	}
	out := make(map[string]openapi.GroupVersion, len(files))
	for _, f := range files {
		// apis__apps__v1_openapi.json.gz is apis/apps/v1, as in
		// kubernetes' api/openapi-spec/v3.
		name := strings.TrimSuffix(strings.TrimPrefix(f, "apischema/"), "_openapi.json.gz")
		out[strings.ReplaceAll(name, "__", "/")] = embeddedGroupVersion(f)
	}
	return out, nil
}

// embeddedGroupVersion is one embedded document, by its file name.
type embeddedGroupVersion string

func (g embeddedGroupVersion) Schema(contentType string) ([]byte, error) {
	if contentType != "application/json" {
		return nil, errors.New("the embedded OpenAPI documents are JSON")
	}
	data, err := apischema.ReadFile(string(g))
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

func (g embeddedGroupVersion) ServerRelativeURL() string { return string(g) }
