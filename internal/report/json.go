package report

import (
	"bufio"
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

// resultsField is how the indented report spells an empty results list.
const resultsField = "\n  \"results\": []"

// writeJSON streams the results one at a time: on a large cluster they are
// nearly all of the report, and marshalling them whole held the document
// three times over (the value, the encoding, the indented copy). The bytes
// are the same as one indented encoding of the report.
func writeJSON(w io.Writer, r *Report, _ Options) error {
	head := *r
	head.Results = []Result{}
	b, err := marshalJSON(&head)
	if err != nil {
		return err
	}
	i := bytes.Index(b, []byte(resultsField))
	if i < 0 || len(r.Results) == 0 {
		_, err = w.Write(b)
		return err
	}
	bw := bufio.NewWriter(w)
	bw.Write(b[:i])
	bw.WriteString("\n  \"results\": [")
	var item bytes.Buffer
	enc := json.NewEncoder(&item)
	enc.SetEscapeHTML(false)
	enc.SetIndent("    ", "  ")
	for k := range r.Results {
		item.Reset()
		if err := enc.Encode(&r.Results[k]); err != nil {
			return err
		}
		if k > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n    ")
		bw.Write(bytes.TrimSuffix(item.Bytes(), []byte("\n")))
	}
	bw.WriteString("\n  ]")
	bw.Write(b[i+len(resultsField):])
	return bw.Flush()
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
