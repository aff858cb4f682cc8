package baseline

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/plimsoll/plimsoll/internal/atomicfile"
	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/report"
)

// A baseline file's apiVersion and kind.
const (
	FileAPIVersion = "plimsoll.dev/v1alpha1"
	FileKind       = "Baseline"
)

// DefaultFile is the name the README suggests for a baseline file.
const DefaultFile = ".plimsoll-baseline.yaml"

// File is a reviewed baseline file: the failures a team accepts for now,
// each identified by its fingerprint and described in words a reviewer
// reads (the check, the object, the message), with why it is accepted,
// who owns it and until when. plimsoll baseline write writes it from an
// audit; people fill in Reason, Owner and Expires; rewriting keeps them.
type File struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	// Mode and Checks are the scope of the audit it was written from: a
	// run of other checks, or of a cluster rather than manifests, cannot
	// be compared with it.
	Mode string `yaml:"mode"`
	// Score is the overall score of the audit it was written from,
	// rounded to a tenth; absent when nothing was scorable.
	Score *float64 `yaml:"score,omitempty"`
	// Entries are the accepted failures, sorted by object (namespace,
	// kind, name, group), then check and fingerprint.
	Entries []Entry  `yaml:"entries"`
	Checks  []string `yaml:"checks"`
}

// Entry is one accepted failure.
type Entry struct {
	// Fingerprint identifies the failure (report.Fingerprint); the fields
	// after it describe it for people, and are not compared.
	Fingerprint string `yaml:"fingerprint"`
	Check       string `yaml:"check"`
	Severity    string `yaml:"severity"`
	Object      Object `yaml:"object"`
	// Message is what the failure said when the entry was written; a run
	// that says it differently marks the failure updated, still accepted.
	Message string `yaml:"message"`
	// Reason says why the failure is accepted, Owner who answers for it.
	Reason string `yaml:"reason,omitempty"`
	Owner  string `yaml:"owner,omitempty"`
	// Expires, as 2006-01-02, is the last day the entry accepts its
	// failure; after it the failure counts as new again.
	Expires string `yaml:"expires,omitempty"`
}

// Object names the object of an entry.
type Object struct {
	Group     string `yaml:"group,omitempty"`
	Kind      string `yaml:"kind"`
	Namespace string `yaml:"namespace,omitempty"`
	Name      string `yaml:"name"`
}

// header opens every file written; comments people add elsewhere are not
// kept when it is rewritten, so the why belongs in reason.
const header = `# A plimsoll baseline: the failures accepted for now. plimsoll audit
# --baseline FILE --fail-on-new SEVERITY fails only on failures that are not
# here. Review each entry and give it a reason, an owner and an expiry date
# (expires: 2026-12-31): after that day its failure counts as new again.
# 'plimsoll baseline write' rewrites this file keeping them; 'plimsoll
# baseline prune' removes the entries whose failures are fixed. Comments are
# not kept.
`

// ReadFile reads a baseline file strictly: an unknown field, a missing
// one, a bad date or a fingerprint given twice is an error naming the file
// and the line.
func ReadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	if isJSON(data) {
		return nil, fmt.Errorf("baseline %s: a JSON report, not a baseline file (plimsoll baseline write -o %s writes one)", path, DefaultFile)
	}
	return decodeFile(path, data)
}

// unknownYAMLField matches yaml.v3's report of an unknown field, which
// names a Go type users never see.
var unknownYAMLField = regexp.MustCompile(`^line (\d+): field (\S+) not found in type \S+$`)

// yamlLine matches the line yaml.v3 puts first in its messages.
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

func decodeFile(path string, data []byte) (*File, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fileError(path, err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("baseline %s: empty, neither a plimsoll JSON report nor a baseline file", path)
	}
	root := doc.Content[0]
	if v, k := field(root, "apiVersion"), field(root, "kind"); v == nil || k == nil || v.Value != FileAPIVersion || k.Value != FileKind {
		return nil, fmt.Errorf("baseline %s: not a plimsoll JSON report (plimsoll audit -o json) nor a baseline file (apiVersion %s, kind %s: plimsoll baseline write)",
			path, FileAPIVersion, FileKind)
	}
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fileError(path, err)
	}
	if err := f.validate(path, root); err != nil {
		return nil, err
	}
	return &f, nil
}

// fileError words a decoding error as FILE:LINE: problem, one problem
// after another.
func fileError(path string, err error) error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	for i, m := range msgs {
		if g := unknownYAMLField.FindStringSubmatch(m); g != nil {
			msgs[i] = fmt.Sprintf("%s:%s: unknown field %q", path, g[1], g[2])
		} else if g := yamlLine.FindStringSubmatch(m); g != nil {
			msgs[i] = fmt.Sprintf("%s:%s: %s", path, g[1], m[len(g[0]):])
		} else {
			msgs[i] = path + ": " + strings.TrimPrefix(m, "yaml: ")
		}
	}
	return fmt.Errorf("baseline %s", strings.Join(msgs, "; "))
}

// validate checks what decoding cannot; root is the file's node tree,
// which knows the lines.
func (f *File) validate(path string, root *yaml.Node) error {
	lineOf := func(n *yaml.Node) int {
		if n == nil {
			return root.Line
		}
		return n.Line
	}
	at := func(n *yaml.Node, format string, args ...any) error {
		return fmt.Errorf("baseline %s:%d: %s", path, lineOf(n), fmt.Sprintf(format, args...))
	}
	if f.Mode != "manifests" && f.Mode != "cluster" {
		return at(field(root, "mode"), "mode %q: want manifests or cluster, what the audit it was written from read", f.Mode)
	}
	entries := field(root, "entries")
	first := map[string]int{}
	for i, e := range f.Entries {
		var n *yaml.Node
		if entries != nil && i < len(entries.Content) {
			n = entries.Content[i]
		}
		switch {
		case !strings.HasPrefix(e.Fingerprint, report.FingerprintScheme+":"):
			return at(orNode(field(n, "fingerprint"), n), "fingerprint %q: want one plimsoll audit -o json writes, like %s:0123...", e.Fingerprint, report.FingerprintScheme)
		case e.Check == "":
			return at(n, "entry %s has no check", e.Fingerprint)
		case e.Object.Kind == "" || e.Object.Name == "":
			return at(orNode(field(n, "object"), n), "entry %s: object needs a kind and a name", e.Fingerprint)
		}
		if line, dup := first[e.Fingerprint]; dup {
			return at(n, "fingerprint %s is given twice (first at line %d)", e.Fingerprint, line)
		}
		first[e.Fingerprint] = lineOf(n)
		if e.Severity != "" {
			if _, err := check.ParseSeverity(e.Severity); err != nil {
				return at(orNode(field(n, "severity"), n), "%v", err)
			}
		}
		if e.Expires != "" {
			if _, err := time.Parse(time.DateOnly, e.Expires); err != nil {
				return at(orNode(field(n, "expires"), n), "expires %q is not a date like 2026-12-31", e.Expires)
			}
		}
	}
	return nil
}

// field is the value of key in mapping n, or nil.
func field(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func orNode(n, otherwise *yaml.Node) *yaml.Node {
	if n != nil {
		return n
	}
	return otherwise
}

// Baseline is what the file accepts, for Compare, named source.
func (f *File) Baseline(source string) *Baseline {
	b := &Baseline{Source: source, Mode: f.Mode, Checks: append([]string{}, f.Checks...), Score: f.Score, Findings: map[string]report.BaselineFinding{}}
	sort.Strings(b.Checks)
	for _, e := range f.Entries {
		o := report.Object{Kind: e.Object.Kind, Namespace: e.Object.Namespace, Name: e.Object.Name}
		b.Findings[e.Fingerprint] = report.BaselineFinding{Check: e.Check, Severity: e.Severity, Object: o.ID(),
			Message: e.Message, Reason: e.Reason, Owner: e.Owner, Expires: e.Expires}
	}
	return b
}

// NewFile is the baseline file of r's failures. The entries of previous
// (the file it replaces, or nil) whose failures r still has keep their
// reason, owner and expiry.
func NewFile(r *report.Report, previous *File) *File {
	kept := map[string]Entry{}
	if previous != nil {
		for _, e := range previous.Entries {
			kept[e.Fingerprint] = e
		}
	}
	f := &File{APIVersion: FileAPIVersion, Kind: FileKind, Mode: r.Mode, Checks: checkIDs(r), Entries: []Entry{}}
	if s := r.Score.Overall; s != nil {
		tenth := math.Round(*s*10) / 10
		f.Score = &tenth
	}
	seen := map[string]bool{}
	for _, res := range r.Results {
		if res.Status != "fail" || seen[res.Fingerprint] {
			continue
		}
		seen[res.Fingerprint] = true
		gv, _ := schema.ParseGroupVersion(res.Object.APIVersion)
		e := Entry{Fingerprint: res.Fingerprint, Check: res.Check, Severity: res.Severity,
			Object:  Object{Group: gv.Group, Kind: res.Object.Kind, Namespace: res.Object.Namespace, Name: res.Object.Name},
			Message: res.Message}
		if was, ok := kept[res.Fingerprint]; ok {
			e.Reason, e.Owner, e.Expires = was.Reason, was.Owner, was.Expires
		}
		f.Entries = append(f.Entries, e)
	}
	f.sort()
	return f
}

// Prune removes the entries whose failures r no longer has (fixed), and
// returns them. It never adds an entry, nor changes one that stays.
func (f *File) Prune(r *report.Report) []Entry {
	failing := map[string]bool{}
	for _, res := range r.Results {
		if res.Status == "fail" {
			failing[res.Fingerprint] = true
		}
	}
	var kept, removed []Entry
	for _, e := range f.Entries {
		if failing[e.Fingerprint] {
			kept = append(kept, e)
		} else {
			removed = append(removed, e)
		}
	}
	f.Entries = append([]Entry{}, kept...)
	return removed
}

func (f *File) sort() {
	sort.Slice(f.Entries, func(i, j int) bool {
		x, y := f.Entries[i], f.Entries[j]
		for _, k := range [][2]string{
			{x.Object.Namespace, y.Object.Namespace}, {x.Object.Kind, y.Object.Kind}, {x.Object.Name, y.Object.Name},
			{x.Object.Group, y.Object.Group}, {x.Check, y.Check},
		} {
			if k[0] != k[1] {
				return k[0] < k[1]
			}
		}
		return x.Fingerprint < y.Fingerprint
	})
}

// Describe names an entry for people: the check and the object.
func (e Entry) Describe() string {
	return e.Check + " on " + report.Object{Kind: e.Object.Kind, Namespace: e.Object.Namespace, Name: e.Object.Name}.ID()
}

// Encode is the file as written: the header, then the YAML, entries
// sorted, the same file for the same content.
func (f *File) Encode() ([]byte, error) {
	c := *f
	c.Entries = append([]Entry{}, f.Entries...)
	c.sort()
	var buf bytes.Buffer
	buf.WriteString(header)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&c); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteFile writes f to path whole or not at all: to a temporary file
// beside it, renamed into place, so a failed or interrupted write leaves
// the previous file as it was. A file it replaces keeps its permissions.
func WriteFile(path string, f *File) error {
	data, err := f.Encode()
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, data); err != nil {
		return fmt.Errorf("write baseline %s: %w", path, err)
	}
	return nil
}
