package yamledit

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	yaml "go.yaml.in/yaml/v3"

	"github.com/plimsoll/plimsoll/internal/fix"
)

// opKind is what an op does to its node.
type opKind int

const (
	insertKeys   opKind = iota // adds keys to a mapping
	appendItems                // adds elements to a sequence
	fillNull                   // gives a key whose value is null a value
	replaceValue               // replaces a scalar, or a sequence as a whole
)

// op is everything the sets of one Apply do to one node, gathered so that
// two sets that add to one mapping write one block.
type op struct {
	kind   opKind
	node   *yaml.Node // the mapping, the sequence, the null or the value replaced
	key    *yaml.Node // fillNull: the null's key
	inFlow bool       // node is inside a flow collection
	depth  int        // of node in its document's tree
	obj    *object
	path   []fix.Step // from the object to node, for messages
	// value is what is added or set: a map[string]any of the keys
	// (insertKeys), a *newList (appendItems), or the value.
	value any
}

// newList is a sequence, or the end of one, that does not exist yet: its
// elements were named by the steps of paths (fix.Step's Name or Index)
// rather than given as a value.
type newList struct {
	base  int // the index of its first element: the length of the sequence it ends
	items []newItem
}

// newItem is an element of a newList: found by name when name is set, else
// by its index in the whole sequence, as a path's next step finds it.
type newItem struct {
	name  string
	index int
	value any
}

// plan gathers the ops of an Apply.
type plan struct {
	f     *file
	ops   map[*yaml.Node]*op
	order []*op // as first added, so that output never depends on map order
}

func newPlan(f *file) *plan {
	return &plan{f: f, ops: map[*yaml.Node]*op{}}
}

// add plans one set in object o.
func (p *plan) add(o *object, s fix.Set) error {
	v, err := normalize(s.Value)
	if err != nil {
		return &Error{Line: o.node.Line, Err: fmt.Errorf("%s: %w", where(s.Path), err)}
	}
	return p.set(o, o.node, o.depth, false, nil, s.Path, v)
}

// set follows the steps rest from node n (reached by the steps at) and
// plans setting v at their end. inFlow says that n is inside a flow
// collection.
func (p *plan) set(o *object, n *yaml.Node, depth int, inFlow bool, at, rest []fix.Step, v any) error {
	for len(rest) > 0 {
		if err := passable(n, at); err != nil {
			return err
		}
		step := rest[0]
		childFlow := inFlow || n.Style&yaml.FlowStyle != 0
		var child *yaml.Node
		if step.Key != "" {
			if n.Kind != yaml.MappingNode {
				return shapeError(n, at, "a mapping")
			}
			if k, why := p.oddKey(n); k != nil {
				return &Error{Line: k.Line, Err: fmt.Errorf("%s has %s, which is not edited around", where(at), why)}
			}
			if k := mergeKey(n); k != nil {
				return &Error{Line: k.Line, Err: fmt.Errorf("%s merges another mapping (<<), so a key set in it could be shadowed by it or shadow it", where(at))}
			}
			i := keyIndex(n, step.Key)
			if i < 0 {
				val, err := build(rest, v)
				if err != nil {
					return &Error{Line: n.Line, Err: fmt.Errorf("%s: %w", where(extend(at, rest...)), err)}
				}
				return p.merge(&op{kind: insertKeys, node: n, depth: depth, obj: o, path: at, value: val})
			}
			child = n.Content[i+1]
			if isNull(child) {
				return p.fill(o, n.Content[i], child, depth+1, childFlow, extend(at, step), rest[1:], v)
			}
		} else {
			if n.Kind != yaml.SequenceNode {
				return shapeError(n, at, "a sequence")
			}
			i, err := element(n, step, at)
			if err != nil {
				return err
			}
			if i < 0 {
				return p.appendItem(o, n, depth, at, rest, v)
			}
			child = n.Content[i]
		}
		n, inFlow, depth, at, rest = child, childFlow, depth+1, extend(at, step), rest[1:]
	}
	return p.setNode(o, n, depth, inFlow, at, v)
}

// setNode plans setting v on node n, which exists: a mapping is merged into
// key by key, a scalar or a sequence is replaced.
func (p *plan) setNode(o *object, n *yaml.Node, depth int, inFlow bool, at []fix.Step, v any) error {
	if err := passable(n, at); err != nil {
		return err
	}
	switch v := v.(type) {
	case map[string]any:
		if n.Kind != yaml.MappingNode {
			return shapeError(n, at, "a mapping to merge a mapping into")
		}
		for _, k := range sortedKeys(v) {
			if err := p.set(o, n, depth, inFlow, at, []fix.Step{{Key: k}}, v[k]); err != nil {
				return err
			}
		}
		return nil
	case []any:
		if n.Kind != yaml.SequenceNode {
			return shapeError(n, at, "a sequence")
		}
	default:
		if n.Kind != yaml.ScalarNode {
			return shapeError(n, at, "a scalar")
		}
	}
	var old any
	if err := n.Decode(&old); err == nil && equal(old, v) {
		return nil // already so
	}
	return p.merge(&op{kind: replaceValue, node: n, inFlow: inFlow, depth: depth, obj: o, path: at, value: v})
}

// fill plans giving the null value of key the value of the steps rest and
// v.
func (p *plan) fill(o *object, key, null *yaml.Node, depth int, inFlow bool, at, rest []fix.Step, v any) error {
	if err := passable(null, at); err != nil {
		return err
	}
	if len(rest) == 0 && v == nil {
		return nil // already null
	}
	val, err := build(rest, v)
	if err != nil {
		return &Error{Line: key.Line, Err: fmt.Errorf("%s: %w", where(extend(at, rest...)), err)}
	}
	return p.merge(&op{kind: fillNull, node: null, key: key, inFlow: inFlow, depth: depth, obj: o, path: at, value: val})
}

// appendItem plans adding the element of sequence n that rest's first step
// names and does not find.
func (p *plan) appendItem(o *object, n *yaml.Node, depth int, at, rest []fix.Step, v any) error {
	step := rest[0]
	if step.Name == "" {
		pending := 0
		if q := p.ops[n]; q != nil && q.kind == appendItems {
			pending = len(q.value.(*newList).items)
		}
		if step.Index > len(n.Content)+pending {
			return &Error{Line: n.Line, Err: fmt.Errorf("%s has %d elements, so there is no element %d to set", where(at), len(n.Content)+pending, step.Index)}
		}
	}
	inner, err := build(rest[1:], v)
	var l *newList
	if err == nil {
		l, err = newElement(step, inner, len(n.Content))
	}
	if err != nil {
		return &Error{Line: n.Line, Err: fmt.Errorf("%s: %w", where(extend(at, rest...)), err)}
	}
	return p.merge(&op{kind: appendItems, node: n, depth: depth, obj: o, path: at, value: l})
}

// merge adds q to the op on its node.
func (p *plan) merge(q *op) error {
	prev := p.ops[q.node]
	if prev == nil {
		p.ops[q.node] = q
		p.order = append(p.order, q)
		return nil
	}
	if prev.kind != q.kind {
		return &Error{Line: q.node.Line, Err: fmt.Errorf("%s: two sets change it in ways that conflict", where(q.path))}
	}
	merged, err := mergeValues(prev.value, q.value)
	if err != nil {
		var c *conflict
		errors.As(err, &c)
		return &Error{Line: q.node.Line, Err: fmt.Errorf("%s: %w", where(extend(q.path, c.at...)), err)}
	}
	prev.value = merged
	return nil
}

// conflict is two values that do not merge, at a path under where they were
// merged.
type conflict struct {
	at  []fix.Step
	err error
}

func (c *conflict) Error() string { return c.err.Error() }

// build is the value that the steps, which do not exist, and v at their end
// make.
func build(steps []fix.Step, v any) (any, error) {
	if len(steps) == 0 {
		return v, nil
	}
	inner, err := build(steps[1:], v)
	if err != nil {
		return nil, err
	}
	if steps[0].Key != "" {
		return map[string]any{steps[0].Key: inner}, nil
	}
	if steps[0].Name == "" && steps[0].Index != 0 {
		return nil, fmt.Errorf("the sequence does not exist, so it has no element %d", steps[0].Index)
	}
	return newElement(steps[0], inner, 0)
}

// newElement is the list of the one new element that step names, with
// value inner, at the end of a sequence of base elements: found by name, it
// is a mapping with that name.
func newElement(step fix.Step, inner any, base int) (*newList, error) {
	if step.Name == "" {
		return &newList{base: base, items: []newItem{{index: step.Index, value: inner}}}, nil
	}
	m, ok := inner.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("an element found by its name (%s) is a mapping, so its value cannot be %s", step.Name, describe(inner))
	}
	merged, err := mergeValues(map[string]any{"name": step.Name}, m)
	if err != nil {
		return nil, fmt.Errorf("the element named %s would have another name", step.Name)
	}
	return &newList{base: base, items: []newItem{{name: step.Name, value: merged}}}, nil
}

// mergeValues merges src into dst: mappings key by key, new lists element
// by element; anything else must be equal.
func mergeValues(dst, src any) (any, error) {
	switch d := dst.(type) {
	case map[string]any:
		if s, ok := src.(map[string]any); ok {
			for _, k := range sortedKeys(s) {
				if dv, ok := d[k]; ok {
					merged, err := mergeValues(dv, s[k])
					if err != nil {
						return nil, under(fix.Step{Key: k}, err)
					}
					d[k] = merged
				} else {
					d[k] = s[k]
				}
			}
			return d, nil
		}
	case *newList:
		if s, ok := src.(*newList); ok {
			for _, item := range s.items {
				if err := d.add(item); err != nil {
					return nil, err
				}
			}
			return d, nil
		}
	}
	if equal(dst, src) {
		return dst, nil
	}
	return nil, &conflict{err: errors.New("two sets give it different values")}
}

// under is a conflict err found in the value at step.
func under(step fix.Step, err error) error {
	c := err.(*conflict)
	return &conflict{at: extend([]fix.Step{step}, c.at...), err: c.err}
}

// add merges item into the element of l it finds, by its name or at its
// index, or appends it.
func (l *newList) add(item newItem) error {
	for i, have := range l.items {
		if item.name != "" && have.name == item.name || item.name == "" && l.base+i == item.index {
			merged, err := mergeValues(have.value, item.value)
			if err != nil {
				return under(fix.Step{Name: item.name, Index: item.index}, err)
			}
			l.items[i].value = merged
			return nil
		}
	}
	l.items = append(l.items, item)
	return nil
}

// element is the index of the element of sequence n that step finds, or -1
// when it finds none.
func element(n *yaml.Node, step fix.Step, at []fix.Step) (int, error) {
	if step.Name == "" {
		if step.Index < 0 {
			return 0, &Error{Line: n.Line, Err: fmt.Errorf("%s: index %d is negative", where(at), step.Index)}
		}
		if step.Index < len(n.Content) {
			return step.Index, nil
		}
		return -1, nil
	}
	found := -1
	for i, item := range n.Content {
		named := item
		if item.Kind == yaml.AliasNode && item.Alias != nil {
			named = item.Alias
		}
		if named.Kind != yaml.MappingNode {
			continue
		}
		if name := value(named, "name"); name == nil || name.Kind != yaml.ScalarNode || name.Tag != "!!str" || name.Value != step.Name {
			continue
		}
		if found >= 0 {
			return 0, &Error{Line: item.Line, Err: fmt.Errorf("%s has two elements named %s", where(at), step.Name)}
		}
		found = i
	}
	return found, nil
}

// passable refuses a node that an edit may not change or go through: an
// alias, or a node with an anchor, whose change every alias would share.
func passable(n *yaml.Node, at []fix.Step) error {
	switch {
	case n.Kind == yaml.AliasNode:
		return &Error{Line: n.Line, Err: fmt.Errorf("%s is an alias (*%s): editing through it would change every use of its anchor", where(at), n.Value)}
	case n.Anchor != "":
		return &Error{Line: n.Line, Err: fmt.Errorf("%s has an anchor (&%s): editing it would change every alias of it too", where(at), n.Anchor)}
	}
	return nil
}

// mergeKey is a mapping's merge key (<<), or nil.
func mergeKey(n *yaml.Node) *yaml.Node {
	for i := 0; i < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Tag == "!!merge" {
			return k
		}
	}
	return nil
}

// oddKey is a key of a mapping that is not a plain key of one line (a
// collection, a null, an explicit "? key" whose value is on a line of its
// own), and what it is; or nil.
func (p *plan) oddKey(n *yaml.Node) (*yaml.Node, string) {
	t := p.f.text
	for i := 0; i < len(n.Content); i += 2 {
		k := n.Content[i]
		switch {
		case k.Kind != yaml.ScalarNode:
			return k, "a key that is " + describeNode(k)
		case k.Tag == "!!null":
			return k, "a null key"
		case k.Line <= t.lines() && bytes.HasSuffix(bytes.TrimRight(t.src[t.start[k.Line-1]:t.offset(k)], " \t"), []byte("?")):
			return k, "an explicit key (? " + k.Value + ")"
		}
	}
	return nil, ""
}

// isNull reports whether n is a null scalar (empty, ~, null).
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func shapeError(n *yaml.Node, at []fix.Step, want string) error {
	return &Error{Line: n.Line, Err: fmt.Errorf("%s is %s, not %s: the path does not match the object", where(at), describeNode(n), want)}
}

// describeNode says what kind of node n is, for messages.
func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.ScalarNode:
		return fmt.Sprintf("a scalar (%s)", strconv.Quote(n.Value))
	}
	return "an alias"
}

// describe says what kind of value v is, for messages.
func describe(v any) string {
	switch v.(type) {
	case map[string]any:
		return "a mapping"
	case []any, *newList:
		return "a sequence"
	case nil:
		return "null"
	}
	return "a scalar"
}

// where names a path for messages: "spec.containers[name=web].image", or
// "the object" for none.
func where(path []fix.Step) string {
	if len(path) == 0 {
		return "the object"
	}
	return fix.PathString(path)
}

// extend is path with steps after it, in a new slice.
func extend(path []fix.Step, steps ...fix.Step) []fix.Step {
	return append(append(make([]fix.Step, 0, len(path)+len(steps)), path...), steps...)
}
