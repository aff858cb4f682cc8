package manifest

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// parseAlone is Parse with every document parsed on its own, as
// parseStream must match.
func parseAlone(name string, data []byte, src inventory.Source) Result {
	var res Result
	for doc := range fileDocuments(data) {
		objs, errs := parseDocument(doc, src, nil)
		for _, e := range errs {
			e.File = name
		}
		res.Errors = append(res.Errors, errs...)
		res.Objects = append(res.Objects, objs...)
	}
	return res
}

// compareStream parses files as one batch (loadFiles) and each document
// alone, and describes how they differ.
func compareStream(files ...[]byte) string {
	var s stream
	s.reset()
	got := make([]Result, len(files))
	want := make([]Result, len(files))
	for i, data := range files {
		name := fmt.Sprintf("f%d.yaml", i)
		src := inventory.Source{File: name}
		parseFile(&s, &got[i], name, data, src)
		if utf16, ok := decodeUTF16(data); ok {
			data = utf16 // as the loader reads it, before it looks for binary data
		}
		if bytes.IndexByte(data, 0) >= 0 {
			want[i] = got[i] // refused as binary before any parsing
			continue
		}
		want[i] = parseAlone(name, data, src)
	}
	s.parse()
	for i := range files {
		if !reflect.DeepEqual(errorLines(got[i]), errorLines(want[i])) {
			return fmt.Sprintf("file %d: errors differ:\n got %q\nwant %q", i, errorLines(got[i]), errorLines(want[i]))
		}
		if !reflect.DeepEqual(got[i].Objects, want[i].Objects) {
			return fmt.Sprintf("file %d: objects differ:\n got %s\nwant %s", i, ids(got[i].Objects), ids(want[i].Objects))
		}
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
		docs := slices.Collect(documents(data))
		if len(docs) < 2 {
			return
		}
		var s stream
		s.reset()
		result := &fileResult{res: &Result{}}
		for _, doc := range docs {
			s.add(doc, inventory.Source{}, result)
		}
		if !result.alone && s.parse() == len(s.parts) {
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
	for _, seed := range [][2]string{
		{good, cmA},
		{cmA + "---\n" + cmB + "...\n---\n# comment\n---\n" + cmC, "# nothing\n"},
		{"# only a comment\n---\n" + cmA + "--- # c\n---\n--- !!map\n" + cmB, cmC},
		{cmA + "...\n" + cmB + "---\n" + cmC, cmA + "..."},
		{cmA + "---\nkind: [\n---\n" + cmB, cmC},
		{cmA + "---\n" + cmB + "data: &d {a: 1}\n---\n" + cmC + "data: *d\n", cmA + "data: *d\n"},
		{cmA + "---\n%YAML 1.1\n---\n" + cmB, cmC},
		{cmA + "---\na: \"open\n---\n" + cmB, cmC},
		{"--- {apiVersion: v1, kind: ConfigMap, metadata: {name: d}}\n--- !!map\n", "[1"},
		{"apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  type: A\n  type: B\n---\n" + cmA, cmB},
		{cmA + "---\n" + cmB + "\n\n  \n", cmC},
		{cmA + "---\n\t- a\n---\n" + cmB, cmC},
		// yaml.v3 counts a lone "\r", NEL, LS and PS as line breaks, and
		// skips a byte order mark only at the start of its input.
		{cmA + "data: {k: \"x\u2028y\"}\n---\n" + cmB + "---\n0\n", "# a\u0085b\n" + cmC + "---\n0\n"},
		{"\r0\n", "0\n"},
		{"\ufeff" + cmA, cmB + "...\n\ufeff" + cmC},
		{"---\u0085" + cmA, "...\u2028" + cmB},
		{cmA + "# \u0085\n---\u0085{apiVersion: v1, kind: ConfigMap, metadata: {name: x}}\n---\n" + cmB + "---\n" + cmC, cmA},
		// A block scalar that ends the file without a line break keeps
		// none: one added between files would change it.
		{cmA + "---\n" + cmB + "data:\n  k: |\n    x", cmC + "data:\n  k: |\n    y\n"},
		// A stream of JSON objects, each parsed with the others but one
		// that ends without a line break.
		{"{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"j\"}}\n{}\r\n{\"kind\": 1} {\"kind\": \"x\"}", "{\"a\":\n[1]} \n"},
	} {
		f.Add([]byte(seed[0]), []byte(seed[1]))
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		if diff := compareStream(a, b); diff != "" {
			t.Error(diff)
		}
	})
}

// TestLoadMatchesDocuments loads the corpora as a user would, in batches
// of files each read by one parser, and compares every file's objects and
// errors with its documents parsed alone.
func TestLoadMatchesDocuments(t *testing.T) {
	var files []string
	want := map[string]Result{}
	eachCorpusFile(t, func(file string, data []byte) {
		files = append(files, file)
		want[file] = parseAlone(file, data, inventory.Source{File: file})
	})
	for _, limit := range []int{batchBytes, 1} {
		t.Run(fmt.Sprintf("batches of up to %d bytes", limit), func(t *testing.T) {
			defer func(was int) { batchBytes = was }(batchBytes)
			batchBytes = limit
			compareLoad(t, files, want)
		})
	}
}

func compareLoad(t *testing.T, files []string, want map[string]Result) {
	res := Load(context.Background(), files, Options{})
	got := map[string]*Result{}
	for _, o := range res.Objects {
		r := got[o.Source.File]
		if r == nil {
			r = &Result{}
			got[o.Source.File] = r
		}
		r.Objects = append(r.Objects, o)
	}
	for _, e := range res.Errors {
		r := got[e.File]
		if r == nil {
			r = &Result{}
			got[e.File] = r
		}
		r.Errors = append(r.Errors, e)
	}
	for _, file := range files {
		g, w := got[file], want[file]
		if g == nil {
			g = &Result{}
		}
		if !reflect.DeepEqual(errorLines(*g), errorLines(w)) {
			t.Errorf("%s: errors differ:\n got %q\nwant %q", file, errorLines(*g), errorLines(w))
		}
		if !reflect.DeepEqual(g.Objects, w.Objects) {
			t.Errorf("%s: objects differ:\n got %s\nwant %s", file, ids(g.Objects), ids(w.Objects))
		}
	}
}
