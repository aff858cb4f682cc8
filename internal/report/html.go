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

// WriteHTML writes the report as one self-contained HTML page: scores as
// inline SVG, the namespaces, coverage, and the findings grouped by layer
// and check, with filters by namespace, severity and layer that a little
// inline script drives (with scripts off the page shows everything). The
// page fetches nothing, and the same report gives the same bytes.
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

// htmlView is what the template renders: the report, plus the groupings
// and lookups that templates are poor at.
type htmlView struct {
	*Report
	Refresh int
	CSP     string
	CSS     template.CSS
	Script  template.JS
	// Findings are the failures by layer, in checklist order.
	Findings []htmlLayer
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

type htmlNotAssessed struct {
	Reason string
	Checks []Check
}

type htmlCheck struct {
	Check
	Findings []Result
}

func newHTMLView(r *Report, opts HTMLOptions) *htmlView {
	v := &htmlView{
		Report: r,
		CSP:    htmlCSP,
		CSS:    template.CSS(htmlCSS),
		Script: template.JS(htmlScript),
		// "info and above" would be every finding: "all" says that.
		Severities: []string{"critical", "high", "medium", "low"},
	}
	if opts.Refresh > 0 {
		v.Refresh = int(math.Ceil(opts.Refresh.Seconds()))
	}
	namespaces := map[string]bool{}
	for _, layer := range layerOrder(r) {
		var fails []Result
		for _, res := range r.Results {
			if res.Status == "fail" && res.Layer == layer {
				fails = append(fails, res)
				namespaces[findingNamespace(res)] = true
			}
		}
		if len(fails) == 0 {
			continue
		}
		l := htmlLayer{Layer: layer, Count: len(fails)}
		for _, g := range groupBy(fails, func(x Result) string { return x.Check }) {
			l.Checks = append(l.Checks, htmlCheck{Check: r.checkOrResult(g[0]), Findings: g})
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
	for ns := range namespaces {
		v.FilterNamespaces = append(v.FilterNamespaces, ns)
	}
	sort.Strings(v.FilterNamespaces)
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
	for _, res := range r.Results {
		if res.Status == "error" {
			v.CheckErrors = append(v.CheckErrors, res)
		}
	}
	return v
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
