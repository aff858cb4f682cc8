// Package yamledit makes plimsoll fix's changes in the manifest files
// themselves, as a person would: it sets the values of fields and changes
// only the lines those touch. Comments, key order, quoting, indentation,
// blank lines, line breaks and document markers stay byte for byte as they
// were, so that the diff of a fix is the fix and nothing else.
//
// An edit finds its object by the line its mapping starts on, as
// plimsoll's loader reports it (a document's root mapping, or an item of a
// List), and follows each field path from there: an existing scalar is
// replaced in place, missing keys are inserted as a block after the last
// entry of the deepest mapping that exists, a missing element of a list
// merged by name is appended, and a mapping value is merged key by key into
// the mapping that is there.
//
// Apply proves what it returns: it parses the result and compares it with
// the file as parsed before, with the edits made to that; any difference
// (a value not set, anything else changed) is an error, never a file. It
// refuses, naming the line, what it cannot edit safely: a template, a path
// through an alias or an anchor (the edit would change every use), a value
// of another shape than the path needs, a block scalar, a flow collection
// with a comment inside.
package yamledit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/plimsoll/plimsoll/internal/fix"
)

// Edit sets values in one object of a file: the object is the mapping that
// starts at Line (1-based: a document's root mapping, or an item of a
// `kind: List`'s items, as plimsoll's loader reports objects' lines).
type Edit struct {
	Line int
	Sets []fix.Set
}

// Error is an edit Apply refuses, at the line of the file that makes it
// refuse.
type Error struct {
	Line int // 0 when no one line is the reason
	Err  error
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %v", e.Line, e.Err)
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Apply returns src with the edits made. It changes only the lines the edits
// touch: comments, key order, quoting, indentation (including sequences
// indented or not under their key), blank lines, CRLF line endings and `---`
// separators stay byte for byte as they were. It returns an error, and no
// file, for an edit it cannot make or prove.
func Apply(src []byte, edits []Edit) ([]byte, error) {
	f, err := parse(src)
	if err != nil {
		return nil, err
	}
	p := newPlan(f)
	objs := make([]*object, len(edits))
	for i, e := range edits {
		o, err := f.object(e.Line)
		if err != nil {
			return nil, err
		}
		objs[i] = o
		for _, s := range e.Sets {
			if err := p.add(o, s); err != nil {
				return nil, err
			}
		}
	}
	splices, err := p.splices()
	if err != nil {
		return nil, err
	}
	out := splice(src, splices)
	if err := verify(f, out, edits, objs); err != nil {
		return nil, err
	}
	return out, nil
}

// file is a parsed file: its text and its documents' nodes.
type file struct {
	*text
	docs    []*yaml.Node
	layouts map[int]layout // by document, as they are needed
}

// parse reads src's documents. It refuses a template: the file that was
// audited is what the template renders, not what is written here.
func parse(src []byte) (*file, error) {
	if bytes.HasPrefix(src, []byte{0xFE, 0xFF}) || bytes.HasPrefix(src, []byte{0xFF, 0xFE}) {
		return nil, errors.New("the file is UTF-16, which is not edited in place")
	}
	t, err := newText(src)
	if err != nil {
		return nil, err
	}
	if i := bytes.Index(src, []byte("{{")); i >= 0 {
		return nil, &Error{Line: t.lineOf(i), Err: errors.New("the file holds template syntax ({{), so it is a template and not the manifest that was audited; edit it by hand")}
	}
	docs, err := parseDocuments(src)
	if err != nil {
		return nil, err
	}
	return &file{text: t, docs: docs, layouts: map[int]layout{}}, nil
}

// parseDocuments parses every document of a stream.
func parseDocuments(src []byte) ([]*yaml.Node, error) {
	var docs []*yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(src))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if err == io.EOF {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("the file does not parse as YAML: %w", err)
		}
		docs = append(docs, &doc)
	}
}

// object is an object of a file: its mapping, and where it is in its
// document for the check that reads the result back (verify).
type object struct {
	doc  int
	node *yaml.Node
	// items are the indexes in the items of Lists that lead to it from its
	// document's root; none for a root.
	items []int
	depth int // of its node in the document's tree
}

// object finds the object whose mapping starts at line.
func (f *file) object(line int) (*object, error) {
	for i, doc := range f.docs {
		if len(doc.Content) == 0 {
			continue
		}
		if o := objectAt(doc.Content[0], line, &object{doc: i, depth: 1}); o != nil {
			return o, nil
		}
	}
	return nil, &Error{Line: line, Err: errors.New("no object starts at this line")}
}

// objectAt finds the object at line in n, a document's root or an item of a
// List, which o locates.
func objectAt(n *yaml.Node, line int, o *object) *object {
	if n.Kind != yaml.MappingNode || n.Line > line {
		return nil
	}
	if n.Line == line {
		o.node = n
		return o
	}
	if !isList(n) {
		return nil
	}
	items := value(n, "items")
	for i, item := range items.Content {
		found := objectAt(item, line, &object{doc: o.doc, items: append(append([]int(nil), o.items...), i), depth: o.depth + 2})
		if found != nil {
			return found
		}
	}
	return nil
}

// isList reports whether a mapping is a List (v1 List, or any FooList) as
// the loader reads one: its kind ends in List and its items are a sequence.
func isList(n *yaml.Node) bool {
	kind := value(n, "kind")
	items := value(n, "items")
	return kind != nil && kind.Kind == yaml.ScalarNode && strings.HasSuffix(kind.Value, "List") &&
		items != nil && items.Kind == yaml.SequenceNode
}

// value is the value of a mapping's string key, or nil.
func value(n *yaml.Node, key string) *yaml.Node {
	if k := keyIndex(n, key); k >= 0 {
		return n.Content[k+1]
	}
	return nil
}

// keyIndex is the index in a mapping's Content of its string key, or -1.
func keyIndex(n *yaml.Node, key string) int {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!str" && k.Value == key {
			return i
		}
	}
	return -1
}

// change is a change of the file's bytes: src[from:to] becomes text.
type change struct {
	from, to int
	text     string
	// depth orders insertions at the same offset: the deeper collection's
	// lines come first, so that they stay inside it.
	depth int
}

// splice makes the changes, which do not overlap, in src.
func splice(src []byte, changes []change) []byte {
	size := len(src)
	for _, c := range changes {
		size += len(c.text) - (c.to - c.from)
	}
	out := make([]byte, 0, size)
	pos := 0
	for _, c := range changes {
		out = append(out, src[pos:c.from]...)
		out = append(out, c.text...)
		pos = c.to
	}
	return append(out, src[pos:]...)
}

// sortChanges orders changes by offset, deeper insertions first at one
// offset, and refuses two that overlap.
func sortChanges(t *text, changes []change) error {
	sort.SliceStable(changes, func(i, j int) bool {
		if changes[i].from != changes[j].from {
			return changes[i].from < changes[j].from
		}
		return changes[i].depth > changes[j].depth
	})
	for i := 1; i < len(changes); i++ {
		if changes[i].from < changes[i-1].to {
			return &Error{Line: t.lineOf(changes[i].from), Err: errors.New("two sets change the same text")}
		}
	}
	return nil
}
