package report

import (
	"bufio"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"time"
)

// The page's template, stylesheet and script. The stylesheet and script
// are inlined, so the page is one file that works offline; its
// Content-Security-Policy allows exactly them, by hash, and forbids every
// fetch, so a page that tried to load anything would be blocked (and a
// browser would say so in its console).
//
//go:embed html/report.html.tmpl html/report.css html/report.js
var htmlFiles embed.FS

var (
	htmlCSS      = mustRead("html/report.css")
	htmlScript   = mustRead("html/report.js")
	htmlTemplate = template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
		"score":     formatScore,
		"band":      scoreBand,
		"plural":    plural,
		"nsname":    namespaceLabel,
		"file":      displayFile,
		"namespace": findingNamespace,
		"exemption": describeExemption,
		"when":      displayTime,
	}).ParseFS(htmlFiles, "html/report.html.tmpl"))
	htmlCSP = "default-src 'none'; style-src " + cspHash(htmlCSS) + "; script-src " + cspHash(htmlScript) +
		"; base-uri 'none'; form-action 'none'"
)

func mustRead(name string) string {
	b, err := htmlFiles.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// HTMLOptions tune the HTML page.
type HTMLOptions struct {
	// Refresh, when positive, makes the page reload itself at this
	// interval (rounded up to whole seconds), for a dashboard that serves
	// the latest audit: its script reloads it, keeping the filters, which
	// live in the URL fragment, and a meta refresh does when scripts are
	// off. Zero, as for -o html, gives a static page.
	Refresh time.Duration
}

// WriteHTML writes the report as one self-contained HTML page for a
// reviewer: scores as inline SVG, the namespaces (each linked to its
// findings), coverage, what changed since a baseline, and the findings
// twice, by layer and check and by namespace and object (a workload, a
// role, a policy). A little inline script shows one grouping at a time,
// filters the findings by text, namespace, severity, layer and (with a
// baseline) new only, and keeps every count to what the filters leave;
// with scripts off the page shows both groupings and every finding. Long
// lists show their first items and fold the rest. The page fetches
// nothing, and the same report gives the same bytes.
func WriteHTML(w io.Writer, r *Report, opts HTMLOptions) error {
	bw := bufio.NewWriter(w)
	if err := htmlTemplate.Execute(bw, newHTMLView(r, opts)); err != nil {
		return fmt.Errorf("render html: %w", err)
	}
	return bw.Flush()
}

func writeHTML(w io.Writer, r *Report, _ Options) error {
	return WriteHTML(w, r, HTMLOptions{})
}

// htmlFoldAfter is how many items of a list the page shows before it
// folds the rest away, in a <details> the reader opens: a check that fails
// on two hundred objects would otherwise bury everything after it.
const htmlFoldAfter = 10

// fold splits a list into the items shown and those folded away.
func fold[T any](xs []T) (shown, folded []T) {
	if len(xs) <= htmlFoldAfter {
		return xs, nil
	}
	return xs[:htmlFoldAfter], xs[htmlFoldAfter:]
}

// htmlView is what the template renders: the report, plus the groupings
// and lookups that templates are poor at.
type htmlView struct {
	*Report
	Refresh int
	CSP     string
	CSS     template.CSS
	Script  template.JS
	// Findings are the failures by layer, in checklist order, and each
	// layer's by check.
	Findings []htmlLayer
	// ByObject are the failures by namespace, sorted, and each
	// namespace's by object, in the report's order.
	ByObject []htmlNamespace
	// Linked are the namespaces, as the report names them, that have
	// findings: the namespace table links them to their findings.
	Linked map[string]bool
	// Fixed and FixedFolded are the baseline's findings the run no longer
	// has, the first shown and the rest folded.
	Fixed, FixedFolded []BaselineFinding
	// ScoreChange says how the overall score moved since the baseline;
	// Expired names the baseline file's entries past their date.
	ScoreChange string
	Expired     []string
	// NotAssessed are the checks the coverage did not assess, by reason:
	// a manifest audit gives a dozen the same one.
	NotAssessed []htmlNotAssessed
	// CheckErrors are the error results.
	CheckErrors []Result
	// Filter choices: the namespaces and layers that have findings.
	FilterNamespaces []string
	FilterLayers     []string
	Severities       []string
}

type htmlLayer struct {
	Layer  string
	Count  int
	Checks []htmlCheck
}

// htmlNotAssessed are the checks not assessed for one reason, the first
// shown and the rest folded.
type htmlNotAssessed struct {
	Reason         string
	Checks, Folded []Check
}

// htmlCheck is a check and its findings, the first shown and the rest
// folded.
type htmlCheck struct {
	Check
	Count            int
	Findings, Folded []Result
}

// htmlNamespace is a namespace and its objects with findings, the first
// shown and the rest folded.
type htmlNamespace struct {
	// Namespace is as the report names it, "" for cluster-scoped objects
	// and objects without one.
	Namespace       string
	Count           int
	Objects, Folded []htmlObject
}

// htmlObject is an object and its findings, most severe first, the first
// shown and the rest folded.
type htmlObject struct {
	Object           *Object
	Source           *Source
	Count            int
	Findings, Folded []Result
}

func newHTMLView(r *Report, opts HTMLOptions) *htmlView {
	v := &htmlView{
		Report: r,
		CSP:    htmlCSP,
		CSS:    template.CSS(htmlCSS),
		Script: template.JS(htmlScript),
		Linked: map[string]bool{},
		// "info and above" would be every finding: "all" says that.
		Severities: []string{"critical", "high", "medium", "low"},
	}
	if opts.Refresh > 0 {
		v.Refresh = int(math.Ceil(opts.Refresh.Seconds()))
	}
	var fails []Result
	for _, res := range r.Results {
		if res.Status == "fail" {
			fails = append(fails, res)
		}
	}
	for _, layer := range layerOrder(r) {
		var inLayer []Result
		for _, res := range fails {
			if res.Layer == layer {
				inLayer = append(inLayer, res)
			}
		}
		if len(inLayer) == 0 {
			continue
		}
		l := htmlLayer{Layer: layer, Count: len(inLayer)}
		for _, g := range groupBy(inLayer, func(x Result) string { return x.Check }) {
			c := htmlCheck{Check: r.checkOrResult(g[0]), Count: len(g)}
			c.Findings, c.Folded = fold(g)
			l.Checks = append(l.Checks, c)
		}
		sort.SliceStable(l.Checks, func(i, j int) bool {
			a, b := severityRank(l.Checks[i].Severity), severityRank(l.Checks[j].Severity)
			if a != b {
				return a > b
			}
			return l.Checks[i].ID < l.Checks[j].ID
		})
		v.Findings = append(v.Findings, l)
		v.FilterLayers = append(v.FilterLayers, layer)
	}
	v.ByObject = htmlByObject(fails)
	for _, ns := range v.ByObject {
		v.Linked[ns.Namespace] = true
		v.FilterNamespaces = append(v.FilterNamespaces, namespaceLabel(ns.Namespace))
	}
	sort.Strings(v.FilterNamespaces)
	if r.Baseline != nil {
		v.Fixed, v.FixedFolded = fold(r.Baseline.Absent)
		v.ScoreChange = r.scoreChange()
		for _, e := range r.Baseline.Expired {
			v.Expired = append(v.Expired, e.describe())
		}
	}
	reasons := map[string]int{}
	for _, n := range r.Score.Coverage.NotAssessed {
		c := Check{ID: n.Check}
		if rc := r.check(n.Check); rc != nil {
			c = *rc
		}
		i, ok := reasons[n.Reason]
		if !ok {
			i = len(v.NotAssessed)
			reasons[n.Reason] = i
			v.NotAssessed = append(v.NotAssessed, htmlNotAssessed{Reason: n.Reason})
		}
		v.NotAssessed[i].Checks = append(v.NotAssessed[i].Checks, c)
	}
	for i := range v.NotAssessed {
		v.NotAssessed[i].Checks, v.NotAssessed[i].Folded = fold(v.NotAssessed[i].Checks)
	}
	for _, res := range r.Results {
		if res.Status == "error" {
			v.CheckErrors = append(v.CheckErrors, res)
		}
	}
	return v
}

// htmlByObject groups failures by namespace, sorted, and then by object,
// in the report's order. An object is known by its ID and where it came
// from: a report read back from JSON shares no pointers, and two files
// may declare objects of one name.
func htmlByObject(fails []Result) []htmlNamespace {
	var out []htmlNamespace
	byNamespace := groupBy(fails, func(x Result) string { return x.Object.ScoreNamespace() })
	sort.Slice(byNamespace, func(i, j int) bool {
		return byNamespace[i][0].Object.ScoreNamespace() < byNamespace[j][0].Object.ScoreNamespace()
	})
	for _, inNamespace := range byNamespace {
		ns := htmlNamespace{Namespace: inNamespace[0].Object.ScoreNamespace(), Count: len(inNamespace)}
		var objects []htmlObject
		for _, g := range groupBy(inNamespace, func(x Result) string { return x.Object.ID() + "\x00" + x.Source.Where() }) {
			sort.SliceStable(g, func(i, j int) bool { return severityRank(g[i].Severity) > severityRank(g[j].Severity) })
			o := htmlObject{Object: g[0].Object, Source: g[0].Source, Count: len(g)}
			o.Findings, o.Folded = fold(g)
			objects = append(objects, o)
		}
		ns.Objects, ns.Folded = fold(objects)
		out = append(out, ns)
	}
	return out
}

// checkOrResult is the report's entry for a result's check, or as much of
// one as the result tells when the report lacks it.
func (r *Report) checkOrResult(res Result) Check {
	if c := r.check(res.Check); c != nil {
		return *c
	}
	return Check{ID: res.Check, Layer: res.Layer, Severity: res.Severity}
}

// findingNamespace is the namespace a finding is scored and filtered in,
// as people read it.
func findingNamespace(r Result) string {
	return namespaceLabel(r.Object.ScoreNamespace())
}

// scoreBand names the colour band of a score, worst (0) to best (4), or
// "na" when there is no score.
func scoreBand(s *float64) string {
	switch {
	case s == nil:
		return "na"
	case *s < 50:
		return "band-0"
	case *s < 70:
		return "band-1"
	case *s < 85:
		return "band-2"
	case *s < 95:
		return "band-3"
	}
	return "band-4"
}
