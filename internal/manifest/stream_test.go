package manifest

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// parseAlone is Parse with every document parsed on its own, as
// parseStream must match.
func parseAlone(name string, data []byte, src inventory.Source) Result {
	var res Result
	for _, doc := range splitDocuments(data) {
		objs, err := parseDocument(doc, src)
		if err != nil {
			err.File = name
			res.Errors = append(res.Errors, err)
		}
		res.Objects = append(res.Objects, objs...)
	}
	return res
}

// compareStream parses data both ways and describes how they differ.
func compareStream(data []byte) string {
	if bytes.IndexByte(data, 0) >= 0 {
		return "" // refused as binary before any parsing
	}
	src := inventory.Source{File: "f.yaml"}
	got, want := Parse("f.yaml", data, src), parseAlone("f.yaml", data, src)
	if !reflect.DeepEqual(errorLines(got), errorLines(want)) {
		return fmt.Sprintf("errors differ:\n got %q\nwant %q", errorLines(got), errorLines(want))
	}
	if !reflect.DeepEqual(got.Objects, want.Objects) {
		return fmt.Sprintf("objects differ:\n got %s\nwant %s", ids(got.Objects), ids(want.Objects))
	}
	return ""
}

func errorLines(res Result) []string {
	var out []string
	for _, e := range res.Errors {
		out = append(out, e.Error())
	}
	return out
}

func ids(objs []*inventory.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, fmt.Sprintf("%s@%d", o.ID(), o.Source.Line))
	}
	return out
}

// TestStreamMatchesDocuments parses every file of the corpora with one
// parser per file and with one per document: objects, lines and errors
// must be the same. Most multi-document files must take the one-parser
// path, or the test would compare nothing.
func TestStreamMatchesDocuments(t *testing.T) {
	var streamed, alone int
	eachCorpusFile(t, func(file string, data []byte) {
		if diff := compareStream(data); diff != "" {
			t.Errorf("%s: %s", file, diff)
		}
		docs := splitDocuments(data)
		if len(docs) < 2 {
			return
		}
		if parseStream(docs, inventory.Source{}, func([]*inventory.Object, *Error) {}) == len(docs) {
			streamed++
		} else {
			alone++
		}
	})
	if streamed < 4*alone {
		t.Errorf("got %d multi-document files through one parser and %d document by document, want most through one parser", streamed, alone)
	}
	t.Logf("%d multi-document files through one parser, %d document by document", streamed, alone)
}

// FuzzStream checks one parser per file against one per document on any
// input.
func FuzzStream(f *testing.F) {
	for _, seed := range []string{
		good,
		cmA + "---\n" + cmB + "...\n---\n# comment\n---\n" + cmC,
		"# only a comment\n---\n" + cmA + "--- # c\n---\n--- !!map\n" + cmB,
		cmA + "...\n" + cmB + "---\n" + cmC,
		cmA + "---\nkind: [\n---\n" + cmB,
		cmA + "---\n" + cmB + "data: &d {a: 1}\n---\n" + cmC + "data: *d\n",
		cmA + "---\n%YAML 1.1\n---\n" + cmB,
		cmA + "---\na: \"open\n---\n" + cmB,
		"--- {apiVersion: v1, kind: ConfigMap, metadata: {name: d}}\n--- !!map\n",
		"apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  type: A\n  type: B\n---\n" + cmA,
		cmA + "---\n" + cmB + "\n\n  \n",
		cmA + "---\n\t- a\n---\n" + cmB,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if diff := compareStream(data); diff != "" {
			t.Error(diff)
		}
	})
}
