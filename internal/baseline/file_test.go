package baseline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/internal/report"
)

var (
	web    = &report.Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	api    = &report.Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "api"}
	shopNS = &report.Object{APIVersion: "v1", Kind: "Namespace", Name: "shop"}
)

func fail(check, fingerprint string, o *report.Object, message string) report.Result {
	return report.Result{Check: check, Severity: "high", Status: "fail", Object: o, Source: &report.Source{}, Message: message, Fingerprint: fingerprint}
}

// run is a report of a manifest audit that ran checks a and b and found
// the failures given.
func run(score float64, results ...report.Result) *report.Report {
	return &report.Report{Mode: "manifests", Checks: []report.Check{{ID: "b"}, {ID: "a"}},
		Score: report.Score{Overall: &score}, Results: results}
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// A file written from a run reads back as written, sorted by object and
// check, and byte for byte the same however the run ordered its results.
func TestFileRoundTrip(t *testing.T) {
	r := run(61.25,
		fail("b", "1:bb", web, "web: b"),
		fail("a", "1:aa", web, "web: a"),
		fail("a", "1:cc", shopNS, "shop: a"),
		fail("a", "1:dd", api, "api: a"),
		report.Result{Check: "b", Status: "pass", Object: api, Source: &report.Source{}},
	)
	f := NewFile(r, nil)
	var order []string
	for _, e := range f.Entries {
		order = append(order, e.Fingerprint)
	}
	// The Namespace (no namespace) first, then the Deployments by name, then checks.
	if diff := cmp.Diff([]string{"1:cc", "1:dd", "1:aa", "1:bb"}, order); diff != "" {
		t.Errorf("entries' order (-want +got):\n%s", diff)
	}
	if f.Score == nil || *f.Score != 61.3 {
		t.Errorf("score %v, want 61.3 (rounded to a tenth)", f.Score)
	}
	if diff := cmp.Diff([]string{"a", "b"}, f.Checks); diff != "" {
		t.Errorf("checks (-want +got):\n%s", diff)
	}
	if got, want := f.Entries[2].Object, (Object{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"}); got != want {
		t.Errorf("object %+v, want %+v", got, want)
	}

	dir := t.TempDir()
	path := filepath.Join(dir, DefaultFile)
	if err := WriteFile(path, f); err != nil {
		t.Fatal(err)
	}
	back, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(f, back); diff != "" {
		t.Errorf("read back (-written +read):\n%s", diff)
	}
	reversed := run(61.25)
	for i := len(r.Results) - 1; i >= 0; i-- {
		reversed.Results = append(reversed.Results, r.Results[i])
	}
	a, err := f.Encode()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewFile(reversed, nil).Encode()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(a), string(b)); diff != "" {
		t.Errorf("the same failures in another order write another file:\n%s", diff)
	}
}

// Rewriting keeps what people wrote of the entries whose failures
// persist, takes the new message, drops the fixed and adds the new.
func TestNewFileKeepsReasons(t *testing.T) {
	previous := NewFile(run(50, fail("a", "1:aa", web, "old words"), fail("a", "1:dd", api, "api: a")), nil)
	previous.Entries[1].Reason, previous.Entries[1].Owner, previous.Entries[1].Expires = "moving to the new chart", "alice", "2026-12-31"
	previous.Entries[0].Reason = "fixed next sprint"
	if previous.Entries[1].Fingerprint != "1:aa" {
		t.Fatalf("fixture: entries %+v", previous.Entries)
	}

	f := NewFile(run(55, fail("a", "1:aa", web, "new words"), fail("b", "1:bb", web, "web: b")), previous)
	want := []Entry{
		{Fingerprint: "1:aa", Check: "a", Severity: "high", Object: Object{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"},
			Message: "new words", Reason: "moving to the new chart", Owner: "alice", Expires: "2026-12-31"},
		{Fingerprint: "1:bb", Check: "b", Severity: "high", Object: Object{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"},
			Message: "web: b"},
	}
	if diff := cmp.Diff(want, f.Entries); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
}

// Prune removes the entries whose failures are gone and nothing else: it
// adds no entry for a new failure and leaves the others as they were,
// message and expiry included.
func TestPrune(t *testing.T) {
	f := NewFile(run(50, fail("a", "1:aa", web, "web: a"), fail("a", "1:dd", api, "api: a"), fail("b", "1:bb", web, "web: b")), nil)
	f.Entries[0].Expires, f.Entries[0].Reason = "2020-01-01", "long expired, still failing"
	before := append([]Entry{}, f.Entries...)

	removed := f.Prune(run(50, fail("a", "1:dd", api, "api: a, said otherwise"), fail("b", "1:bb", web, "web: b"), fail("a", "1:ee", web, "new")))
	if len(removed) != 1 || removed[0].Fingerprint != "1:aa" {
		t.Errorf("removed %+v, want the entry 1:aa alone", removed)
	}
	if diff := cmp.Diff([]Entry{before[0], before[2]}, f.Entries); diff != "" {
		t.Errorf("entries left (-want +got):\n%s", diff)
	}
	if got := removed[0].Describe(); got != "a on Deployment shop/web" {
		t.Errorf("described as %q", got)
	}
}

// An expired entry stops suppressing: its failure is new, and the
// comparison names the entry. Suppressed counts the rest.
func TestCompareExpired(t *testing.T) {
	f := NewFile(run(50, fail("a", "1:aa", web, "web: a"), fail("a", "1:dd", api, "api: a"), fail("b", "1:bb", web, "web: b"), fail("a", "1:cc", shopNS, "gone")), nil)
	for i := range f.Entries {
		switch f.Entries[i].Fingerprint {
		case "1:aa":
			f.Entries[i].Expires, f.Entries[i].Owner = "2026-03-01", "alice"
		case "1:dd":
			f.Entries[i].Expires = "2026-03-02"
		}
	}
	r := run(64, fail("a", "1:aa", web, "web: a"), fail("a", "1:dd", api, "api: a"), fail("b", "1:bb", web, "web: b, said otherwise"), fail("b", "1:ee", api, "new"))
	// The whole of 2026-03-01 is the last day of 1:aa; 1:dd has a day more.
	Compare(r, f.Baseline("b.yaml"), time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))

	states := map[string]string{}
	for _, res := range r.Results {
		states[res.Fingerprint] = res.BaselineState
	}
	if diff := cmp.Diff(map[string]string{"1:aa": New, "1:dd": Unchanged, "1:bb": Updated, "1:ee": New}, states); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	c := r.Baseline
	if !c.Comparable || c.New != 2 || c.Unchanged != 1 || c.Updated != 1 || c.Suppressed != 2 {
		t.Errorf("got %+v, want comparable, 2 new, 1 unchanged, 1 updated, 2 suppressed", *c)
	}
	if len(c.Expired) != 1 || c.Expired[0].Object != "Deployment shop/web" || c.Expired[0].Expires != "2026-03-01" || c.Expired[0].Owner != "alice" {
		t.Errorf("expired %+v, want the entry of web's a", c.Expired)
	}
	if len(c.Absent) != 1 || c.Absent[0].Object != "Namespace shop" {
		t.Errorf("absent %+v, want the Namespace's", c.Absent)
	}
	if c.Score == nil || *c.Score != 50 {
		t.Errorf("baseline score %v, want 50", c.Score)
	}

	// A day earlier, the entry still suppresses its failure.
	Compare(r, f.Baseline("b.yaml"), time.Date(2026, 3, 1, 23, 59, 0, 0, time.UTC))
	if c := r.Baseline; c.New != 1 || c.Suppressed != 3 || len(c.Expired) != 0 {
		t.Errorf("on the last day: %+v, want 1 new, 3 suppressed, none expired", *c)
	}
}

// Mistakes in a file people edit are errors that name the file and the
// line.
func TestReadFileErrors(t *testing.T) {
	const good = `apiVersion: plimsoll.dev/v1alpha1
kind: Baseline
mode: manifests
entries:
  - fingerprint: "1:aa"
    check: a
    severity: high
    object: {kind: Deployment, namespace: shop, name: web}
    message: web is wrong
    expires: 2026-12-31
checks: [a, b]
`
	dir := t.TempDir()
	if _, err := ReadFile(writeFile(t, dir, "good.yaml", good)); err != nil {
		t.Fatalf("a good file: %v", err)
	}
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"unknown field", "    expires: 2026-12-31\n", "    expires: 2026-12-31\n    reson: typo\n", `bad.yaml:11: unknown field "reson"`},
		{"unknown field of an object", "namespace: shop,", "namespce: shop,", `bad.yaml:8: unknown field "namespce"`},
		{"bad date", "2026-12-31", "2026-13-01", `bad.yaml:10: expires "2026-13-01" is not a date like 2026-12-31`},
		{"not a date", "expires: 2026-12-31", "expires: next year", `bad.yaml:10: expires "next year" is not a date`},
		{"bad severity", "severity: high", "severity: urgent", `bad.yaml:7: `},
		{"no fingerprint", `  - fingerprint: "1:aa"` + "\n", "  -\n", `bad.yaml:6: fingerprint "": want one plimsoll audit -o json writes`},
		{"another scheme", `"1:aa"`, `"0:aa"`, `bad.yaml:5: fingerprint "0:aa"`},
		{"no check", "    check: a\n", "", `bad.yaml:5: entry 1:aa has no check`},
		{"no name", "name: web}", "}", `bad.yaml:8: entry 1:aa: object needs a kind and a name`},
		{"twice", "checks: [a, b]\n", "  - {fingerprint: \"1:aa\", check: a, object: {kind: Pod, name: x}, message: m}\nchecks: [a, b]\n", `bad.yaml:11: fingerprint 1:aa is given twice (first at line 5)`},
		{"bad mode", "mode: manifests", "mode: files", `bad.yaml:3: mode "files"`},
		{"wrong kind", "kind: Baseline", "kind: Report", `bad.yaml: not a plimsoll JSON report (plimsoll audit -o json) nor a baseline file`},
		{"not YAML", "mode: manifests\n", "mode: [\n", `bad.yaml:`},
		{"not a mapping", good, "- a\n- b\n", `not a plimsoll JSON report`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Replace(good, tc.old, tc.new, 1)
			if text == good {
				t.Fatalf("fixture: %q is not in the file", tc.old)
			}
			path := writeFile(t, dir, "bad.yaml", text)
			_, err := ReadFile(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "baseline "+path) {
				t.Errorf("got error %v, want one that starts with %q and says %q", err, "baseline "+path, tc.want)
			}
			if _, lerr := Load(path); lerr == nil || lerr.Error() != err.Error() {
				t.Errorf("Load says %v, ReadFile %v: want the same", lerr, err)
			}
		})
	}

	// ReadFile edits baseline files only; Load reads reports too.
	report := writeFile(t, dir, "main.json", `{"apiVersion": "plimsoll.dev/v1alpha2", "kind": "Report", "mode": "manifests", "results": []}`)
	if _, err := ReadFile(report); err == nil || !strings.Contains(err.Error(), "a JSON report, not a baseline file") {
		t.Errorf("ReadFile of a report: %v", err)
	}
	if b, err := Load(report); err != nil || b.Mode != "manifests" {
		t.Errorf("Load of a report: %+v, %v", b, err)
	}
}

// WriteFile replaces the file whole, keeps its permissions, and leaves no
// temporary file behind, even when it fails.
func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, DefaultFile)
	f := NewFile(run(50, fail("a", "1:aa", web, "web: a")), nil)
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, f); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("stat: %v, %v; want the file's permissions kept, 0600", st.Mode(), err)
	}
	wantOnly(t, dir, DefaultFile)

	// A rename that fails (a directory where the file goes) leaves what
	// was there and no temporary file.
	blocked := filepath.Join(dir, "blocked.yaml")
	if err := os.MkdirAll(filepath.Join(blocked, "inside"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(blocked, f); err == nil || !strings.Contains(err.Error(), "write baseline "+blocked) {
		t.Errorf("got %v, want an error naming %s", err, blocked)
	}
	wantOnly(t, dir, DefaultFile, "blocked.yaml")
}

func wantOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if diff := cmp.Diff(names, got); diff != "" {
		t.Errorf("files in %s (-want +got):\n%s", dir, diff)
	}
}
