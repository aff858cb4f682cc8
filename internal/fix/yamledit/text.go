package yamledit

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// text is a file's bytes, cut into lines where the YAML parser cuts them, so
// that a node's Line and Column find its bytes.
type text struct {
	src []byte
	// start[i] is the offset of line i+1. Line 1 starts after a byte order
	// mark, which the parser does not count as a column.
	start []int
	// eol is the file's line break, which inserted lines end with: its first
	// one, or "\n" in a file of one line.
	eol string
}

var byteOrderMark = []byte("\uFEFF")

// newText indexes src's lines. It refuses the line breaks YAML counts but
// editors, and so anyone reading a diff, may not (U+0085, U+2028, U+2029).
func newText(src []byte) (*text, error) {
	t := &text{src: src, start: []int{0}}
	if bytes.HasPrefix(src, byteOrderMark) {
		t.start[0] = len(byteOrderMark)
	}
	for i := 0; i < len(src); i++ {
		switch c := src[i]; {
		case c == '\n', c == '\r':
			eol := "\n"
			if c == '\r' {
				eol = "\r"
				if i+1 < len(src) && src[i+1] == '\n' {
					eol = "\r\n"
					i++
				}
			}
			if t.eol == "" {
				t.eol = eol
			}
			t.start = append(t.start, i+1)
		case c == 0xC2 && i+1 < len(src) && src[i+1] == 0x85,
			c == 0xE2 && i+2 < len(src) && src[i+1] == 0x80 && (src[i+2] == 0xA8 || src[i+2] == 0xA9):
			r, _ := utf8.DecodeRune(src[i:])
			return nil, &Error{Line: len(t.start), Err: fmt.Errorf("the file breaks lines with %U, which YAML reads as a line break and most editors do not", r)}
		}
	}
	if t.eol == "" {
		t.eol = "\n"
	}
	return t, nil
}

// lines is the number of lines; a final line break starts an empty last one.
func (t *text) lines() int { return len(t.start) }

// next is the offset where the line after line l starts, or the end of the
// file.
func (t *text) next(l int) int {
	if l < len(t.start) {
		return t.start[l]
	}
	return len(t.src)
}

// line is line l's text without its line break.
func (t *text) line(l int) []byte {
	return bytes.TrimRight(t.src[t.start[l-1]:t.next(l)], "\r\n")
}

// lineOf is the line of offset off.
func (t *text) lineOf(off int) int {
	return sort.Search(len(t.start), func(i int) bool { return t.start[i] > off })
}

// offset is the offset of a node's line and column (the parser counts
// columns in characters).
func (t *text) offset(n *yaml.Node) int {
	if n.Line < 1 || n.Line > len(t.start) {
		return len(t.src) // an empty value the parser places after the end
	}
	off := t.start[n.Line-1]
	end := off + len(t.line(n.Line))
	for c := 1; c < n.Column && off < end; c++ {
		_, size := utf8.DecodeRune(t.src[off:])
		off += size
	}
	return off
}

// endsWithBreak reports whether the file's last line ends with a line break.
func (t *text) endsWithBreak() bool {
	return len(t.src) > 0 && (t.src[len(t.src)-1] == '\n' || t.src[len(t.src)-1] == '\r')
}

// indent is the number of spaces line l starts with, and what follows them:
// blank (nothing but white space) or comment (a "#").
func (t *text) indent(l int) (n int, blank, comment bool) {
	s := t.line(l)
	for n < len(s) && s[n] == ' ' {
		n++
	}
	rest := bytes.TrimLeft(s[n:], " \t")
	return n, len(rest) == 0, len(rest) > 0 && rest[0] == '#'
}

// blockEnd is the offset after the last line of a block collection whose
// entries (keys or dashes) are indented by indent and whose last entry starts
// on line last: the lines after it that are more indented, and the comment
// lines indented at least as much, belong to it; blank lines and less
// indented comment lines belong only when something that belongs follows
// them. dashes says that the last entry's value is a block sequence whose
// dashes are at indent too ("containers:" then "- name: web" in line with
// it).
func (t *text) blockEnd(indent, last int, dashes bool) int {
	end := last
	for l := last + 1; l <= t.lines(); l++ {
		n, blank, comment := t.indent(l)
		switch {
		case blank, comment && n < indent:
			continue
		case n > indent, comment, n == indent && dashes && isDash(t.line(l)[n:]):
			end = l
			continue
		}
		break
	}
	return t.next(end)
}

// lastLine is the last line of node n's text: of the closing quote of a
// quoted scalar or the closing bracket of a flow collection, which may be on
// a line indented less than the block the node is in, or else of the node
// of it that starts last.
func (t *text) lastLine(n *yaml.Node) int {
	at := t.offset(n)
	end := -1
	switch {
	case at >= len(t.src):
	case n.Kind == yaml.ScalarNode && (t.src[at] == '"' || t.src[at] == '\''):
		end = quotedEnd(t.src, at)
	case n.Style&yaml.FlowStyle != 0:
		end, _ = t.flowClose(at)
	}
	last := n.Line
	if end > 0 {
		last = t.lineOf(end)
	}
	for _, c := range n.Content {
		last = max(last, t.lastLine(c))
	}
	return last
}

// isDash reports whether s starts with a block sequence's "-" indicator.
func isDash(s []byte) bool {
	return len(s) > 0 && s[0] == '-' && (len(s) == 1 || s[1] == ' ' || s[1] == '\t')
}

// scalarSpan is where a scalar's text is: from its first byte to after its
// last (its closing quote), without a comment or separator that follows.
// inFlow says that it is inside a flow collection, where ",", "]" and "}"
// end a plain scalar. It refuses a scalar it cannot replace as one piece of
// one line: a block scalar, one that continues on the next line, one with an
// explicit tag.
func (t *text) scalarSpan(n *yaml.Node, inFlow bool) (int, int, error) {
	switch {
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return 0, 0, errors.New("is a block scalar (| or >), which is not replaced in place")
	case n.Style&yaml.TaggedStyle != 0:
		return 0, 0, fmt.Errorf("has an explicit tag (%s), which is not replaced in place", n.Tag)
	}
	if n.Line < 1 || n.Line > t.lines() {
		return 0, 0, errors.New("is not where the parser saw it")
	}
	start := t.offset(n)
	line := t.src[start : t.start[n.Line-1]+len(t.line(n.Line))]
	end := -1
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		for i := 1; i < len(line); i++ {
			if line[i] == '\\' {
				i++
			} else if line[i] == '"' {
				end = i + 1
				break
			}
		}
	case n.Style&yaml.SingleQuotedStyle != 0:
		for i := 1; i < len(line); i++ {
			if line[i] == '\'' {
				if i+1 < len(line) && line[i+1] == '\'' {
					i++
					continue
				}
				end = i + 1
				break
			}
		}
	default:
		end = len(line)
		for i := 0; i < len(line); i++ {
			if (line[i] == '#' && i > 0 && (line[i-1] == ' ' || line[i-1] == '\t')) ||
				(inFlow && bytes.IndexByte([]byte(",[]{}"), line[i]) >= 0) {
				end = i
				break
			}
		}
		end = len(bytes.TrimRight(line[:end], " \t"))
	}
	if end < 0 || !sameScalar(line[:end], n) {
		return 0, 0, errors.New("is a scalar that continues on the next line, which is not replaced in place")
	}
	return start, start + end, nil
}

// sameScalar reports whether s, read alone, is the value of scalar n: that
// s is all of n's text.
func sameScalar(s []byte, n *yaml.Node) bool {
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
		return string(s) == n.Value
	}
	var v yaml.Node
	if err := yaml.Unmarshal(s, &v); err != nil || len(v.Content) != 1 {
		return false
	}
	return v.Content[0].Kind == yaml.ScalarNode && v.Content[0].Value == n.Value
}

// flowClose is the offset of the bracket that closes the flow collection
// whose opening bracket is at start. It refuses a collection with a comment
// inside, which an edit could move or cut.
func (t *text) flowClose(start int) (int, error) {
	src := t.src
	if start >= len(src) || (src[start] != '{' && src[start] != '[') {
		return 0, errors.New("does not start with { or [ where the parser saw it start")
	}
	depth := 0
	prev := byte(' ') // the last byte that is not white space
	for i := start; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
			if depth == 0 {
				return i, nil
			}
		case c == '#' && i > 0 && isSpace(src[i-1]):
			return 0, errors.New("has a comment inside, which an edit could move")
		case (c == '"' || c == '\'') && bytes.IndexByte([]byte("[{,:"), prev) >= 0:
			end := quotedEnd(src, i)
			if end < 0 {
				return 0, errors.New("has a quoted string that does not end")
			}
			i = end
		}
		if !isSpace(c) {
			prev = c
		}
	}
	return 0, errors.New("is not closed")
}

// quotedEnd is the offset of the quote that closes the quoted scalar that
// opens at start, or -1.
func quotedEnd(src []byte, start int) int {
	q := src[start]
	for i := start + 1; i < len(src); i++ {
		switch {
		case q == '"' && src[i] == '\\':
			i++
		case src[i] == q && q == '\'' && i+1 < len(src) && src[i+1] == '\'':
			i++
		case src[i] == q:
			return i
		}
	}
	return -1
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
