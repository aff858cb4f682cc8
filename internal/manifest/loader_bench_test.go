package manifest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// manyDataKeys is a ConfigMap with n data keys, as a large generated one
// (dashboards, rule files) has.
func manyDataKeys(n int) []byte {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n")
	for i := range n {
		fmt.Fprintf(&b, "  key-%06d: v\n", i)
	}
	return []byte(b.String())
}

// BenchmarkSkimManyKeys skims a ConfigMap of 40,000 data keys (640 KB).
func BenchmarkSkimManyKeys(b *testing.B) {
	doc := manyDataKeys(40_000)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		skim(doc)
	}
}

// jsonLines is n JSON objects, one a line, as jq -c writes them, or with a
// "---" line before each when yamlMarkers is set.
func jsonLines(n int, yamlMarkers bool) []byte {
	var b strings.Builder
	for i := range n {
		if yamlMarkers {
			b.WriteString("---\n")
		}
		fmt.Fprintf(&b, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c%d"}}`+"\n", i)
	}
	return []byte(b.String())
}

// BenchmarkJSONStream parses 20,000 JSON objects written one a line, and
// the same objects cut by "---" lines, and 1.2 MB of "{}" lines.
func BenchmarkJSONStream(b *testing.B) {
	for _, bc := range []struct {
		name string
		data []byte
		objs int
	}{
		{"objects", jsonLines(20_000, false), 20_000},
		{"objects-with-markers", jsonLines(20_000, true), 20_000},
		{"empty-objects", []byte(strings.Repeat("{}\n", 400_000)), 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.data)))
			b.ReportAllocs()
			for b.Loop() {
				if res := Parse("s.json", bc.data, inventory.Source{File: "s.json"}); len(res.Objects) != bc.objs {
					b.Fatalf("got %d objects, want %d", len(res.Objects), bc.objs)
				}
			}
		})
	}
}

// BenchmarkJSONObject parses one large JSON object, a List of 2,000
// ConfigMaps as kubectl get -o json writes it.
func BenchmarkJSONObject(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"items\": [\n")
	for i := range 2000 {
		if i > 0 {
			sb.WriteString(",\n")
		}
		fmt.Fprintf(&sb, "    {\n      \"apiVersion\": \"v1\",\n      \"kind\": \"ConfigMap\",\n      \"metadata\": {\n        \"name\": \"c%d\",\n        \"labels\": {\"app\": \"x\"}\n      }\n    }", i)
	}
	sb.WriteString("\n  ]\n}\n")
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if res := Parse("l.json", data, inventory.Source{File: "l.json"}); len(res.Objects) != 2000 {
			b.Fatalf("got %d objects, want 2000", len(res.Objects))
		}
	}
}

// flood is a MiB of documents made by repeating doc.
func flood(doc string) []byte {
	return []byte(strings.Repeat(doc, (1<<20)/len(doc)))
}

// BenchmarkMalformedFlood parses a MiB of malformed documents, a file no
// one wrote on purpose: YAML that does not parse, documents that are not
// objects, objects of fields their kind does not have, and JSON objects
// without a kind, one a line. It reports the time per MiB; the first
// maxErrorsPerFile errors are all a file of them costs to parse.
func BenchmarkMalformedFlood(b *testing.B) {
	for _, bc := range []struct{ name, doc string }{
		{"syntax", "---\na: [\n"},
		{"not-objects", "---\n- a\n"},
		{"unknown-fields", "---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {portz: [80]}\n"},
		{"json-lines", "{\"a\": 1}\n"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			data := flood(bc.doc)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if res := Parse("flood.yaml", data, inventory.Source{File: "flood.yaml"}); len(res.Errors) <= maxErrorsPerFile {
					b.Fatalf("got %d errors, want more than %d", len(res.Errors), maxErrorsPerFile)
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*float64(1<<20)/float64(len(data)), "s/MiB")
		})
	}
}
