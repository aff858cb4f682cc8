// Package schematest holds plimsoll's published JSON Schemas (the
// repository's schema/ directory) to what they describe, for the tests of
// the packages that own it: it compiles a schema as a validator reads it,
// reads YAML as an editor's schema support sees it, and compares a schema's
// properties with the tagged fields of the Go type that reads or writes the
// document, so that a field added to one and not the other fails a test.
package schematest

import (
	"bytes"
	"encoding"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	yaml "go.yaml.in/yaml/v3"
)

// Document returns a schema file decoded, as the validator decodes it.
func Document(t testing.TB, file string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	m, ok := doc.(map[string]any)
	if !ok {
		t.Fatalf("%s: got a %T, want a JSON object", file, doc)
	}
	return m
}

// Compile compiles a schema file, checking it against its draft's
// metaschema, with formats asserted (an expires that is no date fails).
func Compile(t testing.TB, file string) *jsonschema.Schema {
	t.Helper()
	doc := Document(t, file)
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	id, _ := doc["$id"].(string)
	if id == "" {
		t.Fatalf("%s: no $id", file)
	}
	if err := c.AddResource(id, doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	s, err := c.Compile(id)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return s
}

// ValidateJSON validates a JSON document against a schema.
func ValidateJSON(s *jsonschema.Schema, data []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return s.Validate(inst)
}

// ValidateYAML validates a YAML document against a schema, as a YAML 1.2
// editor sees the document: a date is a string (yaml.v3 would make it a
// time), and an empty document is null.
func ValidateYAML(s *jsonschema.Schema, data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return err
	}
	var inst any
	if len(doc.Content) > 0 {
		var err error
		if inst, err = fromNode(doc.Content[0]); err != nil {
			return err
		}
	}
	return s.Validate(inst)
}

func fromNode(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.AliasNode:
		return fromNode(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := fromNode(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := fromNode(c)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return l, nil
	}
	if n.Tag == "!!timestamp" {
		return n.Value, nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// Mode says how a Go type maps onto its document.
type Mode struct {
	// Tag is the struct tag that names the fields: "json" or "yaml".
	Tag string
	// Required holds the schema's required lists to the fields that are
	// always written: those not omitted when empty. Documents plimsoll
	// writes have them; documents people write need none.
	Required bool
}

// Covers reports, as test errors, every difference between a schema and
// the Go type typ: a tagged field the schema's properties do not have, a
// property no field has, a field whose kind the property's type does not
// allow, and (with mode.Required) a required list that differs from the
// fields always written. It follows $ref, allOf, items and
// additionalProperties, as far down as the type goes.
func Covers(t testing.TB, doc map[string]any, typ reflect.Type, mode Mode) {
	t.Helper()
	w := walker{t: t, doc: doc, mode: mode}
	w.cover("", doc, typ)
}

type walker struct {
	t    testing.TB
	doc  map[string]any
	mode Mode
}

var textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()

func (w *walker) cover(path string, node map[string]any, typ reflect.Type) {
	w.t.Helper()
	node = w.resolve(path, node)
	if node == nil {
		return
	}
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if typ.Implements(textMarshaler) || reflect.PointerTo(typ).Implements(textMarshaler) {
		w.allowsType(path, node, "string")
		return
	}
	switch typ.Kind() {
	case reflect.Struct:
		w.allowsType(path, node, "object")
		w.coverStruct(path, node, typ)
	case reflect.Slice, reflect.Array:
		w.allowsType(path, node, "array")
		if items := w.child(path, node, "items"); items != nil {
			w.cover(path+"[]", items, typ.Elem())
		}
	case reflect.Map:
		w.allowsType(path, node, "object")
		if values := w.child(path, node, "additionalProperties"); values != nil {
			w.cover(path+"{}", values, typ.Elem())
		}
	case reflect.String:
		w.allowsType(path, node, "string")
	case reflect.Bool:
		w.allowsType(path, node, "boolean")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		w.allowsType(path, node, "integer")
	case reflect.Float32, reflect.Float64:
		w.allowsType(path, node, "number")
	default:
		w.t.Errorf("%s: Go type %s has no JSON Schema counterpart here", where(path), typ)
	}
}

func (w *walker) coverStruct(path string, node map[string]any, typ reflect.Type) {
	w.t.Helper()
	props, _ := node["properties"].(map[string]any)
	fields := map[string]reflect.Type{}
	var always []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get(w.mode.Tag), ",")
		if name == "-" {
			continue
		}
		if name == "" || f.Anonymous {
			w.t.Errorf("%s: field %s of %s has no %s name of its own", where(path), f.Name, typ, w.mode.Tag)
			continue
		}
		fields[name] = f.Type
		if !slices.Contains(strings.Split(opts, ","), "omitempty") {
			always = append(always, name)
		}
	}
	for _, name := range sortedKeys(fields) {
		p, ok := props[name].(map[string]any)
		if !ok {
			w.t.Errorf("%s.%s: field of %s is not in the schema's properties", where(path), name, typ)
			continue
		}
		w.cover(path+"."+name, p, fields[name])
	}
	for _, name := range sortedKeys(props) {
		if _, ok := fields[name]; !ok {
			w.t.Errorf("%s.%s: the schema has a property that no field of %s has", where(path), name, typ)
		}
	}
	if w.mode.Required {
		var required []string
		if list, ok := node["required"].([]any); ok {
			for _, r := range list {
				required = append(required, fmt.Sprint(r))
			}
		}
		sort.Strings(always)
		sort.Strings(required)
		if !slices.Equal(always, required) {
			w.t.Errorf("%s: schema requires %q, want the fields of %s always written, %q", where(path), required, typ, always)
		}
	}
}

// resolve follows a node's $ref and merges the schemas of its allOf into it.
func (w *walker) resolve(path string, node map[string]any) map[string]any {
	w.t.Helper()
	out := map[string]any{}
	for k, v := range node {
		if k != "$ref" && k != "allOf" {
			out[k] = v
		}
	}
	var parts []any
	if ref, ok := node["$ref"].(string); ok {
		parts = append(parts, map[string]any{"$ref": ref})
	}
	if all, ok := node["allOf"].([]any); ok {
		parts = append(parts, all...)
	}
	for _, p := range parts {
		sub, ok := p.(map[string]any)
		if !ok {
			w.t.Errorf("%s: allOf holds a %T, want a schema", where(path), p)
			return nil
		}
		if ref, ok := sub["$ref"].(string); ok {
			if sub = w.lookup(path, ref); sub == nil {
				return nil
			}
		}
		if sub = w.resolve(path, sub); sub == nil {
			return nil
		}
		for k, v := range sub {
			if _, set := out[k]; !set {
				out[k] = v
			}
		}
	}
	return out
}

// lookup finds a reference local to the document: #/definitions/name.
func (w *walker) lookup(path, ref string) map[string]any {
	w.t.Helper()
	if !strings.HasPrefix(ref, "#/") {
		w.t.Errorf("%s: $ref %q is not local to the document", where(path), ref)
		return nil
	}
	var node any = w.doc
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		m, ok := node.(map[string]any)
		if !ok {
			break
		}
		node = m[part]
	}
	m, ok := node.(map[string]any)
	if !ok {
		w.t.Errorf("%s: $ref %q does not name a schema in the document", where(path), ref)
		return nil
	}
	return m
}

func (w *walker) child(path string, node map[string]any, key string) map[string]any {
	w.t.Helper()
	c, ok := node[key].(map[string]any)
	if !ok {
		w.t.Errorf("%s: the schema gives no %s", where(path), key)
		return nil
	}
	return c
}

// allowsType reports a node whose type does not allow want.
func (w *walker) allowsType(path string, node map[string]any, want string) {
	w.t.Helper()
	var types []string
	switch v := node["type"].(type) {
	case string:
		types = []string{v}
	case []any:
		for _, x := range v {
			types = append(types, fmt.Sprint(x))
		}
	}
	if !slices.Contains(types, want) {
		w.t.Errorf("%s: schema type %q, want it to allow %q", where(path), types, want)
	}
}

func where(path string) string {
	if path == "" {
		return "(top)"
	}
	return strings.TrimPrefix(path, ".")
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
