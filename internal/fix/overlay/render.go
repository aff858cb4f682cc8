package overlay

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// render writes the overlay's files: the new objects, a patch per target,
// and the kustomization that lists them after the base.
func render(base string, targets []*target, objects []newObject) (map[string][]byte, error) {
	var bases []string
	if base != "" {
		bases = []string{base}
	}
	files, k, err := renderParts(newKustomization(bases), targets, objects)
	if err != nil {
		return nil, err
	}
	header := []string{
		"Written by plimsoll fix: the manifests of " + base + ", with the patches",
		"and new objects below. Review them; kubectl kustomize builds the result.",
	}
	if base == "" {
		header = []string{
			"Written by plimsoll fix: the objects the cluster lacks, to add through",
			"its GitOps repository. Review them; kubectl kustomize builds them.",
		}
	}
	if err := addFile(files, kustomizationFile, append(header, regexpNote(k)...), k); err != nil {
		return nil, err
	}
	return files, nil
}

// renderParts writes the new objects and a patch per target, and returns
// them with k, which lists them after what it lists already.
func renderParts(k kustomization, targets []*target, objects []newObject) (map[string][]byte, kustomization, error) {
	type part struct {
		name   string
		header []string
		v      any
		data   []byte
	}
	var parts []part
	for _, o := range objects {
		k.Resources = append(k.Resources, o.file)
		header := append([]string{"Written by plimsoll fix: a new " + o.id.kind + "."}, lines(o.comment)...)
		parts = append(parts, part{name: o.file, header: header, v: o.content})
	}
	// The targets' files are written already (see target.write).
	for _, t := range targets {
		if len(t.sets) == 0 {
			continue // a move alone
		}
		k.Patches = append(k.Patches, patchRef{Path: t.file, Target: t.selector})
		parts = append(parts, part{name: t.file, data: t.patch})
	}
	// Moves come last: a patch's target names the version, and the
	// patches above find the objects at the one the base builds.
	for _, t := range targets {
		if t.move == "" {
			continue
		}
		k.Patches = append(k.Patches, patchRef{Path: moveFile(t), Target: t.selector})
		parts = append(parts, part{name: moveFile(t), data: t.movePatchFile})
	}
	err := onEveryCore(len(parts), func(i int) (err error) {
		if parts[i].data == nil {
			parts[i].data, err = encode(parts[i].header, parts[i].v)
		}
		return err
	})
	if err != nil {
		return nil, k, err
	}
	files := map[string][]byte{}
	for _, p := range parts {
		if err := putFile(files, p.name, p.data); err != nil {
			return nil, k, err
		}
	}
	return files, k, nil
}

// addFile encodes v, after a comment of header lines, as the file name,
// which must not be among files already.
func addFile(files map[string][]byte, name string, header []string, v any) error {
	data, err := encode(header, v)
	if err != nil {
		return err
	}
	return putFile(files, name, data)
}

// putFile adds a file to files, whose names must differ.
func putFile(files map[string][]byte, name string, data []byte) error {
	if _, dup := files[name]; dup {
		return fmt.Errorf("the overlay would have two files named %s; give the new object another file name", name)
	}
	files[name] = data
	return nil
}

// regexpNote is the kustomization's note on its patch targets, when one
// of them has a character escaped.
func regexpNote(k kustomization) []string {
	if slices.ContainsFunc(k.Patches, func(p patchRef) bool { return strings.Contains(p.Target.Name+p.Target.Group, `\`) }) {
		return []string{`Kustomize reads a patch's target as regular expressions, so "." is "\.".`}
	}
	return nil
}

// write writes the target's patch file and the file of its move, if it
// has them.
func (t *target) write() (err error) {
	if len(t.sets) > 0 {
		var body any = t.merge
		tests := false
		if t.jsonWhy != "" {
			ops := t.jsonPatch()
			tests = slices.ContainsFunc(ops, func(op any) bool { return asMap(op)["op"] == "test" })
			body = ops
		}
		if t.patch, err = encode(patchHeader(t, tests), body); err != nil {
			return err
		}
	}
	if t.move != "" {
		header := []string{
			fmt.Sprintf("Written by plimsoll fix: moves %s from %s to %s.", t.id.kindAndName(), t.id.apiVersion, t.move),
			"A JSON patch (RFC 6902), listed after the other patches, which find the object at " + t.id.apiVersion + ".",
		}
		t.movePatchFile, err = encode(header, t.movePatch())
	}
	return err
}

func patchHeader(t *target, tests bool) []string {
	header := []string{fmt.Sprintf("Written by plimsoll fix: fields of %s.", t.id.kindAndName())}
	if len(t.reasons) > 0 {
		header = append(header, "Why:")
		for _, r := range t.reasons {
			header = append(header, "- "+strings.Join(lines(r), "\n  "))
		}
	}
	if t.filled {
		header = append(header,
			"Lists name the elements before those patched, unchanged: Kustomize would",
			"otherwise move the patched ones first (kubernetes-sigs/kustomize#5904).")
	}
	if t.jsonWhy != "" {
		header = append(header, "A JSON patch (RFC 6902), not a strategic merge: "+t.jsonWhy+".")
	}
	if tests {
		header = append(header, "Its tests make the build fail, rather than patch something else, if the base changes there.")
	}
	return header
}

// lines splits text into its lines, without trailing blanks; none for
// empty text.
func lines(text string) []string {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil
	}
	l := strings.Split(text, "\n")
	for i := range l {
		l[i] = strings.TrimRight(l[i], " \t\r")
	}
	return l
}

// encode writes v as YAML after a comment of header lines. Mappings are
// written with the fields that say what an object or element is first, the
// others in order of name.
func encode(header []string, v any) ([]byte, error) {
	var b bytes.Buffer
	for _, text := range header {
		for _, l := range wrap(text, 76) {
			b.WriteString(strings.TrimRight("# "+l, " ") + "\n")
		}
	}
	var doc any = v
	switch v.(type) {
	case map[string]any, []any:
		// Their keys go in plimsoll's order (firstKeys); a struct's are in
		// the order of its fields already.
		n, err := toNode(v)
		if err != nil {
			return nil, err
		}
		doc = n
	}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// firstKeys are written before a mapping's other keys, in this order.
var firstKeys = []string{"$patch", "apiVersion", "kind", "metadata", "name", "namespace"}

func toNode(v any) (*yaml.Node, error) {
	switch v := v.(type) {
	case map[string]any:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		keys := slices.SortedFunc(maps.Keys(v), func(a, b string) int {
			ra, rb := rank(a), rank(b)
			return cmp.Or(cmp.Compare(ra, rb), strings.Compare(a, b))
		})
		for _, k := range keys {
			val, err := toNode(v[k])
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, val)
		}
		return n, nil
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, e := range v {
			val, err := toNode(e)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, val)
		}
		return n, nil
	case string:
		if plain(v) {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}, nil
		}
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v)}, nil
	case int:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(v)}, nil
	case int64:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(v, 10)}, nil
	}
	// Node.Encode writes the value as text and parses it back: right for
	// any value, and slow.
	n := &yaml.Node{}
	return n, n.Encode(v)
}

// plain says whether a string is written unquoted as it stands, as yaml.v3
// writes it: it starts with a letter, has only letters, digits and "-._/",
// and is not one of the words YAML reads as a boolean or null.
func plain(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '/') {
			return false
		}
	}
	switch strings.ToLower(s) {
	case "y", "yes", "n", "no", "on", "off", "true", "false", "null":
		return false
	}
	return true
}

// wrap breaks text into lines of at most width bytes where it can, at
// spaces; a line that continues a list item ("- ") is indented under it.
func wrap(text string, width int) []string {
	var out []string
	for _, para := range strings.Split(text, "\n") {
		indent := ""
		if strings.HasPrefix(para, "- ") {
			indent = "  "
		}
		if strings.HasPrefix(para, "  ") {
			indent = "  " // a continued list item
		}
		line := ""
		for _, word := range strings.Fields(para) {
			switch {
			case line == "":
				line = strings.Repeat(" ", len(para)-len(strings.TrimLeft(para, " "))) + word
			case len(line)+1+len(word) > width:
				out = append(out, line)
				line = indent + word
			default:
				line += " " + word
			}
		}
		out = append(out, line)
	}
	return out
}

func rank(key string) int {
	if i := slices.Index(firstKeys, key); i >= 0 {
		return i
	}
	return len(firstKeys)
}
