package yamledit

import (
	"errors"
	"fmt"
	"math"
	"reflect"

	yaml "go.yaml.in/yaml/v3"

	"github.com/plimsoll/plimsoll/internal/fix"
)

// verify proves an Apply's result out: parsed, it must be the file as
// parsed before with the edits made to that, as the semantics of a Set say
// (mappings created on the way, a mapping merged key by key, an element
// found by name appended when missing), and each set's value must be in it.
// It checks what the parser reads, not the text: the text is the plan's.
func verify(f *file, out []byte, edits []Edit, objs []*object) error {
	want, err := decodeAll(f.docs)
	if err != nil {
		return fmt.Errorf("the file does not read as YAML: %w", err)
	}
	for i, e := range edits {
		o := objs[i]
		for _, s := range e.Sets {
			v, err := normalize(s.Value)
			if err == nil {
				want[o.doc], err = atObject(want[o.doc], o.items, func(obj any) (any, error) { return fix.SetValue(obj, s.Path, v) })
			}
			if err != nil {
				return &Error{Line: o.node.Line, Err: fmt.Errorf("%s: %w", where(s.Path), err)}
			}
		}
	}
	refuse := func(line int, format string, args ...any) error {
		return &Error{Line: line, Err: fmt.Errorf("the edited file would not read as the edits say, so it is not written: "+format, args...)}
	}
	docs, err := parseDocuments(out)
	if err != nil {
		return refuse(0, "%v", err)
	}
	got, err := decodeAll(docs)
	if err != nil {
		return refuse(0, "%v", err)
	}
	if len(got) != len(want) {
		return refuse(0, "it has %d documents, not %d", len(got), len(want))
	}
	for i := range want {
		if !equal(got[i], want[i]) {
			return refuse(f.docs[i].Line, "the document that starts here would differ in more than the edits")
		}
	}
	for i, e := range edits {
		o := objs[i]
		for _, s := range e.Sets {
			v, _ := normalize(s.Value)
			var have any
			_, err := atObject(got[o.doc], o.items, func(obj any) (any, error) {
				have = fix.Lookup(obj, s.Path)
				return obj, nil
			})
			if err != nil || !contains(have, v) {
				return refuse(o.node.Line, "%s would not have its value", where(s.Path))
			}
		}
	}
	return nil
}

// decodeAll decodes parsed documents.
func decodeAll(docs []*yaml.Node) ([]any, error) {
	out := make([]any, len(docs))
	for i, d := range docs {
		if err := d.Decode(&out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// normalize is v as it reads back once written as YAML: the value a set
// leaves in the file (an int64 reads back as an int, 2.0 as 2).
func normalize(v any) (any, error) {
	switch v.(type) {
	case nil, bool, string, int:
		return v, nil // as it reads back, and a fix's usual value
	}
	out, err := yaml.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("the value cannot be written as YAML: %w", err)
	}
	var back any
	if err := yaml.Unmarshal(out, &back); err != nil {
		return nil, fmt.Errorf("the value does not read back from YAML: %w", err)
	}
	return back, nil
}

// atObject replaces the object that items locate in a decoded document (the
// root, or an item of a List) by what edit makes of it.
func atObject(doc any, items []int, edit func(any) (any, error)) (any, error) {
	if len(items) == 0 {
		return edit(doc)
	}
	list, _ := fix.Field(doc, "items")
	seq, ok := list.([]any)
	if !ok || items[0] >= len(seq) {
		return nil, errors.New("the object is not where it was parsed")
	}
	obj, err := atObject(seq[items[0]], items[1:], edit)
	if err != nil {
		return nil, err
	}
	seq[items[0]] = obj
	return doc, nil
}

// contains reports whether have holds v: every key of a mapping, anything
// else equal.
func contains(have, v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return equal(have, v)
	}
	if !fix.IsMapping(have) {
		return false
	}
	for k, e := range m {
		h, ok := fix.Field(have, k)
		if !ok || !contains(h, e) {
			return false
		}
	}
	return true
}

// equal reports whether two decoded values are the same, NaN being NaN.
func equal(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		return equalMaps(a, b)
	case map[any]any:
		return equalMaps(a, b)
	case []any:
		bs, ok := b.([]any)
		if !ok || len(a) != len(bs) {
			return false
		}
		for i := range a {
			if !equal(a[i], bs[i]) {
				return false
			}
		}
		return true
	case float64:
		bf, ok := b.(float64)
		return ok && (a == bf || math.IsNaN(a) && math.IsNaN(bf))
	}
	return reflect.DeepEqual(a, b)
}

// equalMaps reports whether b is a map of a's type with equal values.
func equalMaps[K comparable](a map[K]any, b any) bool {
	bm, ok := b.(map[K]any)
	if !ok || len(a) != len(bm) {
		return false
	}
	for k, v := range a {
		w, ok := bm[k]
		if !ok || !equal(v, w) {
			return false
		}
	}
	return true
}
