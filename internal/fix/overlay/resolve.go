package overlay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/plimsoll/plimsoll/internal/fix"
)

// hop is one step of a Set's path, resolved against the object.
type hop struct {
	key string // a mapping's key; "" for a list element
	// index is the element's index, the list's length for a new one.
	index int
	// ids are an element's merge-key values, for a list Kustomize merges
	// by key (for other lists, its name when the Step gave one).
	ids map[string]any
	// match and matchValue are the field and value an element was found
	// by, when it was found by name.
	match      string
	matchValue any
	exists     bool
}

func (h hop) element() bool { return h.key == "" }

// resolved is a Set resolved against the object as it stood before it.
type resolved struct {
	hops  []hop
	value any
	// old is the value the Set replaces (nil when there is none), and sch
	// Kustomize's schema of it.
	old any
	sch schemaNode
	// jsonWhy says why only a JSON patch expresses the Set; "" when a
	// strategic merge does.
	jsonWhy string
}

// identity are the paths a patch may not set: they name the object.
var identity = [][]string{{"apiVersion"}, {"kind"}, {"metadata"}, {"metadata", "name"}, {"metadata", "namespace"}}

// resolve walks a Set's path through obj: each mapping key, and each list
// element by its name (its merge key's value, else its name field) or its
// index. A missing element is a new one, added at the end.
func resolve(obj map[string]any, sch schemaNode, s fix.Set) (resolved, error) {
	var r resolved
	if len(s.Path) == 0 || s.Path[0].Key == "" {
		return r, errors.New("a path starts with a field name")
	}
	for _, id := range identity {
		if slices.EqualFunc(s.Path, id, func(st fix.Step, k string) bool { return st.Key == k }) {
			return r, errors.New("it names the object, which a patch cannot change")
		}
	}
	value, err := normalize(s.Value)
	if err != nil {
		return r, err
	}
	var cur any = obj
	exists := true
	for i, st := range s.Path {
		last := i == len(s.Path)-1
		h := hop{key: st.Key}
		if st.Key != "" {
			if i > 0 && r.hops[i-1].ids[st.Key] != nil {
				r.whyJSON("it changes %s, by which a strategic merge finds the element", pathString(s.Path[:i+1]))
			}
			if exists {
				m, ok := cur.(map[string]any)
				if !ok {
					return r, fmt.Errorf("%s is not a mapping", pathString(s.Path[:i]))
				}
				cur = m[st.Key]
				h.exists = cur != nil
			}
			sch = sch.field(st.Key)
		} else {
			var list []any
			if exists {
				l, ok := cur.([]any)
				if !ok {
					return r, fmt.Errorf("%s is not a list", pathString(s.Path[:i]))
				}
				list = l
			}
			keys := sch.mergeKeys()
			if h, err = resolveElement(list, st, keys, sch.elements(), last, value); err != nil {
				return r, fmt.Errorf("%s: %w", pathString(s.Path[:i]), err)
			}
			switch {
			case len(keys) == 0:
				r.whyJSON("%s is a list Kustomize does not merge by key", pathString(s.Path[:i]))
			case len(h.ids) == 0:
				r.whyJSON("the element of %s has no merge key (%s)", pathString(s.Path[:i]), keys[0])
			}
			if h.exists {
				cur = list[h.index]
			} else {
				cur = nil
			}
			sch = sch.elements()
		}
		exists = h.exists
		r.hops = append(r.hops, h)
	}
	last := r.hops[len(r.hops)-1]
	r.value = withIDs(value, last)
	if last.element() && !hasIDs(r.value, last.ids) && len(last.ids) > 0 {
		r.whyJSON("it changes the key by which a strategic merge finds the element of %s", pathString(s.Path[:len(s.Path)-1]))
	}
	r.old, r.sch = cur, sch
	return r, nil
}

func (r *resolved) whyJSON(format string, args ...any) {
	if r.jsonWhy == "" {
		r.jsonWhy = fmt.Sprintf(format, args...)
	}
}

// resolveElement finds a Step's element in a list (nil when the list is
// missing) merged by keys (none when it is not merged by key).
func resolveElement(list []any, st fix.Step, keys []string, elem schemaNode, last bool, value any) (hop, error) {
	h := hop{index: -1}
	if st.Name != "" && slices.ContainsFunc(list, func(e any) bool { return asMap(e) == nil }) {
		return h, fmt.Errorf("it holds values, not elements with names: name %q by its index", st.Name)
	}
	if st.Name != "" {
		var err error
		if h.index, h.match, err = findNamed(list, st.Name, keys); err != nil {
			return h, err
		}
	} else {
		if st.Index < 0 || st.Index > len(list) {
			return h, fmt.Errorf("no element at index %d (it has %d)", st.Index, len(list))
		}
		if st.Index < len(list) {
			h.index = st.Index
		}
	}
	if h.index >= 0 {
		h.exists = true
		m, _ := list[h.index].(map[string]any)
		h.ids = pick(m, keys)
		if h.match != "" {
			h.matchValue = m[h.match]
		}
		return h, nil
	}
	h.index = len(list)
	var err error
	h.ids, err = newIDs(st, keys, elem, last, value)
	return h, err
}

// findNamed finds the element whose merge key, else whose name field, is
// name; -1 when there is none.
func findNamed(list []any, name string, keys []string) (index int, field string, err error) {
	fields := []string{"name"}
	if len(keys) > 0 && keys[0] != "name" {
		fields = []string{keys[0], "name"}
	}
	ambiguous := ""
	for _, f := range fields {
		var at []int
		for i, e := range list {
			if m, ok := e.(map[string]any); ok && m[f] != nil && fmt.Sprint(m[f]) == name {
				at = append(at, i)
			}
		}
		switch {
		case len(at) == 1:
			return at[0], f, nil
		case len(at) > 1 && ambiguous == "":
			ambiguous = fmt.Sprintf("%d elements have %s %q", len(at), f, name)
		}
	}
	if ambiguous != "" {
		return -1, "", fmt.Errorf("%s; name one by its index", ambiguous)
	}
	return -1, "", nil
}

// newIDs are the merge-key values of a new element: from the value when the
// path ends at the element and the value has them, else the Step's name as
// the merge key's value.
func newIDs(st fix.Step, keys []string, elem schemaNode, last bool, value any) (map[string]any, error) {
	if len(keys) == 0 {
		if st.Name == "" {
			return nil, nil
		}
		return map[string]any{"name": st.Name}, nil
	}
	if m, ok := value.(map[string]any); ok && last && m[keys[0]] != nil {
		return pick(m, keys), nil
	}
	switch {
	case st.Name == "":
		return nil, nil
	case keys[0] == "name" || !elem.field(keys[0]).integer():
		return map[string]any{keys[0]: st.Name}, nil
	}
	n, err := strconv.Atoi(st.Name)
	if err != nil {
		return nil, fmt.Errorf("no element has %s or name %q, and a new element needs its %s (a number) in the value", keys[0], st.Name, keys[0])
	}
	return map[string]any{keys[0]: n}, nil
}

// pick returns the values m has for keys, or nil.
func pick(m map[string]any, keys []string) map[string]any {
	var ids map[string]any
	for _, k := range keys {
		if v, ok := m[k]; ok {
			if ids == nil {
				ids = map[string]any{}
			}
			ids[k] = v
		}
	}
	return ids
}

// withIDs adds an element's merge-key values (or name) to a mapping that
// replaces the element, so that it keeps its identity.
func withIDs(value any, h hop) any {
	m, ok := value.(map[string]any)
	if !h.element() || !ok {
		return value
	}
	for k, v := range h.ids {
		if _, set := m[k]; !set {
			m[k] = v
		}
	}
	if _, set := m[h.match]; h.match != "" && !set {
		m[h.match] = h.matchValue
	}
	return m
}

// put sets value at hops under node, creating what is missing, and returns
// the node. at finds an element in its list: its index, or the list's
// length for a new one.
func put(node any, hops []hop, value any, at func(list []any, h hop) int) any {
	if len(hops) == 0 {
		return clone(value)
	}
	h := hops[0]
	if !h.element() {
		m, _ := node.(map[string]any)
		if m == nil {
			m = map[string]any{}
		}
		m[h.key] = put(m[h.key], hops[1:], value, at)
		return m
	}
	list, _ := node.([]any)
	i := at(list, h)
	if i == len(list) {
		list = append(list, newElement(h))
	}
	list[i] = put(list[i], hops[1:], value, at)
	return list
}

// atIndex finds an element in an object by the index resolve found.
func atIndex(_ []any, h hop) int { return h.index }

// atIDs finds an element in a strategic-merge patch by its merge-key values.
func atIDs(list []any, h hop) int {
	if i := slices.IndexFunc(list, func(e any) bool { return hasIDs(e, h.ids) }); i >= 0 {
		return i
	}
	return len(list)
}

// newElement is what a new element starts as: its merge-key values.
func newElement(h hop) any {
	if h.ids == nil {
		return nil
	}
	return clone(h.ids)
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// hasIDs says whether v is a mapping with these merge-key values.
func hasIDs(v any, ids map[string]any) bool {
	m := asMap(v)
	for k, id := range ids {
		if !sameJSON(m[k], id) {
			return false
		}
	}
	return len(ids) > 0
}

// pathString writes a path as plimsoll's findings do:
// spec.template.spec.containers[web].securityContext, tolerations[0].
func pathString(path []fix.Step) string {
	var b strings.Builder
	for _, st := range path {
		switch {
		case st.Key != "":
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(st.Key)
		case st.Name != "":
			fmt.Fprintf(&b, "[%s]", st.Name)
		default:
			fmt.Fprintf(&b, "[%d]", st.Index)
		}
	}
	return b.String()
}

// normalize copies a value into the types a YAML or JSON decoder gives:
// map[string]any, []any, strings, booleans and numbers. Nulls are refused:
// in a strategic merge a null deletes.
func normalize(v any) (any, error) {
	switch v := v.(type) {
	case nil:
		return nil, errors.New("the value is null, which a patch reads as a deletion")
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			c, err := normalize(e)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			m[k] = c
		}
		return m, nil
	case []any:
		l := make([]any, len(v))
		for i, e := range v {
			c, err := normalize(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			l[i] = c
		}
		return l, nil
	case string, bool, int, int64, float64:
		return v, nil
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return n, nil
		}
		return v.Float64()
	}
	data, err := json.Marshal(v) // other Go types, as their JSON
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return normalize(out)
}

// clone copies a normalized value.
func clone(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = clone(e)
		}
		return m
	case []any:
		l := make([]any, len(v))
		for i, e := range v {
			l[i] = clone(e)
		}
		return l
	}
	return v
}
