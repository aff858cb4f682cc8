package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/plimsoll/plimsoll/internal/golden"
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
	for _, group := range []string{"check", "object-group"} {
		if got, want := count(out, `<details class="`+group+` [^>]* open>`), count(out, `<details class="`+group+` `); got != want || got == 0 {
			t.Errorf("got %d of %d %s groups open, want all", got, want, group)
		}
	}

	// Every failure is a finding row in each grouping, naming its object,
	// where it came from, its message and its field path.
	byCheck, byObject := views(t, out)
	rows := regexp.MustCompile(`<tr class="finding" [^>]*>.*</tr>`).FindAllString(byCheck, -1)
	var fails []Result
	for _, res := range r.Results {
		if res.Status == "fail" {
			fails = append(fails, res)
		}
	}
	if len(rows) != len(fails) || len(fails) != r.Summary.Fail {
		t.Fatalf("got %d finding rows by check, want %d (the failures)", len(rows), r.Summary.Fail)
	}
	if got := count(byObject, `<tr class="finding" `); got != len(fails) {
		t.Errorf("got %d finding rows by object, want %d (the failures)", got, len(fails))
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
	for _, g := range regexp.MustCompile(`(?s)<p class="why">Not assessed: ([^<]*)</p>(.*?)</div>`).FindAllStringSubmatch(out, -1) {
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

// views returns the page's two groupings of the findings: by check and
// by object.
func views(t *testing.T, page string) (byCheck, byObject string) {
	t.Helper()
	_, after, ok := strings.Cut(page, `<div id="by-check" class="view" data-view="check">`)
	byCheck, byObject, ok2 := strings.Cut(after, `<div id="by-object" class="view" data-view="object">`)
	byObject, _, ok3 := strings.Cut(byObject, "</section>\n\n<section ")
	if !ok || !ok2 || !ok3 {
		t.Fatalf("got no grouping by check followed by one by object")
	}
	return byCheck, byObject
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
		`(?i)\b(src|action|srcset|poster|data|xlink:href)\s*=`,
		`(?i)\bhref\s*=\s*"[^#]`, // links within the page only
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
	if got := strings.Count(out, "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39;&amp;"); got != 6 {
		t.Errorf("got the escaped text %d times, want 6 (message and path by check and by object, input error, source)", got)
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

// TestHTMLByObject checks the grouping by object: each namespace with
// findings once, sorted, each object's findings under it, most severe
// first; and the namespace table linking exactly those namespaces to them.
func TestHTMLByObject(t *testing.T) {
	r := Build(testAudit(t, 1), testInput)
	// A namespace where nothing fails has nothing to link to.
	r.Score.Namespaces = append(r.Score.Namespaces, NamespaceScore{Namespace: "quiet", Passed: 3})
	out := renderHTML(t, r, HTMLOptions{})
	_, byObject := views(t, out)

	want := map[string][]string{} // namespace -> "object: check" of its findings
	for _, res := range r.Results {
		if res.Status == "fail" {
			ns := res.Object.ScoreNamespace()
			want[ns] = append(want[ns], res.Object.ID()+": "+res.Check)
		}
	}
	var namespaces []string
	got := map[string][]string{}
	groups := regexp.MustCompile(`(?s)<section class="ns-group fgroup" id="ns-([^"]*)" data-namespace="([^"]*)">(.*?)</section>`).FindAllStringSubmatch(byObject, -1)
	for _, g := range groups {
		namespaces = append(namespaces, g[1])
		if label := html.UnescapeString(g[2]); label != namespaceLabel(g[1]) {
			t.Errorf("namespace %q: got filter value %q, want %q", g[1], label, namespaceLabel(g[1]))
		}
		for _, o := range regexp.MustCompile(`(?s)<span class="object-id">([^<]*)</span>(.*?)</details>`).FindAllStringSubmatch(g[3], -1) {
			var sevs []int
			for _, f := range regexp.MustCompile(`<tr class="finding" [^>]*data-severity="([a-z]+)" [^>]*data-check="([^"]+)"`).FindAllStringSubmatch(o[2], -1) {
				got[g[1]] = append(got[g[1]], html.UnescapeString(o[1])+": "+f[2])
				sevs = append(sevs, severityRank(f[1]))
			}
			if !slices.IsSortedFunc(sevs, func(a, b int) int { return b - a }) {
				t.Errorf("%s: got severities %v, want the most severe first", o[1], sevs)
			}
		}
	}
	if !slices.IsSorted(namespaces) || len(namespaces) != len(want) {
		t.Errorf("got namespace groups %q, want the %d with findings, sorted", namespaces, len(want))
	}
	sorted := cmpopts.SortSlices(func(a, b string) bool { return a < b })
	if diff := cmp.Diff(want, got, sorted); diff != "" {
		t.Errorf("findings by namespace and object (-report +page):\n%s", diff)
	}

	var linked []string
	for _, m := range regexp.MustCompile(`<a class="ns-link" href="#ns-([^"]*)">`).FindAllStringSubmatch(out, -1) {
		linked = append(linked, m[1])
	}
	if diff := cmp.Diff(namespaces, linked); diff != "" {
		t.Errorf("namespaces linked to their findings (-groups +links):\n%s", diff)
	}
	if !strings.Contains(out, "<tr><td>quiet</td>") {
		t.Errorf("got no row for namespace quiet, without a link")
	}
}

// crowded is the test report with a check failing on 25 more objects of
// one namespace: more than the page shows of a check's findings, and of a
// namespace's objects, before it folds the rest away.
func crowded(t *testing.T) *Report {
	r := Build(testAudit(t, 1), testInput)
	i := slices.IndexFunc(r.Results, func(x Result) bool { return x.Status == "fail" && x.Check == "demo-replicas" })
	for n := range 25 {
		res := r.Results[i]
		o := *res.Object
		o.Namespace, o.Name = "prod", fmt.Sprintf("web-%02d", n)
		res.Object = &o
		r.Results = append(r.Results, res)
		r.Summary.Fail++
	}
	return r
}

// TestHTMLFolds checks that a long list shows its first items and folds
// the rest, closed, saying how many, and that no finding is lost.
func TestHTMLFolds(t *testing.T) {
	r := crowded(t)
	out := renderHTML(t, r, HTMLOptions{})
	byCheck, byObject := views(t, out)
	check := regexp.MustCompile(`(?s)<details class="check fgroup" id="check-demo-replicas".*?</details>\s*</div>\s*</details>`).FindString(byCheck)
	shown, folded, ok := strings.Cut(check, `<details class="more fgroup">`)
	if !ok {
		t.Fatalf("got no fold in the check with %d findings:\n%s", r.check("demo-replicas").Fail, check)
	}
	total := 27 // the fixture's two and the 25 added
	if got := count(shown, `<tr class="finding" `); got != htmlFoldAfter {
		t.Errorf("got %d findings of the check shown, want %d", got, htmlFoldAfter)
	}
	if got, want := count(folded, `<tr class="finding" `), total-htmlFoldAfter; got != want || !strings.Contains(folded, fmt.Sprintf(`<summary><span class="fcount">%d</span> more</summary>`, want)) {
		t.Errorf("got %d findings folded, want %d, and a summary that says so", got, want)
	}

	prod := regexp.MustCompile(`(?s)<section class="ns-group fgroup" id="ns-prod".*?</section>`).FindString(byObject)
	shown, folded, ok = strings.Cut(prod, `<details class="more fgroup">`+"\n"+`<summary><span class="fcount">`)
	if !ok {
		t.Fatalf("got no fold of the objects of namespace prod")
	}
	objects := count(prod, `<details class="object-group `)
	if got := count(shown, `<details class="object-group `); got != htmlFoldAfter || objects != 27 {
		t.Errorf("namespace prod: got %d objects shown of %d, want %d of 27", got, objects, htmlFoldAfter)
	}
	if got, want := count(byObject, `<tr class="finding" `), r.Summary.Fail; got != want {
		t.Errorf("got %d findings by object, want all %d", got, want)
	}
	if got := count(out, `<details class="more[^>]* open`); got != 0 {
		t.Errorf("got %d folds open, want them closed", got)
	}
}

// withBaseline marks the report's failures as a comparison with a
// baseline does: the first new, the second updated, the rest unchanged;
// and more findings fixed than the page shows before it folds them.
func withBaseline(r *Report) *Report {
	b := &BaselineComparison{Source: "baseline.json", Comparable: true, Absent: []BaselineFinding{}}
	n := 0
	for i := range r.Results {
		if r.Results[i].Status != "fail" {
			continue
		}
		switch n++; n {
		case 1:
			r.Results[i].BaselineState = "new"
			b.New++
		case 2:
			r.Results[i].BaselineState = "updated"
			b.Updated++
		default:
			r.Results[i].BaselineState = "unchanged"
			b.Unchanged++
		}
	}
	for i := range htmlFoldAfter + 2 {
		b.Absent = append(b.Absent, BaselineFinding{Check: "demo-replicas", Severity: "high",
			Object: fmt.Sprintf("Deployment prod/old-%02d", i), Message: "replicas is 1, want at least 2"})
	}
	b.Suppressed = b.Unchanged + b.Updated
	score := 41.25
	b.Score = &score
	b.Expired = []BaselineFinding{{Check: "demo-replicas", Severity: "high", Object: "Deployment prod/batch",
		Message: "replicas is 1, want at least 2", Reason: "batch job, one is enough", Owner: "data-team", Expires: "2026-01-01"}}
	r.Baseline = b
	return r
}

// TestHTMLBaseline checks what a baseline adds: the counts, a new badge
// on each new finding in both groupings, the new-only filter, and the
// fixed findings, folded after the first; and a warning when the runs
// cannot be compared.
func TestHTMLBaseline(t *testing.T) {
	r := withBaseline(Build(testAudit(t, 1), testInput))
	out := renderHTML(t, r, HTMLOptions{})
	golden.Check(t, filepath.Join("testdata", "report-baseline.html.golden"), []byte(out), *update)

	for _, want := range []string{
		"Compared with <code>baseline.json</code>: <strong>1 new</strong>, 5 unchanged, 1 updated, 12 fixed; 6 suppressed by the baseline, which <code>--fail-on-new</code> does not count; score 41.3 → ",
		"<li>demo-replicas on Deployment prod/batch, until 2026-01-01, owner data-team (reason: batch job, one is enough)</li>",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("got no %q", want)
		}
	}
	byCheck, byObject := views(t, out)
	for name, view := range map[string]string{"by check": byCheck, "by object": byObject} {
		if got := count(view, `<tr class="finding" [^>]* data-state="new"><td.*?<span class="badge badge-new">new</span> `); got != 1 {
			t.Errorf("%s: got %d new findings with a new badge, want 1", name, got)
		}
		if got := count(view, `<span class="badge badge-updated">updated</span> `); got != 1 {
			t.Errorf("%s: got %d updated badges, want 1", name, got)
		}
	}
	if !strings.Contains(out, `<input type="checkbox" name="new" id="filter-new" value="1"> new only (1)`) {
		t.Errorf("got no new-only filter")
	}
	fixed, folded, _ := strings.Cut(regexp.MustCompile(`(?s)<table id="fixed".*?</section>`).FindString(out), `<details class="more">`)
	if got := count(fixed, `<tr class="fixed">`); got != htmlFoldAfter {
		t.Errorf("got %d fixed findings shown, want %d", got, htmlFoldAfter)
	}
	if got := count(folded, `<tr class="fixed">`); got != 2 || !strings.Contains(folded, "<summary>2 more</summary>") {
		t.Errorf("got %d fixed findings folded, want 2", got)
	}
	if strings.Contains(out, `id="incomparable"`) {
		t.Errorf("comparable runs: got the warning that they are not")
	}

	r.Baseline.Comparable, r.Baseline.Why = false, "the baseline audited cluster, this run manifests"
	if out := renderHTML(t, r, HTMLOptions{}); !strings.Contains(out, `<p id="incomparable" class="note"><strong>Not comparable:</strong> the baseline audited cluster, this run manifests.`) {
		t.Errorf("incomparable runs: got no warning saying why")
	}
	r.Baseline = nil
	if out := renderHTML(t, r, HTMLOptions{}); strings.Contains(out, `id="baseline"`) || strings.Contains(out, `id="filter-new"`) {
		t.Errorf("no baseline: got its section or its filter")
	}
}
