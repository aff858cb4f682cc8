package manifest

import (
	"fmt"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// valueFormat is what the API server requires of each value of one of a
// ConfigMap's or a Secret's value fields.
type valueFormat int

const (
	anyValue    valueFormat = iota // not a field of the kind: not checked
	textValue                      // a string
	base64Value                    // a string of base64, which the server decodes
)

// valueFields are a ConfigMap's and a Secret's value fields, in the order
// checkValues reads them, with the format of each one's values in each
// kind: a Secret's stringData and a ConfigMap's data are
// map[string]string, a Secret's data and a ConfigMap's binaryData
// map[string][]byte, which JSON writes in base64.
var valueFields = [...]struct {
	name              string
	secret, configMap valueFormat
}{
	{"data", base64Value, textValue},
	{"stringData", textValue, anyValue},
	{"binaryData", anyValue, base64Value},
}

// secretValues are the names of the value fields: wherever such a key
// stands, in any kind and a Secret inside a List included, its values may
// be secrets, which an error never quotes.
var secretValues = func() map[string]bool {
	names := make(map[string]bool, len(valueFields))
	for _, f := range valueFields {
		names[f.name] = true
	}
	return names
}()

// formatOf is the format of the values of a kind's field (valueFields).
func formatOf(kind, field string) valueFormat {
	for _, f := range valueFields {
		switch {
		case f.name != field:
		case kind == "Secret":
			return f.secret
		case kind == "ConfigMap":
			return f.configMap
		}
	}
	return anyValue
}

// foldsToValues reports whether a key is one of the value fields but for
// case.
func foldsToValues(key []byte) bool {
	for _, f := range valueFields {
		if strings.EqualFold(string(key), f.name) {
			return true
		}
	}
	return false
}

// checkValues refuses what the API server refuses in a ConfigMap's or a
// Secret's values (m is its content, node its mapping, at line of the
// file): a value field that is not a mapping, a value that is not a
// string, and a value that is not base64 where the server decodes it. The
// error names the field and the key, never the value, which may be secret.
func checkValues(o *inventory.Object, m map[string]any, node *yaml.Node, line int) *Error {
	if k := o.KindKey(); k != "Secret" && k != "ConfigMap" {
		return nil
	}
	for _, f := range valueFields {
		field := f.name
		format := formatOf(o.Kind, field)
		if format == anyValue || m[field] == nil {
			continue
		}
		// A field set through a merge key ("<<") is not in node: its
		// errors are at the object's line.
		at := func(n *yaml.Node) int {
			if n == nil {
				return line
			}
			return line + n.Line - node.Line
		}
		fieldKey, fieldNode := mappingEntry(node, field)
		values, ok := m[field].(map[string]any)
		if !ok {
			return &Error{Line: at(fieldKey), Err: fmt.Errorf("%s %s: %s is %s, want a mapping", o.Kind, o.Name, field, typeName(m[field]))}
		}
		// The first bad value in the file, whatever order the map keeps.
		keys := make([]string, 0, len(values))
		for k := range values {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var bad *Error
		for _, k := range keys {
			problem := valueProblem(values[k], format)
			if problem == "" {
				continue
			}
			keyNode := fieldKey
			if n, _ := mappingEntry(fieldNode, k); n != nil {
				keyNode = n
			}
			if bad == nil || at(keyNode) < bad.Line {
				bad = &Error{Line: at(keyNode), Err: fmt.Errorf("%s %s: the value of key %s in %s %s", o.Kind, o.Name, quoteBounded(k), field, problem)}
			}
		}
		if bad != nil {
			return bad
		}
	}
	return nil
}

// valueProblem says what is wrong with a value of a field of that format,
// or "".
func valueProblem(v any, format valueFormat) string {
	want := "want a string"
	if format == base64Value {
		want = "want a base64 string"
	}
	s, isString := v.(string)
	switch {
	case v == nil:
	case !isString:
		return fmt.Sprintf("is %s, %s", typeName(v), want)
	case format == base64Value && !validBase64(s):
		return "is not base64 (the value is not shown: it may be secret)"
	}
	return ""
}

func typeName(v any) string {
	switch v.(type) {
	case map[string]any:
		return "a mapping"
	case []any:
		return "a sequence"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	}
	return "a number"
}
