// Package manifest reads Kubernetes objects from files, directories,
// standard input, Helm charts and Kustomize overlays, and keeps for each
// object the file and line it came from (or the chart template it was
// rendered from).
//
// Reading never stops at the first bad input: a malformed document, a file
// that is too large or not text, or a document whose fields do not fit its
// kind becomes an Error naming the file and line, and every other document
// is still read.
package manifest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"

	"unicode/utf8"

	textunicode "golang.org/x/text/encoding/unicode"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// DefaultMaxFileSize is the largest file read unless Options say otherwise.
const DefaultMaxFileSize = 32 << 20

// Stdin is the path that names standard input.
const Stdin = "-"

// Options tune reading.
type Options struct {
	// MaxFileSize refuses larger files (and standard input); 0 means
	// DefaultMaxFileSize.
	MaxFileSize int64
	// Workers is how many files are parsed at once; 0 means GOMAXPROCS.
	Workers int
	// Stdin is read for the path "-".
	Stdin io.Reader
}

// Error is an input that could not be read, at a file and line.
type Error struct {
	File string
	Line int
	Err  error
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// maxLibraryError bounds the text kept of an error from a library.
const maxLibraryError = 1000

// libraryError is an error from a library (Kustomize, Helm) fit to print.
// Kustomize's errors may end with a whole resource as YAML ("... for the
// following resource:"), which can be a Secret with its values: that part
// is cut, and the rest bounded to maxLibraryError bytes.
func libraryError(err error) error {
	msg := err.Error()
	if i := strings.Index(msg, " for the following resource"); i >= 0 {
		msg = msg[:i] + " (the resource is not shown: it may hold secret values)"
	}
	if head, more := cutText(msg, maxLibraryError); more > 0 {
		msg = fmt.Sprintf("%s... (%d more bytes)", head, more)
	}
	return errors.New(msg)
}

// cutText cuts s to at most n bytes, at a rune boundary, and says how many
// bytes it left out.
func cutText(s string, n int) (head string, more int) {
	if len(s) <= n {
		return s, 0
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n], len(s) - n
}

// Result is what reading produced.
type Result struct {
	Objects []*inventory.Object
	// Errors are the inputs that could not be read, sorted by file and line.
	Errors []*Error
	// Skipped are paths deliberately not read, with the reason.
	Skipped []string
	// Files is how many files were read.
	Files int
}

func (r *Result) add(o Result) {
	r.Objects = append(r.Objects, o.Objects...)
	r.Errors = append(r.Errors, o.Errors...)
	r.Skipped = append(r.Skipped, o.Skipped...)
	r.Files += o.Files
}

func (r *Result) sortErrors() {
	sort.SliceStable(r.Errors, func(i, j int) bool {
		if r.Errors[i].File != r.Errors[j].File {
			return r.Errors[i].File < r.Errors[j].File
		}
		return r.Errors[i].Line < r.Errors[j].Line
	})
	sort.Strings(r.Skipped)
}

// Load reads every path: files, directories (recursively, *.yaml, *.yml and
// *.json) and "-" for standard input.
func Load(ctx context.Context, paths []string, opts Options) Result {
	var res Result
	var files []string
	for _, p := range paths {
		if p == Stdin {
			files = append(files, p)
			continue
		}
		found, skipped, err := expand(p)
		if err != nil {
			res.Errors = append(res.Errors, &Error{File: p, Err: err})
		}
		files = append(files, found...)
		res.Skipped = append(res.Skipped, skipped...)
	}
	res.add(loadFiles(ctx, files, opts))
	res.sortErrors()
	return res
}

// expand lists the manifest files under a path. Directories that hold a
// Helm chart are skipped with a note: their templates are not YAML until
// rendered (use --helm).
func expand(root string) (files, skipped []string, err error) {
	info, err := os.Stat(root)
	if err != nil {
		return nil, nil, err
	}
	if !info.IsDir() {
		return []string{root}, nil, nil
	}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "Chart.yaml")); err == nil {
				skipped = append(skipped, path+": a Helm chart; render it with --helm "+path)
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			return nil // .plimsoll.yaml and other dotfiles are not manifests
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".yaml", ".yml", ".json":
		default:
			return nil
		}
		if isKustomization(d.Name()) {
			skipped = append(skipped, path+": a Kustomization, not an object; build it with --kustomize "+filepath.Dir(path))
			return nil
		}
		if what := notRegular(path, d); what != "" {
			// Reading a named pipe blocks until something writes to it,
			// and a device may never end: only a file named on the command
			// line is read whatever it is (<(helm template ...) is a pipe).
			skipped = append(skipped, path+": "+what+", not a regular file")
			return nil
		}
		files = append(files, path)
		return nil
	})
	return files, skipped, err
}

// notRegular names what a directory entry is when it is not a regular file
// (a link is followed): "a named pipe", "a device", "a socket"; "" for a
// regular file.
func notRegular(path string, d fs.DirEntry) string {
	mode := d.Type()
	if mode&fs.ModeSymlink != 0 {
		info, err := os.Stat(path)
		if err != nil {
			return "a broken link"
		}
		mode = info.Mode().Type()
	}
	switch {
	case mode.IsRegular():
		return ""
	case mode&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case mode&(fs.ModeDevice|fs.ModeCharDevice) != 0:
		return "a device"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	case mode.IsDir():
		return "a directory behind a link"
	}
	return "not a file"
}

func isKustomization(name string) bool {
	switch name {
	case "kustomization.yaml", "kustomization.yml", "Kustomization":
		return true
	}
	return false
}

// batchBytes is how much skimmed text a batch of files may hold: a batch of
// large files is parsed as soon as it passes this, not held whole.
var batchBytes = 4 << 20

func loadFiles(ctx context.Context, files []string, opts Options) Result {
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	results := make([]Result, len(files))
	crds := &crdTexts{seen: map[string]string{}}
	// Workers take files a batch at a time and parse each batch with one
	// parser (see stream).
	const batch = 16
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each worker reads every file into the same buffer: nothing
			// decoded keeps the bytes (yaml.v3 copies each value), and a
			// buffer per file was a fifth of all a large audit allocated.
			var buf []byte
			s := stream{crds: crds}
			for lo := range next {
				s.reset()
				for i := lo; i < min(lo+batch, len(files)); i++ {
					results[i].Files = 1
					data, err := readInput(files[i], opts, &buf)
					if err != nil {
						results[i].Errors = []*Error{{File: files[i], Err: err}}
						continue
					}
					parseFile(&s, &results[i], files[i], data, inventory.Source{File: files[i]})
					if len(s.buf)+len(s.aside) > batchBytes {
						s.parse()
						s.reset()
					}
				}
				s.parse()
			}
		}()
	}
feed:
	for lo := 0; lo < len(files); lo += batch {
		select {
		case next <- lo:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	var res Result
	for _, r := range results {
		res.add(r)
	}
	if err := ctx.Err(); err != nil {
		res.Errors = append(res.Errors, &Error{File: "(reading)", Err: err})
	}
	return res
}

// readInput reads a file, or stdin, into *buf (grown if need be).
func readInput(path string, opts Options, buf *[]byte) ([]byte, error) {
	limit := opts.MaxFileSize
	if limit <= 0 {
		limit = DefaultMaxFileSize
	}
	var data []byte
	var err error
	if path == Stdin {
		in := opts.Stdin
		if in == nil {
			in = os.Stdin
		}
		data, err = io.ReadAll(io.LimitReader(in, limit+1))
	} else {
		data, err = readFile(path, limit, *buf)
		*buf = data
	}
	if err == nil && int64(len(data)) > limit {
		err = fmt.Errorf("larger than the %d-byte limit (--max-file-size)", limit)
	}
	return data, err
}

// readFile reads a file into buf, or into a new buffer when it is larger
// than buf's capacity.
func readFile(path string, limit int64, buf []byte) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if info.Size() > limit {
		return nil, fmt.Errorf("%d bytes, larger than the %d-byte limit (--max-file-size)", info.Size(), limit)
	}
	if !info.Mode().IsRegular() {
		return io.ReadAll(io.LimitReader(f, limit+1)) // a pipe or device: size unknown
	}
	// Read into a buffer of the file's size: io.ReadAll's growing buffer
	// allocated more than twice the corpus in garbage.
	data := buf[:0]
	if int64(cap(buf)) < info.Size() {
		data = make([]byte, info.Size())
	}
	data = data[:info.Size()]
	n, err := io.ReadFull(f, data)
	if err == io.ErrUnexpectedEOF {
		err = nil // the file shrank while being read
	}
	return data[:n], err
}

// Parse reads the objects of one YAML or JSON stream. name is the file name
// errors carry; src is the provenance objects get (its Line is replaced by
// each object's own).
func Parse(name string, data []byte, src inventory.Source) Result {
	var res Result
	s := streams.Get().(*stream)
	defer streams.Put(s)
	s.reset()
	parseFile(s, &res, name, data, src)
	s.parse()
	return res
}

// parseFile reads the objects of one file into res: it adds the file's
// documents to s, whose caller parses them with the rest of its batch.
// data may be reused once it returns.
//
// After maxErrorsPerFile documents of the file, and each time as many
// again as it has read, s parses what it holds, so that a file that has
// had that many errors is cut no further: whatever its size, it is read up
// to about twice the documents it took to get there.
func parseFile(s *stream, res *Result, name string, data []byte, src inventory.Source) {
	file := &fileResult{name: name, res: res}
	if utf16, ok := decodeUTF16(data); ok {
		data = utf16
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		line := bytes.Count(data[:i], []byte("\n")) + 1
		file.add(nil, []*Error{{Line: line, Err: errors.New("binary data (a NUL byte), not YAML or JSON")}})
		return
	}
	n, check := 0, maxErrorsPerFile
	for doc := range fileDocuments(data) {
		if n == check {
			s.parse()
			s.reset()
			check *= 2
		}
		n++
		if file.full() {
			file.skip(doc.line)
			return
		}
		s.add(doc, src, file)
	}
}

// fileResult gathers the objects and errors of one file into its Result.
// Errors past maxErrorsPerFile are counted in one line, not listed, and a
// file that has had that many is read no further: a file of a million
// malformed documents says so once, and costs what its first errors cost,
// rather than a parse of every document.
type fileResult struct {
	name string
	res  *Result
	errs int // errors handed on so far
	// pending are errors of documents a stream has parsed but not yet
	// handed on: they count towards full, as the stream reads on.
	pending int
	// unlisted and unread are set once the line that says errors are not
	// listed, or documents not read, is written.
	unlisted, unread bool
	// alone is set from the first document a stream cannot share its
	// parser with (stream.add): it and every later one are parsed alone.
	alone bool
}

// full reports whether the file has had as many errors as are listed: its
// further documents are not read.
func (f *fileResult) full() bool { return f.errs+f.pending >= maxErrorsPerFile }

// add hands on the objects and errors of one document.
func (f *fileResult) add(objs []*inventory.Object, errs []*Error) {
	for _, e := range errs {
		f.errs++
		switch {
		case f.errs <= maxErrorsPerFile:
			e.File = f.name
			f.res.Errors = append(f.res.Errors, e)
		case !f.unlisted:
			f.unlisted = true
			f.res.Errors = append(f.res.Errors, &Error{File: f.name, Line: e.Line, Err: fmt.Errorf("more than %d errors in this file; those from here on are not listed", maxErrorsPerFile)})
		}
	}
	f.res.Objects = append(f.res.Objects, objs...)
}

// skip records that the document at line, and those after it, are not
// read.
func (f *fileResult) skip(line int) {
	if f.unread {
		return
	}
	f.unread = true
	f.res.Errors = append(f.res.Errors, &Error{File: f.name, Line: line, Err: fmt.Errorf("stopped reading this file after %d errors: further documents of this file not read", maxErrorsPerFile)})
}

// fileDocuments cuts a file's text into its documents, as its reader asks
// for them: at its YAML markers, or, for a stream of JSON objects (which
// has none), after each object.
func fileDocuments(data []byte) iter.Seq[document] {
	if js := jsonStream(data); js != nil {
		return slices.Values(js)
	}
	return documents(data)
}

// decodeUTF16 decodes a file saved as UTF-16 (as some Windows editors and
// PowerShell's Out-File write them), told by its byte order mark or, without
// one, by a NUL byte beside each of its first two characters, into UTF-8
// without a byte order mark; ok is false for anything else. Lines stay where
// they were.
func decodeUTF16(data []byte) (_ []byte, ok bool) {
	var endian textunicode.Endianness
	ascii := func(b byte) bool { return b >= ' ' && b < 0x7F || b == '\n' || b == '\r' || b == '\t' }
	switch {
	case len(data) < 4:
		return nil, false
	case data[0] == 0xFF && data[1] == 0xFE, ascii(data[0]) && data[1] == 0 && ascii(data[2]) && data[3] == 0:
		endian = textunicode.LittleEndian
	case data[0] == 0xFE && data[1] == 0xFF, data[0] == 0 && ascii(data[1]) && data[2] == 0 && ascii(data[3]):
		endian = textunicode.BigEndian
	default:
		return nil, false
	}
	out, err := textunicode.UTF16(endian, textunicode.UseBOM).NewDecoder().Bytes(data)
	if err != nil {
		return nil, false
	}
	return bytes.TrimPrefix(out, []byte("\uFEFF")), true
}

// jsonStream cuts a stream of JSON objects written one after another (as
// kubectl get -o json --watch, jq -c and many tools write them) into one
// document each, at the line it starts on; YAML would read only the first.
// It returns nil for anything else: text that does not start with "{", a
// single value, or text that a JSON decoder stops on, is left to the YAML
// parser.
//
// A document ends after the line break that follows its value, where one
// does before the next value: a document that ends without one is parsed
// alone (stream.add), not with the rest of the file.
func jsonStream(data []byte) []document {
	trimmed := bytes.TrimLeft(data, jsonSpace)
	if len(trimmed) == 0 || trimmed[0] != '{' || json.Valid(data) {
		return nil
	}
	var docs []document
	dec := json.NewDecoder(bytes.NewReader(data))
	start, line := 0, 1   // where the next document's text may start, and its line
	var v json.RawMessage // only read past, its buffer reused
	for {
		if err := dec.Decode(&v); err == io.EOF {
			return docs
		} else if err != nil {
			return nil
		}
		from := len(data) - len(bytes.TrimLeft(data[start:], jsonSpace))
		end := int(dec.InputOffset())
		if after := len(data) - len(bytes.TrimLeft(data[end:], " \t\r")); after < len(data) && data[after] == '\n' {
			end = after + 1
		}
		line += bytes.Count(data[start:from], []byte("\n"))
		docs = append(docs, document{text: data[from:end], line: line})
		line += bytes.Count(data[from:end], []byte("\n"))
		start = end
	}
}

// jsonSpace is the white space JSON allows between values.
const jsonSpace = " \t\r\n"

// maxErrorsPerFile bounds the errors listed for one file, and the errors
// after which the rest of it is not read (fileResult): a file of a million
// malformed documents says so once rather than a million times.
const maxErrorsPerFile = 100

// streams are reused from one Parse to the next.
var streams = sync.Pool{New: func() any { return new(stream) }}

// parseDocument parses one document on its own.
func parseDocument(doc document, src inventory.Source, crds *crdTexts) ([]*inventory.Object, []*Error) {
	text, versions := skim(doc.text)
	return parseSkimmed(text, doc.line, src, crds.keep(versions))
}

// parseSkimmed parses one skimmed document on its own; line is the line of
// the file its text starts on, and versions what skim cut from it.
func parseSkimmed(text []byte, line int, src inventory.Source, versions string) ([]*inventory.Object, []*Error) {
	var root yaml.Node
	if err := yaml.Unmarshal(text, &root); err != nil {
		line, msg := parseError(err, line)
		return nil, []*Error{{Line: line, Err: errors.New(msg)}}
	}
	objs, errs := convertDocument(&root, line, src)
	return withVersions(objs, versions), errs
}

// convertDocument makes the objects of a parsed document. base is the line
// of the file that the parser's line 1 stands for.
func convertDocument(root *yaml.Node, base int, src inventory.Source) ([]*inventory.Object, []*Error) {
	if root.Kind == 0 || (root.Kind == yaml.DocumentNode && (len(root.Content) == 0 || isNull(root.Content[0]))) {
		return nil, nil // empty document: comments or a bare marker
	}
	body := root.Content[0]
	at := func(n *yaml.Node) int { return base + n.Line - 1 }
	if body.Kind != yaml.MappingNode {
		return nil, []*Error{{Line: at(body), Err: errors.New("document is not a mapping, so not a Kubernetes object")}}
	}
	if o := decodeTypedJSON(body, at(body), src); o != nil {
		return []*inventory.Object{o}, nil
	}
	c := converter{offset: base - 1}
	v, err := c.value(body, false)
	if err != nil {
		var le *lineError
		if errors.As(err, &le) {
			return nil, []*Error{{Line: base + le.line - 1, Err: errors.New(le.msg)}}
		}
		return nil, []*Error{{Line: at(body), Err: err}}
	}
	m := v.(map[string]any)
	if kind := m["kind"]; kind == nil || kind == "" {
		return nil, []*Error{{Line: at(body), Err: errors.New("document has no kind, so it is not a Kubernetes object")}}
	}
	if isList(m) {
		return parseList(m, body, at, src)
	}
	o, oErr := newObject(m, body, at(body), src)
	if oErr != nil {
		return nil, []*Error{oErr}
	}
	return []*inventory.Object{o}, nil
}

// parseList reads the items of a List (v1 List, or any FooList), each at
// its own line.
func parseList(m map[string]any, body *yaml.Node, at func(*yaml.Node) int, src inventory.Source) ([]*inventory.Object, []*Error) {
	items, ok := m["items"].([]any)
	if !ok && m["items"] != nil {
		return nil, []*Error{{Line: at(body), Err: errors.New("list items is not a sequence")}}
	}
	var itemNodes []*yaml.Node
	if _, n := mappingEntry(body, "items"); n != nil {
		itemNodes = n.Content
	}
	var out []*inventory.Object
	var errs []*Error
	for i, item := range items {
		node := body
		if i < len(itemNodes) {
			node = itemNodes[i]
		}
		im, ok := item.(map[string]any)
		if !ok {
			errs = append(errs, &Error{Line: at(node), Err: fmt.Errorf("list item %d is not an object", i)})
			continue
		}
		if isList(im) { // a List in a List, as kubectl reads it
			objs, itemErrs := parseList(im, node, at, src)
			errs = append(errs, itemErrs...)
			out = append(out, objs...)
			continue
		}
		o, err := newObject(im, node, at(node), src)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, o)
	}
	return out, errs
}

// isList reports whether a document is a List (v1 List, or any FooList)
// rather than an object: its kind ends in List and it has items, even
// "items: null", an empty List.
func isList(m map[string]any) bool {
	kind, _ := m["kind"].(string)
	_, hasItems := m["items"]
	return strings.HasSuffix(kind, "List") && hasItems
}

// jsonBuffers hold the JSON of one document at a time (decodeTypedJSON).
var jsonBuffers = sync.Pool{New: func() any { return new([]byte) }}

// decodeTypedJSON makes the object of a document of a built-in kind by
// writing the document as JSON and decoding that straight into the kind's
// type, as the API server does, rather than through the map
// converter.value builds: on the corpus that allocates a tenth less and
// skips the map's conversion. It returns nil when the document is anything
// but a plain, valid object of such a kind; the map path then decodes it
// and reports what is wrong, in the same words as always.
// TestTypedJSONMatchesMap and FuzzTypedJSON hold the two paths equal.
func decodeTypedJSON(body *yaml.Node, line int, src inventory.Source) *inventory.Object {
	apiVersion, kind := topLevelString(body, "apiVersion"), topLevelString(body, "kind")
	if !inventory.DecodesJSON(apiVersion, kind) || unservedBuiltin(apiVersion, kind) {
		return nil
	}
	buf := jsonBuffers.Get().(*[]byte)
	defer jsonBuffers.Put(buf)
	data, err := appendJSON((*buf)[:0], body)
	*buf = data
	if err != nil {
		return nil
	}
	src.Line = line
	o, err := inventory.NewFromJSON(apiVersion, kind, data, src)
	if err != nil {
		return nil
	}
	return o
}

// topLevelString is the value of a mapping's key when it is a string
// scalar, or "".
func topLevelString(n *yaml.Node, key string) string {
	if _, v := mappingEntry(n, key); v != nil && v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str" {
		return v.Value
	}
	return ""
}

// newObject makes the object of content m with inventory.New, and refuses
// besides what the API server refuses and New lets through: a kind that is
// not a string, an apiVersion that does not serve the kind (servedKind),
// and a ConfigMap's or a Secret's values that do not fit (checkValues).
// Both loaders call it: node is m's mapping, at line of the file; for an
// object Kustomize built, node is nil and line 0.
func newObject(m map[string]any, node *yaml.Node, line int, src inventory.Source) (*inventory.Object, *Error) {
	src.Line = line
	if _, ok := m["kind"].(string); !ok && m["kind"] != nil {
		return nil, &Error{Line: line, Err: fmt.Errorf("kind is %s, not a string, so the document is not a Kubernetes object", quoteBounded(fmt.Sprint(m["kind"])))}
	}
	if err := servedKind(m); err != nil {
		out := &Error{Line: line, Err: err}
		if k, _ := mappingEntry(node, "apiVersion"); k != nil {
			out.Line = line + k.Line - node.Line
		}
		return nil, out
	}
	o, err := inventory.New(m, src)
	if err != nil {
		if node == nil {
			return nil, &Error{Line: line, Err: err}
		}
		return nil, explainDecodeError(err, m, node, line)
	}
	if err := checkValues(o, m, node, line); err != nil {
		return nil, err
	}
	o.CRDVersions = crdVersions(m)
	return o, nil
}

// crdVersions is the spec.versions of a CustomResourceDefinition that skim
// did not cut (a JSON document, a List's item, a Kustomize build), as JSON
// (see inventory.Object.CRDVersions); "" for any other object.
func crdVersions(m map[string]any) string {
	spec, _ := m["spec"].(map[string]any)
	apiVersion, _ := m["apiVersion"].(string)
	versions, listed := spec["versions"]
	if m["kind"] != "CustomResourceDefinition" || !strings.HasPrefix(apiVersion, "apiextensions.k8s.io/") || !listed {
		return ""
	}
	// versions: with no value is kept as null, as the skim keeps its text:
	// both say the CRD lists no versions.
	data, err := json.Marshal(map[string]any{"versions": versions})
	if err != nil {
		return "" // .inf or .nan: the API server would refuse the CRD
	}
	return string(data)
}

// explainDecodeError improves on a type mismatch in a built-in kind:
// encoding/json names the offending field, and the node tree gives its line.
func explainDecodeError(err error, m map[string]any, node *yaml.Node, line int) *Error {
	out := &Error{Line: line, Err: err}
	kind, _ := m["kind"].(string)
	apiVersion, _ := m["apiVersion"].(string)
	var field *inventory.FieldError
	if errors.As(err, &field) {
		// The first unknown or non-finite field, indexes included: the
		// node tree finds its line without them.
		if l := lineOf(node, strings.Split(listIndex.ReplaceAllString(field.Path, ""), ".")); l > 0 {
			out.Line = line + l - node.Line
		}
		return out
	}
	typed := inventory.NewTyped(apiVersion, kind)
	raw, mErr := json.Marshal(m)
	if typed == nil || mErr != nil {
		return out
	}
	var te *json.UnmarshalTypeError
	if jErr := json.Unmarshal(raw, typed); !errors.As(jErr, &te) || te.Field == "" {
		return out
	}
	// encoding/json names embedded structs (VolumeSource) in the path;
	// the manifest has no such level.
	var path []string
	for _, p := range strings.Split(te.Field, ".") {
		if p != "" && !unicode.IsUpper(rune(p[0])) {
			path = append(path, p)
		}
	}
	meta, _ := m["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	out.Err = fmt.Errorf("%s %s: field %s is a %s, want %s", kind, name, strings.Join(path, "."), te.Value, te.Type)
	if l := lineOf(node, path); l > 0 {
		out.Line = line + l - node.Line
	}
	return out
}

// listIndex is a list index in a field path ("[0]").
var listIndex = regexp.MustCompile(`\[[0-9]+\]`)

// servedKind refuses an apiVersion of a built-in API group that has no such
// kind although another has (apiVersion: v1 with kind: Deployment), as the
// API server does ("no matches for kind"), naming
// where the kind is served; a document so written was once read as a
// custom resource no check judged. The groups and their kinds are
// client-go's scheme. A group it does not know is a custom resource's.
func servedKind(m map[string]any) error {
	apiVersion, _ := m["apiVersion"].(string)
	kind, _ := m["kind"].(string)
	if !unservedBuiltin(apiVersion, kind) {
		return nil // inventory.New reports a malformed apiVersion
	}
	var served []schema.GroupVersion
	for gvk := range scheme.Scheme.AllKnownTypes() {
		if gvk.Kind == kind && gvk.Version != "__internal" {
			served = append(served, gvk.GroupVersion())
		}
	}
	if len(served) == 0 {
		// A kind the API no longer has at all (PodSecurityPolicy): the
		// upgrade checks say when it was removed and what replaces it.
		return nil
	}
	// The most stable, newest version first: apps/v1 before apps/v1beta2.
	slices.SortFunc(served, func(a, b schema.GroupVersion) int {
		if c := version.CompareKubeAwareVersionStrings(a.Version, b.Version); c != 0 {
			return -c
		}
		return strings.Compare(a.String(), b.String())
	})
	return fmt.Errorf("apiVersion %s has no kind %s; the API serves %s as %s", apiVersion, kind, kind, served[0].String())
}

// unservedBuiltin reports whether apiVersion names a version of a built-in
// API group that client-go's scheme has, without this kind in it. A version
// the scheme no longer has (autoscaling/v2beta2) is left to the upgrade
// checks, which know when each was removed.
func unservedBuiltin(apiVersion, kind string) bool {
	gv, err := schema.ParseGroupVersion(apiVersion)
	return err == nil && kind != "" && scheme.Scheme.IsVersionRegistered(gv) && !scheme.Scheme.Recognizes(gv.WithKind(kind))
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}
