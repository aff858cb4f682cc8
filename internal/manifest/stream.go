package manifest

import (
	"bytes"
	"io"
	"sync"

	yaml "go.yaml.in/yaml/v3"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// A stream lays the documents of one file, or of a batch of files
// (loadFiles), end to end for one yaml.v3 parser. A new parser costs about
// 15µs and 6 KB before it reads a byte, as much as a small document costs
// to parse: with one parser per document, loading the corpus
// (BenchmarkLoadCorpus) allocated 34.0 MB, with one per file 31.5 MB, and
// with one per batch of files it allocates 29.1 MB.
//
// Parsing documents together must give what parsing them alone gives.
// Each document is written after a "---" line, its own or an added one, so
// the parser cuts the stream where documents cut the files; a document
// with directives (%YAML, %TAG), which would reach into the documents after
// it, is parsed alone, and so is every later one of its file; and a
// document that refers to an anchor of an earlier document (yaml.v3 keeps
// anchors from one document to the next) stops the stream there. Nor is a
// document given the parser that it would read differently after other
// text (oddText). From a document the stream cannot parse on, each
// document is parsed alone. TestStreamMatchesDocuments,
// TestLoadMatchesDocuments and FuzzStream hold both ways equal.
type stream struct {
	buf   []byte
	line  int // the line of buf that the next byte starts
	parts []part
	// aside holds the documents parsed alone, in their turn: those add
	// keeps from the parser, and those that end without a line break (a
	// break after one would end its last scalar differently).
	aside []byte
	// crds keeps the CRDs' spec.versions that skim cut; nil keeps each
	// apart.
	crds *crdTexts
}

// part is one document of a stream.
type part struct {
	from, to int  // its skimmed text in buf, or in aside
	alone    bool // parsed alone, from aside
	line     int  // the line of its file its text starts on
	start    int  // the line of buf its "---" is on
	mark     int  // where in buf its "---" line starts
	// base is the line of its file that line 1 of buf stands for: a node
	// the parser puts on line n is on line base+n-1 of the file.
	base int
	src  inventory.Source
	file *fileResult
	// versions is the spec.versions skim cut from a CRD.
	versions string
}

// reset empties the stream for reuse, dropping its references to the
// results of the files it read.
func (s *stream) reset() {
	clear(s.parts)
	s.buf, s.line, s.parts, s.aside = s.buf[:0], 1, s.parts[:0], s.aside[:0]
}

// crdTexts keeps the spec.versions of the CRDs a load reads, each distinct
// text once: the same CRDs are often among the inputs several times (a
// chart rendered for each environment), and their schemas are megabytes.
type crdTexts struct {
	mu   sync.Mutex
	seen map[string]string
}

// keep returns text as a string of its own, no longer a part of the
// file's buffer: the one kept before when it is the same.
func (c *crdTexts) keep(text []byte) string {
	if len(text) == 0 || c == nil {
		return string(text)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.seen[string(text)]; ok {
		return s
	}
	s := string(text)
	c.seen[s] = s
	return s
}

// withVersions gives a CRD, the one object of a document skim cut its
// spec.versions from, that text.
func withVersions(objs []*inventory.Object, versions string) []*inventory.Object {
	if versions != "" && len(objs) == 1 {
		objs[0].CRDVersions = versions
	}
	return objs
}

// add adds a document of file. It is parsed alone, in its turn, when it
// cannot share the parser: it has a directive or odd text, or an earlier
// document of its file had (fileResult.alone), or it ends without a line
// break. The spec.versions skim cuts from a CRD is kept (crdTexts) for
// its object.
func (s *stream) add(doc document, src inventory.Source, file *fileResult) {
	file.alone = file.alone || hasDirective(doc.text) || oddText(doc.text)
	text, versions := skim(doc.text)
	if len(text) == 0 {
		return // documents makes none, and there is nothing in one
	}
	kept := s.crds.keep(versions)
	if file.alone || text[len(text)-1] != '\n' {
		s.parts = append(s.parts, part{from: len(s.aside), to: len(s.aside) + len(text), alone: true, line: doc.line, src: src, file: file, versions: kept})
		s.aside = append(s.aside, text...)
		return
	}
	start, mark := s.line, len(s.buf)
	if !isMarker(text, "---") {
		s.buf = append(s.buf, "---\n"...)
		s.line++
	}
	p := part{from: len(s.buf), line: doc.line, start: start, mark: mark, base: doc.line - s.line + 1, src: src, file: file, versions: kept}
	s.buf = append(s.buf, text...)
	p.to = len(s.buf)
	s.line += bytes.Count(text, []byte("\n"))
	s.parts = append(s.parts, p)
}

// parse parses the stream's documents and hands each one's objects and
// errors to its file. It returns how many it parsed together, before any
// it parsed alone.
//
// A file that has had as many errors as are listed (fileResult.full) is
// read no further: its later documents are skipped, and the parser starts
// again at the next document of another file, so that a flood of
// malformed documents costs what its first errors cost.
func (s *stream) parse() int {
	// Results are handed on only once the parser has read as many
	// documents as were written, no more: a document cut differently from
	// documents would shift every one after it.
	type result struct {
		objs    []*inventory.Object
		errs    []*Error
		skipped bool
	}
	results := make([]result, 0, len(s.parts))
	dec := yaml.NewDecoder(bytes.NewReader(s.buf))
	shift := 0       // the lines of buf before the parser's input
	restart := false // the parser must start again at the next document it reads
	next := len(s.parts)
	for i, p := range s.parts {
		if p.file.full() {
			results = append(results, result{skipped: true})
			restart = restart || !p.alone
			continue
		}
		var r result
		if p.alone {
			r.objs, r.errs = parseSkimmed(s.aside[p.from:p.to], p.line, p.src, p.versions)
		} else {
			if restart {
				dec = yaml.NewDecoder(bytes.NewReader(s.buf[p.mark:]))
				shift, restart = p.start-1, false
			}
			var root yaml.Node
			if dec.Decode(&root) != nil {
				next = i
				break
			}
			if bytes.IndexByte(s.buf[p.from:p.to], '*') >= 0 && aliasesBack(&root, p.start-shift) {
				next = i
				break
			}
			r.objs, r.errs = convertDocument(&root, p.base+shift, p.src)
			r.objs = withVersions(r.objs, p.versions)
		}
		p.file.pending += len(r.errs)
		results = append(results, r)
	}
	if next == len(s.parts) && !restart {
		var extra yaml.Node
		if dec.Decode(&extra) != io.EOF {
			results, next = nil, 0
		}
	}
	for _, p := range s.parts {
		p.file.pending = 0
	}
	for i, r := range results[:next] {
		if p := s.parts[i]; r.skipped {
			p.file.skip(p.line)
		} else {
			p.file.add(r.objs, r.errs)
		}
	}
	for _, p := range s.parts[next:] {
		if p.file.full() {
			p.file.skip(p.line)
			continue
		}
		text := s.buf
		if p.alone {
			text = s.aside
		}
		p.file.add(parseSkimmed(text[p.from:p.to], p.line, p.src, p.versions))
	}
	return next
}

// hasDirective reports whether a line starts with "%". Most are directives;
// one that is in a block scalar only costs the faster path.
func hasDirective(text []byte) bool {
	return len(text) > 0 && text[0] == '%' || bytes.Contains(text, []byte("\n%"))
}

// oddText reports whether text holds what yaml.v3 reads differently in a
// stream than alone: a line break it counts but the stream, counting "\n",
// does not (a lone "\r"; NEL, LS and PS, which also end a "---"), or a
// byte order mark, which it skips only at the start of its input.
func oddText(text []byte) bool {
	for _, s := range [...]string{"\u0085", "\u2028", "\u2029", "\ufeff"} {
		if bytes.Contains(text, []byte(s)) {
			return true
		}
	}
	for rest := text; ; {
		i := bytes.IndexByte(rest, '\r')
		if i < 0 {
			return false
		}
		if i+1 == len(rest) || rest[i+1] != '\n' {
			return true
		}
		rest = rest[i+2:]
	}
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
