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
	// by key.
	ids map[string]any
	// name is the element's name, when the Step found it by name.
	name   string
	exists bool
}

func (h hop) element() bool { return h.key == "" }

// resolved is a Set resolved against the object as it stood before it.
type resolved struct {
	hops  []hop
	value any
	// old is the value at the path before the Set (nil when there is none),
	// and sch Kustomize's schema of it.
	old any
	sch schemaNode
	// jsonWhy says why only a JSON patch expresses the Set; "" when a
	// strategic merge does.
	jsonWhy string
}

// identity are the paths a patch may not set: they name the object.
var identity = [][]string{{"apiVersion"}, {"kind"}, {"metadata"}, {"metadata", "name"}, {"metadata", "namespace"}}

// resolve walks a Set's path through obj: each mapping key, and each list
// element by its name field or its index. A missing element is a new one,
// added at the end; found by name, it is a mapping with that name. The
// value must have the shape of what it meets: a mapping is merged into a
// mapping, key by key; a list or a scalar replaces a list or a scalar. So
// plimsoll fix's edits of the files themselves (internal/fix/yamledit)
// read a Set.
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
		h := hop{key: st.Key}
		if st.Key != "" {
			if exists {
				m, ok := cur.(map[string]any)
				if !ok {
					return r, fmt.Errorf("%s is %s, not a mapping", fix.PathString(s.Path[:i]), describe(cur))
				}
				cur = m[st.Key]
				h.exists = cur != nil
			}
			if i > 0 && r.hops[i-1].ids[st.Key] != nil {
				r.whyJSON("it sets %s, by which a strategic merge finds the element", fix.PathString(s.Path[:i+1]))
			}
			sch = sch.field(st.Key)
		} else {
			var list []any
			if exists {
				l, ok := cur.([]any)
				if !ok {
					return r, fmt.Errorf("%s is %s, not a list", fix.PathString(s.Path[:i]), describe(cur))
				}
				list = l
			}
			keys := sch.mergeKeys()
			if h, value, err = resolveElement(list, st, keys, i == len(s.Path)-1, value); err != nil {
				return r, fmt.Errorf("%s: %w", fix.PathString(s.Path[:i]), err)
			}
			switch {
			case len(keys) == 0:
				r.whyJSON("%s is a list Kustomize does not merge by key", fix.PathString(s.Path[:i]))
			case len(h.ids) == 0:
				r.whyJSON("the element of %s has no merge key (%s)", fix.PathString(s.Path[:i]), keys[0])
			}
			cur = nil
			if h.exists {
				cur = list[h.index]
			}
			sch = sch.elements()
		}
		exists = h.exists
		r.hops = append(r.hops, h)
	}
	if exists {
		if err := sameShape(cur, value); err != nil {
			return r, fmt.Errorf("%s: %w", fix.PathString(s.Path), err)
		}
	}
	if last := r.hops[len(r.hops)-1]; last.element() {
		for k, id := range last.ids {
			if v, set := asMap(value)[k]; set && !sameJSON(v, id) {
				r.whyJSON("it changes the %s by which a strategic merge finds the element of %s", k, fix.PathString(s.Path[:len(s.Path)-1]))
			}
		}
	}
	r.value, r.old, r.sch = value, cur, sch
	return r, nil
}

// pointer is the JSON pointer of the Set's path in the object after it.
func (r resolved) pointer() string {
	var b strings.Builder
	for _, h := range r.hops {
		b.WriteByte('/')
		if h.element() {
			b.WriteString(strconv.Itoa(h.index))
		} else {
			b.WriteString(escapePointer(h.key))
		}
	}
	return b.String()
}

// leaves are the pointers of the values that setting value over old at ptr
// writes: a mapping's values, key by key, where it is merged.
func leaves(ptr string, old, value any) []string {
	v, isMap := value.(map[string]any)
	if !isMap || old != nil && asMap(old) == nil {
		return []string{ptr}
	}
	var out []string
	for k, e := range v {
		out = append(out, leaves(ptr+"/"+escapePointer(k), asMap(old)[k], e)...)
	}
	return out
}

// valueAt is the value at a JSON pointer, or nil.
func valueAt(v any, ptr string) any {
	for _, seg := range strings.Split(ptr, "/")[1:] {
		seg = strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~")
		switch c := v.(type) {
		case map[string]any:
			v = c[seg]
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			v = c[i]
		default:
			return nil
		}
	}
	return v
}

func (r *resolved) whyJSON(format string, args ...any) {
	if r.jsonWhy == "" {
		r.jsonWhy = fmt.Sprintf(format, args...)
	}
}

// resolveElement finds a Step's element in a list (nil when the list is
// missing) that Kustomize merges by keys (none when it does not). A new
// element found by name is a mapping with that name: when the path ends
// there, the value returned is the Set's with the name.
func resolveElement(list []any, st fix.Step, keys []string, last bool, value any) (hop, any, error) {
	h := hop{index: -1, name: st.Name}
	if st.Name != "" {
		for i, e := range list {
			m, ok := e.(map[string]any)
			if !ok {
				return h, value, fmt.Errorf("it holds values, not elements with names: name %q by its index", st.Name)
			}
			if n, _ := m["name"].(string); n != st.Name {
				continue
			}
			if h.index >= 0 {
				return h, value, fmt.Errorf("it has two elements named %s", st.Name)
			}
			h.index = i
		}
	} else {
		if st.Index < 0 || st.Index > len(list) {
			return h, value, fmt.Errorf("no element at index %d (it has %d)", st.Index, len(list))
		}
		if st.Index < len(list) {
			h.index = st.Index
		}
	}
	if h.index >= 0 {
		h.exists = true
		h.ids = pick(asMap(list[h.index]), keys)
		return h, value, nil
	}
	h.index = len(list)
	elem := newElement(h)
	if last {
		m, isMap := value.(map[string]any)
		switch {
		case st.Name != "" && !isMap:
			return h, value, fmt.Errorf("an element found by its name (%s) is a mapping, so its value cannot be %s", st.Name, describe(value))
		case st.Name != "" && m["name"] != nil && m["name"] != st.Name:
			return h, value, fmt.Errorf("the element named %s would have another name", st.Name)
		case isMap:
			value = mergeInto(elem, m)
			elem = value
		}
	}
	h.ids = pick(asMap(elem), keys)
	return h, value, nil
}

// sameShape refuses a value of another shape than the one it meets.
func sameShape(old, value any) error {
	_, oldMap := old.(map[string]any)
	_, oldList := old.([]any)
	_, isMap := value.(map[string]any)
	_, isList := value.([]any)
	switch {
	case isMap && !oldMap:
		return fmt.Errorf("it is %s, not a mapping to merge a mapping into", describe(old))
	case isList != oldList || oldMap && !isMap:
		return fmt.Errorf("it is %s, and the value %s", describe(old), describe(value))
	}
	return nil
}

// describe says what shape a value has.
func describe(v any) string {
	switch v.(type) {
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case nil:
		return "missing"
	}
	return "a scalar"
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

// mergeInto sets value over old: mappings are merged key by key, anything
// else is replaced. It returns a copy.
func mergeInto(old, value any) any {
	o, oIsMap := old.(map[string]any)
	v, vIsMap := value.(map[string]any)
	if !oIsMap || !vIsMap {
		return clone(value)
	}
	out := clone(o).(map[string]any)
	for k, e := range v {
		out[k] = mergeInto(o[k], e)
	}
	return out
}

// put sets value at hops under node, creating what is missing, and returns
// the node. at finds an element in its list: its index, or the list's
// length for a new one.
func put(node any, hops []hop, value any, at func(list []any, h hop) int) any {
	if len(hops) == 0 {
		return mergeInto(node, value)
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

// newElement is what a new element starts as: its merge-key values, and
// its name when it was found by name.
func newElement(h hop) any {
	if h.ids == nil && h.name == "" {
		return nil
	}
	m := map[string]any{}
	if h.name != "" {
		m["name"] = h.name
	}
	for k, v := range h.ids {
		m[k] = v
	}
	return m
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

// normalize copies a value into the types a YAML or JSON decoder gives:
// map[string]any, []any, strings, booleans and numbers. Nulls are refused:
// in a strategic merge a null deletes, and a Set does not delete.
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
