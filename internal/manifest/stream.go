package manifest

import (
	"bytes"
	"io"
	"sync"

	yaml "go.yaml.in/yaml/v3"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// streamBuffers hold the skimmed text of one file at a time (parseStream).
var streamBuffers = sync.Pool{New: func() any { return new([]byte) }}

// parseStream parses a file's documents with one yaml.v3 parser, rather
// than a new parser for each document: a new parser allocates its buffers
// afresh, so on the corpus (BenchmarkLoadCorpus) loading allocates 7% less
// and takes about 5% less time. It gives each document's objects and
// errors to add, and returns how many documents it did: at a document it
// cannot parse, the parser's state is lost, and that document and the rest
// are left to parseDocument, which parses each alone.
//
// Parsing documents together must give what parsing them alone gives. So
// files with directives (%YAML, %TAG) are left whole to parseDocument, and
// so is every document from one that refers to an anchor of an earlier
// document (yaml.v3 keeps anchors from one document to the next).
// TestStreamMatchesDocuments and FuzzStream hold the two paths equal.
func parseStream(docs []document, src inventory.Source, add func([]*inventory.Object, *Error)) int {
	if len(docs) < 2 {
		return 0
	}
	bp := streamBuffers.Get().(*[]byte)
	defer streamBuffers.Put(bp)
	buf := (*bp)[:0]
	// Each document is written after a "---" line, its own or an added
	// one, so that even one of comments alone is a document to the
	// parser. It is converted with the line of the file its first line is
	// on.
	type part struct{ doc, base, start int }
	parts := make([]part, 0, len(docs))
	line := 1 // the line of buf that the next byte starts
	for i, doc := range docs {
		text := skim(doc.text)
		if len(text) == 0 {
			continue // splitDocuments makes none, but parseDocument finds nothing in one
		}
		if hasDirective(text) {
			*bp = buf
			return 0
		}
		start := line
		if !isMarker(text, "---") {
			buf = append(buf, "---\n"...)
			line++
		}
		parts = append(parts, part{i, doc.line - line + 1, start})
		buf = append(buf, text...)
		line += bytes.Count(text, []byte("\n"))
		if text[len(text)-1] != '\n' {
			buf = append(buf, '\n')
			line++
		}
	}
	*bp = buf
	// The results are handed on only once the parser has read as many
	// documents as were written, no more: a document cut differently from
	// splitDocuments would shift every one after it.
	type result struct {
		objs []*inventory.Object
		err  *Error
	}
	results := make([]result, 0, len(parts))
	done := func(n int) int {
		for _, r := range results {
			add(r.objs, r.err)
		}
		return n
	}
	dec := yaml.NewDecoder(bytes.NewReader(buf))
	for _, p := range parts {
		var root yaml.Node
		if dec.Decode(&root) != nil {
			return done(p.doc)
		}
		if bytes.IndexByte(docs[p.doc].text, '*') >= 0 && aliasesBack(&root, p.start) {
			return done(p.doc)
		}
		objs, err := convertDocument(&root, p.base, src)
		results = append(results, result{objs, err})
	}
	var extra yaml.Node
	if dec.Decode(&extra) != io.EOF {
		return 0
	}
	return done(len(docs))
}

// hasDirective reports whether a line starts with "%". Most are directives;
// one that is in a block scalar only costs the faster path.
func hasDirective(text []byte) bool {
	return len(text) > 0 && text[0] == '%' || bytes.Contains(text, []byte("\n%"))
}

// aliasesBack reports whether a node refers to an anchor on a line before
// start: one of an earlier document, which yaml.v3 keeps from one document
// to the next but a document parsed alone does not see.
func aliasesBack(n *yaml.Node, start int) bool {
	if n.Kind == yaml.AliasNode {
		return n.Alias == nil || n.Alias.Line < start
	}
	for _, c := range n.Content {
		if aliasesBack(c, start) {
			return true
		}
	}
	return false
}
