package yamledit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// layout is how a document is indented, so that inserted lines look like
// the lines around them.
type layout struct {
	step   int  // how much deeper a nested mapping's keys are than its key
	seqOff int  // how much deeper a block sequence's dashes are than its key (0: "containers:" then "- name")
	gap    int  // how much deeper an element is than its dash (2: "- name", 4: "-   name")
	json   bool // the document is JSON: what is added to it is JSON too
	eol    string
}

// layout is the layout of document doc: what its own nested mappings and
// sequences show, else what the file's show, else kubectl's.
func (f *file) layout(doc int) layout {
	if l, ok := f.layouts[doc]; ok {
		return l
	}
	l := layout{step: -1, seqOff: -1, gap: -1, eol: f.eol}
	findLayout(f.docs[doc], &l)
	if !l.known() {
		all, ok := f.layouts[-1]
		if !ok {
			all = layout{step: -1, seqOff: -1, gap: -1}
			for _, d := range f.docs {
				findLayout(d, &all)
			}
			f.layouts[-1] = all
		}
		l.step, l.seqOff, l.gap = or(l.step, all.step), or(l.seqOff, all.seqOff), or(l.gap, all.gap)
	}
	l.step, l.seqOff, l.gap = or(l.step, 2), or(l.seqOff, 0), or(l.gap, 2)
	if len(f.docs[doc].Content) > 0 {
		root := f.docs[doc].Content[0]
		l.json = root.Kind == yaml.MappingNode && root.Style&yaml.FlowStyle != 0 && len(root.Content) > 0
		for i := 0; i < len(root.Content); i += 2 {
			l.json = l.json && root.Content[i].Style&yaml.DoubleQuotedStyle != 0
		}
	}
	f.layouts[doc] = l
	return l
}

// known reports whether l knows all it is looking for.
func (l layout) known() bool { return l.step >= 0 && l.seqOff >= 0 && l.gap >= 0 }

// or is n if it is known (not -1), else otherwise.
func or(n, otherwise int) int {
	if n < 0 {
		return otherwise
	}
	return n
}

// findLayout sets what l does not know yet from the first block mapping and
// the first block sequence under a key in n, and the first block sequence
// with an element on the line of its dash.
func findLayout(n *yaml.Node, l *layout) {
	if l.known() {
		return
	}
	if n.Kind == yaml.SequenceNode && n.Style&yaml.FlowStyle == 0 && l.gap < 0 && len(n.Content) > 0 {
		if item := n.Content[0]; item.Line == n.Line && item.Anchor == "" && item.Style&yaml.TaggedStyle == 0 && item.Column > n.Column+1 {
			l.gap = item.Column - n.Column
		}
	}
	if n.Kind == yaml.MappingNode && n.Style&yaml.FlowStyle == 0 {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Line <= k.Line || v.Anchor != "" || v.Style&(yaml.FlowStyle|yaml.TaggedStyle) != 0 || len(v.Content) == 0 {
				continue
			}
			switch {
			case v.Kind == yaml.MappingNode && l.step < 0 && v.Content[0].Column > k.Column:
				l.step = v.Content[0].Column - k.Column
			case v.Kind == yaml.SequenceNode && l.seqOff < 0 && v.Column >= k.Column:
				l.seqOff = v.Column - k.Column
			}
		}
	}
	for _, c := range n.Content {
		findLayout(c, l)
	}
}

// splices are the changes of the file that the plan's ops make.
func (p *plan) splices() ([]change, error) {
	var changes []change
	for _, q := range p.order {
		cs, err := p.render(q)
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				return nil, err
			}
			return nil, &Error{Line: q.node.Line, Err: fmt.Errorf("%s %w", where(q.path), err)}
		}
		for _, c := range cs {
			c.depth = q.depth
			changes = append(changes, c)
		}
	}
	if err := sortChanges(p.f.text, changes); err != nil {
		return nil, err
	}
	if n := len(changes); n > 0 && changes[n-1].from == len(p.f.src) && !p.f.endsWithBreak() {
		if last := lastNode(p.f.docs); last != nil && last.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			return nil, &Error{Line: last.Line, Err: errors.New("the file ends in a block scalar without a line break: a line after it would add one to its value")}
		}
	}
	return changes, nil
}

// lastNode is the node of docs that starts last.
func lastNode(docs []*yaml.Node) *yaml.Node {
	var last *yaml.Node
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if last == nil || n.Line > last.Line || n.Line == last.Line && n.Column >= last.Column {
			last = n
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	for _, d := range docs {
		walk(d)
	}
	return last
}

// render is the changes one op makes.
func (p *plan) render(q *op) ([]change, error) {
	t, l := p.f.text, p.f.layout(q.obj.doc)
	n := q.node
	switch q.kind {
	case insertKeys:
		m := q.value.(map[string]any)
		if n.Style&yaml.FlowStyle != 0 {
			parts, err := flowEntries(m, l.json)
			if err != nil {
				return nil, err
			}
			return p.flowAdd(q, parts)
		}
		indent := n.Content[0].Column - 1
		last := n.Content[len(n.Content)-1]
		dashes := last.Kind == yaml.SequenceNode && last.Style&yaml.FlowStyle == 0 && last.Column-1 == indent
		var b strings.Builder
		if err := l.entries(&b, m, indent, false); err != nil {
			return nil, err
		}
		return []change{t.insertLines(t.blockEnd(indent, t.lastLine(last), dashes), b.String())}, nil
	case appendItems:
		items := listItems(q.value)
		if n.Style&yaml.FlowStyle != 0 {
			parts := make([]string, len(items))
			for i, item := range items {
				s, err := flowText(item, l.json)
				if err != nil {
					return nil, err
				}
				parts[i] = s
			}
			return p.flowAdd(q, parts)
		}
		dash, err := t.dashIndent(n)
		if err != nil {
			return nil, err
		}
		var b strings.Builder
		if err := l.items(&b, items, dash); err != nil {
			return nil, err
		}
		return []change{t.insertLines(t.blockEnd(dash, t.lastLine(n.Content[len(n.Content)-1]), false), b.String())}, nil
	case fillNull:
		return p.renderFill(q, l)
	}
	return p.renderReplace(q, l)
}

// renderFill is the changes that give a null value a value.
func (p *plan) renderFill(q *op, l layout) ([]change, error) {
	t, null := p.f.text, q.node
	if q.inFlow || !isBlock(q.value) {
		text, err := inlineText(q.value, q.inFlow, l.json)
		if err != nil {
			return nil, err
		}
		if null.Value != "" {
			from, to, err := t.scalarSpan(null, q.inFlow)
			if err != nil {
				return nil, err
			}
			return []change{{from: from, to: to, text: text}}, nil
		}
		if q.inFlow {
			return nil, errors.New("is empty inside a flow collection, where it is not found in place")
		}
		at := t.offset(null)
		if at == 0 || t.src[at-1] != ':' || null.Line != q.key.Line {
			return nil, errors.New("has no value where the parser saw it")
		}
		return []change{{from: at, to: at, text: " " + text}}, nil
	}
	var changes []change
	if null.Value != "" {
		if null.Line != q.key.Line {
			return nil, errors.New("is null on a line of its own, which is not replaced in place")
		}
		from, to, err := t.scalarSpan(null, false)
		if err != nil {
			return nil, err
		}
		for from > 0 && (t.src[from-1] == ' ' || t.src[from-1] == '\t') {
			from--
		}
		changes = append(changes, change{from: from, to: to})
	}
	var b strings.Builder
	indent := q.key.Column - 1
	var err error
	if m, ok := q.value.(map[string]any); ok {
		err = l.entries(&b, m, indent+l.step, false)
	} else {
		err = l.items(&b, listItems(q.value), indent+l.seqOff)
	}
	if err != nil {
		return nil, err
	}
	return append(changes, t.insertLines(t.next(q.key.Line), b.String())), nil
}

// renderReplace is the change that replaces a scalar, or a sequence as a
// whole.
func (p *plan) renderReplace(q *op, l layout) ([]change, error) {
	t, n := p.f.text, q.node
	switch {
	case n.Kind == yaml.ScalarNode:
		from, to, err := t.scalarSpan(n, q.inFlow)
		if err != nil {
			return nil, err
		}
		// A quoted string stays quoted alike, which flow style allows too.
		_, isString := q.value.(string)
		text, err := scalarText(q.value, n.Style)
		if q.inFlow && (l.json || !isString || n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0) {
			text, err = flowText(q.value, l.json)
		}
		if err != nil {
			return nil, err
		}
		return []change{{from: from, to: to, text: text}}, nil
	case n.Style&yaml.FlowStyle != 0:
		from := t.offset(n)
		to, err := t.flowClose(from)
		if err != nil {
			return nil, err
		}
		text, err := flowText(q.value, l.json)
		if err != nil {
			return nil, err
		}
		return []change{{from: from, to: to + 1, text: text}}, nil
	}
	items := listItems(q.value)
	if len(items) == 0 {
		return nil, errors.New("is a block sequence, which is not emptied in place")
	}
	dash, err := t.dashIndent(n)
	if err != nil {
		return nil, err
	}
	if before := t.src[t.start[n.Line-1]:t.offset(n)]; len(bytes.Trim(before, " ")) > 0 {
		return nil, errors.New("is a sequence that starts after other text on its line, which is not replaced in place")
	}
	from, to := t.start[n.Line-1], t.blockEnd(dash, t.lastLine(n), false)
	comments := hasComments(n)
	for line := n.Line; line <= t.lineOf(to-1) && !comments; line++ {
		_, _, comments = t.indent(line)
	}
	if comments {
		return nil, errors.New("is a sequence with comments, which replacing it would lose")
	}
	var b strings.Builder
	if err := l.items(&b, items, dash); err != nil {
		return nil, err
	}
	text := b.String()
	if to == len(t.src) && !t.endsWithBreak() {
		text = strings.TrimSuffix(text, l.eol)
	}
	return []change{{from: from, to: to, text: text}}, nil
}

// flowAdd is the change that adds entries or elements (parts) to a flow
// collection, before its closing bracket.
func (p *plan) flowAdd(q *op, parts []string) ([]change, error) {
	t := p.f.text
	open := t.offset(q.node)
	end, err := t.flowClose(open)
	if err != nil {
		return nil, err
	}
	at := end
	for at > open+1 && isSpace(t.src[at-1]) {
		at--
	}
	text := strings.Join(parts, ", ")
	switch {
	case t.src[at-1] == ':' && at < end:
		// The last value is empty: "{a: }" becomes "{a: , b: c}", not
		// "{a:, b: c}", where "a:" would be read as a key ("{a:}" is).
		text = " , " + text
	case at == open+1:
	case bytes.ContainsAny(t.src[at:end], "\r\n"):
		// One entry a line, as in pretty-printed JSON: so are these.
		l := t.lineOf(at - 1)
		n, _, _ := t.indent(l)
		sep := p.f.eol + strings.Repeat(" ", n)
		text = sep + strings.Join(parts, ","+sep)
		if t.src[at-1] != ',' {
			text = "," + text
		}
	case t.src[at-1] == ',':
		text = " " + text
	default:
		text = ", " + text
	}
	return []change{{from: at, to: at, text: text}}, nil
}

// dashIndent is the column of a block sequence's dashes, counted from 0.
func (t *text) dashIndent(n *yaml.Node) (int, error) {
	if at := t.offset(n); at >= len(t.src) || t.src[at] != '-' {
		return 0, errors.New("is a block sequence whose first dash is not where the parser saw it")
	}
	return n.Column - 1, nil
}

// insertLines is the change that inserts lines (each ending with a line
// break) at offset at, the start of a line or the end of the file.
func (t *text) insertLines(at int, lines string) change {
	if at == len(t.src) && len(t.src) > 0 && !t.endsWithBreak() {
		eol := t.eol
		lines = eol + strings.TrimSuffix(lines, eol)
	}
	return change{from: at, to: at, text: lines}
}

// hasComments reports whether a node or any node in it has a comment.
func hasComments(n *yaml.Node) bool {
	if n.HeadComment != "" || n.LineComment != "" || n.FootComment != "" {
		return true
	}
	for _, c := range n.Content {
		if hasComments(c) {
			return true
		}
	}
	return false
}

// isBlock reports whether v is written as lines of its own: a mapping or a
// sequence that is not empty.
func isBlock(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		return len(v) > 0
	case []any, *newList:
		return len(listItems(v)) > 0
	}
	return false
}

// entries writes a mapping's entries as lines at indent; inline says that
// the first follows a "- " already written.
func (l layout) entries(b *strings.Builder, m map[string]any, indent int, inline bool) error {
	for i, k := range sortedKeys(m) {
		if i > 0 || !inline {
			b.WriteString(strings.Repeat(" ", indent))
		}
		key, err := keyText(k)
		if err != nil {
			return err
		}
		b.WriteString(key)
		b.WriteString(":")
		if err := l.value(b, m[k], " ", indent+l.step, indent+l.seqOff, false); err != nil {
			return err
		}
	}
	return nil
}

// items writes a sequence's elements as lines with their dashes at dash.
func (l layout) items(b *strings.Builder, items []any, dash int) error {
	for _, v := range items {
		b.WriteString(strings.Repeat(" ", dash))
		b.WriteString("-")
		if err := l.value(b, v, strings.Repeat(" ", l.gap-1), dash+l.gap, dash+l.gap, true); err != nil {
			return err
		}
	}
	return nil
}

// value writes v after a key's colon or an element's dash: on the line
// after pad, or as the lines of a mapping with its keys at mapAt or of a
// sequence with its dashes at seqAt. inline says that a mapping's first
// entry is on the line (after a dash).
func (l layout) value(b *strings.Builder, v any, pad string, mapAt, seqAt int, inline bool) error {
	switch {
	case !isBlock(v):
		s, err := inlineText(v, false, false)
		b.WriteString(pad + s + l.eol)
		return err
	case isMap(v) && inline:
		b.WriteString(pad)
		return l.entries(b, v.(map[string]any), mapAt, true)
	case isMap(v):
		b.WriteString(l.eol)
		return l.entries(b, v.(map[string]any), mapAt, false)
	}
	b.WriteString(l.eol)
	return l.items(b, listItems(v), seqAt)
}

func isMap(v any) bool {
	_, ok := v.(map[string]any)
	return ok
}

// listItems are the elements of a []any or a *newList.
func listItems(v any) []any {
	switch v := v.(type) {
	case []any:
		return v
	case *newList:
		items := make([]any, len(v.items))
		for i, item := range v.items {
			items[i] = item.value
		}
		return items
	}
	return nil
}

// sortedKeys are a mapping's keys in the order they are written: name
// first, as Kubernetes writes it, then the others sorted.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if (keys[i] == "name") != (keys[j] == "name") {
			return keys[i] == "name"
		}
		return keys[i] < keys[j]
	})
	return keys
}

// keyText is a key as the YAML encoder writes it in block style, quoted
// when it must be.
func keyText(k string) (string, error) {
	out, err := yaml.Marshal(map[string]int{k: 0})
	if err != nil {
		return "", err
	}
	s, ok := strings.CutSuffix(string(out), ": 0\n")
	if !ok || strings.ContainsAny(s, "\r\n") {
		return "", fmt.Errorf("key %q cannot be written as a key of one line", k)
	}
	return s, nil
}

// inlineText is how v is written after a key or a dash: a scalar, or an
// empty mapping or sequence ("{}", "[]"); inFlow, inside a flow collection,
// where anything is written in flow style.
func inlineText(v any, inFlow, json bool) (string, error) {
	if inFlow {
		return flowText(v, json)
	}
	switch {
	case isMap(v):
		return "{}", nil
	case describe(v) == "a sequence":
		return "[]", nil
	}
	return scalarText(v, 0)
}

// scalarText is a scalar as the YAML encoder writes it on one line. A
// string keeps the quotes of the scalar it replaces (style), and is double
// quoted when it spans lines.
func scalarText(v any, style yaml.Style) (string, error) {
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		return "", err
	}
	if n.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("cannot be replaced by %s", describe(v))
	}
	if n.Tag == "!!str" {
		if quotes := style & (yaml.DoubleQuotedStyle | yaml.SingleQuotedStyle); quotes != 0 {
			n.Style = quotes
		}
		if strings.ContainsAny(n.Value, "\r\n") {
			n.Style = yaml.DoubleQuotedStyle
		}
	}
	return encodeLine(&n)
}

// flowText is v in flow style on one line, as it may be written inside a
// flow collection: JSON in a JSON document.
func flowText(v any, asJSON bool) (string, error) {
	if asJSON {
		var b strings.Builder
		err := writeJSON(&b, v)
		return b.String(), err
	}
	n, err := toNode(v)
	if err != nil {
		return "", err
	}
	// Inside a sequence, a scalar is quoted as flow style needs
	// ("a,b" is).
	s, err := encodeLine(&yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle, Content: []*yaml.Node{n}})
	if err != nil {
		return "", err
	}
	return s[1 : len(s)-1], nil
}

// toNode is v as a node, its mappings' keys in the order of sortedKeys.
func toNode(v any) (*yaml.Node, error) {
	var n yaml.Node
	switch v := v.(type) {
	case map[string]any:
		n = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, k := range sortedKeys(v) {
			key, err := toNode(k)
			if err != nil {
				return nil, err
			}
			val, err := toNode(v[k])
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, key, val)
		}
	case []any, *newList:
		n = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, e := range listItems(v) {
			item, err := toNode(e)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, item)
		}
	default:
		if err := n.Encode(v); err != nil {
			return nil, err
		}
	}
	return &n, nil
}

// writeJSON writes v as JSON on one line, with a space after each colon
// and comma, as pretty-printed JSON has them.
func writeJSON(b *strings.Builder, v any) error {
	var parts []any // a mapping's keys and values in turn, or a sequence's elements
	switch v := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(v) {
			parts = append(parts, k, v[k])
		}
	case []any, *newList:
		parts = listItems(v)
	default:
		var out bytes.Buffer
		enc := json.NewEncoder(&out)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return err
		}
		b.WriteString(strings.TrimSuffix(out.String(), "\n"))
		return nil
	}
	_, isMap := v.(map[string]any)
	b.WriteString(map[bool]string{true: "{", false: "["}[isMap])
	for i, p := range parts {
		switch {
		case isMap && i%2 == 1:
			b.WriteString(": ")
		case i > 0:
			b.WriteString(", ")
		}
		if err := writeJSON(b, p); err != nil {
			return err
		}
	}
	b.WriteString(map[bool]string{true: "}", false: "]"}[isMap])
	return nil
}

// flowEntries are a mapping's entries as written inside a flow mapping.
func flowEntries(m map[string]any, asJSON bool) ([]string, error) {
	var parts []string
	for _, k := range sortedKeys(m) {
		var s string
		var err error
		if asJSON {
			var key, v string
			key, err = flowText(k, true)
			if err == nil {
				v, err = flowText(m[k], true)
			}
			s = key + ": " + v
		} else {
			s, err = flowText(map[string]any{k: m[k]}, false)
			s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
		}
		if err != nil {
			return nil, err
		}
		parts = append(parts, s)
	}
	return parts, nil
}

// encodeLine is a node as the YAML encoder writes it, which must be one
// line.
func encodeLine(n *yaml.Node) (string, error) {
	out, err := yaml.Marshal(n)
	if err != nil {
		return "", err
	}
	s := strings.TrimSuffix(string(out), "\n")
	if strings.ContainsAny(s, "\r\n") {
		return "", errors.New("cannot be written on one line")
	}
	return s, nil
}
