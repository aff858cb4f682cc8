package overlay

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/openapi"
)

// replacement is what a strategic-merge patch sets to set value over old:
// the value, with "$patch: replace" heading each list that Kustomize would
// merge with old's rather than replace.
func replacement(old, value any, sch schemaNode) any {
	switch v := value.(type) {
	case map[string]any:
		o, _ := old.(map[string]any)
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = replacement(o[k], e, sch.field(k))
		}
		return out
	case []any:
		if o, ok := old.([]any); ok && len(o) > 0 && sch.merged() && !sameJSON(o, v) {
			return append([]any{map[string]any{"$patch": "replace"}}, clone(v).([]any)...)
		}
	}
	return clone(value)
}

// strategicMerge is the target's strategic-merge patch: the object's
// identity, and along each Set's path the mappings, and the list elements
// by their merge keys. filled says whether lists name elements left as
// they are, to keep their order (see keepOrder); ok is false when one
// cannot be named, having no merge key.
func (t *target) strategicMerge() (body map[string]any, filled, ok bool) {
	meta := map[string]any{"name": t.id.name}
	if t.id.namespace != "" {
		meta["namespace"] = t.id.namespace
	}
	body = map[string]any{"apiVersion": t.id.apiVersion, "kind": t.id.kind, "metadata": meta}
	for _, r := range t.resolved {
		body = put(body, r.hops, replacement(r.old, r.value, r.sch), atIDs).(map[string]any)
	}
	ordered, ok := keepOrder(body, t.intended, t.sch, &filled)
	body, _ = ordered.(map[string]any)
	return body, filled, ok
}

// keepOrder puts the elements of each list of a strategic-merge patch in
// the order of the intended object, and names (by their merge keys) the
// elements before the last one patched that the patch leaves as they are.
// Kustomize puts a list's patched elements first, in the patch's order,
// then the others (kubernetes-sigs/kustomize#5904): naming the elements
// before them keeps the object's order, and puts a new element last. It
// returns false when such an element has no merge key to be named by.
func keepOrder(body, intended any, sch schemaNode, filled *bool) (any, bool) {
	switch b := body.(type) {
	case map[string]any:
		in, _ := intended.(map[string]any)
		for k, v := range b {
			var ok bool
			if b[k], ok = keepOrder(v, in[k], sch.field(k), filled); !ok {
				return nil, false
			}
		}
	case []any:
		keys := sch.mergeKeys()
		in, isList := intended.([]any)
		if len(keys) == 0 || !isList || slices.ContainsFunc(b, isDirective) {
			return b, true
		}
		at := map[int]int{} // index in intended -> index in b
		last := -1
		for i, e := range b {
			ids := pick(asMap(e), keys)
			j := slices.IndexFunc(in, func(x any) bool { return hasIDs(x, ids) })
			if j < 0 {
				return b, true // not a list of the object's elements
			}
			at[j], last = i, max(last, j)
		}
		out := make([]any, 0, last+1)
		for j := range last + 1 {
			if i, patched := at[j]; patched {
				e, ok := keepOrder(b[i], in[j], sch.elements(), filled)
				if !ok {
					return nil, false
				}
				out = append(out, e)
				continue
			}
			ids := pick(asMap(in[j]), keys)
			if ids[keys[0]] == nil {
				return nil, false
			}
			out = append(out, ids)
			*filled = true
		}
		return out, true
	}
	return body, true
}

func isDirective(v any) bool {
	_, ok := asMap(v)["$patch"]
	return ok
}

// jsonPatch is the target's JSON patch. For each Set: a test of the name
// of each element it found by name; then an add where its path leaves the
// object, or else, where the path exists, a replace of each value it sets
// (a mapping is merged key by key), after a test of the value replaced when
// an element on the way was found by its index alone.
func (t *target) jsonPatch() []any {
	var ops []any
	tested := map[string]bool{}
sets:
	for _, r := range t.resolved {
		ptr := ""
		byIndex := false
		for i, h := range r.hops {
			if !h.exists {
				seg := escapePointer(h.key)
				if h.element() {
					seg = "-"
				}
				ops = append(ops, jsonOp("add", ptr+"/"+seg, put(newElementOrNil(h), r.hops[i+1:], r.value, atIndex)))
				continue sets
			}
			if !h.element() {
				ptr += "/" + escapePointer(h.key)
				continue
			}
			ptr += "/" + strconv.Itoa(h.index)
			byIndex = byIndex || h.name == ""
			if at := ptr + "/name"; h.name != "" && !tested[at] {
				tested[at] = true
				ops = append(ops, jsonOp("test", at, h.name))
			}
		}
		ops = jsonSet(ops, ptr, r.old, r.value, byIndex)
	}
	return ops
}

// jsonSet appends the operations that set value over old at ptr: a mapping
// key by key, anything else replaced, after a test of what it replaces when
// test is set.
func jsonSet(ops []any, ptr string, old, value any, test bool) []any {
	o, oIsMap := old.(map[string]any)
	v, vIsMap := value.(map[string]any)
	if !oIsMap || !vIsMap {
		if test {
			ops = append(ops, jsonOp("test", ptr, clone(old)))
		}
		return append(ops, jsonOp("replace", ptr, clone(value)))
	}
	for _, k := range slices.Sorted(maps.Keys(v)) {
		at := ptr + "/" + escapePointer(k)
		if o[k] == nil {
			ops = append(ops, jsonOp("add", at, clone(v[k])))
			continue
		}
		ops = jsonSet(ops, at, o[k], v[k], test)
	}
	return ops
}

// jsonOp is one operation of a JSON patch.
func jsonOp(op, path string, value any) map[string]any {
	return map[string]any{"op": op, "path": path, "value": value}
}

func newElementOrNil(h hop) any {
	if h.element() {
		return newElement(h)
	}
	return nil
}

// escapePointer escapes a key for a JSON pointer (RFC 6901).
func escapePointer(key string) string {
	return strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
}

// schemaNode is Kustomize's schema of a value (the Kubernetes OpenAPI
// schema kyaml embeds, which its strategic merge follows), or none.
type schemaNode struct{ s *openapi.ResourceSchema }

func (n schemaNode) ok() bool { return n.s != nil && n.s.Schema != nil }

func (n schemaNode) field(key string) schemaNode {
	if !n.ok() {
		return schemaNode{}
	}
	return schemaNode{n.s.Field(key)}
}

func (n schemaNode) elements() schemaNode {
	if !n.ok() {
		return schemaNode{}
	}
	return schemaNode{n.s.Elements()}
}

// merged says whether Kustomize merges the list rather than replacing it.
func (n schemaNode) merged() bool {
	if !n.ok() {
		return false
	}
	strategy, _ := n.s.PatchStrategyAndKeyList()
	return slices.Contains(strings.Split(strategy, ","), "merge")
}

// mergeKeys are the keys Kustomize merges the list's elements by, the
// first of them its patch merge key; none for a list it does not merge by
// key.
func (n schemaNode) mergeKeys() []string {
	if !n.merged() {
		return nil
	}
	_, keys := n.s.PatchStrategyAndKeyList()
	return keys
}

func (n schemaNode) integer() bool {
	return n.ok() && n.s.Schema.Type.Contains("integer")
}
