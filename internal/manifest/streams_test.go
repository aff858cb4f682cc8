package manifest

import (
	"slices"
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
