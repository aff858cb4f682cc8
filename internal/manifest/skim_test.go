package manifest

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	yaml "go.yaml.in/yaml/v3"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// compareSkim parses a document as Parse does, skimmed, and whole, as the
// API server reads it, and describes how the two differ: in the objects,
// in the errors (line and message), or in a secret value that an error
// shows.
func compareSkim(doc document) string {
	src := inventory.Source{File: "f.yaml"}
	got, gotErrs := parseDocument(doc, src, nil)
	want, wantErrs := parseSkimmed(doc.text, doc.line, src, "")
	if g, w := errorTexts(Result{Errors: gotErrs}), errorTexts(Result{Errors: wantErrs}); !slices.Equal(g, w) {
		return fmt.Sprintf("errors differ:\n got %q\nwant %q", g, w)
	}
	// A custom resource may hold a NaN (.nan), which equals nothing. A
	// CRD's versions are the text skim cut on one side, their JSON on the
	// other: they must read the same.
	sameVersions := cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".CRDVersions" }, cmp.Comparer(func(a, b string) bool {
		var va, vb any
		return yaml.Unmarshal([]byte(a), &va) == nil && yaml.Unmarshal([]byte(b), &vb) == nil && cmp.Equal(va, vb)
	}))
	if !cmp.Equal(got, want, cmpopts.EquateNaNs(), sameVersions, cmp.Exporter(func(reflect.Type) bool { return true })) {
		return fmt.Sprintf("objects differ:\n got %s\nwant %s", ids(got), ids(want))
	}
	for _, e := range append(gotErrs, wantErrs...) {
		if v := shownSecret(doc.text, e.Error()); v != "" {
			return fmt.Sprintf("error %q shows the secret value %q", e, v)
		}
	}
	return ""
}

// shownSecret is a value under data, stringData or binaryData that msg
// shows, or "". Only values of 8 bytes or more that the document spells
// once are looked for: a shorter one, or one that is also a key, a name or
// another value, may be in a message for a reason of its own. A document
// the parser refuses has no values to look for; the parser's errors quote
// nothing.
func shownSecret(text []byte, msg string) string {
	var root yaml.Node
	if msg == "" || yaml.Unmarshal(text, &root) != nil {
		return ""
	}
	var found string
	var walk func(n *yaml.Node, secret bool)
	walk = func(n *yaml.Node, secret bool) {
		switch {
		case n.Kind == yaml.ScalarNode && secret && len(n.Value) >= 8 && bytes.Count(text, []byte(n.Value)) == 1 && strings.Contains(msg, n.Value):
			found = n.Value
		case n.Kind == yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], secret || secretValues[n.Content[i].Value])
			}
		default:
			for _, c := range n.Content {
				walk(c, secret)
			}
		}
	}
	walk(&root, false)
	return found
}

func TestShownSecret(t *testing.T) {
	doc := []byte("kind: Secret\ndata:\n  k: hunter2-s3cret\nstringData:\n  j: [other-s3cret]\n")
	for msg, want := range map[string]string{
		`cannot read "hunter2-s3cret"`:        "hunter2-s3cret",
		`cannot read "other-s3cret" as !!int`: "other-s3cret",
		`duplicate key "k"`:                   "",
	} {
		if got := shownSecret(doc, msg); got != want {
			t.Errorf("shownSecret(%q) = %q, want %q", msg, got, want)
		}
	}
}

// skimCases are documents that set the skimmed parse and the whole one
// apart before skim read all of a document, and documents in each layout
// it skims. TestSkimMatchesPlain reads them, and FuzzSkim starts from them.
var skimCases = []struct{ name, doc string }{
	// A quoted value goes on over lines, up to its closing quote: what
	// looks like metadata after it is part of it.
	{"a quoted value runs over the metadata after it", skimSecret + "data:\n  password: \"abc\nmetadata:\n  name: fake\n  namespace: kube-system\n  x: y\"\n"},
	{"a quoted text runs over the metadata after it", skimSecret + "stringData:\n  password: \"abc\nmetadata:\n  name: fake\n  namespace: kube-system\n  x: y\"\n"},
	{"a single-quoted value runs over the metadata after it", skimSecret + "stringData:\n  password: 'abc\nmetadata:\n  name: fake\n  x: y'\nmetadata:\n  name: real\n"},
	{"a quoted value runs over a key", skimSecret + "metadata:\n  name: s\nstringData:\n  password: 'abc\n  user: x'\n"},
	{"a multi-line quoted value", skimSecret + "metadata:\n  name: s\nstringData:\n  password: \"abc\\\n    def\\n\"\n  user: 'it''s\n\n    me'\n"},
	// The API server's decoder and kubectl refuse a duplicate key.
	{"a duplicate key in data", skimSecret + "metadata:\n  name: s\ndata:\n  k: dg==\n  k: dw==\n"},
	{"a duplicate key in stringData", skimSecret + "metadata:\n  name: s\nstringData:\n  password: hunter2-s3cret\n  \"password\": hunter3-s3cret\n"},
	{"a duplicate key in a ConfigMap", skimConfigMap + "data:\n  k: |\n    one\n  k: two\n"},
	{"a duplicate data", skimSecret + "metadata:\n  name: s\ndata:\n  k: dg==\ndata:\n  j: dg==\n"},
	// A tag that does not fit its value is refused, in block style as in
	// flow style.
	{"a tag that does not fit in stringData", skimSecret + "metadata:\n  name: s\nstringData:\n  password: !!int hunter2-s3cret\n"},
	{"a tag that does not fit in flow style", skimSecret + "metadata:\n  name: s\nstringData: {password: !!int hunter2-s3cret}\n"},
	// Values the API server refuses.
	{"a value that is not base64", skimSecret + "metadata:\n  name: s\ndata:\n  password: hunter2!\n"},
	{"a block value that is not base64", skimSecret + "metadata:\n  name: s\ndata:\n  password: |\n    aHVudGVy\n    Mg=\n"},
	{"a value that is a mapping", skimSecret + "metadata:\n  name: s\nstringData:\n  password:\n    nested: hunter2-s3cret\n"},
	{"a value that is a sequence", skimConfigMap + "data:\n  k:\n  - hunter2-s3cret\n"},
	{"a value that is a number", skimConfigMap + "data:\n  port: 8080\n"},
	{"values that are not a mapping", skimConfigMap + "binaryData:\n- aHVudGVyMg==\n"},
	// What the parser refuses in a part that skim would blank.
	{"an escape the parser refuses", skimSecret + "metadata:\n  name: s\nstringData:\n  password: \"a\\/b\"\n"},
	{"a tab for indentation", skimConfigMap + "data:\n  k: |\n    one\n\t\n"},
	{"a key that is data but for case", "apiVersion: v1\nkind: ConfigMap\ndata:\nDAtA: 0\n"},
	{"a field the kind does not have", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  labels:\n  - x\nstringData:\n  k: .nan\n"},
	{"a control character in a value", skimSecret + "metadata:\n  name: s\nstringData:\n  k: a\x01b\n"},
	{"a value indented less than the one before", skimConfigMap + "data:\n    k: |\n      one\n  j: two\n"},
	{"a CRD schema with a syntax error", skimCRD + "  versions: [v1\n  scope: Namespaced\n"},
	{"a CRD schema with a duplicate key", skimCRD + "  versions:\n  - name: v1\n    name: v2\n  scope: Namespaced\n"},
	{"a CRD schema with an anchor used outside it", skimCRD + "  versions:\n  - &v name: v1\n  scope: Namespaced\nstatus: *v\n"},
	// Layouts that skim blanks.
	{"a ConfigMap", skimConfigMap + "data:\n  k: v\n  q: \"x\" # c\n  big: |\n    line\n\n    # not a comment\n  folded: >-\n    a\n    b\n  empty:\nbinaryData:\n  b: AAA=\n  c: |\n    aHVudGVy\n    Mg==\n"},
	{"a Secret with CRLF line ends", "apiVersion: v1\r\nkind: Secret\r\nstringData:\r\n  password: hunter2\r\nmetadata:\r\n  name: s\r\ndata: {}\r\n"},
	{"a CRD", skimCRD + "  versions:\n  - name: v1\n    served: true\n    schema:\n      openAPIV3Schema:\n        description: 'Widget is a thing: it has\n          a size.'\n        type: object\n        properties:\n          spec:\n            description: |-\n              The spec.\n\n              # not a comment\n            properties:\n              size:\n                description: The size, which\n                  goes on over lines.\n                type: integer\n                enum: []\n              name:\n                description: \"A \\\"name\\\"\"\n            required:\n            - size\n            -\n              - nested\n  scope: Namespaced\n  conversion:\n    strategy: None\nstatus: {}\n"},
}

const (
	skimSecret    = "apiVersion: v1\nkind: Secret\n"
	skimConfigMap = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"
	skimCRD       = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  names:\n    kind: Widget\n    plural: widgets\n"
)

func TestSkimMatchesPlain(t *testing.T) {
	for _, tt := range skimCases {
		t.Run(tt.name, func(t *testing.T) {
			doc := document{[]byte(tt.doc), 1}
			if diff := compareSkim(doc) + compareValueKeys(doc); diff != "" {
				t.Error(diff)
			}
		})
	}
}

// FuzzSkim holds the skimmed parse to the whole one on any input: the same
// objects (as the checks see them: skim blanks only what inventory.New
// drops), the same errors at the same lines, and no error that shows a
// secret value. The keys of a ConfigMap's or a Secret's values, which skim
// reads to refuse duplicates, must be those the parser reads.
func FuzzSkim(f *testing.F) {
	for _, c := range skimCases {
		f.Add([]byte(c.doc))
	}
	f.Add([]byte(skimCases[len(skimCases)-1].doc + "---\n" + skimConfigMap + "data:\n  k: v\n---\n" + skimSecret + "metadata: {name: s}\ndata:\n  k: dg==\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for doc := range documents(data) {
			if diff := compareSkim(doc) + compareValueKeys(doc); diff != "" {
				t.Errorf("line %d: %s", doc.line, diff)
			}
		}
	})
}

// compareValueKeys describes how the keys of a ConfigMap's or a Secret's
// values that skim reads differ from those the parser reads: at the line
// and column of each key the parser reads, skim's readKey must read the
// same key.
func compareValueKeys(doc document) string {
	var r blockReader
	var root yaml.Node
	if !r.read(doc.text) || r.values == "" {
		return ""
	}
	if err := yaml.Unmarshal(doc.text, &root); err != nil {
		return fmt.Sprintf("skim read a document the parser refuses: %v", err)
	}
	lines := bytes.Split(doc.text, []byte("\n"))
	body := root.Content[0]
	for i := 0; i+1 < len(body.Content); i += 2 {
		field, values := body.Content[i], body.Content[i+1]
		if formatOf(r.values, field.Value) == anyValue || values.Kind != yaml.MappingNode {
			continue
		}
		for j := 0; j < len(values.Content); j += 2 {
			k := values.Content[j]
			// Keys of a block mapping follow spaces: the column is a byte
			// offset.
			l := bytes.TrimSuffix(lines[k.Line-1], []byte("\r"))
			if key, _, kind := readKey(l[k.Column-1:]); kind != isKey || string(key) != k.Value {
				return fmt.Sprintf("line %d: skim reads key %q, the parser %q", k.Line, key, k.Value)
			}
		}
	}
	return ""
}
