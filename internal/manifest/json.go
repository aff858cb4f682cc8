package manifest

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"

	yaml "go.yaml.in/yaml/v3"

	"github.com/plimsoll/plimsoll/internal/jsonstr"
)

// errNotPlain stops appendJSON at YAML that JSON cannot say as simply
// (aliases, merge keys, duplicate keys, non-scalar keys, infinities), or
// that a typed object would not hold as it does from the map (floats from
// 2^53 on, nested managedFields). The caller then decodes the document
// through converter.value, which handles (or reports) each of them.
var errNotPlain = errors.New("not plain JSON")

// appendJSON appends the JSON encoding of a document's node: the same
// value converter.value gives, written out, so a built-in kind can be
// decoded straight into its type (inventory.NewFromJSON) without a map in
// between.
func appendJSON(buf []byte, n *yaml.Node) ([]byte, error) {
	return appendValue(buf, n, 0)
}

// appendValue appends the JSON encoding of a node at a depth of the
// document: 0 for the document itself.
func appendValue(buf []byte, n *yaml.Node, depth int) ([]byte, error) {
	switch n.Kind {
	case yaml.MappingNode:
		buf = append(buf, '{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" || repeatsKey(n, i) {
				return buf, errNotPlain
			}
			// Both paths drop the object's own managedFields. Nested
			// ones (a pod template's) are kept, and FieldsV1 keeps the
			// text it is given: encoding/json's on the map path, with
			// keys sorted, and the document's here.
			if depth != 1 && k.Value == "managedFields" {
				return buf, errNotPlain
			}
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = jsonstr.Append(buf, k.Value)
			buf = append(buf, ':')
			var err error
			if buf, err = appendValue(buf, n.Content[i+1], depth+1); err != nil {
				return buf, err
			}
		}
		return append(buf, '}'), nil
	case yaml.SequenceNode:
		buf = append(buf, '[')
		for i, item := range n.Content {
			if i > 0 {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = appendValue(buf, item, depth+1); err != nil {
				return buf, err
			}
		}
		return append(buf, ']'), nil
	case yaml.ScalarNode:
		v, err := scalar(n)
		if err != nil {
			return buf, errNotPlain
		}
		switch v := v.(type) {
		case nil:
			return append(buf, "null"...), nil
		case bool:
			return strconv.AppendBool(buf, v), nil
		case int64:
			return strconv.AppendInt(buf, v, 10), nil
		case float64:
			// From 2^53 on, encoding/json's shortest text is not always
			// the float's exact value, which the map path converts to an
			// integer field.
			if math.IsInf(v, 0) || math.IsNaN(v) || math.Abs(v) >= 1<<53 {
				return buf, errNotPlain
			}
			// As encoding/json writes it, since that is the text the map
			// path hands a custom unmarshaler (FromUnstructured marshals
			// the float64): a Quantity of 1.0 must read "1" either way.
			b, err := json.Marshal(v)
			if err != nil {
				return buf, errNotPlain
			}
			return append(buf, b...), nil
		case string:
			return jsonstr.Append(buf, v), nil
		}
	}
	return buf, errNotPlain
}

// maxScannedKeys is the most keys a mapping may have for repeatsKey to
// scan: a larger one is not plain, and converter.value checks it with a set.
const maxScannedKeys = 64

// repeatsKey reports whether the key at Content[i] of a mapping appeared
// before it. Mappings in manifests are small, so a scan is cheaper than a
// set.
func repeatsKey(n *yaml.Node, i int) bool {
	if len(n.Content) > 2*maxScannedKeys {
		return true
	}
	key := n.Content[i].Value
	for j := 0; j < i; j += 2 {
		if n.Content[j].Value == key {
			return true
		}
	}
	return false
}
