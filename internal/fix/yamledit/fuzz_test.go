package yamledit

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"

	"github.com/plimsoll/plimsoll/internal/fix"
)

// fuzzSets are the sets FuzzApply makes in every object of its input: the
// typical fixes, which replace, insert, merge and append.
var fuzzSets = []fix.Set{
	set(path("apiVersion"), "apps/v1"),
	set(path("spec.replicas"), 2),
	set(path("metadata.labels", "pod-security.kubernetes.io/enforce"), "restricted"),
	set(path("spec.template.spec.containers[name=web].securityContext"), map[string]any{
		"allowPrivilegeEscalation": false,
		"capabilities":             map[string]any{"drop": []any{"ALL"}},
	}),
	set(path("spec.template.spec.containers[0].image"), "registry.example/web:2"),
	set(path("spec.template.spec.topologySpreadConstraints"), zoneSpread),
}

// FuzzApply checks that for any input Apply either refuses or returns a
// file that parses, holds every set's value, is otherwise what the input
// was (compared with the set paths removed from both), and keeps every
// comment of the input. The checks are the test's own, not verify's.
func FuzzApply(f *testing.F) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "in", "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range inputs {
		src, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	for _, seed := range []string{
		"kind: Deployment\nspec:\n  replicas: 1\n",
		"kind: Deployment\nspec: {replicas: 1, template: {spec: {containers: [{name: web}]}}}\n",
		"kind: Deployment\nmetadata:\n  labels: &l {a: b}\nspec:\n  selector: *l\n",
		"kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: x # old\n",
		"kind: A\r\nmetadata:\r\n  name: a\r\n---\r\nkind: B\r\nspec:\r\n  replicas: '1'\r\n...\r\n",
		"kind: A\nmetadata:\n  labels:\nspec:\n  replicas: null\n",
		"kind: A\nmetadata:\n  annotations:\n    a: |\n      text\n\n    b: >-\n      more\n# end",
		"apiVersion: v1\nkind: List\nitems:\n- kind: A\n  spec: {}\n- kind: B\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		docs, err := parseDocuments(src)
		if err != nil {
			if _, err := Apply(src, []Edit{{Line: 1, Sets: fuzzSets}}); err == nil {
				t.Fatal("got no error for a file that does not parse")
			}
			return
		}
		var edits []Edit
		for _, line := range linesOfObjects(docs) {
			edits = append(edits, Edit{Line: line, Sets: fuzzSets})
		}
		out, err := Apply(src, edits)
		if err != nil {
			return
		}
		after, err := parseDocuments(out)
		if err != nil {
			t.Fatalf("got a result that does not parse (%v):\n%s", err, out)
		}
		if len(after) != len(docs) {
			t.Fatalf("got %d documents, want %d:\n%s", len(after), len(docs), out)
		}
		before, err := decodeAll(docs)
		if err != nil {
			t.Fatalf("got no error for a file that does not decode: %v", err)
		}
		got, err := decodeAll(after)
		if err != nil {
			t.Fatalf("got a result that does not decode (%v):\n%s", err, out)
		}
		objsBefore, objsAfter := objectsOf(docs, before), objectsOf(after, got)
		if len(objsBefore) != len(objsAfter) {
			t.Fatalf("got %d objects, want %d:\n%s", len(objsAfter), len(objsBefore), out)
		}
		for i := range objsBefore {
			for _, s := range fuzzSets {
				v, err := normalize(s.Value)
				if err != nil {
					t.Fatal(err)
				}
				if have := at(objsAfter[i], s.Path); !holds(have, v) {
					t.Fatalf("object %d: got %v at %s, want %v:\n%s", i, have, where(s.Path), v, out)
				}
				strip(objsBefore[i], s.Path, v, false)
				strip(objsAfter[i], s.Path, v, false)
			}
			for range 2 { // a prune can empty what an earlier one passed
				for _, s := range fuzzSets {
					strip(objsBefore[i], s.Path, nil, true)
					strip(objsAfter[i], s.Path, nil, true)
				}
			}
		}
		for i := range before {
			if !equal(before[i], got[i]) {
				t.Fatalf("document %d changed beyond the sets:\n%s", i, out)
			}
		}
		for _, c := range comments(docs) {
			if !bytes.Contains(out, []byte(c)) {
				t.Fatalf("comment %q is lost:\n%s", c, out)
			}
		}
	})
}

// linesOfObjects are the lines of the objects of parsed documents.
func linesOfObjects(docs []*yaml.Node) []int {
	var lines []int
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind != yaml.MappingNode {
			return
		}
		lines = append(lines, n.Line)
		if isList(n) {
			for _, item := range value(n, "items").Content {
				walk(item)
			}
		}
	}
	for _, d := range docs {
		if len(d.Content) > 0 {
			walk(d.Content[0])
		}
	}
	return lines
}

// objectsOf are the objects of parsed documents in their decoded values
// (decoded), in the order linesOfObjects finds them: changing one changes
// its document's decoded value.
func objectsOf(docs []*yaml.Node, decoded []any) []any {
	var objs []any
	var walk func(n *yaml.Node, v any)
	walk = func(n *yaml.Node, v any) {
		if n.Kind != yaml.MappingNode {
			return
		}
		objs = append(objs, v)
		if isList(n) {
			items, _ := fix.Field(v, "items")
			seq, _ := items.([]any)
			for i, item := range value(n, "items").Content {
				if i < len(seq) {
					walk(item, seq[i])
				}
			}
		}
	}
	for i, d := range docs {
		if len(d.Content) > 0 {
			walk(d.Content[0], decoded[i])
		}
	}
	return objs
}

// at is the value at path in a decoded object, nil when there is none.
func at(v any, p []fix.Step) any {
	for _, s := range p {
		switch {
		case s.Key != "":
			v, _ = fix.Field(v, s.Key)
		case s.Name != "":
			seq, _ := v.([]any)
			v = nil
			for _, e := range seq {
				if name, _ := fix.Field(e, "name"); name == s.Name {
					v = e
					break
				}
			}
		default:
			seq, _ := v.([]any)
			if s.Index >= len(seq) {
				return nil
			}
			v = seq[s.Index]
		}
	}
	return v
}

// holds reports whether have has v: a mapping's keys, anything else equal.
func holds(have, v any) bool {
	if m, ok := v.(map[string]any); ok {
		if !fix.IsMapping(have) {
			return false
		}
		for k, e := range m {
			if h, _ := fix.Field(have, k); !holds(h, e) {
				return false
			}
		}
		return true
	}
	return equal(have, v)
}

// strip removes what setting v at path p sets from a decoded object; with
// prune, it removes instead the mappings and sequences on p that are empty
// and the elements on p that are their name alone. Stripped of every set's values,
// then pruned, an object is left with what the sets must not have changed.
func strip(obj any, p []fix.Step, v any, prune bool) {
	// rec strips cur, reached by p's first step, and is what is left of
	// it: nil when it is gone.
	var rec func(cur any, p []fix.Step) any
	rec = func(cur any, p []fix.Step) any {
		switch {
		case len(p) == 0 && prune:
		case len(p) == 0 && fix.IsMapping(cur) && fix.IsMapping(v):
			for k := range v.(map[string]any) {
				remove(cur, k)
			}
			return cur
		case len(p) == 0:
			return nil
		case p[0].Key != "":
			if child, ok := fix.Field(cur, p[0].Key); ok {
				if child = rec(child, p[1:]); child == nil {
					remove(cur, p[0].Key)
				} else {
					put(cur, p[0].Key, child)
				}
			}
		default:
			seq, ok := cur.([]any)
			if !ok {
				return cur
			}
			kept := []any{}
			for i, e := range seq {
				name, _ := fix.Field(e, "name")
				if p[0].Name != "" && name == p[0].Name || p[0].Name == "" && i == p[0].Index {
					if e = rec(e, p[1:]); e == nil || prune && p[0].Name != "" && size(e) == 1 {
						continue // gone, or its name alone
					}
				}
				kept = append(kept, e)
			}
			if prune && len(kept) == 0 {
				return nil
			}
			return kept
		}
		if prune && fix.IsMapping(cur) && size(cur) == 0 {
			return nil
		}
		return cur
	}
	rec(obj, p)
}

// size is the number of keys of a decoded mapping.
func size(m any) int {
	switch m := m.(type) {
	case map[string]any:
		return len(m)
	case map[any]any:
		return len(m)
	}
	return 0
}

// remove deletes a key of a decoded mapping.
func remove(m any, k string) {
	switch m := m.(type) {
	case map[string]any:
		delete(m, k)
	case map[any]any:
		delete(m, k)
	}
}

// comments are the comment lines of parsed documents.
func comments(docs []*yaml.Node) []string {
	var out []string
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		for _, c := range []string{n.HeadComment, n.LineComment, n.FootComment} {
			for _, line := range strings.Split(c, "\n") {
				if line = strings.TrimSpace(line); line != "" {
					out = append(out, line)
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	for _, d := range docs {
		walk(d)
	}
	return out
}

func put(m any, k string, v any) {
	switch m := m.(type) {
	case map[string]any:
		m[k] = v
	case map[any]any:
		m[k] = v
	}
}
