package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// maxAliasExpansion bounds how many nodes alias references may expand to in
// one document. Real manifests use few aliases; an alias bomb ("billion
// laughs") needs millions, and is refused long before it costs memory.
const maxAliasExpansion = 10000

// document is one YAML document of a stream, with the line its text starts
// on.
type document struct {
	text []byte
	line int // 1-based line of text[0] in the file
}

// splitDocuments cuts a YAML stream at its document markers ("---" and
// "..." at the start of a line). A marker at the start of a line always ends
// a document in YAML, even inside a block scalar, so cutting there is exact.
// Each document is parsed on its own: a syntax error in one does not lose
// the others.
func splitDocuments(data []byte) []document {
	var docs []document
	start, startLine := 0, 1
	// The search jumps from one line that starts like a marker to the next
	// rather than reading every line: a CRD's schemas are thousands of
	// lines long.
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
			// "--- {a: 1}" carry content). Directives before it (%YAML,
			// %TAG) belong to that document.
			if pos > start && !directivesOnly(data[start:pos]) {
				docs = append(docs, document{data[start:pos], startLine})
				start, startLine = pos, line
			}
		case isMarker(l, "..."):
			if pos > start {
				docs = append(docs, document{data[start:pos], startLine})
			}
			start, startLine = next, line+1
		}
		pos = next
	}
	if start < len(data) {
		docs = append(docs, document{data[start:], startLine})
	}
	return docs
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
	found := false
	for pos := 0; pos < len(text); {
		var l []byte
		l, pos = nextLine(text, pos)
		l = bytes.TrimSpace(l)
		switch {
		case len(l) == 0 || l[0] == '#':
		case l[0] == '%':
			found = true
		default:
			return false
		}
	}
	return found
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
	aliased int
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

// secretValues are the keys whose values may hold secrets: a Secret's data
// and stringData, and a ConfigMap's binaryData, wherever they stand (a
// Secret inside a List included).
var secretValues = map[string]bool{"data": true, "stringData": true, "binaryData": true}

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
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == path[0] {
				if len(path) == 1 {
					return n.Content[i].Line
				}
				return lineOf(n.Content[i+1], path[1:])
			}
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

// crdKeep are the spec fields of a CustomResourceDefinition that plimsoll
// reads; the rest (the OpenAPI schemas) is most of the bytes of a typical
// install and is never needed. inventory.New keeps the same of a CRD read
// from a cluster.
var crdKeep = map[string]bool{"group": true, "names": true, "scope": true}

// valueKeys are the top-level fields that hold a ConfigMap's or a Secret's
// values, which plimsoll never reads.
var valueKeys = map[string]bool{"data": true, "stringData": true, "binaryData": true}

// skim blanks the lines of a document that no check reads, so they are
// never parsed:
//   - a CustomResourceDefinition's spec other than crdKeep: the OpenAPI
//     schemas are about nine tenths of the bytes of a real install;
//   - a ConfigMap's or a Secret's values (valueKeys): a tenth of the rest,
//     and a Secret's values are then never even held in memory.
//
// Lines are blanked, not removed, so every line number stays right. A
// layout it does not recognise (JSON, flow style, tabs, a sequence where a
// mapping belongs) is left whole for the full parse.
func skim(text []byte) []byte {
	if !bytes.Contains(text, []byte("CustomResourceDefinition")) && !bytes.Contains(text, []byte("ConfigMap")) && !bytes.Contains(text, []byte("Secret")) {
		return text // the common case, decided without reading lines
	}
	// The top-level keys: the document's kind and apiVersion, and where
	// each block-style value starts.
	var kind, apiVersion string
	blocks := map[string]int{} // key -> offset of the line after it, or -1
	for pos := 0; pos < len(text); {
		line, next := nextLine(text, pos)
		switch key, rest := topLevelKey(line); key {
		case "":
		case "kind":
			kind = rest
		case "apiVersion":
			apiVersion = rest
		default:
			if _, dup := blocks[key]; dup {
				return text // a duplicate key: the full parse reports it
			}
			blocks[key] = next
			if rest != "" {
				blocks[key] = -1 // a value on the key's line: not a block
			}
		}
		pos = next
	}
	var cut []span
	switch {
	case kind == "CustomResourceDefinition" && strings.HasPrefix(apiVersion, "apiextensions.k8s.io/"):
		if spec := blocks["spec"]; spec > 0 {
			cut = blockLines(text, spec, func(child string) bool { return !crdKeep[child] })
		}
	case (kind == "ConfigMap" || kind == "Secret") && apiVersion == "v1":
		for key, at := range blocks {
			if valueKeys[key] && at > 0 {
				// The key's own line goes too: a key left alone would
				// read as a null value.
				lines := blockLines(text, at, func(string) bool { return true })
				if lines != nil {
					cut = append(cut, span{bytes.LastIndexByte(text[:at-1], '\n') + 1, at})
					cut = append(cut, lines...)
				}
			}
		}
	}
	if len(cut) == 0 {
		return text
	}
	slices.SortFunc(cut, func(a, b span) int { return a.from - b.from })
	size := len(text)
	for _, c := range cut {
		size -= c.to - c.from - bytes.Count(text[c.from:c.to], []byte("\n"))
	}
	out := make([]byte, 0, size) // exact for "\n" line ends
	pos := 0
	for _, c := range cut {
		out = append(out, text[pos:c.from]...)
		out = appendNewlines(out, text[c.from:c.to])
		pos = c.to
	}
	return append(out, text[pos:]...)
}

// span is a run of whole lines of a text, newlines included.
type span struct{ from, to int }

// appendNewlines appends the line ends of lines, and nothing else.
func appendNewlines(out, lines []byte) []byte {
	if bytes.IndexByte(lines, '\r') < 0 {
		for n := bytes.Count(lines, []byte("\n")); n > 0; n-- {
			out = append(out, '\n')
		}
		return out
	}
	for pos := 0; pos < len(lines); {
		line, next := nextLine(lines, pos)
		out = append(out, newlineOf(line)...)
		pos = next
	}
	return out
}

// blockLines lists the lines to blank, in the block-style mapping that
// starts at offset start and runs to the next top-level line: those of the
// children that blank names. It returns nil when the block is not a plain
// mapping, so the document is parsed whole.
func blockLines(text []byte, start int, blank func(child string) bool) []span {
	var cut []span
	childIndent, drop, inChild := -1, false, false
	pos := start
	for pos < len(text) {
		line, next := nextLine(text, pos)
		if childIndent > 0 && len(line) > childIndent && line[childIndent] == ' ' && line[0] == ' ' && allSpaces(line[:childIndent]) {
			// Deeper than the children: part of the current child.
			if drop {
				cut = extend(cut, pos, next)
			}
			pos = next
			continue
		}
		indent := 0
		for indent < len(line) && line[indent] == ' ' {
			indent++
		}
		rest := line[indent:]
		content := len(rest) > 0 && rest[0] != '#' && len(bytes.TrimSpace(rest)) > 0
		if content && indent == 0 {
			break // the next top-level key
		}
		if len(rest) > 0 && rest[0] == '\t' {
			return nil
		}
		if content && childIndent < 0 {
			childIndent = indent
		}
		if content && indent == childIndent {
			switch {
			case rest[0] == '-' && !inChild:
				return nil // the block is a sequence, not a mapping
			case rest[0] == '-':
				// A sequence written compactly, at its key's indent
				// (as kubectl, Helm and kustomize write them): part of
				// the current child's value.
			default:
				key, _, _ := bytes.Cut(rest, []byte(":"))
				drop, inChild = blank(string(bytes.Trim(key, `"' `))), true
			}
		}
		if drop {
			cut = extend(cut, pos, next)
		}
		pos = next
	}
	return cut
}

// extend adds the line [from, to) to the last span if it follows it.
func extend(cut []span, from, to int) []span {
	if n := len(cut); n > 0 && cut[n-1].to == from {
		cut[n-1].to = to
		return cut
	}
	return append(cut, span{from, to})
}

func allSpaces(b []byte) bool {
	for _, c := range b {
		if c != ' ' {
			return false
		}
	}
	return true
}

// nextLine returns the line at pos, with its newline, and where the next
// one starts.
func nextLine(text []byte, pos int) ([]byte, int) {
	end := bytes.IndexByte(text[pos:], '\n')
	if end < 0 {
		return text[pos:], len(text)
	}
	return text[pos : pos+end+1], pos + end + 1
}

// topLevelKey reads "key: value" from a line that starts at column 0.
func topLevelKey(line []byte) (key, value string) {
	if len(line) == 0 || line[0] == ' ' || line[0] == '\t' || line[0] == '#' {
		return "", ""
	}
	k, v, ok := bytes.Cut(line, []byte(":"))
	if !ok {
		return "", ""
	}
	if c := bytes.IndexByte(v, '#'); c >= 0 {
		v = v[:c]
	}
	return string(k), string(bytes.Trim(bytes.TrimSpace(v), `"'`))
}

func newlineOf(l []byte) []byte {
	if bytes.HasSuffix(l, []byte("\r\n")) {
		return []byte("\r\n")
	}
	if bytes.HasSuffix(l, []byte("\n")) {
		return []byte("\n")
	}
	return nil
}
