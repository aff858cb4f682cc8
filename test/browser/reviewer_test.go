package browser

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/internal/report"
)

// reviewPage writes the HTML report plimsoll audit gives with args as
// name in the artifacts' directory, and returns its URL and the JSON
// report of the same audit.
func reviewPage(t *testing.T, name string, args ...string) (*report.Report, string) {
	t.Helper()
	var rep report.Report
	if err := json.Unmarshal(audit(t, "json", args...), &rep); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(artifacts(t), name)
	if err := os.WriteFile(page, audit(t, "html", args...), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("page: %s", page)
	return &rep, (&url.URL{Scheme: "file", Path: page}).String()
}

// searchable is what the page's search box matches a finding by: its
// object and source, its check's ID and title, its severity and its
// message and field path.
func searchable(rep *report.Report, r report.Result) string {
	title := ""
	if i := slices.IndexFunc(rep.Checks, func(c report.Check) bool { return c.ID == r.Check }); i >= 0 {
		title = rep.Checks[i].Title
	}
	return strings.ToLower(strings.Join([]string{r.Object.ID(), r.Source.Where(), r.Check, title, r.Severity, r.Message, r.Path}, " "))
}

// failures counts the report's failures that match.
func failures(rep *report.Report, match func(report.Result) bool) int {
	n := 0
	for _, r := range rep.Results {
		if r.Status == "fail" && match(r) {
			n++
		}
	}
	return n
}

// seen counts the elements selector selects that a person can see, or
// scroll to: not hidden, not in a hidden grouping, not folded away in a
// closed <details>.
func (p *tab) seen(selector string) int {
	p.t.Helper()
	var n int
	p.eval(fmt.Sprintf(`Array.from(document.querySelectorAll(%q)).filter((e) => e.checkVisibility()).length`, selector), &n)
	return n
}

// left counts the elements selector selects that the filters leave: not
// hidden themselves, though perhaps folded away.
func (p *tab) left(selector string) int {
	p.t.Helper()
	var n int
	p.eval(fmt.Sprintf(`document.querySelectorAll(%q).length`, selector+":not([hidden])"), &n)
	return n
}

// hash is the page's URL fragment, where its filters live.
func (p *tab) hash() string {
	p.t.Helper()
	var h string
	p.eval("location.hash", &h)
	return h
}

// TestReportAsReviewer uses the HTML report as a reviewer does: searches
// it, groups its findings by object, follows a namespace's link, opens a
// folded list, and reads it with scripts off.
func TestReportAsReviewer(t *testing.T) {
	rep, pageURL := reviewPage(t, "review.html")
	total := rep.Summary.Fail
	shown := func(n int) string { return fmt.Sprintf("%d of %d shown", n, total) }

	// What the search must leave: the findings that mention db-backup, and
	// of those the ones that mention secret too.
	term, term2 := "db-backup", "secret"
	want := failures(rep, func(r report.Result) bool { return strings.Contains(searchable(rep, r), term) })
	want2 := failures(rep, func(r report.Result) bool {
		return strings.Contains(searchable(rep, r), term) && strings.Contains(searchable(rep, r), term2)
	})
	if want2 == 0 || want2 == want || want == total {
		t.Fatalf("%d findings mention %s and %d %s too: the example no longer tests search", want, term, want2, term2)
	}

	t.Run("search narrows the findings and the counts follow", func(t *testing.T) {
		p := open(t, pageURL)
		if got := p.text("#filter-status"); got != shown(total) {
			t.Errorf("before the search: got status %q, want %q", got, shown(total))
		}
		p.typeText("#filter-search", term)
		if got := p.text("#filter-status"); got != shown(want) {
			t.Errorf("searched %q: got status %q, want %q", term, got, shown(want))
		}
		if got := p.left("#by-check .finding"); got != want {
			t.Errorf("searched %q: got %d findings left, want %d", term, got, want)
		}
		var rows []string
		p.eval(`Array.from(document.querySelectorAll("#by-check .finding")).filter((f) => f.checkVisibility()).map((f) => f.textContent)`, &rows)
		wrong := slices.DeleteFunc(slices.Clone(rows), func(row string) bool { return strings.Contains(strings.ToLower(row), term) })
		if len(wrong) > 0 || len(rows) == 0 {
			t.Errorf("searched %q: got %d findings on the page, %d of them without it (the first: %q)", term, len(rows), len(wrong), append(wrong, "")[0])
		}
		var layers []int
		p.eval(`Array.from(document.querySelectorAll("#by-check .layer-group")).filter((l) => !l.hidden).map((l) => Number(l.querySelector(".fcount").textContent))`, &layers)
		sum := 0
		for _, n := range layers {
			sum += n
		}
		if sum != want {
			t.Errorf("searched %q: got layer counts %v, want them to add up to %d", term, layers, want)
		}
		if got := p.hash(); got != "#q="+term {
			t.Errorf("got fragment %q, want the search in it", got)
		}
		p.screenshot(filepath.Join(artifacts(t), "review-search.png"))

		p.typeText("#filter-search", " "+term2)
		if got := p.text("#filter-status"); got != shown(want2) {
			t.Errorf("searched %q: got status %q, want %q (findings with both words)", term+" "+term2, got, shown(want2))
		}
	})

	t.Run("grouped by object", func(t *testing.T) {
		objects := map[string]bool{}
		for _, r := range rep.Results {
			if r.Status == "fail" {
				objects[r.Object.ID()+" "+r.Source.Where()] = true
			}
		}
		p := open(t, pageURL)
		p.click("#view-object")
		if p.seen("#by-check") != 0 || p.seen("#by-object") != 1 {
			t.Fatalf("got the grouping by check shown %d, by object %d; want only by object", p.seen("#by-check"), p.seen("#by-object"))
		}
		if got := p.text("#filter-status"); got != shown(total) {
			t.Errorf("got status %q, want %q", got, shown(total))
		}
		if got := p.left("#by-object .object-group"); got != len(objects) {
			t.Errorf("got %d objects, want %d (those with findings)", got, len(objects))
		}
		if got := p.hash(); got != "#view=object" {
			t.Errorf("got fragment %q, want the grouping in it", got)
		}
		p.screenshot(filepath.Join(artifacts(t), "review-by-object.png"))

		p.typeText("#filter-search", term)
		if got := p.text("#filter-status"); got != shown(want) {
			t.Errorf("searched %q: got status %q, want %q, as by check", term, got, shown(want))
		}
		var headings []string
		p.eval(`Array.from(document.querySelectorAll("#by-object .object-group")).filter((o) => o.checkVisibility()).map((o) => o.querySelector(".object-id").textContent)`, &headings)
		if !slices.Contains(headings, "CronJob default/db-backup") {
			t.Errorf("searched %q: got objects %q, want CronJob default/db-backup among them", term, headings)
		}
	})

	t.Run("a namespace's link shows its findings", func(t *testing.T) {
		inDefault := failures(rep, func(r report.Result) bool { return r.Object.ScoreNamespace() == "default" })
		if inDefault == 0 || inDefault == total {
			t.Fatalf("%d of %d findings are in namespace default: the example no longer tests the link", inDefault, total)
		}
		p := open(t, pageURL)
		p.click(`#namespace-scores a[href="#ns-default"]`)
		// The page follows the link in the hashchange the click queues.
		p.waitUntil(`document.getElementById("filter-namespace").value === "default"`)
		if got := p.text("#filter-status"); got != shown(inDefault) {
			t.Errorf("got status %q, want %q", got, shown(inDefault))
		}
		var state struct {
			Namespace string
			Top       float64
			Below     float64
			Height    float64
		}
		p.eval(`(() => {
			const ns = document.getElementById("ns-default").getBoundingClientRect();
			return {namespace: document.getElementById("filter-namespace").value, top: ns.top,
				below: document.getElementById("filters").getBoundingClientRect().bottom, height: innerHeight};
		})()`, &state)
		if state.Namespace != "default" {
			t.Errorf("got the namespace filter at %q, want default", state.Namespace)
		}
		if p.seen("#ns-default") != 1 || state.Top < state.Below-1 || state.Top > state.Height/2 {
			t.Errorf("got namespace default's findings at %.0f px of a window of %.0f, under filters ending at %.0f; want them shown at the top, below the filters", state.Top, state.Height, state.Below)
		}
		if got := p.seen("#by-object .ns-group"); got != 1 {
			t.Errorf("got %d namespaces' findings shown, want default's alone", got)
		}
		if got := p.hash(); got != "#namespace=default&view=object" {
			t.Errorf("got fragment %q, want the filters the link set", got)
		}
		p.screenshot(filepath.Join(artifacts(t), "review-namespace.png"))
	})

	t.Run("a long list folds", func(t *testing.T) {
		longest := report.Check{}
		for _, c := range rep.Checks {
			if n := failures(rep, func(r report.Result) bool { return r.Check == c.ID }); n > failures(rep, func(r report.Result) bool { return r.Check == longest.ID }) {
				longest = c
			}
		}
		n := failures(rep, func(r report.Result) bool { return r.Check == longest.ID })
		p := open(t, pageURL)
		rows := "#check-" + longest.ID + " .finding"
		before := p.seen(rows)
		if before == 0 || before >= n {
			t.Fatalf("check %s: got %d of its %d findings on the page, want the first of them and the rest folded", longest.ID, before, n)
		}
		fold := "#check-" + longest.ID + " .more > summary"
		if got, want := p.text(fold), fmt.Sprintf("%d more", n-before); got != want {
			t.Errorf("check %s: got fold %q, want %q", longest.ID, got, want)
		}
		p.click(fold)
		if got := p.seen(rows); got != n {
			t.Errorf("check %s: got %d findings on the page once unfolded, want all %d", longest.ID, got, n)
		}
	})

	t.Run("without scripts", func(t *testing.T) {
		p := open(t, pageURL, "--blink-settings=scriptEnabled=false")
		var js string
		p.eval("document.body.dataset.js", &js)
		if js != "off" {
			t.Fatalf("got data-js %q: the script ran", js)
		}
		if p.seen("#filters") != 0 {
			t.Errorf("got the filters shown, which need the script")
		}
		for _, view := range []string{"#by-check", "#by-object"} {
			if p.seen(view+" .view-title") != 1 || p.left(view+" .finding") != total {
				t.Errorf("%s: got %d headings and %d findings, want its heading and every finding", view, p.seen(view+" .view-title"), p.left(view+" .finding"))
			}
		}
	})
}

// TestBaselineAsReviewer: compared with a baseline, the page marks the
// new findings, filters them alone, and lists the fixed ones. The baseline
// is the example as it was before a change that added its Ingress and
// removed a Deployment, legacy: the Ingress's findings are new and
// legacy's fixed.
func TestBaselineAsReviewer(t *testing.T) {
	before := t.TempDir()
	entries, err := os.ReadDir("../../examples/not-ready")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "ingress.yaml" {
			continue
		}
		b, err := os.ReadFile(filepath.Join("../../examples/not-ready", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(before, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const legacy = "{apiVersion: apps/v1, kind: Deployment, metadata: {name: legacy, namespace: default},\n" +
		"  spec: {replicas: 1, selector: {matchLabels: {app: legacy}}, template: {metadata: {labels: {app: legacy}},\n" +
		"    spec: {containers: [{name: legacy, image: \"nginx:latest\"}]}}}}\n"
	if err := os.WriteFile(filepath.Join(before, "legacy.yaml"), []byte(legacy), 0o644); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(t.TempDir(), "baseline.json")
	if err := os.WriteFile(base, audit(t, "json", before), 0o644); err != nil {
		t.Fatal(err)
	}

	rep, pageURL := reviewPage(t, "review-baseline.html", "../../examples/not-ready", "--baseline", base)
	b := rep.Baseline
	if b == nil || !b.Comparable || b.New == 0 || !slices.ContainsFunc(b.Absent, func(f report.BaselineFinding) bool { return f.Object == "Deployment default/legacy" }) {
		t.Fatalf("got baseline comparison %+v, want new findings and legacy's fixed", b)
	}
	total := rep.Summary.Fail
	newOnes := failures(rep, func(r report.Result) bool { return r.BaselineState == "new" })

	p := open(t, pageURL)
	if got := p.left("#by-check .finding[data-state=new] .badge-new"); got != newOnes {
		t.Errorf("got %d new badges, want one on each of the %d new findings", got, newOnes)
	}
	p.eval(`document.querySelector("#by-check .badge-new").scrollIntoView(), true`, new(bool))
	if p.seen("#by-check .badge-new") == 0 {
		t.Errorf("got no new badge on the page")
	}
	if want := fmt.Sprintf("%d new", b.New); !strings.Contains(p.text("#baseline-counts"), want) {
		t.Errorf("got %q, want it to say %s", p.text("#baseline-counts"), want)
	}

	p.click("#filter-new")
	if got, want := p.text("#filter-status"), fmt.Sprintf("%d of %d shown", newOnes, total); got != want {
		t.Errorf("new only: got status %q, want %q", got, want)
	}
	if got := p.left("#by-check .finding:not([data-state=new])"); got != 0 {
		t.Errorf("new only: got %d findings left that are not new", got)
	}
	if got := p.hash(); got != "#new=1" {
		t.Errorf("got fragment %q, want the filter in it", got)
	}
	p.screenshot(filepath.Join(artifacts(t), "review-baseline-new.png"))

	if got := p.left("#baseline tr.fixed"); got != len(b.Absent) {
		t.Errorf("got %d fixed findings listed, want %d", got, len(b.Absent))
	}
	var first string
	p.eval(`document.querySelector("#baseline tr.fixed").textContent`, &first)
	if f := b.Absent[0]; !strings.Contains(first, f.Object) || !strings.Contains(first, f.Message) {
		t.Errorf("got first fixed finding %q, want %s: %s", first, f.Object, f.Message)
	}
}
