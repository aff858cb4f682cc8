package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func renderHTML(t *testing.T, r *Report, opts HTMLOptions) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteHTML(&buf, r, opts); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// count counts the matches of a regular expression.
func count(s, expr string) int {
	return len(regexp.MustCompile(expr).FindAllStringIndex(s, -1))
}

func TestHTMLContent(t *testing.T) {
	r := Build(testAudit(t, 1), testInput)
	out := renderHTML(t, r, HTMLOptions{})
	text := html.UnescapeString(out)

	for _, id := range []string{"overall-gauge", "layers", "namespace-scores", "coverage", "findings", "filters", "partial", "input-errors", "check-errors"} {
		if !strings.Contains(out, `id="`+id+`"`) {
			t.Errorf("got no element with id %q", id)
		}
	}
	if got, want := count(out, `<li class="layer-row" `), len(r.Score.Layers); got != want {
		t.Errorf("got %d layer rows, want %d", got, want)
	}
	if got, want := count(out, `<td class="heat `), len(r.Score.Namespaces); got != want {
		t.Errorf("got %d namespace score cells, want %d", got, want)
	}

	// Without the script, everything shows: only the filters, which need
	// it, and the note for when they match nothing are hidden, and every
	// check group is open.
	if got := regexp.MustCompile(`<[a-z][^>]*\shidden(\s[^>]*)?>`).FindAllString(out, -1); len(got) != 2 ||
		!strings.HasPrefix(got[0], `<form id="filters"`) || !strings.HasPrefix(got[1], `<p id="no-match"`) {
		t.Errorf("got hidden elements %q, want only the filters and the no-match note", got)
	}
	if got, want := count(out, `<details class="check" [^>]* open>`), count(out, `<details `); got != want || got == 0 {
		t.Errorf("got %d of %d check groups open, want all", got, want)
	}

	// Every failure is a finding row, naming its object, where it came
	// from, its message and its field path.
	rows := regexp.MustCompile(`<tr class="finding" [^>]*>.*</tr>`).FindAllString(out, -1)
	var fails []Result
	for _, res := range r.Results {
		if res.Status == "fail" {
			fails = append(fails, res)
		}
	}
	if len(rows) != len(fails) || len(fails) != r.Summary.Fail {
		t.Fatalf("got %d finding rows, want %d (the failures)", len(rows), r.Summary.Fail)
	}
	for _, f := range fails {
		var found bool
		for _, row := range rows {
			row = html.UnescapeString(row)
			found = found || strings.Contains(row, f.Object.ID()) && strings.Contains(row, f.Source.Where()) &&
				strings.Contains(row, f.Message) && strings.Contains(row, f.Path)
		}
		if !found {
			t.Errorf("no finding row for %s on %s: %q", f.Check, f.Object.ID(), f.Message)
		}
	}
	// Each check with findings is described once.
	for _, c := range r.Checks {
		if c.Fail == 0 {
			continue
		}
		for _, s := range []string{c.Rationale, c.Remediation, c.ChecklistItem} {
			if got := strings.Count(text, s); got != 1 {
				t.Errorf("check %s: got %q %d times, want once", c.ID, s, got)
			}
		}
	}
	// Every check not assessed is listed under its reason.
	why := map[string]string{}
	for _, g := range regexp.MustCompile(`(?s)<p class="why">Not assessed: ([^<]*)</p>(.*?)</ul>`).FindAllStringSubmatch(out, -1) {
		for _, id := range regexp.MustCompile(`<li class="not-assessed" id="na-([^"]+)">`).FindAllStringSubmatch(g[2], -1) {
			why[id[1]] = html.UnescapeString(g[1])
		}
	}
	want := map[string]string{}
	for _, n := range r.Score.Coverage.NotAssessed {
		want[n.Check] = n.Reason
	}
	if len(want) == 0 {
		t.Fatal("the fixture has no check that is not assessed")
	}
	if diff := cmp.Diff(want, why); diff != "" {
		t.Errorf("checks not assessed and why (-report +page):\n%s", diff)
	}
	for _, e := range r.InputErrors {
		if !strings.Contains(text, e.Where()) || !strings.Contains(text, e.Message) {
			t.Errorf("input error %s: %s is not shown", e.Where(), e.Message)
		}
	}
}

// TestHTMLNotAssessedIsNotZero checks that a layer without a score shows
// "not assessed" and the reason, and no bar.
func TestHTMLNotAssessedIsNotZero(t *testing.T) {
	r := Build(testAudit(t, 1), testInput)
	out := renderHTML(t, r, HTMLOptions{})
	rows := regexp.MustCompile(`(?s)<li class="layer-row" data-layer="([^"]+)">(.*?)</li>`).FindAllStringSubmatch(out, -1)
	var nulls int
	for i, l := range r.Score.Layers {
		if i >= len(rows) || rows[i][1] != l.Layer {
			t.Fatalf("layer rows %v do not follow the score's layers", rows)
		}
		row := rows[i][2]
		if l.Score != nil {
			if !strings.Contains(row, `<rect class="fill `) || !strings.Contains(row, `width="`+formatScore(l.Score)+`"`) {
				t.Errorf("layer %s: got row %q, want a bar of width %s", l.Layer, row, formatScore(l.Score))
			}
			continue
		}
		nulls++
		if !strings.Contains(row, "not assessed") || !strings.Contains(html.UnescapeString(row), l.Reason) || strings.Contains(row, "<svg") {
			t.Errorf("layer %s: got row %q, want \"not assessed\", the reason %q and no bar", l.Layer, row, l.Reason)
		}
	}
	if nulls == 0 {
		t.Fatal("the fixture has no layer without a score")
	}

	r.Score.Overall = nil
	out = renderHTML(t, r, HTMLOptions{})
	gauge := regexp.MustCompile(`(?s)<svg id="overall-gauge".*?</svg>`).FindString(out)
	if strings.Contains(gauge, "gauge-value") || !strings.Contains(gauge, "not assessed") {
		t.Errorf("no overall score: got gauge %q, want \"not assessed\" and no arc", gauge)
	}
}

func TestHTMLNoFindings(t *testing.T) {
	r := Build(testAudit(t, 1), testInput)
	r.Results, r.Summary.Fail = nil, 0
	out := renderHTML(t, r, HTMLOptions{})
	if !strings.Contains(out, `id="no-findings"`) || strings.Contains(out, `id="filters"`) {
		t.Errorf("no failures: want the no-findings note and no filters")
	}
}

// TestHTMLSelfContained checks that the page refers to nothing outside
// itself, and that its Content-Security-Policy allows its own style and
// script, by hash, and nothing else.
func TestHTMLSelfContained(t *testing.T) {
	in := testInput
	in.Cluster = &Cluster{Server: "https://10.1.2.3:6443", Version: "v1.36.3", Context: "prod", Nodes: 3, Zones: []string{"a"}}
	out := renderHTML(t, Build(testAudit(t, 1), in), HTMLOptions{})
	for _, expr := range []string{
		`(?i)\b(src|href|action|srcset|poster|data|xlink:href)\s*=`,
		`(?i)<(link|iframe|object|embed|img|base)\b`,
		`(?i)url\(|@import`,
	} {
		if m := regexp.MustCompile(expr).FindString(out); m != "" {
			t.Errorf("got %q: the page must load nothing", m)
		}
	}
	if !strings.Contains(out, "https://10.1.2.3:6443") {
		t.Errorf("the cluster's API server is not named")
	}

	csp := html.UnescapeString(regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]*)">`).FindStringSubmatch(out)[1])
	if !strings.HasPrefix(csp, "default-src 'none';") {
		t.Errorf("got CSP %q, want default-src 'none' first", csp)
	}
	for _, tag := range []string{"style", "script"} {
		blocks := regexp.MustCompile(`(?s)<`+tag+`>(.*?)</`+tag+`>`).FindAllStringSubmatch(out, -1)
		if len(blocks) != 1 {
			t.Fatalf("got %d <%s> elements, want 1", len(blocks), tag)
		}
		sum := sha256.Sum256([]byte(blocks[0][1]))
		want := tag + "-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
		if !strings.Contains(csp, want) {
			t.Errorf("got CSP %q, want it to allow the page's own %s: %s", csp, tag, want)
		}
	}
}

func TestHTMLEscapes(t *testing.T) {
	r := Build(testAudit(t, 1), testInput)
	const evil = `<script>alert(1)</script>"'&`
	for i := range r.Results {
		if r.Results[i].Status == "fail" {
			r.Results[i].Message = evil
			r.Results[i].Path = evil
			break
		}
	}
	r.InputErrors[0].Message = evil
	r.Sources = append(r.Sources, evil)
	out := renderHTML(t, r, HTMLOptions{})
	if got := strings.Count(out, "<script"); got != 1 {
		t.Errorf("got %d <script elements, want the page's own 1", got)
	}
	if got := strings.Count(out, "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39;&amp;"); got != 4 {
		t.Errorf("got the escaped text %d times, want 4 (message, path, input error, source)", got)
	}
}

func TestHTMLRefresh(t *testing.T) {
	r := Build(testAudit(t, 1), testInput)
	if out := renderHTML(t, r, HTMLOptions{}); strings.Contains(out, `http-equiv="refresh"`) {
		t.Errorf("got a refresh without HTMLOptions.Refresh")
	}
	out := renderHTML(t, r, HTMLOptions{Refresh: 1500 * time.Millisecond})
	if !strings.Contains(out, `<body data-js="off" data-refresh="2">`) || !strings.Contains(out, `<noscript><meta http-equiv="refresh" content="2"></noscript>`) {
		t.Errorf("Refresh 1.5s: got no refresh every 2 seconds, by script and without")
	}
}
