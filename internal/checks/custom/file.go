package custom

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kjson "sigs.k8s.io/json"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/manifest"
)

// The apiVersion and kind of a custom check's document.
const (
	APIVersion = "plimsoll.dev/v1alpha1"
	Kind       = "Check"
)

// Document is a custom check as written: a ValidatingAdmissionPolicy whose
// name is the check's ID, with plimsoll's description of the check beside
// its spec.
type Document struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	// Check describes the check as every check is described.
	Check Description `json:"check"`
	// Spec is a ValidatingAdmissionPolicy's spec, read and evaluated as the
	// API server reads and evaluates one.
	Spec admissionregistrationv1.ValidatingAdmissionPolicySpec `json:"spec"`
}

// Description is what plimsoll says of a check besides its rules.
type Description struct {
	Title         string          `json:"title"`
	Layer         check.Layer     `json:"layer"`
	Severity      *check.Severity `json:"severity"`
	Rationale     string          `json:"rationale"`
	Remediation   string          `json:"remediation"`
	ChecklistItem string          `json:"checklistItem"`
	// Params is the file, relative to the check's, that holds the object
	// of spec.paramKind the expressions read as params.
	Params string `json:"params"`
}

// Error is a custom check file, or a document of one, that could not be
// loaded, at its file and line.
type Error = manifest.Error

// document is one document of a check file, decoded, with its node tree to
// find lines in.
type document struct {
	doc  Document
	node *yaml.Node
	line int
}

// readFile reads every document of a check file. A document that does not
// decode is an error at its line; the others are still read.
func readFile(path string) ([]document, []*Error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, []*Error{{File: path, Err: err}}
	}
	var out []document
	var errs []*Error
	if line, msg := eachDocument(data, func(n *yaml.Node) {
		d, err := decode(n)
		if err != nil {
			errs = append(errs, err.in(path))
			return
		}
		out = append(out, d)
	}); msg != "" {
		return out, append(errs, &Error{File: path, Line: line, Err: errors.New(msg)})
	}
	if len(out) == 0 && len(errs) == 0 {
		errs = append(errs, &Error{File: path, Err: errors.New("holds no check")})
	}
	return out, errs
}

// eachDocument calls fn with each document of a YAML stream that is not
// empty. A syntax error ends the stream (yaml.v3 cannot go on): its line
// and message are returned.
func eachDocument(data []byte, fn func(n *yaml.Node)) (line int, msg string) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); errors.Is(err, io.EOF) {
			return 0, ""
		} else if err != nil {
			return manifest.YAMLError(err)
		}
		if len(n.Content) == 0 || n.Content[0].Kind == yaml.ScalarNode && n.Content[0].Tag == "!!null" {
			continue // an empty document
		}
		fn(&n)
	}
}

// fieldError is an error at a field of a document.
type fieldError struct {
	node  *yaml.Node
	field string // a field path, as spec.validations[0].expression
	err   error
}

func (e *fieldError) in(file string) *Error {
	return &Error{File: file, Line: lineOf(e.node, e.field), Err: e.err}
}

// decode reads a document strictly: a field the format does not have is an
// error, as a misspelt field of an API object is to the API server.
func decode(n *yaml.Node) (document, *fieldError) {
	d := document{node: n, line: n.Line}
	var m map[string]any
	if err := n.Decode(&m); err != nil {
		return d, &fieldError{node: n, err: fmt.Errorf("not a mapping: %v", err)}
	}
	apiVersion, _ := m["apiVersion"].(string)
	kind, _ := m["kind"].(string)
	if apiVersion != APIVersion || kind != Kind {
		return d, &fieldError{node: n, field: "kind", err: fmt.Errorf("apiVersion %q, kind %q: a custom check is apiVersion %s, kind %s", apiVersion, kind, APIVersion, Kind)}
	}
	// Errors name the check when they can.
	meta, _ := m["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	wrap := func(err error) error {
		if name == "" {
			return err
		}
		return fmt.Errorf("check %s: %w", name, err)
	}
	data, err := json.Marshal(m)
	if err != nil {
		return d, &fieldError{node: n, err: err}
	}
	strict, err := kjson.UnmarshalStrict(data, &d.doc, kjson.DisallowUnknownFields)
	if err == nil && len(strict) > 0 {
		err = strict[0]
	}
	if err != nil {
		path := ""
		var f kjson.FieldError
		if errors.As(err, &f) {
			path = f.FieldPath()
		}
		// encoding/json names the field of a value of the wrong type by
		// the document's keys, and its type.
		var te *json.UnmarshalTypeError
		if jerr := json.Unmarshal(data, &Document{}); errors.As(jerr, &te) && te.Field != "" {
			path, err = te.Field, fmt.Errorf("%s is %s, want %s", te.Field, article(te.Value), shape(te.Type))
		}
		return d, &fieldError{node: n, field: path, err: wrap(err)}
	}
	return d, nil
}

// article puts "a" or "an" before a JSON value's kind (a string, an
// object).
func article(kind string) string {
	if strings.ContainsAny(kind[:1], "aeiou") {
		return "an " + kind
	}
	return "a " + kind
}

// shape says in words what a field of a Go type holds.
func shape(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int32, reflect.Int64:
		return "a whole number"
	}
	return "a string"
}

// lineOf finds the line of a field path (spec.validations[0].expression)
// in a document's node tree: the deepest field of it that the document
// has, or the document's first line.
func lineOf(n *yaml.Node, path string) int {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, part := range fieldParts(path) {
		next, at := child(n, part)
		if next == nil {
			break
		}
		n, line = next, at
	}
	return line
}

// fieldParts splits a field path into keys and list indexes.
func fieldParts(path string) []string {
	var parts []string
	for _, p := range strings.Split(path, ".") {
		name, rest, _ := strings.Cut(p, "[")
		if name != "" {
			parts = append(parts, name)
		}
		for rest != "" {
			idx, more, _ := strings.Cut(rest, "]")
			parts = append(parts, "["+idx+"]")
			rest = strings.TrimPrefix(more, "[")
		}
	}
	return parts
}

// child is a mapping's value at a key or a sequence's item at "[i]", and
// the line it is at.
func child(n *yaml.Node, part string) (*yaml.Node, int) {
	switch {
	case n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == part {
				return n.Content[i+1], n.Content[i].Line
			}
		}
	case n.Kind == yaml.SequenceNode && strings.HasPrefix(part, "["):
		i, err := strconv.Atoi(strings.Trim(part, "[]"))
		if err == nil && i >= 0 && i < len(n.Content) {
			return n.Content[i], n.Content[i].Line
		}
	}
	return nil, 0
}

// readParams reads the params object of a check, a file relative to the
// check's, which must be of the check's paramKind.
func readParams(checkFile, params string, kind *admissionregistrationv1.ParamKind) (*unstructured.Unstructured, error) {
	path := params
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(checkFile), params)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("check.params: %w", err)
	}
	var docs []map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			line, msg := manifest.YAMLError(err)
			return nil, fmt.Errorf("check.params: %s:%d: %s", path, line, msg)
		}
		if m != nil {
			docs = append(docs, m)
		}
	}
	if len(docs) != 1 {
		return nil, fmt.Errorf("check.params: %s holds %d objects, want the one object of spec.paramKind", path, len(docs))
	}
	// Round-trip through JSON: the numbers CEL reads are int64 and float64.
	data, err = json.Marshal(docs[0])
	if err != nil {
		return nil, fmt.Errorf("check.params: %s: %w", path, err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("check.params: %s: %w", path, err)
	}
	if u.GetAPIVersion() != kind.APIVersion || u.GetKind() != kind.Kind {
		return nil, fmt.Errorf("check.params: %s is a %s %s, and spec.paramKind asks for a %s %s", path, u.GetAPIVersion(), u.GetKind(), kind.APIVersion, kind.Kind)
	}
	return u, nil
}

// checkFiles are the check files a path names: the file itself, or a
// directory's *.yaml and *.yml files, not those of its subdirectories
// (which hold the checks' fixtures and params), sorted.
func checkFiles(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if !e.IsDir() && (ext == ".yaml" || ext == ".yml") && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, filepath.Join(path, e.Name()))
		}
	}
	slices.Sort(out)
	if len(out) == 0 {
		return nil, errors.New("a directory of no check files (*.yaml, *.yml)")
	}
	return out, nil
}
