package manifest

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structurallisttype "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

// The custom resource rules of api-server-accepts: what kube-apiserver does
// with a custom resource it is asked to create, under strict field
// validation (kubectl's default), when the CustomResourceDefinition of its
// kind is among the inputs. The steps are those of
// k8s.io/apiextensions-apiserver's request handler and strategy
// (pkg/apiserver/customresource_handler.go and
// pkg/registry/customresource), in their order, and each calls that
// module's own packages, so the field paths and the wording are the API
// server's:
//
//   - a version the CRD does not serve is not found;
//   - decoding prunes what the schema does not know (unless
//     x-kubernetes-preserve-unknown-fields keeps it), and strict field
//     validation refuses the request for each such field, before anything
//     is validated;
//   - the schema's defaults are set, and with a status subresource the
//     status is dropped;
//   - then the schema validates the object (types, required fields, enums,
//     patterns, bounds, formats), with the embedded objects' metadata, the
//     list types' uniqueness, the scale subresource's replicas, and, unless
//     one of those errors blocks them, the x-kubernetes-validations CEL
//     rules, under the API server's cost limits.
//
// A CRD's validators are built once per version, and only for the versions
// custom resources among the inputs are written in: compiling the CEL rules
// of a large CRD takes milliseconds, parsing its schemas more.

// crdKey is the kind key of CustomResourceDefinitions.
const crdKey = "CustomResourceDefinition.apiextensions.k8s.io"

// A crd is a CustomResourceDefinition among the inputs that defines a kind.
type crd struct {
	obj        *inventory.Object
	namespaced bool

	once     sync.Once
	versions map[string]*crdVersion // by name
	order    []string               // the served versions, as the CRD lists them
	err      error
}

// A crdVersion is one served version of a CRD, with its validators, built
// on first use from its content as parsed, which is dropped then.
type crdVersion struct {
	raw  map[string]any
	once sync.Once
	v    *crValidator
	err  error
}

// crValidator validates custom resources of one version of a CRD.
type crValidator struct {
	structural *structuralschema.Structural
	schema     apiservervalidation.SchemaValidator
	cel        *cel.Validator // nil without x-kubernetes-validations
	status     bool           // the status subresource is on: create drops status
	scale      *apiextensionsv1.CustomResourceSubresourceScale
	// outcomes holds what validate returned, by the hash of the content
	// validated without its namespace, which validation does not read: a
	// custom resource declared in several namespaces alike (a release
	// rendered for each environment) is validated once.
	outcomes sync.Map // [sha256.Size]byte -> *crOutcome
}

// crOutcome is what validate returns.
type crOutcome struct {
	meta    error // metadata that does not fit ObjectMeta
	unknown []string
	errs    field.ErrorList
}

// crds maps the group and kind of every apiextensions.k8s.io/v1
// CustomResourceDefinition among the inputs to it. Of two that define the
// same kind, the one named as the API server requires (plural.group) is
// taken, or else the first. The map is built once per inventory.
func crds(inv *inventory.Inventory) map[schema.GroupKind]*crd {
	return inventory.Memo(inv, "checks/manifest.crds", func(inv *inventory.Inventory) map[schema.GroupKind]*crd {
		out := map[schema.GroupKind]*crd{}
		for _, o := range inv.OfKind(crdKey) {
			if o.APIVersion != "apiextensions.k8s.io/v1" {
				continue // v1beta1 is served no more: api-removed reports it
			}
			gk := schema.GroupKind{Group: o.FieldString("spec", "group"), Kind: o.FieldString("spec", "names", "kind")}
			if prev, ok := out[gk]; ok && prev.obj.Name == o.FieldString("spec", "names", "plural")+"."+gk.Group {
				continue
			}
			out[gk] = &crd{obj: o, namespaced: o.FieldString("spec", "scope") != "Cluster"}
		}
		return out
	})
}

// customResourceRun is api-server-accepts's Run on a custom resource,
// whose metadata's errors are metaErrs: the API server refuses it when its
// CRD does not serve its version, when it has a field the schema does not
// know (strict field validation refuses the request before anything is
// validated), or for its metadata and what its schema and rules say. Its
// CRD must be among the inputs for any of that but the metadata to be
// known.
func customResourceRun(o *inventory.Object, inv *inventory.Inventory, metaErrs field.ErrorList) []check.Finding {
	c := crds(inv)[o.GroupKind()]
	if c == nil {
		if len(metaErrs) > 0 {
			return refusals(metaErrs)
		}
		return []check.Finding{check.NotAssessedf("no CustomResourceDefinition among the inputs defines %s, so its schema is unknown", o.KindKey())}
	}
	if !c.namespaced {
		// The API server clears the namespace of a cluster-scoped object.
		metaErrs = slices.DeleteFunc(metaErrs, func(e *field.Error) bool { return e.Field == "metadata.namespace" })
	}
	v, served, err := c.validator(o.APIVersion)
	switch {
	case err != nil:
		return []check.Finding{check.NotAssessedf("the schema of CustomResourceDefinition %s cannot be read: %v", c.obj.Name, err)}
	case v == nil:
		return []check.Finding{check.Failf("apiVersion", "the API server refuses it: no matches for kind %q in version %q: CustomResourceDefinition %s serves %s", o.Kind, o.APIVersion, c.obj.Name, served)}
	}
	res := v.outcome(o.Content)
	if res.meta != nil {
		gv, _ := schema.ParseGroupVersion(o.APIVersion)
		return []check.Finding{check.Failf("metadata", "the API server refuses it: %s in version %q cannot be handled as a %s: %v", o.Kind, gv.Version, o.Kind, res.meta)}
	}
	if len(res.unknown) > 0 {
		out := make([]check.Finding, 0, len(res.unknown))
		for _, p := range res.unknown {
			out = append(out, check.Failf(p, "the API server refuses it: strict decoding error: unknown field %q", p))
		}
		return out
	}
	return refusals(append(metaErrs, res.errs...))
}

// outcome validates content, or returns the outcome of content that
// differs from it only in its namespace.
func (v *crValidator) outcome(content map[string]any) *crOutcome {
	key, ok := outcomeKey(content)
	if ok {
		if res, seen := v.outcomes.Load(key); seen {
			return res.(*crOutcome)
		}
	}
	res := v.validate(content)
	if ok {
		v.outcomes.Store(key, res)
	}
	return res
}

// outcomeKey is the hash of content without its namespace (when that is a
// string, as the API server reads it), or false when content has no JSON.
func outcomeKey(content map[string]any) ([sha256.Size]byte, bool) {
	if meta, _ := content["metadata"].(map[string]any); meta != nil {
		if _, isString := meta["namespace"].(string); isString {
			content, meta = maps.Clone(content), maps.Clone(meta)
			delete(meta, "namespace")
			content["metadata"] = meta
		}
	}
	data, err := json.Marshal(content)
	if err != nil {
		return [sha256.Size]byte{}, false
	}
	return sha256.Sum256(data), true
}

// validator returns the validator of the version of apiVersion, building
// it on first use, or nil and the versions the CRD serves when it does not
// serve that one.
func (c *crd) validator(apiVersion string) (*crValidator, string, error) {
	c.once.Do(c.decode)
	if c.err != nil {
		return nil, "", c.err
	}
	gv, _ := schema.ParseGroupVersion(apiVersion)
	v := c.versions[gv.Version]
	if v == nil {
		served := make([]string, len(c.order))
		for i, name := range c.order {
			served[i] = gv.Group + "/" + name
		}
		if len(served) == 0 {
			return nil, "no version", nil
		}
		return nil, strings.Join(served, ", "), nil
	}
	v.once.Do(func() {
		var def apiextensionsv1.CustomResourceDefinitionVersion
		data, err := json.Marshal(v.raw)
		if v.err = errors.Join(err, json.Unmarshal(data, &def)); v.err == nil {
			v.v, v.err = newCRValidator(def)
		}
		v.raw = nil
	})
	return v.v, "", v.err
}

// decode parses the CRD's spec.versions, kept as text
// (inventory.Object.CRDVersions), as the manifest reader parses YAML.
func (c *crd) decode() {
	if c.obj.CRDVersions == "" {
		c.err = errors.New("it lists no versions")
		return
	}
	var spec struct {
		Versions []map[string]any `yaml:"versions"`
	}
	if c.err = yaml.Unmarshal([]byte(c.obj.CRDVersions), &spec); c.err != nil {
		return
	}
	c.versions = map[string]*crdVersion{}
	for _, raw := range spec.Versions {
		name, _ := raw["name"].(string)
		if served, _ := raw["served"].(bool); served {
			c.versions[name] = &crdVersion{raw: raw}
			c.order = append(c.order, name)
		}
	}
}

// newCRValidator builds what the API server builds for a served version of
// a CRD (customresource_handler.go's getOrCreateServingInfoFor).
func newCRValidator(def apiextensionsv1.CustomResourceDefinitionVersion) (*crValidator, error) {
	v := &crValidator{}
	if sub := def.Subresources; sub != nil {
		v.status, v.scale = sub.Status != nil, sub.Scale
	}
	if def.Schema == nil || def.Schema.OpenAPIV3Schema == nil {
		return nil, fmt.Errorf("version %s has no schema, which apiextensions.k8s.io/v1 requires", def.Name)
	}
	var internal apiextensions.CustomResourceValidation
	if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(def.Schema, &internal, nil); err != nil {
		return nil, err
	}
	var err error
	if v.schema, _, err = apiservervalidation.NewSchemaValidator(internal.OpenAPIV3Schema); err != nil {
		return nil, err
	}
	s, err := structuralschema.NewStructural(internal.OpenAPIV3Schema)
	if err != nil {
		return nil, fmt.Errorf("version %s: the schema is not structural: %w", def.Name, err)
	}
	// The API server prunes the defaults of a copy, as it shares the
	// schema with its cache of CRDs; this one is used by nothing else.
	if err := structuraldefaulting.PruneDefaults(s); err != nil {
		return nil, err
	}
	v.structural = s
	v.cel = cel.NewValidator(s, true, celconfig.PerCallLimit)
	return v, nil
}

// validate returns what the API server refuses a custom resource for, its
// content as declared: metadata it cannot decode, the fields its schema
// does not know, or else the errors of its validation. content is not
// changed.
func (v *crValidator) validate(content map[string]any) *crOutcome {
	obj := runtime.DeepCopyJSON(content)
	unknown, err := v.decode(obj)
	if err != nil || len(unknown) > 0 {
		return &crOutcome{meta: err, unknown: unknown}
	}
	structuraldefaulting.Default(obj, v.structural)
	if v.status {
		delete(obj, "status")
	}
	ctx := context.Background()
	errs := apiservervalidation.ValidateCustomResource(nil, obj, v.schema)
	errs = append(errs, v.scaleErrors(obj)...)
	errs = append(errs, schemaobjectmeta.Validate(ctx, nil, obj, v.structural, false)...)
	errs = append(errs, structurallisttype.ValidateListSetsAndMaps(nil, v.structural, obj)...)
	if v.cel != nil {
		if blocked := blocking(errs); blocked != nil {
			return &crOutcome{errs: append(errs, blocked)}
		}
		celErrs, _ := v.cel.Validate(ctx, nil, v.structural, obj, nil, celconfig.RuntimeCELCostBudget)
		errs = append(errs, celErrs...)
	}
	return &crOutcome{errs: errs}
}

// decode does to obj what decoding does to a request's object
// (unstructuredSchemaCoercer.apply): its metadata is read as ObjectMeta,
// and what the schema does not know is pruned. It returns the paths of the
// fields pruned, which strict field validation refuses the request for.
// The metadata is not written back as ObjectMeta writes it: that drops
// only the unknown fields, which end the validation here, and validation
// reads no more of it than its name. An error is metadata that does not
// fit ObjectMeta, which the API server cannot decode.
func (v *crValidator) decode(obj map[string]any) ([]string, error) {
	_, _, unknown, err := schemaobjectmeta.GetObjectMetaWithOptions(obj, schemaobjectmeta.ObjectMetaOptions{ReturnUnknownFieldPaths: true})
	if err != nil {
		return nil, err
	}
	unknown = append(unknown, structuralpruning.PruneWithOptions(obj, v.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})...)
	structuraldefaulting.PruneNonNullableNullsWithoutDefaults(obj, v.structural)
	if err, paths := schemaobjectmeta.CoerceWithOptions(nil, obj, v.structural, false, schemaobjectmeta.CoerceOptions{ReturnUnknownFieldPaths: true}); err == nil {
		unknown = append(unknown, paths...)
	}
	slices.Sort(unknown)
	return slices.Compact(unknown), nil
}

// scaleErrors mirrors customResourceValidator's ValidateScaleSpec and
// ValidateScaleStatus: the replicas a scale subresource reads are integers
// that fit an int32.
func (v *crValidator) scaleErrors(obj map[string]any) field.ErrorList {
	if v.scale == nil {
		return nil
	}
	var errs field.ErrorList
	for _, p := range []string{v.scale.SpecReplicasPath, v.scale.StatusReplicasPath} {
		n, _, err := unstructured.NestedInt64(obj, strings.Split(strings.TrimPrefix(p, "."), ".")...)
		switch {
		case err != nil:
			errs = append(errs, field.Invalid(field.NewPath(p), n, err.Error()))
		case n < 0:
			errs = append(errs, field.Invalid(field.NewPath(p), n, "should be a non-negative integer"))
		case n > math.MaxInt32:
			errs = append(errs, field.Invalid(field.NewPath(p), n, fmt.Sprintf("should be less than or equal to %v", math.MaxInt32)))
		}
	}
	return errs
}

// blocking mirrors the strategy's hasBlockingErr: after an error of these
// types the CEL rules are not evaluated, and the API server says so.
func blocking(errs field.ErrorList) *field.Error {
	for _, err := range errs {
		switch err.Type {
		case field.ErrorTypeNotSupported, field.ErrorTypeRequired, field.ErrorTypeTooLong, field.ErrorTypeTooMany, field.ErrorTypeTypeInvalid:
			return field.Invalid(nil, nil, "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation")
		}
	}
	return nil
}
