package manifest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// TestJSONStreamsAndLists reads what kubectl reads and plimsoll once lost:
// JSON objects written one after another (only the first was read), a List
// inside a List (the inner items were lost) and a List with items: null
// (reported as a List without a name). Errors keep their line.
func TestJSONStreamsAndLists(t *testing.T) {
	tests := []struct {
		name, file, doc string
		want            []string
		wantErr         string
	}{
		{"a JSON stream", "s.json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}
{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"}}

{"apiVersion":"v1","kind":"ConfigMap","metadata":{}}
`, []string{"ConfigMap a", "ConfigMap b"}, "s.json:4: ConfigMap has no metadata.name"},
		{"one JSON object", "o.json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}`, []string{"ConfigMap a"}, ""},
		{"a List in a List", "l.yaml", `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: List
  items:
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: inner}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: outer}}
`, []string{"ConfigMap inner", "ConfigMap outer"}, ""},
		{"an empty List", "e.yaml", "apiVersion: v1\nkind: List\nitems: null\n", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Parse(tt.file, []byte(tt.doc), inventory.Source{File: tt.file})
			var got []string
			for _, o := range res.Objects {
				got = append(got, o.ID())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got objects %q, want %q", got, tt.want)
			}
			var gotErr string
			if len(res.Errors) > 0 {
				gotErr = res.Errors[0].Error()
			}
			if len(res.Errors) > 1 || gotErr != tt.wantErr {
				t.Errorf("got errors %v, want %q", res.Errors, tt.wantErr)
			}
		})
	}
}

// TestLoadUTF16 reads a file saved as UTF-16, with a byte order mark or
// without, as its UTF-8 text, lines unchanged; it was called binary data.
func TestLoadUTF16(t *testing.T) {
	text := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: wide}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {}\n"
	for name, data := range map[string][]byte{
		"little-endian with a mark":    utf16Bytes(text, true, true),
		"big-endian with a mark":       utf16Bytes(text, false, true),
		"little-endian without a mark": utf16Bytes(text, true, false),
		"big-endian without a mark":    utf16Bytes(text, false, false),
	} {
		t.Run(name, func(t *testing.T) {
			res := Parse("w.yaml", data, inventory.Source{File: "w.yaml"})
			if len(res.Objects) != 1 || len(res.Errors) != 1 || res.Errors[0].Error() != "w.yaml:5: ConfigMap has no metadata.name" {
				t.Errorf("got %d objects and errors %v, want ConfigMap wide and the error at line 5", len(res.Objects), res.Errors)
			}
		})
	}
}

// utf16Bytes encodes ASCII text as UTF-16.
func utf16Bytes(text string, little, mark bool) []byte {
	var out []byte
	if mark {
		text = "\uFEFF" + text
	}
	for _, r := range text {
		hi, lo := byte(r>>8), byte(r)
		if little {
			out = append(out, lo, hi)
		} else {
			out = append(out, hi, lo)
		}
	}
	return out
}

// TestListReportsEveryBadItem: of three bad items of a List, every one is
// reported at its line, not only the first, and the good item is read.
func TestListReportsEveryBadItem(t *testing.T) {
	doc := `apiVersion: v1
kind: List
items:
- {kind: ConfigMap}
- {apiVersion: v1}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: good}}
- {apiVersion: v1, kind: ConfigMap, metadata: {}}
`
	res := Parse("l.yaml", []byte(doc), inventory.Source{File: "l.yaml"})
	var got []string
	for _, e := range res.Errors {
		got = append(got, e.Error())
	}
	want := []string{"l.yaml:4: ConfigMap has no apiVersion", "l.yaml:5: object has no kind", "l.yaml:7: ConfigMap has no metadata.name"}
	if !slices.Equal(got, want) || len(res.Objects) != 1 {
		t.Errorf("got errors %q and %d objects, want %q and the good ConfigMap", got, len(res.Objects), want)
	}
}

// TestLoadAliasBytes refuses a document whose aliases repeat one large
// scalar: few nodes, but a report a thousand times the file's size.
func TestLoadAliasBytes(t *testing.T) {
	doc := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\n  annotations:\n    a: &a \"" + strings.Repeat("x", 100_000) + "\"\n"
	for i := range 20 {
		doc += fmt.Sprintf("    k%d: *a\n", i)
	}
	res := Parse("b.yaml", []byte(doc), inventory.Source{File: "b.yaml"})
	if len(res.Objects) != 0 || len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), "aliases expand to more than 1048576 bytes") {
		t.Errorf("got %d objects and errors %v, want the document refused", len(res.Objects), res.Errors)
	}
}

// TestFloods bounds what a file of a million markers or of malformed
// documents costs: bare markers make no document to parse, and a file that
// has had maxErrorsPerFile errors is read no further, whether its documents
// share a parser or not (a directive keeps them apart) and whether the
// errors come one a document or many from one (a List), and says so once.
// Its objects before that are kept, and the files read with it in a batch
// are read whole. BenchmarkMalformedFlood says what a flood costs.
func TestFloods(t *testing.T) {
	if docs := slices.Collect(documents([]byte(strings.Repeat("---\n", 100_000) + "# end\n...\n"))); len(docs) != 0 {
		t.Errorf("got %d documents from bare markers, want none", len(docs))
	}
	const stopped = "stopped reading this file after 100 errors: further documents of this file not read"
	for _, tt := range []struct {
		name, text string
		wantTail   []string // the last errors
		wantObjs   int
	}{
		{"documents that do not parse", cmA + "---\n" + strings.Repeat("a: [\n---\n", 500), []string{"bad.yaml:205: " + stopped}, 1},
		{"documents that are not objects", cmA + "---\n" + strings.Repeat("- a\n---\n", 500), []string{"bad.yaml:205: " + stopped}, 1},
		{"documents apart", "%YAML 1.1\n---\n" + cmA + "---\n" + strings.Repeat("- a\n---\n", 500), []string{"bad.yaml:207: " + stopped}, 1},
		{"a List of more errors than are listed, then more documents", "kind: List\nitems:\n" + strings.Repeat("  - 5\n", 150) + "---\n" + cmA, []string{
			"bad.yaml:103: more than 100 errors in this file; those from here on are not listed",
			"bad.yaml:153: " + stopped,
		}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var s stream
			s.reset()
			results := make([]Result, 3)
			for i, file := range []struct{ name, text string }{{"a.yaml", cmB}, {"bad.yaml", tt.text}, {"c.yaml", cmC + "---\n" + cmB}} {
				parseFile(&s, &results[i], file.name, []byte(file.text), inventory.Source{File: file.name})
			}
			// What the stream holds last (the List, and the documents of
			// the file after the flood) shares one parser, which starts
			// again after the documents left unread.
			if together := s.parse(); together != len(s.parts) {
				t.Errorf("got %d of %d documents through one parser, want all", together, len(s.parts))
			}
			res := results[1]
			if len(res.Errors) == 0 || len(res.Errors) > maxErrorsPerFile+2 {
				t.Fatalf("got %d errors, want at most %d and the lines that say the rest are not listed or not read", len(res.Errors), maxErrorsPerFile+2)
			}
			if tail := errorTexts(res)[len(res.Errors)-len(tt.wantTail):]; !slices.Equal(tail, tt.wantTail) {
				t.Errorf("got last errors %q, want %q", tail, tt.wantTail)
			}
			if len(res.Objects) != tt.wantObjs || len(results[0].Objects) != 1 || len(results[2].Objects) != 2 || len(results[0].Errors)+len(results[2].Errors) > 0 {
				t.Errorf("got %d, %d and %d objects and errors %v %v, want %d in the flood and the other files whole", len(results[0].Objects), len(res.Objects), len(results[2].Objects), results[0].Errors, results[2].Errors, tt.wantObjs)
			}
		})
	}
}

// TestJSONStreamCuts pins where jsonStream cuts: a document ends after the
// line break that follows its value, so that it shares the stream's parser
// (one that ends without one is parsed alone), and it starts on its own
// line. A single value is not a stream: it is left to the YAML parser.
func TestJSONStreamCuts(t *testing.T) {
	for _, single := range []string{"{}", "{\"a\": 1}\n\n", " {\n  \"a\": [1]\n}\r\n"} {
		if docs := jsonStream([]byte(single)); docs != nil {
			t.Errorf("jsonStream(%q) = %d documents, want none", single, len(docs))
		}
	}
	got := jsonStream([]byte("{} \n\n {\"a\":\n1}\r\n{} {}\n{}"))
	want := []document{{[]byte("{} \n"), 1}, {[]byte("{\"a\":\n1}\r\n"), 3}, {[]byte("{}"), 5}, {[]byte("{}\n"), 5}, {[]byte("{}"), 6}}
	if !slices.EqualFunc(got, want, func(a, b document) bool { return string(a.text) == string(b.text) && a.line == b.line }) {
		t.Errorf("got documents %s, want %s", showDocuments(got), showDocuments(want))
	}
}

func showDocuments(docs []document) string {
	var out []string
	for _, d := range docs {
		out = append(out, fmt.Sprintf("%d:%q", d.line, d.text))
	}
	return strings.Join(out, " ")
}

// TestIndentedMarkers reads a "---", a "..." or a "%" that does not start
// its line as the parser does: as text, not as a marker or a directive.
// A document of an indented "---" was dropped as blank, and an indented
// directive took the document after it down with its error.
func TestIndentedMarkers(t *testing.T) {
	for _, tt := range []struct{ doc, want string }{
		{"  ---\n", "f.yaml:1: document is not a mapping, so not a Kubernetes object"},
		{"# c\n ... \n", "f.yaml:2: document is not a mapping, so not a Kubernetes object"},
		{"  %YAML 1.1\n---\n" + cmA, "f.yaml:1: found character that cannot start any token"},
	} {
		res := Parse("f.yaml", []byte(tt.doc), inventory.Source{File: "f.yaml"})
		if got := errorTexts(res); !slices.Equal(got, []string{tt.want}) {
			t.Errorf("%q: got errors %q, want %q", tt.doc, got, tt.want)
		}
		if strings.Contains(tt.doc, cmA) && len(res.Objects) != 1 {
			t.Errorf("%q: got %d objects, want the ConfigMap", tt.doc, len(res.Objects))
		}
	}
}
