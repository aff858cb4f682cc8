package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
	"math"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// maxAliasExpansion bounds how many nodes alias references may expand to in
// one document, and maxAliasBytes how many bytes of scalars: real manifests
// use few aliases; an alias bomb ("billion laughs") needs millions of
// nodes, or a few thousand references to one large scalar (a 135 KB file
// once wrote a 136 MB report), and is refused long before it costs memory.
const (
	maxAliasExpansion = 10000
	maxAliasBytes     = 1 << 20
)

// document is one YAML document of a stream, with the line its text starts
// on.
type document struct {
	text []byte
	line int // 1-based line of text[0] in the file
}

// documents cuts a YAML stream at its document markers ("---" and "..."
// at the start of a line), as its reader asks for them: a reader that
// stops early (a file that has had its errors) leaves the rest uncut. A
// marker at the start of a line always ends a document in YAML, even
// inside a block scalar, so cutting there is exact. Each document is
// parsed on its own: a syntax error in one does not lose the others.
func documents(data []byte) iter.Seq[document] {
	return func(yield func(document) bool) {
		add := func(d document) bool {
			// A marker and nothing else (a file of "---" lines) holds no
			// object, and costs a parse and a slot each.
			return blankDocument(d.text) || yield(d)
		}
		start, startLine := 0, 1
		// The search jumps from one line that starts like a marker to the
		// next rather than reading every line: a CRD's schemas are
		// thousands of lines long.
		dashes, dots := markerIndex{marker: "---", at: -1}, markerIndex{marker: "...", at: -1}
		line, counted := 1, 0 // line is the line number at offset counted
		for pos := 0; pos < len(data); {
			pos = min(dashes.next(data, pos), dots.next(data, pos))
			if pos >= len(data) {
				break
			}
			line += bytes.Count(data[counted:pos], []byte("\n"))
			counted = pos
			next := len(data)
			if end := bytes.IndexByte(data[pos:], '\n'); end >= 0 {
				next = pos + end + 1
			}
			l := data[pos:next]
			switch {
			case isMarker(l, "---"):
				// The marker line opens the next document ("--- !tag" or
				// "--- {a: 1}" carry content). Directives before it
				// (%YAML, %TAG) belong to that document.
				if pos > start && !directivesOnly(data[start:pos]) {
					if !add(document{data[start:pos], startLine}) {
						return
					}
					start, startLine = pos, line
				}
			case isMarker(l, "..."):
				if pos > start && !add(document{data[start:pos], startLine}) {
					return
				}
				start, startLine = next, line+1
			}
			pos = next
		}
		if start < len(data) {
			add(document{data[start:], startLine})
		}
	}
}

// blankDocument reports whether a document's text is nothing but blank
// lines, comments and bare "---" or "..." markers.
func blankDocument(text []byte) bool {
	const blank = blankLine | markerLine
	return linesOf(text, blank)&^blank == 0
}

// lineKind is what a line of a stream is to documents, as a bit.
type lineKind uint8

const (
	blankLine     lineKind = 1 << iota // nothing but spaces, or a comment
	markerLine                         // "---" or "..." alone, from the line's start
	directiveLine                      // "%" at the line's start
	textLine                           // anything else
)

// kindOfLine says what a line is. A marker or a directive starts at the
// line's start, as the parser reads them; indented, it is text.
func kindOfLine(l []byte) lineKind {
	l = bytes.TrimRight(l, " \t\r\n")
	switch t := bytes.TrimLeft(l, " \t"); {
	case len(t) == 0 || t[0] == '#':
		return blankLine
	case string(l) == "---" || string(l) == "...":
		return markerLine
	case l[0] == '%':
		return directiveLine
	}
	return textLine
}

// linesOf returns the kinds of the lines of text, as bits, up to and with
// the first line of a kind not in allowed.
func linesOf(text []byte, allowed lineKind) lineKind {
	var kinds lineKind
	for pos := 0; pos < len(text) && kinds&^allowed == 0; {
		var l []byte
		l, pos = nextLine(text, pos)
		kinds |= kindOfLine(l)
	}
	return kinds
}

// markerIndex finds the lines that start with a marker's text. It keeps
// the next one it found, so a stream is searched once for each marker.
type markerIndex struct {
	marker string
	at     int // offset of the next such line once found, or -1
	done   bool
}

// next is the offset of the first line at or after pos (a line start) that
// starts with the marker's text, or len(data).
func (m *markerIndex) next(data []byte, pos int) int {
	switch {
	case m.done:
		return len(data)
	case m.at >= pos:
		return m.at
	case bytes.HasPrefix(data[pos:], []byte(m.marker)):
		m.at = pos
	default:
		i := bytes.Index(data[pos:], []byte("\n"+m.marker))
		if i < 0 {
			m.done = true
			return len(data)
		}
		m.at = pos + i + 1
	}
	return m.at
}

// directivesOnly reports whether text holds at least one directive and
// nothing else but comments and blank lines.
func directivesOnly(text []byte) bool {
	const allowed = blankLine | directiveLine
	kinds := linesOf(text, allowed)
	return kinds&directiveLine != 0 && kinds&^allowed == 0
}

func isMarker(line []byte, marker string) bool {
	if !bytes.HasPrefix(line, []byte(marker)) {
		return false
	}
	rest := line[len(marker):]
	return len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\n' || rest[0] == '\r'
}

// lineError is an error at a line of the document being converted.
type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return e.msg }

// converter turns a yaml.v3 node tree into the map[string]any form that
// apimachinery decodes, refusing duplicate keys and alias bombs.
type converter struct {
	aliased, aliasedBytes int
	// offset turns a line of the document into a line of the file.
	offset int
	// secret counts the data, stringData and binaryData mappings being
	// converted: a scalar inside one may be a secret value, which an error
	// must never quote.
	secret int
	// key is the mapping key whose value is being converted, for errors.
	key string
}

func (c *converter) value(n *yaml.Node, viaAlias bool) (any, error) {
	if viaAlias {
		c.aliased++
		if c.aliased > maxAliasExpansion {
			return nil, &lineError{n.Line, fmt.Sprintf("aliases expand to more than %d nodes (an alias bomb?); refusing the document", maxAliasExpansion)}
		}
		if n.Kind == yaml.ScalarNode {
			c.aliasedBytes += len(n.Value)
			if c.aliasedBytes > maxAliasBytes {
				return nil, &lineError{n.Line, fmt.Sprintf("aliases expand to more than %d bytes (an alias bomb?); refusing the document", maxAliasBytes)}
			}
		}
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0], viaAlias)
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, &lineError{n.Line, "alias to an unknown anchor"}
		}
		return c.value(n.Alias, true)
	case yaml.MappingNode:
		return c.mapping(n, viaAlias)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, item := range n.Content {
			v, err := c.value(item, viaAlias)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.ScalarNode:
		v, err := scalar(n)
		if err != nil {
			return nil, c.scalarError(n)
		}
		return v, nil
	}
	return nil, &lineError{n.Line, fmt.Sprintf("unexpected YAML node kind %d", n.Kind)}
}

func (c *converter) mapping(n *yaml.Node, viaAlias bool) (map[string]any, error) {
	out := make(map[string]any, len(n.Content)/2)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			return nil, &lineError{k.Line, "mapping key is not a scalar"}
		}
		key := k.Value
		if _, dup := out[key]; dup {
			return nil, &lineError{k.Line, fmt.Sprintf("duplicate key %q (first at line %d)", key, firstKeyLine(n, key)+c.offset)}
		}
		secret := secretValues[key]
		if secret {
			c.secret++
		}
		c.key = key
		val, err := c.value(v, viaAlias)
		if secret {
			c.secret--
		}
		if err != nil {
			return nil, err
		}
		out[key] = val
	}
	// Merge keys ("<<: *base") fill in what the mapping does not set itself.
	for _, m := range merges {
		sources := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			sources = m.Content
		}
		for _, s := range sources {
			v, err := c.value(s, viaAlias)
			if err != nil {
				return nil, err
			}
			mm, ok := v.(map[string]any)
			if !ok {
				return nil, &lineError{s.Line, "merge key value is not a mapping"}
			}
			for k, val := range mm {
				if _, set := out[k]; !set {
					out[k] = val
				}
			}
		}
	}
	return out, nil
}

// firstKeyLine is the line of the first key of a mapping with that name.
// Only a duplicate key needs it, so it is searched for rather than
// recorded for every key.
func firstKeyLine(n *yaml.Node, key string) int {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Tag != "!!merge" && k.Value == key {
			return k.Line
		}
	}
	return 0
}

func scalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		switch strings.ToLower(n.Value) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	case "!!int":
		s := strings.ReplaceAll(n.Value, "_", "")
		if i, err := strconv.ParseInt(s, 0, 64); err == nil {
			return i, nil
		}
		if strings.HasPrefix(s, "0o") || strings.HasPrefix(s, "0O") {
			if i, err := strconv.ParseInt(s[2:], 8, 64); err == nil {
				return i, nil
			}
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f, nil
		}
	case "!!float":
		switch strings.ToLower(n.Value) {
		case ".inf", "+.inf":
			return math.Inf(1), nil
		case "-.inf":
			return math.Inf(-1), nil
		case ".nan":
			return math.NaN(), nil
		}
		if f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64); err == nil {
			return f, nil
		}
	case "!!str", "!!timestamp", "!!binary":
		return n.Value, nil
	default:
		// Unknown tags (!Ref and the like) keep their text.
		return n.Value, nil
	}
	return nil, errBadScalar
}

var errBadScalar = errors.New("bad scalar")

// maxQuoted bounds how much of a value an error quotes.
const maxQuoted = 64

// scalarError says which scalar could not be read. It quotes the value
// only outside data, stringData and binaryData, where it may be a secret,
// and then at most maxQuoted bytes of it.
func (c *converter) scalarError(n *yaml.Node) error {
	if c.secret > 0 {
		return &lineError{n.Line, fmt.Sprintf("cannot read the value of key %q as %s (the value is not shown: it may be secret)", c.key, n.ShortTag())}
	}
	return &lineError{n.Line, fmt.Sprintf("cannot read %s value %s", n.ShortTag(), quoteBounded(n.Value))}
}

// quoteBounded quotes s, cut to maxQuoted bytes (at a rune boundary) with
// the number of bytes left out.
func quoteBounded(s string) string {
	head, more := cutText(s, maxQuoted)
	if more == 0 {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%q... (%d more bytes)", head, more)
}

// parserProblems are the messages of yaml.v3's parser errors, as opposed
// to its scanner errors: their line number is 0-based.
var parserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found undefined tag handle":             true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

// YAMLError is a yaml.v3 error of a document that starts on line 1: the
// line in the file it points at, and its message without that line.
func YAMLError(err error) (int, string) { return parseError(err, 1) }

// parseError turns a yaml.v3 error into one with a line in the file.
func parseError(err error, offset int) (int, string) {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		err = errors.New(te.Errors[0])
	}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	// yaml.v3 says "line N: message"; N is 1-based within the document.
	if strings.HasPrefix(msg, "line ") {
		rest := msg[len("line "):]
		if i := strings.Index(rest, ":"); i > 0 {
			if n, convErr := strconv.Atoi(rest[:i]); convErr == nil {
				msg = strings.TrimSpace(rest[i+1:])
				if parserProblems[msg] {
					// yaml.v3 reports a parser error at its 0-based mark
					// (only scanner errors get the +1), one line early.
					n++
				}
				return offset + n - 1, msg
			}
		}
	}
	return offset, msg
}

// lineOf finds the line of a dotted field path (as encoding/json names a
// field, without list indexes) in a node tree, or 0.
func lineOf(n *yaml.Node, path []string) int {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if len(path) == 0 {
		return n.Line
	}
	switch n.Kind {
	case yaml.MappingNode:
		if k, v := mappingEntry(n, path[0]); k != nil {
			if len(path) == 1 {
				return k.Line
			}
			return lineOf(v, path[1:])
		}
	case yaml.SequenceNode:
		for _, item := range n.Content {
			if l := lineOf(item, path); l > 0 {
				return l
			}
		}
	}
	return 0
}

// mappingEntry is the key and value nodes of the first key of a mapping
// node (the mapping an alias names, for an alias), or nils. Every lookup of
// a key in a node tree goes through it.
func mappingEntry(n *yaml.Node, key string) (k, v *yaml.Node) {
	if n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}
