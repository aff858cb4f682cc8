package fix

import (
	"errors"
	"fmt"
	"strings"
)

// This file says, once, what a Set means on an object decoded into plain
// values (maps, lists and scalars, as a YAML or JSON decoder gives them):
// the proof applies it so, and the in-place editor holds what it writes to
// it.

// SetValue returns cur with v set at path, as a Set means it: a Key step
// walks a mapping, creating it when missing; an element is found by Name
// (its name field) or Index, and a missing one is added at the end (by name,
// or at the index equal to the list's length); at the end of the path a
// mapping value is merged key by key into a mapping, anything else takes
// the place of what was there. A path that does not match the object's
// shape is an error. cur is changed in place where it can be.
func SetValue(cur any, path []Step, v any) (any, error) {
	if len(path) == 0 {
		return mergeValue(cur, v), nil
	}
	step := path[0]
	if step.Key != "" {
		if cur == nil {
			cur = map[string]any{}
		}
		child, ok := Field(cur, step.Key)
		if !ok && !IsMapping(cur) {
			return nil, errors.New("the path does not match the object")
		}
		child, err := SetValue(child, path[1:], v)
		if err != nil {
			return nil, err
		}
		put(cur, step.Key, child)
		return cur, nil
	}
	seq, ok := cur.([]any)
	if !ok && cur != nil {
		return nil, errors.New("the path does not match the object")
	}
	i := find(seq, step)
	switch {
	case i >= 0:
	case step.Name != "":
		seq, i = append(seq, map[string]any{"name": step.Name}), len(seq)
	case step.Index == len(seq):
		seq, i = append(seq, nil), len(seq)
	default:
		return nil, fmt.Errorf("there is no element %d", step.Index)
	}
	child, err := SetValue(seq[i], path[1:], v)
	if err != nil {
		return nil, err
	}
	seq[i] = child
	return seq, nil
}

// mergeValue is v set on cur: merged key by key into a mapping, else in its
// place.
func mergeValue(cur, v any) any {
	m, ok := v.(map[string]any)
	if !ok || !IsMapping(cur) {
		return v
	}
	for k, e := range m {
		have, _ := Field(cur, k)
		put(cur, k, mergeValue(have, e))
	}
	return cur
}

// Lookup is the value at path in a decoded object, or nil.
func Lookup(cur any, path []Step) any {
	for _, step := range path {
		if step.Key != "" {
			cur, _ = Field(cur, step.Key)
			continue
		}
		seq, _ := cur.([]any)
		i := find(seq, step)
		if i < 0 {
			return nil
		}
		cur = seq[i]
	}
	return cur
}

// find is the index of the element of seq that step finds, or -1.
func find(seq []any, step Step) int {
	if step.Name == "" {
		if step.Index >= 0 && step.Index < len(seq) {
			return step.Index
		}
		return -1
	}
	for i, e := range seq {
		if name, _ := Field(e, "name"); name == step.Name {
			return i
		}
	}
	return -1
}

// PathString names a path for messages: spec.containers[name=web].image,
// tolerations[0].
func PathString(path []Step) string {
	var b strings.Builder
	for _, s := range path {
		switch {
		case s.Key != "":
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.Key)
		case s.Name != "":
			fmt.Fprintf(&b, "[name=%s]", s.Name)
		default:
			fmt.Fprintf(&b, "[%d]", s.Index)
		}
	}
	return b.String()
}

// A decoded mapping is a map[string]any, or a map[any]any when a YAML
// decoder met a key that is not a string. IsMapping and Field read both,
// for the in-place editor's check too.

// IsMapping reports whether a decoded value is a mapping.
func IsMapping(v any) bool {
	switch v.(type) {
	case map[string]any, map[any]any:
		return true
	}
	return false
}

// Field is the value of a mapping's key, and whether it is there.
func Field(m any, k string) (any, bool) {
	switch m := m.(type) {
	case map[string]any:
		v, ok := m[k]
		return v, ok
	case map[any]any:
		v, ok := m[k]
		return v, ok
	}
	return nil, false
}

func put(m any, k string, v any) {
	switch m := m.(type) {
	case map[string]any:
		m[k] = v
	case map[any]any:
		m[k] = v
	}
}
