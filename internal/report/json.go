package report

import (
	"bytes"
	"encoding/json"
	"io"

	yaml "go.yaml.in/yaml/v3"
)

func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Messages quote manifests ("<none>", "a && b"); escaping them would
	// only make the report harder to read.
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeJSON(w io.Writer, r *Report, _ Options) error {
	b, err := marshalJSON(r)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// writeYAML writes the same document as writeJSON. It goes through a YAML
// node tree decoded from the JSON rather than a map, so the fields keep the
// schema's order instead of being sorted, and the JSON tags stay the one
// definition of the field names.
func writeYAML(w io.Writer, r *Report, _ Options) error {
	b, err := marshalJSON(r)
	if err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return err
	}
	blockStyle(&doc)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return err
	}
	return enc.Close()
}

// blockStyle drops the flow style and quoting that JSON syntax gave the
// nodes; the encoder quotes the strings that need it.
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}
