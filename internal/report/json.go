package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"

	yaml "go.yaml.in/yaml/v3"

	"github.com/plimsoll/plimsoll/internal/jsonstr"
	"github.com/plimsoll/plimsoll/internal/parallel"
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

// writeJSON streams the results one at a time: on a large cluster they are
// nearly all of the report.
func writeJSON(w io.Writer, r *Report, _ Options) error {
	head := *r
	head.Results = []Result{}
	return writeStreamingJSON(w, &head, "results", len(r.Results), func(k int) any { return &r.Results[k] })
}

// writeStreamingJSON writes v as indented JSON, with the list under key
// (empty in v, and the only field of that name) filled by n items made and
// encoded a chunk at a time, one item per line. item is called from several
// goroutines at once. Marshalling a large report whole held it three times
// over (the values, the encoding, the indented copy).
func writeStreamingJSON(w io.Writer, v any, key string, n int, item func(k int) any) error {
	b, err := marshalJSON(v)
	if err != nil {
		return err
	}
	field := []byte("\"" + key + "\": []")
	i := bytes.Index(b, field)
	if i < 0 || bytes.Count(b, field) != 1 {
		return fmt.Errorf("report: no single empty %q list to stream into", key)
	}
	indent := string(b[bytes.LastIndexByte(b[:i], '\n')+1 : i])
	bw := bufio.NewWriter(w)
	bw.Write(b[:i])
	bw.WriteString("\"" + key + "\": [")
	// Each item goes on a line of its own, unindented: a large report
	// stays greppable and diffs by result, and is written in half the
	// time and size.
	err = encodeChunks(n, func(lo, hi int, buf *bytes.Buffer) error {
		enc := json.NewEncoder(buf)
		enc.SetEscapeHTML(false)
		for k := lo; k < hi; k++ {
			if k > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString("\n" + indent + "  ")
			v := item(k)
			if a, ok := v.(jsonAppender); ok {
				buf.Write(a.appendJSON(buf.AvailableBuffer()))
				continue
			}
			if err := enc.Encode(v); err != nil {
				return err
			}
			buf.Truncate(buf.Len() - 1) // Encode's newline
		}
		return nil
	}, bw)
	if err != nil {
		return err
	}
	if n > 0 {
		bw.WriteString("\n" + indent)
	}
	bw.WriteByte(']')
	bw.Write(b[i+len(field):])
	return bw.Flush()
}

// jsonAppender is an item that writes its own JSON, the same as
// encoding/json's with HTML escaping off (TestResultAppendJSON).
type jsonAppender interface {
	appendJSON(b []byte) []byte
}

// appendJSON appends the result's JSON. A large report has hundreds of
// thousands of results, and encoding them by reflection was most of the
// time of writing it.
func (r *Result) appendJSON(b []byte) []byte {
	b = append(b, `{"check":`...)
	b = jsonstr.Append(b, r.Check)
	b = append(b, `,"layer":`...)
	b = jsonstr.Append(b, r.Layer)
	b = append(b, `,"severity":`...)
	b = jsonstr.Append(b, r.Severity)
	b = append(b, `,"status":`...)
	b = jsonstr.Append(b, r.Status)
	b = append(b, `,"object":`...)
	if o := r.Object; o == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"apiVersion":`...)
		b = jsonstr.Append(b, o.APIVersion)
		b = append(b, `,"kind":`...)
		b = jsonstr.Append(b, o.Kind)
		if o.Namespace != "" {
			b = append(b, `,"namespace":`...)
			b = jsonstr.Append(b, o.Namespace)
		}
		b = append(b, `,"name":`...)
		b = jsonstr.Append(b, o.Name)
		b = append(b, '}')
	}
	b = append(b, `,"source":`...)
	if s := r.Source; s == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '{')
		sep := ""
		if s.File != "" {
			b = append(b, `"file":`...)
			b = jsonstr.Append(b, s.File)
			sep = ","
		}
		if s.Line != 0 {
			b = append(b, sep+`"line":`...)
			b = strconv.AppendInt(b, int64(s.Line), 10)
			sep = ","
		}
		if s.Origin != "" {
			b = append(b, sep+`"origin":`...)
			b = jsonstr.Append(b, s.Origin)
		}
		b = append(b, '}')
	}
	if r.Message != "" {
		b = append(b, `,"message":`...)
		b = jsonstr.Append(b, r.Message)
	}
	if r.Path != "" {
		b = append(b, `,"path":`...)
		b = jsonstr.Append(b, r.Path)
	}
	if r.Exempted {
		b = append(b, `,"exempted":true`...)
	}
	if r.Fingerprint != "" {
		b = append(b, `,"fingerprint":`...)
		b = jsonstr.Append(b, r.Fingerprint)
	}
	if r.BaselineState != "" {
		b = append(b, `,"baselineState":`...)
		b = jsonstr.Append(b, r.BaselineState)
	}
	return append(b, '}')
}

// encodeChunks encodes items [0, n) a chunk at a time on every core and
// writes the chunks to w in order. Encoding a large report's results was a
// quarter of a whole audit's time on one core. Buffers are reused once
// written.
func encodeChunks(n int, encode func(lo, hi int, buf *bytes.Buffer) error, w io.Writer) error {
	const chunk = 512
	type encoded struct {
		buf *bytes.Buffer
		err error
	}
	free := make(chan *bytes.Buffer, 2*runtime.GOMAXPROCS(0)+2)
	var first error
	parallel.Ordered((n+chunk-1)/chunk, runtime.GOMAXPROCS(0), func(c int) encoded {
		var buf *bytes.Buffer
		select {
		case buf = <-free:
			buf.Reset()
		default:
			buf = new(bytes.Buffer)
		}
		return encoded{buf, encode(c*chunk, min((c+1)*chunk, n), buf)}
	}, func(e encoded) {
		if first == nil {
			first = e.err
		}
		if first == nil {
			_, first = w.Write(e.buf.Bytes())
		}
		select {
		case free <- e.buf:
		default:
		}
	})
	return first
}

// writeYAML writes the same document as writeJSON. It goes through a YAML
// node tree decoded from the JSON rather than a map, so the fields keep the
// schema's order instead of being sorted, and the JSON tags stay the one
// definition of the field names. Results are converted one at a time, as
// writeJSON streams them: a node tree of a large report took gigabytes.
func writeYAML(w io.Writer, r *Report, _ Options) error {
	head := *r
	head.Results = []Result{}
	b, err := toYAML(&head)
	if err != nil {
		return err
	}
	const field = "\nresults: []\n"
	i := bytes.Index(b, []byte(field))
	if i < 0 {
		return errors.New("report: no empty results list to stream into")
	}
	bw := bufio.NewWriter(w)
	bw.Write(b[:i+1])
	if len(r.Results) == 0 {
		bw.WriteString(field[1:])
	} else {
		bw.WriteString("results:\n")
	}
	// Results go a chunk at a time, as a list indented under the results
	// key as the encoder indents a list in a mapping.
	const chunk = 256
	for lo := 0; lo < len(r.Results); lo += chunk {
		items := make([]*Result, 0, chunk)
		for k := lo; k < min(lo+chunk, len(r.Results)); k++ {
			items = append(items, &r.Results[k])
		}
		out, err := toYAML(items)
		if err != nil {
			return err
		}
		for _, line := range bytes.SplitAfter(out, []byte("\n")) {
			if len(line) > 0 {
				bw.WriteString("  ")
				bw.Write(line)
			}
		}
	}
	bw.Write(b[i+len(field):])
	return bw.Flush()
}

// toYAML encodes v as block-style YAML with the JSON field names and order.
func toYAML(v any) ([]byte, error) {
	b, err := marshalJSON(v)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	blockStyle(&doc)
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// blockStyle drops the flow style and quoting that JSON syntax gave the
// nodes; the encoder quotes the strings that need it.
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}
