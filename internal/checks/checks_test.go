package checks

import (
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/config"
	"github.com/plimsoll/plimsoll/internal/golden"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/manifest"
	"github.com/plimsoll/plimsoll/internal/platform"
	"github.com/plimsoll/plimsoll/internal/report"
)

var update = flag.Bool("update", false, "rewrite the expected findings of fail fixtures")

// TestFixtures walks the registry: every check has at least one passing and
// one failing fixture in testdata/<id>/, and each fixture gives exactly the
// expected outcome; unassessed-*.yaml fixtures are ones the check cannot
// judge. testdata/<id>/config.yaml, when present, configures the
// audit of that check's fixtures (optional checks are always enabled).
func TestFixtures(t *testing.T) {
	reg := Registry()
	for _, c := range reg.All() {
		t.Run(c.ID, func(t *testing.T) {
			dir := filepath.Join("testdata", c.ID)
			passes, _ := filepath.Glob(filepath.Join(dir, "pass-*.yaml"))
			fails, _ := filepath.Glob(filepath.Join(dir, "fail-*.yaml"))
			if len(passes) == 0 || len(fails) == 0 {
				t.Fatalf("got %d pass and %d fail fixtures in %s, want at least one of each", len(passes), len(fails), dir)
			}
			cfg := fixtureConfig(t, dir, reg, c)
			for _, f := range passes {
				results := auditFixture(t, f, reg, cfg, c.ID)
				var passed int
				for _, r := range results {
					if r.Status == audit.Pass {
						passed++
					}
				}
				if got := render(results, audit.Fail); got != "" || passed == 0 {
					t.Errorf("%s: got %d passing objects and failures:\n%s\nwant at least one pass and no failures", f, passed, got)
				}
			}
			// unassessed-*.yaml: the inputs cannot show what the check
			// needs (a managed control plane), so every result says not
			// assessed, and none passes or fails.
			unassessed, _ := filepath.Glob(filepath.Join(dir, "unassessed-*.yaml"))
			for _, f := range unassessed {
				results := auditFixture(t, f, reg, cfg, c.ID)
				for _, r := range results {
					if !r.Unassessed {
						t.Errorf("%s: got %s on %s (%s), want not assessed", f, r.Status, r.Object.ID(), r.Message)
					}
				}
				if len(results) == 0 {
					t.Errorf("%s: got no results, want not assessed", f)
				}
			}
			for _, f := range fails {
				got := render(auditFixture(t, f, reg, cfg, c.ID), audit.Fail)
				golden := strings.TrimSuffix(f, ".yaml") + ".golden"
				if *update {
					if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%s: expected findings: %v (run go test -update)", f, err)
				}
				if got == "" {
					t.Errorf("%s: got no failures, want some", f)
				}
				if diff := cmp.Diff(string(want), got); diff != "" {
					t.Errorf("%s: findings differ from %s (-want +got):\n%s", f, golden, diff)
				}
			}
		})
	}
}

func fixtureConfig(t *testing.T, dir string, reg *check.Registry, c *check.Check) *config.Config {
	t.Helper()
	cfg := config.Default()
	if f, err := os.Open(filepath.Join(dir, "config.yaml")); err == nil {
		defer f.Close()
		if cfg, err = config.Decode(f, reg); err != nil {
			t.Fatalf("%s/config.yaml: %v", dir, err)
		}
	}
	cfg.Checks.Enable = append(cfg.Checks.Enable, c.ID)
	return cfg
}

// auditFixture audits one fixture file with every check and returns the
// results of one check. Every check must run without error on it. The file
// is read as a cluster's objects for a check that needs a cluster, or when
// its name says so (pass-cluster-*.yaml, fail-cluster-*.yaml), as manifests
// otherwise.
func auditFixture(t *testing.T, file string, reg *check.Registry, cfg *config.Config, id string) []audit.Result {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	loaded := manifest.Parse(file, data, inventory.Source{File: file})
	for _, e := range loaded.Errors {
		t.Errorf("loading fixture: %v", e)
	}
	mode := inventory.FromManifests
	if reg.Get(id).Requires == check.Cluster || strings.Contains(filepath.Base(file), "-cluster-") {
		mode = inventory.FromCluster
	}
	inv := platform.Inventory(mode, loaded.Objects)
	a := audit.Run(inv, audit.Options{Registry: reg, Config: cfg, Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	var out []audit.Result
	for _, r := range a.Results {
		if r.Status == audit.Error {
			t.Errorf("%s: check %s errored on %s: %s", file, r.Check.ID, r.Object.ID(), r.Message)
		}
		if r.Check.ID == id {
			out = append(out, r)
		}
	}
	return out
}

// render lists results of one status, a line each: object, path, message.
func render(results []audit.Result, status audit.Status) string {
	var lines []string
	for _, r := range results {
		if r.Status == status {
			lines = append(lines, r.Object.ID()+" "+r.Path+": "+r.Message+"\n")
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "")
}

// TestRegistry checks what every check must carry.
func TestRegistry(t *testing.T) {
	reg := Registry()
	if got := len(reg.All()); got < 50 {
		t.Errorf("got %d checks, want at least 50", got)
	}
	for _, c := range reg.All() {
		if c.Example == "" {
			t.Errorf("%s: no example", c.ID)
		}
		file := filepath.Join(t.TempDir(), "example.yaml")
		if err := os.WriteFile(file, []byte(c.Example), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := config.Default()
		cfg.Checks.Enable = []string{c.ID}
		results := auditFixture(t, file, reg, cfg, c.ID)
		if failed := render(results, audit.Fail); failed != "" || len(results) == 0 {
			t.Errorf("%s: example got %d results and failures:\n%s\nwant it to pass", c.ID, len(results), failed)
		}
	}
}

// TestDocs fails when docs/checks.md is not what the registry generates.
func TestDocs(t *testing.T) {
	golden.Check(t, filepath.Join("..", "..", "docs", "checks.md"), []byte(Markdown(Registry())), *update)
}

// TestDocsAnchors follows the link every report gives a check (the helpUri
// of SARIF's rules) to docs/checks.md: the URL is that file in the
// repository, and its fragment is the anchor GitHub gives the check's
// heading there, and no other heading's.
func TestDocsAnchors(t *testing.T) {
	const file = "docs/checks.md"
	if !strings.HasSuffix(report.ChecksURL, "/blob/main/"+file) {
		t.Fatalf("got the reference at %s, want %s on the main branch", report.ChecksURL, file)
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(file)))
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]int{}
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "#") {
			anchors[githubAnchor(strings.TrimLeft(line, "#"))]++
		}
	}
	for _, c := range Registry().All() {
		url := report.CheckURL(c.ID)
		base, anchor, _ := strings.Cut(url, "#")
		if base != report.ChecksURL || anchors[anchor] != 1 {
			t.Errorf("%s: %s has %d headings of anchor %q in %s, want one", c.ID, url, anchors[anchor], anchor, file)
		}
	}
}

// githubAnchor is the anchor GitHub gives a Markdown heading: its text in
// lower case, without punctuation but hyphens and underscores, spaces made
// hyphens. (A heading written twice gets -1, -2...: TestDocsAnchors wants
// each once.)
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
