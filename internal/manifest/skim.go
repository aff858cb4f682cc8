package manifest

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"strings"
	"sync"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// crdKeep are the spec fields of a CustomResourceDefinition that plimsoll
// parses; the rest is most of the bytes of a typical install: the OpenAPI
// schemas, in spec.versions, which skim hands back as text, to be parsed
// only if custom resources of the CRD are among the inputs
// (inventory.Object.CRDVersions). inventory.New keeps the same of a CRD
// read from a cluster.
var crdKeep = map[string]bool{"group": true, "names": true, "scope": true}

// skim blanks the lines of a document that no check reads, so they are
// never parsed:
//   - a CustomResourceDefinition's spec other than crdKeep: the OpenAPI
//     schemas are about nine tenths of the bytes of a real install. The
//     lines of its spec.versions are returned as versions, a part of text;
//   - a ConfigMap's or a Secret's values (formatOf), but not their keys,
//     which references to them name: a tenth of the rest, and a Secret's
//     values are then never even held in memory.
//
// Lines are blanked, not removed, so every line number stays right; a
// value is blanked from its key's colon, which leaves the key with a null
// value. Parsing the skimmed text must give what parsing the whole text
// gives, the errors included, as inventory.New keeps only the keys of the
// values: a document is skimmed only when a blockReader reads all of it,
// and so knows that the parser reads the blanked lines without an error and
// as the entries they seem to be; anything else is left whole for the full
// parse. FuzzSkim holds both ways equal.
func skim(text []byte) (out, versions []byte) {
	r := readers.Get().(*blockReader)
	defer func() {
		r.text, r.kind, r.apiVersion = nil, nil, nil // not to keep the file's buffer alive
		readers.Put(r)
	}()
	if !r.read(text) {
		return text, nil
	}
	if v := r.versions; v.to > 0 {
		versions = text[v.from:v.to]
	}
	size := len(text)
	for _, c := range r.cut {
		size -= c.to - c.from - c.breaks
	}
	out = make([]byte, 0, size) // exact for "\n" line ends
	pos := 0
	for _, c := range r.cut {
		out = append(out, text[pos:c.from]...)
		if r.crlf {
			out = appendNewlines(out, text[c.from:c.to])
		} else {
			for n := c.breaks; n > 0; n -= min(n, len(newlines)) {
				out = append(out, newlines[:min(n, len(newlines))]...)
			}
		}
		pos = c.to
	}
	return append(out, text[pos:]...), versions
}

// newlines are line breaks to append to a skimmed text, in chunks.
var newlines = []byte(strings.Repeat("\n", 4096))

// topLevelValue is what follows key on the first line that starts with it,
// without quotes or a comment: a guess at the value of a key of the
// document's mapping, which the blockReader reads for certain.
func topLevelValue(text []byte, key string) []byte {
	for i := 0; i < len(text); i++ {
		at := bytes.Index(text[i:], []byte(key))
		if at < 0 {
			return nil
		}
		i += at
		if i == 0 || text[i-1] == '\n' {
			v, _ := nextLine(text, i+len(key))
			v, _, _ = bytes.Cut(v, []byte(" #"))
			return bytes.Trim(v, " \r\n\"'")
		}
	}
	return nil
}

// A blockReader reads a document written in the block style that kubectl,
// Helm and controller-gen write, and finds the entries that skim blanks.
// It knows only a part of YAML, the part such documents use: block
// mappings and sequences, plain, quoted and block scalars, and empty flow
// collections. Whatever it reads it reads as the parser does, and it
// refuses anything else: flow collections with content, anchors, aliases,
// tags, explicit keys, tabs where the parser might take them for
// indentation, and whatever the parser would refuse, such as a duplicate
// key or a line indented where no node can start.
//
// It reads lines: the line at pos is the one it reads next, and each
// reading method starts on that line and leaves pos at the first line it
// did not read.
type blockReader struct {
	text []byte
	// pos is where the line starts, end where its text ends (before its
	// break) and next where the next line starts; breaks counts the line
	// breaks before pos, and crlf tells a "\r\n" among them.
	pos, end, next int
	breaks         int
	crlf           bool
	// indent is how many spaces start the line.
	indent int
	// crd is set to blank a CustomResourceDefinition's spec but crdKeep;
	// values is the kind, ConfigMap or Secret, whose value fields are
	// blanked, and whose values must then have the format the API server
	// requires (formatOf).
	crd    bool
	values string
	// kind and apiVersion are the document's, when plain strings.
	kind, apiVersion []byte
	// versions is the entry of a CRD's spec.versions, among cut.
	versions blank
	// odd is set by a character that the reader cannot vouch for (seek).
	odd bool
	// keys are the keys of the mappings being read, for duplicates.
	keys []span
	// cut are the entries and values to blank, in order.
	cut []blank
}

// readers are reused from one skim to the next: a CRD's keys and entries
// would otherwise grow new slices for each document.
var readers = sync.Pool{New: func() any { return new(blockReader) }}

// role is what the reader expects of a node, and what it blanks in it.
type role int

const (
	anyRole     role = iota
	topRole          // the document's mapping
	specRole         // a CRD's spec: its entries but crdKeep are blanked
	textsRole        // a mapping of strings
	base64sRole      // a mapping of base64 strings
	textRole         // a string
	base64Role       // a base64 string
)

// shape is a node as a role needs to know it: its kind, and the text of
// a scalar written on one line without escapes.
type shape struct {
	kind nodeKind
	text []byte
}

type nodeKind int

const (
	nullNode   nodeKind = iota
	plainNode           // a plain scalar on one line: text
	quotedNode          // a quoted scalar on one line, without escapes: text
	stringNode          // any other scalar, a string
	base64Node          // a block scalar of base64, checked as it was read
	mapNode
	seqNode
)

// read reads a document, and reports whether it may be skimmed: whether it
// is a CRD, a ConfigMap or a Secret with entries to blank, written all in
// the part of YAML the reader knows.
func (p *blockReader) read(text []byte) bool {
	*p = blockReader{text: text, keys: p.keys[:0], cut: p.cut[:0]}
	// The document's kind and apiVersion are guessed from their lines,
	// which mostly come first, so most documents are passed over without
	// reading lines; document reads them for certain.
	kind := topLevelValue(text, "kind:")
	if string(kind) != "CustomResourceDefinition" && string(kind) != "ConfigMap" && string(kind) != "Secret" {
		return false
	}
	apiVersion := topLevelValue(text, "apiVersion:")
	switch {
	case string(kind) == "CustomResourceDefinition" && bytes.HasPrefix(apiVersion, []byte("apiextensions.k8s.io/")):
		p.crd = true
	case string(kind) == "ConfigMap" && string(apiVersion) == "v1":
		p.values = "ConfigMap"
	case string(kind) == "Secret" && string(apiVersion) == "v1":
		p.values = "Secret"
	default:
		return false
	}
	return p.document() && !p.odd && bytes.Equal(p.kind, kind) && bytes.Equal(p.apiVersion, apiVersion) && len(p.cut) > 0
}

// document reads the whole document: one block mapping at column 0.
func (p *blockReader) document() bool {
	p.seek(0)
	l, indent := p.content()
	if indent == 0 && isMarker(l, "---") {
		if !blankOrComment(l[3:]) {
			return false
		}
		p.skipLine()
		l, indent = p.content()
	}
	if indent != 0 {
		return false
	}
	if key, rest, kind := readKey(l); kind != isKey || !p.mapping(key, rest, 0, topRole) {
		return false
	}
	_, indent = p.content()
	return indent < 0
}

// mapping reads a block mapping of role r whose keys stand at column col;
// the first, key, is at column col of the line at pos, and rest follows its
// colon.
func (p *blockReader) mapping(key, rest []byte, col int, r role) bool {
	// The mapping's keys are p.keys[base:], scanned for a duplicate while
	// they are few (maxScannedKeys), and past that seen: a ConfigMap of
	// 40,000 keys took seconds to scan.
	base := len(p.keys)
	defer func() { p.keys = p.keys[:base] }()
	var seen map[string]bool
	for {
		start, breaks := p.pos, p.breaks
		if p.repeatsKey(base, key, &seen) {
			return false
		}
		if r == topRole && p.values != "" && !secretValues[string(key)] && foldsToValues(key) {
			// encoding/json reads such a key as the field, and
			// explainDecodeError then looks for the field's line.
			return false
		}
		child, cut := p.child(r, key)
		v, ok := p.value(col, rest, child, true)
		if !ok {
			return false
		}
		if r == topRole && string(key) == "kind" {
			p.kind = v.text
		}
		if r == topRole && string(key) == "apiVersion" {
			p.apiVersion = v.text
		}
		if cut {
			if r == textsRole || r == base64sRole {
				start = cap(p.text) - cap(rest) // the value alone, after the key's colon
			}
			p.cut = append(p.cut, blank{start, p.pos, p.breaks - breaks})
			if r == specRole && string(key) == "versions" {
				p.versions = p.cut[len(p.cut)-1]
			}
		}
		l, indent := p.content()
		if indent < col {
			return true
		}
		var kind keyKind
		if key, rest, kind = readKey(l[col:]); indent > col || kind != isKey {
			return false
		}
	}
}

// repeatsKey reports whether key is one of the keys of the mapping being
// read, and adds it to them: p.keys[base:] while there are at most
// maxScannedKeys, and *seen, made from them, once there are more.
func (p *blockReader) repeatsKey(base int, key []byte, seen *map[string]bool) bool {
	if *seen != nil {
		if (*seen)[string(key)] {
			return true
		}
		(*seen)[string(key)] = true
		return false
	}
	for _, k := range p.keys[base:] {
		if k.to-k.from == len(key) && bytes.Equal(p.text[k.from:k.to], key) {
			return true
		}
	}
	from := cap(p.text) - cap(key) // the offset of key, a part of text
	p.keys = append(p.keys, span{from, from + len(key)})
	if len(p.keys)-base > maxScannedKeys {
		*seen = make(map[string]bool, 2*len(p.keys[base:]))
		for _, k := range p.keys[base:] {
			(*seen)[string(p.text[k.from:k.to])] = true
		}
	}
	return false
}

// child is the role of the value of a key of a mapping of role r, and
// whether the entry is blanked.
func (p *blockReader) child(r role, key []byte) (role, bool) {
	switch r {
	case topRole:
		switch {
		case p.crd && string(key) == "spec":
			return specRole, false
		case p.values != "" && secretValues[string(key)]:
			// A field the kind does not have is left to the parser: its
			// values reach explainDecodeError's encoding/json, which
			// refuses some (.nan).
			switch formatOf(p.values, string(key)) {
			case textValue:
				return textsRole, false
			case base64Value:
				return base64sRole, false
			}
		}
	case specRole:
		return anyRole, !crdKeep[string(key)]
	case textsRole:
		return textRole, true
	case base64sRole:
		return base64Role, true
	}
	return anyRole, false
}

// sequence reads a block sequence whose entries ("- ") stand at column
// col; the first is on the line at pos.
func (p *blockReader) sequence(col int) bool {
	for {
		l := p.line()
		c := col + 1 + spaces(l[col+1:]) // where the entry's node starts
		s := l[c:]
		switch key, rest, kind := readKey(s); {
		case len(s) == 0 || s[0] == '#':
			p.skipLine()
			if _, ok := p.nextLineValue(col, anyRole, false); !ok {
				return false
			}
		case isEntry(s):
			return false // a sequence in a sequence, on one line
		case kind == isKey:
			if !p.mapping(key, rest, c, anyRole) {
				return false
			}
		case kind == notKey:
			if _, ok := p.value(col, s, anyRole, false); !ok {
				return false
			}
		default:
			return false
		}
		l, indent := p.content()
		if indent > col {
			return false
		}
		if indent < col || !isEntry(l[col:]) {
			return true
		}
	}
}

// value reads the node of a key or an entry of a collection at column
// col, which starts with rest on the line at pos (after the key's colon or
// the entry's dash). mapValue tells a key's value, which may be a sequence
// at the key's own column.
func (p *blockReader) value(col int, rest []byte, r role, mapValue bool) (shape, bool) {
	rest = rest[spaces(rest):]
	var v shape
	switch {
	case len(rest) == 0 || rest[0] == '#':
		p.skipLine()
		return p.nextLineValue(col, r, mapValue)
	case rest[0] == '|' || rest[0] == '>':
		// A literal block scalar of base64 is checked as it is read: its
		// value is its lines, whose breaks the decoder skips.
		var b *base64Reader
		if r == base64Role && rest[0] == '|' {
			b = new(base64Reader)
		}
		if !blockHeader(rest[1:]) || !p.blockScalar(col, b) {
			return v, false
		}
		v.kind = stringNode
		if b != nil && b.valid() {
			v.kind = base64Node
		}
	case rest[0] == '"' || rest[0] == '\'':
		var after []byte
		var ok bool
		v, after, ok = p.quoted(rest)
		if !ok || !blankOrComment(after) {
			return v, false
		}
	case rest[0] == '[' || rest[0] == '{':
		// Only an empty one: what is in a flow collection is read by
		// other rules.
		if len(rest) < 2 || rest[1] != rest[0]+2 || !blankOrComment(rest[2:]) {
			return v, false
		}
		v.kind = seqNode
		if rest[0] == '{' {
			v.kind = mapNode
		}
		p.skipLine()
	default:
		var ok bool
		if v, ok = p.plain(col, rest); !ok {
			return v, false
		}
	}
	return v, fits(r, v)
}

// nextLineValue reads the node of a key or an entry of a collection at
// column col whose line holds nothing after the key or the dash: the node
// is on the lines after it, or null.
func (p *blockReader) nextLineValue(col int, r role, mapValue bool) (shape, bool) {
	l, indent := p.content()
	var v shape
	switch {
	case indent < col || indent == col && !(mapValue && isEntry(l[col:])):
		return v, fits(r, v) // null
	case isEntry(l[indent:]):
		v.kind = seqNode
		return v, fits(r, v) && p.sequence(indent)
	}
	switch key, rest, kind := readKey(l[indent:]); kind {
	case isKey:
		v.kind = mapNode
		return v, fits(r, v) && p.mapping(key, rest, indent, r)
	case notKey:
		return p.value(col, l[indent:], r, false) // a scalar on a line of its own
	}
	return v, false
}

// fits reports whether a node can be of a role: a value field of a
// ConfigMap or a Secret must be a mapping, and each of its values a string
// in the field's format. The reader refuses a document with a value that
// does not fit, for the full parse to report it (checkValues).
func fits(r role, v shape) bool {
	switch r {
	case textsRole, base64sRole:
		return v.kind == nullNode || v.kind == mapNode
	case textRole:
		return v.kind == nullNode || v.kind == quotedNode || v.kind == stringNode || v.kind == plainNode && !nonString(v.text)
	case base64Role:
		return v.kind == nullNode || v.kind == base64Node || v.kind == quotedNode && validBase64(v.text) || v.kind == plainNode && !nonString(v.text) && validBase64(v.text)
	}
	return true
}

// nonString reports whether the parser reads a plain scalar as a boolean
// or a number.
func nonString(text []byte) bool {
	if !bytes.ContainsAny(text[:1], "+-.0123456789tTfF") {
		return false // no boolean or number starts otherwise
	}
	switch (&yaml.Node{Kind: yaml.ScalarNode, Value: string(text)}).ShortTag() {
	case "!!bool", "!!int", "!!float":
		return true
	}
	return false
}

// validBase64 reports whether text is what the API server decodes as
// base64 (see base64Reader).
func validBase64[T string | []byte](text T) bool {
	var b base64Reader
	for i := 0; i < len(text); i++ {
		b.addByte(text[i])
	}
	return b.valid()
}

// A base64Reader checks base64 that comes in parts, as the API server
// decodes it (encoding/json's []byte: standard padded base64, not strict,
// with line breaks skipped), without decoding it. TestValidBase64 holds it
// to encoding/base64.
type base64Reader struct {
	n, pad int // characters read, and how many were padding
	bad    bool
}

func (b *base64Reader) add(text []byte) {
	for _, c := range text {
		b.addByte(c)
	}
}

func (b *base64Reader) addByte(c byte) {
	switch {
	case c == '\r' || c == '\n':
		return // skipped, as the decoder skips them
	case c == '=':
		b.pad++
	case b.pad > 0:
		b.bad = true // padding ends the text
	case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '+', c == '/':
	default:
		b.bad = true
	}
	b.n++
}

func (b *base64Reader) valid() bool {
	return !b.bad && b.n%4 == 0 && b.pad <= 2
}

// plain reads a plain scalar that starts with s on the line at pos, in a
// collection at column col: the lines after it that are indented deeper
// than col go on with it, up to a comment.
func (p *blockReader) plain(col int, s []byte) (shape, bool) {
	end, colon, comment := plainEnd(s)
	if !plainStart(s) || end < 0 || colon {
		return shape{}, false // a ": " in a value makes a mapping where none may be
	}
	v := shape{kind: plainNode, text: bytes.TrimRight(s[:end], " ")}
	p.skipLine()
	for !comment && p.pos < len(p.text) {
		l, n := p.line(), p.indent
		switch {
		case n == len(l):
			p.skipLine() // a blank line goes on with the scalar if a line does
			continue
		case n <= col || l[n] == '#':
			return v, true
		}
		if end, colon, comment = plainEnd(l[n:]); end < 0 || colon {
			return v, false
		}
		v = shape{kind: stringNode}
		p.skipLine()
	}
	return v, true
}

// plainStart reports whether s starts a plain scalar.
func plainStart(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	switch s[0] {
	case '-', '?', ':':
		return len(s) > 1 && s[1] != ' ' && s[1] != '\t'
	case ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', ' ', '\t':
		return false
	}
	return true
}

// plainEnd finds where a plain scalar ends on a line: at a colon followed
// by a space or the end (colon), at a comment (comment), or at the end.
// It returns -1 for a tab, which the reader leaves to the parser.
func plainEnd(s []byte) (end int, colon, comment bool) {
	for i, c := range s {
		switch {
		case !plainStops[c]:
		case c == '\t':
			return -1, false, false
		case c == ':' && (i+1 == len(s) || s[i+1] == ' '):
			return i, true, false
		case c == ':' && s[i+1] == '\t':
			return -1, false, false
		case c == '#' && i > 0 && s[i-1] == ' ':
			return i, false, true
		}
	}
	return len(s), false, false
}

// plainStops are the characters plainEnd stops at.
var plainStops = [256]bool{'\t': true, ':': true, '#': true}

// keyKind tells what readKey found.
type keyKind int

const (
	badKey keyKind = iota // something the reader leaves to the parser
	isKey
	notKey // surely not a key: a scalar, which may go on over lines
)

// maxKey is the longest key read; the parser refuses one of 1024
// characters.
const maxKey = 1000

// readKey reads the key that starts s: its text, and what follows its
// colon.
func readKey(s []byte) (key, rest []byte, kind keyKind) {
	var end int // after the key's text
	switch {
	case len(s) > 0 && (s[0] == '"' || s[0] == '\''):
		close, escaped, ok := quotedEnd(s, s[0], 1)
		switch {
		case !ok:
			return nil, nil, badKey
		case close < 0:
			return nil, nil, notKey // a quoted scalar over lines is no key
		}
		end = close + spaces(s[close:])
		if end == len(s) || s[end] != ':' {
			return nil, nil, notKey
		}
		if escaped {
			return nil, nil, badKey
		}
		key = s[1 : close-1]
	case plainStart(s):
		colon, isColon, _ := plainEnd(s)
		switch {
		case colon < 0:
			return nil, nil, badKey
		case !isColon:
			return nil, nil, notKey
		}
		end = colon
		key = bytes.TrimRight(s[:colon], " ")
		if string(key) == "<<" {
			return nil, nil, badKey // a merge key
		}
	default:
		return nil, nil, badKey
	}
	rest = s[end+1:]
	if end > maxKey || len(rest) > 0 && rest[0] != ' ' {
		return nil, nil, badKey
	}
	return key, rest, isKey
}

// quoted reads a quoted scalar that starts with s on the line at pos, and
// returns what follows its closing quote.
func (p *blockReader) quoted(s []byte) (v shape, after []byte, ok bool) {
	close, escaped, ok := quotedEnd(s, s[0], 1)
	if !ok {
		return v, nil, false
	}
	if close >= 0 {
		p.skipLine()
		v.kind = quotedNode
		if escaped {
			v.kind = stringNode
		} else {
			v.text = s[1 : close-1]
		}
		return v, s[close:], true
	}
	v.kind = stringNode
	for {
		p.skipLine()
		if p.pos == len(p.text) {
			return v, nil, false // the quote is never closed
		}
		l := p.line()
		if close, _, ok = quotedEnd(l, s[0], 0); !ok {
			return v, nil, false
		}
		if close >= 0 {
			p.skipLine()
			return v, l[close:], true
		}
	}
}

// quotedEnd finds the end of a scalar quoted with q that goes on at
// s[from:]: the offset after its closing quote, or -1 when the line ends
// first. escaped tells an escape in the line; ok is false for an escape
// that the reader leaves to the parser (\x, \u, \U, and wrong ones).
func quotedEnd(s []byte, q byte, from int) (close int, escaped, ok bool) {
	for i := from; i < len(s); i++ {
		switch {
		case s[i] == q && q == '\'' && i+1 < len(s) && s[i+1] == '\'':
			i++
			escaped = true
		case s[i] == q:
			return i + 1, escaped, true
		case s[i] == '\\' && q == '"':
			escaped = true
			i++
			if i < len(s) && !strings.ContainsRune("0abt\tnvfre \"'\\N_LP", rune(s[i])) {
				return 0, false, false
			}
		}
	}
	return -1, escaped, true
}

// blockHeader reports whether h, what follows the "|" or ">" of a block
// scalar, is a header the reader knows: a chomping indicator at most.
func blockHeader(h []byte) bool {
	if len(h) > 0 && (h[0] == '-' || h[0] == '+') {
		h = h[1:]
	}
	return blankOrComment(h)
}

// blockScalar reads the lines of a block scalar in a collection at column
// col, whose header is on the line at pos, and hands their text to b, if
// not nil. Its lines are those indented at least as deep as its first line
// with text; the reader refuses what the parser refuses or reads
// otherwise: blank lines before that deeper than it, and tabs in the
// indentation.
func (p *blockReader) blockScalar(col int, b *base64Reader) bool {
	p.skipLine()
	indent, blanks := -1, 0
	for p.pos < len(p.text) {
		l, n := p.line(), p.indent
		switch {
		case n < len(l) && l[n] == '\t' && (indent < 0 || n < indent):
			return false
		case indent < 0 && n == len(l):
			blanks = max(blanks, n)
		case indent < 0 && (n <= col || n < blanks):
			return true // no line of text: the scalar is empty
		case indent < 0:
			indent = n
		case n < indent && n < len(l):
			return true
		}
		if b != nil && indent >= 0 && n >= indent {
			b.add(l[indent:])
		}
		p.skipLine()
	}
	return true
}

// content moves pos past blank and comment lines, and returns the line
// there and its indent, or -1 at the end of the document.
func (p *blockReader) content() ([]byte, int) {
	for p.pos < len(p.text) {
		l, n := p.line(), p.indent
		if n < len(l) && l[n] != '#' {
			return l, n
		}
		p.skipLine()
	}
	return nil, -1
}

// line is the line at pos, without its line break.
func (p *blockReader) line() []byte {
	return p.text[p.pos:p.end]
}

// seek moves to the line at pos. It reads the line's characters eight at
// a time while they are plain ASCII, and notes in odd a character that the
// parser refuses (a control character, invalid UTF-8) or counts as a line
// break where the reader does not (a lone "\r", NEL, LS and PS), or a byte
// order mark, which it skips only at the start of its input.
func (p *blockReader) seek(pos int) {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	text := p.text
	p.pos, p.end, p.next = pos, len(text), len(text)
	p.indent = spaces(text[pos:]) // spaces stop at the line break
	for i := pos + p.indent; i < len(text); {
		if i+8 <= len(text) {
			// Each byte in [0x20, 0x7e] leaves its high bit clear in all
			// three terms. The first byte that does not sets it: a borrow
			// or a carry only reaches the bytes after it.
			x := binary.LittleEndian.Uint64(text[i:])
			m := (x | (x - 0x20*ones) | (x + ones)) & highs
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) / 8
		}
		switch c := text[i]; {
		case c == '\n':
			p.end, p.next = i, i+1
			if i > pos && text[i-1] == '\r' {
				p.end--
			}
			return
		case c == '\t' || c == '\r' && i+1 < len(text) && text[i+1] == '\n' || c >= 0x20 && c < 0x7f:
			i++
		case c < utf8.RuneSelf:
			p.odd = true
			i++
		default:
			r, size := utf8.DecodeRune(text[i:])
			if r == utf8.RuneError && size == 1 || r < 0xa0 || r == 0x2028 || r == 0x2029 || r == 0xfeff || r == 0xfffe || r == 0xffff {
				p.odd = true
			}
			i += size
		}
	}
}

// skipLine moves to the next line.
func (p *blockReader) skipLine() {
	if p.next > p.end {
		p.breaks++
		p.crlf = p.crlf || p.next-p.end == 2
	}
	p.seek(p.next)
}

// spaces counts the spaces that start l, eight at a time: a CRD's lines
// are indented deep.
func spaces(l []byte) int {
	n := 0
	for ; n+8 <= len(l); n += 8 {
		if x := binary.LittleEndian.Uint64(l[n:]) ^ 0x2020202020202020; x != 0 {
			return n + bits.TrailingZeros64(x)/8
		}
	}
	for n < len(l) && l[n] == ' ' {
		n++
	}
	return n
}

// isEntry reports whether s starts an entry of a block sequence.
func isEntry(s []byte) bool {
	return len(s) > 0 && s[0] == '-' && (len(s) == 1 || s[1] == ' ')
}

// blankOrComment reports whether s, what follows a node on its line, is
// nothing, or spaces and a comment.
func blankOrComment(s []byte) bool {
	n := spaces(s)
	return n == len(s) || n > 0 && s[n] == '#'
}

// span is a run of a text.
type span struct{ from, to int }

// blank is a run of a text to blank, up to a line's start: whole lines,
// or a value from its key's colon. breaks is how many line breaks it
// holds.
type blank struct{ from, to, breaks int }

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

// nextLine returns the line at pos, with its newline, and where the next
// one starts.
func nextLine(text []byte, pos int) ([]byte, int) {
	end := bytes.IndexByte(text[pos:], '\n')
	if end < 0 {
		return text[pos:], len(text)
	}
	return text[pos : pos+end+1], pos + end + 1
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
