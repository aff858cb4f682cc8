package manifest

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// TestTypedJSONMatchesMap decodes every document of the corpora (real
// manifests, their quirks, the examples and every check fixture) both
// ways: through JSON straight into the type, and through the map that
// inventory.New reads. Wherever the JSON path takes a document, the objects
// must be equal, down to every field of the typed object.
func TestTypedJSONMatchesMap(t *testing.T) {
	var viaJSON, viaMap int
	eachCorpusFile(t, func(file string, data []byte) {
		for doc := range documents(data) {
			took, diff := compareTypedJSON(doc, inventory.Source{File: file})
			switch {
			case diff != "":
				t.Errorf("%s:%d: %s", file, doc.line, diff)
			case took:
				viaJSON++
			default:
				viaMap++
			}
		}
	})
	// Most documents are built-in kinds: if the JSON path stopped taking
	// them, this test would compare nothing.
	if viaJSON < 2*viaMap {
		t.Errorf("got %d documents through JSON and %d through the map, want most through JSON", viaJSON, viaMap)
	}
	t.Logf("%d documents through JSON, %d through the map", viaJSON, viaMap)
}

// eachCorpusFile calls f with every file of the corpora plimsoll is tested
// on: real manifests, their quirks, the examples and every check fixture.
func eachCorpusFile(t *testing.T, f func(file string, data []byte)) {
	t.Helper()
	root := repoRoot(t)
	for _, dir := range []string{
		filepath.Join(root, "..", "shared", "corpus"),
		filepath.Join(root, "..", "shared", "corpus-quirks"),
		filepath.Join(root, "examples"),
		filepath.Join(root, "internal", "checks", "testdata"),
	} {
		files, _, err := expand(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			f(file, data)
		}
	}
}

// compareTypedJSON decodes a document through JSON and through the map.
// It reports whether the JSON path took it, and how the two objects differ
// when it did.
func compareTypedJSON(doc document, src inventory.Source) (took bool, diff string) {
	var root yaml.Node
	text, _ := skim(doc.text)
	if yaml.Unmarshal(text, &root) != nil || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return false, ""
	}
	body := root.Content[0]
	got := decodeTypedJSON(body, doc.line, src)
	if got == nil {
		return false, ""
	}
	c := converter{offset: doc.line - 1}
	m, err := c.value(body, false)
	if err != nil {
		return true, fmt.Sprintf("the JSON path took a document the map path refuses: %v", err)
	}
	src.Line = doc.line
	want, err := inventory.New(m.(map[string]any), src)
	if err != nil {
		return true, fmt.Sprintf("the JSON path took a document the map path refuses: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		return true, fmt.Sprintf("%s decodes differently through JSON:\n got %+v\n     %+v\nwant %+v\n     %+v", want.ID(), *got, got.Typed, *want, want.Typed)
	}
	return true, ""
}

// FuzzTypedJSON checks the JSON path against the map path on any input.
func FuzzTypedJSON(f *testing.F) {
	for _, seed := range []string{
		good,
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, labels: {a: ~}}\nspec:\n  replicas: 2.0\n  template:\n    spec:\n      containers: [{name: c, image: i, args: [null, 1, x]}]\n",
		"apiVersion: v1\nkind: Service\nmetadata: {name: s, generateName: x-}\nspec: {ports: [{port: 0x50, targetPort: http}]}\n",
		"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  ownerReferences: [{kind: ReplicaSet, name: r, controller: true}]\nspec:\n  containers:\n  - name: \"c\\u0001\"\n    resources: {limits: {cpu: 1.5}}\n",
		"{\"apiVersion\": \"rbac.authorization.k8s.io/v1\", \"kind\": \"ClusterRole\", \"metadata\": {\"name\": \"r\"}, \"rules\": [{\"verbs\": [\"*\"]}]}",
	} {
		f.Add([]byte(seed))
	}
	// Floats reach a custom unmarshaler (Quantity, IntOrString) as
	// encoding/json writes them on the map path: 1.0 is "1", 1e3 is "1000".
	f.Add([]byte("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    resources: {limits: {cpu: 1.0, memory: 1e3}, requests: {cpu: 1e-7, memory: 1e21}}\n"))
	f.Add([]byte("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  terminationGracePeriodSeconds: 3e1\n  containers: [{name: c, ports: [{containerPort: 80.0}]}]\n"))
	f.Add([]byte("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80, targetPort: 8080.0}, {port: 81, targetPort: -0.0}]}\n"))
	// An integer field takes a whole float's exact value on the map path,
	// which encoding/json's text is not from 2^53 on.
	f.Add([]byte("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {activeDeadlineSeconds: 4611686018427387904.0, containers: [{name: c}]}\n"))
	// A null owner reference is an empty one.
	f.Add([]byte("apiVersion: v1\nkind: Pod\nmetadata: {name: p, ownerReferences: [null]}\nspec: {containers: [{name: c}]}\n"))
	// FieldsV1 keeps its text, which differs by path; only the object's
	// own managedFields are dropped.
	f.Add([]byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, managedFields: [{fieldsV1: {b: 1, a: \"<\"}}]}\nspec:\n  template:\n    metadata:\n      managedFields: [{fieldsV1: {b: 1, a: \"<\"}}]\n"))
	// Field names are case-sensitive both ways, and a JSON-only spelling
	// (a key with a dot) is just a key.
	f.Add([]byte("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nSpec: {Type: NodePort}\nspec: {\"type\": ClusterIP, a.b: 1}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for doc := range documents(data) {
			if _, diff := compareTypedJSON(doc, inventory.Source{File: "f.yaml"}); diff != "" {
				t.Errorf("line %d: %s", doc.line, diff)
			}
		}
	})
}

// TestAppendJSONNotPlain lists what the JSON writer leaves to the map path.
func TestAppendJSONNotPlain(t *testing.T) {
	for name, doc := range map[string]string{
		"alias":                "a: &x 1\nb: *x\n",
		"merge key":            "base: &b {x: 1}\nc:\n  <<: *b\n",
		"duplicate key":        "a: 1\na: 2\n",
		"non-scalar key":       "? [a]\n: 1\n",
		"infinity":             "a: .inf\n",
		"not a number":         "a: .nan\n",
		"unreadable bool":      "a: !!bool maybe\n",
		"many keys":            manyKeys(maxScannedKeys + 1),
		"float from 2^53":      "a: 9007199254740992.0\n",
		"nested managedFields": "metadata: {managedFields: []}\nspec: {template: {metadata: {managedFields: []}}}\n",
	} {
		var root yaml.Node
		if err := yaml.Unmarshal([]byte(doc), &root); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if out, err := appendJSON(nil, root.Content[0]); err != errNotPlain {
			t.Errorf("%s: got %q, %v; want errNotPlain", name, out, err)
		}
	}
}

func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("k")
		b.WriteString(strings.Repeat("x", i))
		b.WriteString(": v\n")
	}
	return b.String()
}

// TestAppendJSON pins how scalars are written: as converter.value reads
// them, with floats as encoding/json writes them and strings escaped.
func TestAppendJSON(t *testing.T) {
	doc := "s: \"a\\\"b\\\\c\\n\\td\\u0001é\"\ni: 0x1F\nf: 2.0\ng: 1.5e3\nb: yes\nt: true\nn: ~\nq: '1'\nl: [1, two]\n"
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &root); err != nil {
		t.Fatal(err)
	}
	out, err := appendJSON(nil, root.Content[0])
	if err != nil {
		t.Fatal(err)
	}
	want := `{"s":"a\"b\\c\n\td\u0001é","i":31,"f":2,"g":1500,"b":"yes","t":true,"n":null,"q":"1","l":[1,"two"]}`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
}
