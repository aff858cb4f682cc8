package report

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/plimsoll/plimsoll/internal/audit"
)

// maxExempted is how many exempted results the text report lists.
const maxExempted = 20

// ANSI escapes; used only when Options.Color is set.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiBlue   = "\x1b[34m"
	ansiCyan   = "\x1b[36m"
)

var severityColor = map[string]string{
	"critical": ansiBold + ansiRed,
	"high":     ansiRed,
	"medium":   ansiYellow,
	"low":      ansiBlue,
	"info":     ansiCyan,
}

// textWriter writes straight through a buffered writer: the text of a large
// audit is tens of megabytes. Write errors stick and Flush reports them.
type textWriter struct {
	out   *bufio.Writer
	color bool
	// width is the column prose wraps at.
	width int
}

func (t *textWriter) paint(style, s string) string {
	if !t.color || style == "" {
		return s
	}
	return style + s + ansiReset
}

func (t *textWriter) heading(format string, args ...any) {
	t.line(t.paint(ansiBold, fmt.Sprintf(format, args...)))
}

func (t *textWriter) line(s string) {
	t.out.WriteString(strings.TrimRight(s, " "))
	t.out.WriteByte('\n')
}

// wrapped writes text wrapped at the report's width: the first line after first (a
// prefix, perhaps a label the text follows after a space), the rest
// indented by indent spaces.
func (t *textWriter) wrapped(first string, indent int, text string) {
	t.wrappedStyle("", first, indent, text)
}

// wrappedStyle is wrapped with the text painted in style, line by line, so
// that no escape spans a line break.
func (t *textWriter) wrappedStyle(style, first string, indent int, text string) {
	prefix := first
	var words []string
	width := 0
	emit := func() {
		sep := " "
		if prefix == "" || strings.HasSuffix(prefix, " ") {
			sep = ""
		}
		t.line(prefix + sep + t.paint(style, strings.Join(words, " ")))
		prefix, words = strings.Repeat(" ", indent), nil
	}
	for _, word := range strings.Fields(text) {
		if len(words) == 0 {
			width = visibleLen(prefix) + 1
		}
		if len(words) > 0 && width+1+len(word) > t.width {
			emit()
			width = indent
		}
		if len(words) > 0 {
			width++
		}
		words = append(words, word)
		width += len(word)
	}
	emit()
}

// visibleLen is the length of s without ANSI escapes.
func visibleLen(s string) int {
	n, esc := 0, false
	for _, r := range s {
		switch {
		case r == '\x1b':
			esc = true
		case esc && r == 'm':
			esc = false
		case !esc:
			n++
		}
	}
	return n
}

func (t *textWriter) severity(s string) string {
	return t.paint(severityColor[s], fmt.Sprintf("%-8s", strings.ToUpper(s)))
}

func formatScore(s *float64) string {
	if s == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f", *s)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func namespaceLabel(ns string) string {
	if ns == "" {
		return "(cluster-scoped or no namespace)"
	}
	return ns
}

func (t *textWriter) partial(r *Report) {
	if !r.Partial {
		return
	}
	msg := fmt.Sprintf("PARTIAL RUN: %s could not be read; the scores cover only what was read.",
		plural(len(r.InputErrors), "input", "inputs"))
	t.line(t.paint(ansiBold+ansiRed, msg))
}

func writeText(w io.Writer, r *Report, opts Options) error {
	r = forTerminal(r)
	t := &textWriter{out: bufio.NewWriter(w), color: opts.Color, width: opts.Width}
	if t.width <= 0 {
		t.width = DefaultWidth
	}
	if !opts.Quiet {
		t.header(r)
		t.scores(r)
		t.failures(r)
		t.fixes(r)
		t.exempted(r)
		t.baseline(r)
		t.skips(r)
		t.errors(r)
		t.inputs(r)
	}
	t.summary(r, opts.Gate)
	return t.out.Flush()
}

// nonZero formats the severities counted, most severe first, with format
// given the severity and the count.
func (c SeverityCounts) nonZero(format string) []string {
	var out []string
	for _, sc := range []struct {
		name string
		n    int
	}{{"critical", c.Critical}, {"high", c.High}, {"medium", c.Medium}, {"low", c.Low}, {"info", c.Info}} {
		if sc.n > 0 {
			out = append(out, fmt.Sprintf(format, sc.name, sc.n))
		}
	}
	return out
}

// fixes says how to fix each check that failed, once, however many
// objects and namespaces it failed on.
func (t *textWriter) fixes(r *Report) {
	var ids []string
	seen := map[string]bool{}
	for _, res := range r.Results {
		if res.Status == "fail" && !seen[res.Check] {
			seen[res.Check] = true
			ids = append(ids, res.Check)
		}
	}
	if len(ids) == 0 {
		return
	}
	sort.Strings(ids)
	t.heading("HOW TO FIX  %s", plural(len(ids), "check", "checks"))
	for _, id := range ids {
		if c := r.check(id); c != nil {
			t.wrapped("  "+t.paint(ansiBold, id+":"), 4, c.Remediation)
		}
	}
	t.line("")
}

// summary is the report's last line, after what the gates decided.
func (t *textWriter) summary(r *Report, gate string) {
	if gate != "" {
		t.wrapped(t.paint(ansiBold, "GATES"), 2, gate)
	}
	counts := r.Summary.Failures.nonZero("%[2]d %[1]s")
	score := "no score"
	if r.Score.Overall != nil {
		score = "score " + formatScore(r.Score.Overall)
	}
	line := fmt.Sprintf("%s, %s: %s", strings.ReplaceAll(r.Score.Verdict.Status, "-", " "), score, plural(r.Summary.Fail, "failure", "failures"))
	if len(counts) > 0 {
		line += " (" + strings.Join(counts, ", ") + ")"
	}
	line += " in " + plural(r.Summary.Objects, "object", "objects")
	if r.Partial {
		line += ", partial: " + plural(len(r.InputErrors), "input", "inputs") + " could not be read"
	}
	if b := r.Baseline; b != nil && b.Comparable {
		line += "; since the baseline: " + b.counts()
		if c := r.scoreChange(); c != "" {
			line += "; " + c
		}
	} else if b != nil {
		line += "; not comparable with the baseline: " + b.Why + "; " + plural(b.Suppressed, "failure", "failures") + " suppressed by it"
	}
	t.wrapped(t.paint(ansiBold, "SUMMARY"), 2, line)
}

func (t *textWriter) header(r *Report) {
	name := r.Tool.Name
	if r.Tool.Version != "" {
		name += " " + r.Tool.Version
	}
	head := fmt.Sprintf("%s: audit of %s (%s)", name, r.Mode, plural(r.Summary.Objects, "object", "objects"))
	if len(r.Sources) == 0 {
		t.line(head)
	} else {
		sources := make([]string, len(r.Sources))
		for i, s := range r.Sources {
			sources[i] = displayFile(s)
		}
		t.wrapped(head+" from", 2, strings.Join(sources, ", "))
	}
	if r.Time != "" {
		t.line(" " + asOf(r.Time))
	}
	if c := r.Cluster; c != nil {
		scope := "all namespaces"
		if c.Namespace != "" {
			scope = "namespace " + c.Namespace
		}
		nodes := plural(c.Nodes, "node", "nodes")
		if len(c.Zones) > 0 {
			nodes += " in " + plural(len(c.Zones), "zone", "zones")
		}
		t.line(fmt.Sprintf("  API server %s, Kubernetes %s, %s, %s", c.Server, c.Version, nodes, scope))
	}
	if r.Partial {
		t.line("")
		t.partial(r)
	}
	t.line("")
}

func (t *textWriter) scores(r *Report) {
	v := r.Score.Verdict
	style := ansiYellow
	switch audit.Verdict(v.Status) {
	case audit.Ready:
		style = ansiBold
	case audit.NotReady:
		style = ansiRed
	}
	t.wrappedStyle(style, t.paint(ansiBold, "VERDICT   "), 10, v.Summary)
	t.heading("READINESS  %s", overallText(r.Score.Overall))
	for _, l := range r.Score.Layers {
		first := fmt.Sprintf("  %-16s  %5s  ", l.Layer, formatScore(l.Score))
		if l.Score == nil {
			t.wrappedStyle(ansiDim, first, 27, "not assessed: "+l.Reason)
			continue
		}
		t.line(first + fmt.Sprintf("%d of %s assessed", l.Assessed, plural(l.Checks, "check", "checks")))
	}
	c := r.Score.Coverage
	t.heading("COVERAGE   %.1f%% of the checklist: %d of %s assessed", c.Percent, c.Assessed, plural(c.Checks, "enabled check", "enabled checks"))
	// Checks not assessed for the same reason (a manifest audit leaves
	// every cluster check out) are listed together, reason first.
	var reasons []string
	byReason := map[string][]string{}
	for _, n := range c.NotAssessed {
		if _, seen := byReason[n.Reason]; !seen {
			reasons = append(reasons, n.Reason)
		}
		byReason[n.Reason] = append(byReason[n.Reason], n.Check)
	}
	for _, why := range reasons {
		ids := byReason[why]
		if len(ids) == 1 {
			t.wrapped("  not assessed: "+ids[0]+":", 4, why)
			continue
		}
		t.wrapped(fmt.Sprintf("  not assessed, %d checks:", len(ids)), 4, why+": "+strings.Join(ids, ", "))
	}
	if len(r.Score.Namespaces) > 0 {
		t.line("")
		t.heading("NAMESPACES")
		width := 0
		for _, n := range r.Score.Namespaces {
			width = max(width, len(namespaceLabel(n.Namespace)))
		}
		for _, n := range r.Score.Namespaces {
			t.line(fmt.Sprintf("  %-*s  %5s  %d passed, %d failed", width, namespaceLabel(n.Namespace), formatScore(n.Score), n.Passed, n.Failed))
		}
	}
	t.line("")
}

func overallText(s *float64) string {
	if s == nil {
		return "not assessed: nothing scorable was found in the inputs"
	}
	return formatScore(s) + " / 100"
}

// failures lists the failures by layer, then namespace, then check (most
// severe first), with each check's remediation once after its findings.
func (t *textWriter) failures(r *Report) {
	s := r.Summary
	if s.Fail == 0 {
		t.heading("FAILURES  none")
		t.line("")
		return
	}
	head := fmt.Sprintf("FAILURES  %d (%s)", s.Fail, strings.Join(s.Failures.nonZero("%[1]s %[2]d"), ", "))
	if b := r.Baseline; b != nil {
		head += fmt.Sprintf(", %d new since the baseline (marked NEW)", b.New)
	}
	t.heading("%s", head)

	for _, layer := range layerOrder(r) {
		var fails []Result
		for _, res := range r.Results {
			if res.Status == "fail" && res.Layer == layer {
				fails = append(fails, res)
			}
		}
		if len(fails) == 0 {
			continue
		}
		t.line("")
		t.heading("%s: %s", strings.ToUpper(layer), plural(len(fails), "failure", "failures"))
		for _, ns := range groupBy(fails, func(x Result) string { return x.Object.ScoreNamespace() }) {
			t.line("  namespace " + namespaceLabel(ns[0].Object.ScoreNamespace()))
			groups := groupBy(ns, func(x Result) string { return x.Check })
			sort.SliceStable(groups, func(i, j int) bool {
				a, b := severityRank(groups[i][0].Severity), severityRank(groups[j][0].Severity)
				if a != b {
					return a > b
				}
				return groups[i][0].Check < groups[j][0].Check
			})
			for _, g := range groups {
				for _, f := range g {
					check := f.Check
					if f.isNew() {
						check = t.paint(ansiBold, "NEW") + " " + check
					}
					head := fmt.Sprintf("    %s %s  %s", t.severity(f.Severity), check, f.Object.ID())
					where := f.Source.Where()
					switch {
					case where == "":
						t.line(head)
					case visibleLen(head)+2+len(where) <= t.width:
						t.line(head + "  " + where)
					default: // the location on a line of its own
						t.line(head)
						t.line("             " + where)
					}
					msg := f.Message
					if f.Path != "" {
						msg += " (" + f.Path + ")"
					}
					t.wrapped("             ", 13, msg)
				}
			}
		}
	}
	t.line("")
}

// layerOrder is the layers in score order, then any others the results
// name.
func layerOrder(r *Report) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range r.Score.Layers {
		out = append(out, l.Layer)
		seen[l.Layer] = true
	}
	for _, res := range r.Results {
		if !seen[res.Layer] {
			out = append(out, res.Layer)
			seen[res.Layer] = true
		}
	}
	return out
}

// groupBy splits results into groups of equal key, in order of first
// appearance.
func groupBy(rs []Result, key func(Result) string) [][]Result {
	var out [][]Result
	index := map[string]int{}
	for _, x := range rs {
		k := key(x)
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], x)
	}
	return out
}

func severityRank(s string) int {
	for i, n := range []string{"info", "low", "medium", "high", "critical"} {
		if n == s {
			return i
		}
	}
	return -1
}

func (t *textWriter) exempted(r *Report) {
	if r.Summary.Exempted == 0 && len(r.ExpiredExemptions) == 0 && len(r.UnusedExemptions) == 0 {
		return
	}
	if r.Summary.Exempted > 0 {
		t.heading("EXEMPTED  %d", r.Summary.Exempted)
		n := 0
		for _, res := range r.Results {
			if !res.Exempted {
				continue
			}
			if n++; n > maxExempted {
				continue
			}
			t.listResult(res)
		}
		if n > maxExempted {
			t.line(fmt.Sprintf("  and %d more (see -o json)", n-maxExempted))
		}
		t.line("")
	}
	if len(r.ExpiredExemptions) > 0 {
		t.heading("EXPIRED EXEMPTIONS  %d (their checks apply again)", len(r.ExpiredExemptions))
		for _, e := range r.ExpiredExemptions {
			t.wrapped("  expired "+e.Expires+":", 4, describeExemption(e))
		}
		t.line("")
	}
	if len(r.UnusedExemptions) > 0 {
		t.heading("UNUSED EXEMPTIONS  %d (they exempt nothing: a typo, or what they exempted is gone)", len(r.UnusedExemptions))
		for _, e := range r.UnusedExemptions {
			t.wrapped("  ", 4, describeExemption(e))
		}
		t.line("")
	}
}

func describeExemption(e Exemption) string {
	parts := []string{"checks " + strings.Join(e.Checks, ", ")}
	if len(e.Namespaces) > 0 {
		parts = append(parts, "namespaces "+strings.Join(e.Namespaces, ", "))
	}
	if len(e.Kinds) > 0 {
		parts = append(parts, "kinds "+strings.Join(e.Kinds, ", "))
	}
	if len(e.Names) > 0 {
		parts = append(parts, "names "+strings.Join(e.Names, ", "))
	}
	if len(e.Labels) > 0 {
		keys := make([]string, 0, len(e.Labels))
		for k := range e.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			keys[i] = k + "=" + e.Labels[k]
		}
		parts = append(parts, "labels "+strings.Join(keys, ", "))
	}
	return strings.Join(parts, "; ") + " (reason: " + e.Reason + ")"
}

// baseline says what comparing with the baseline found: the counts, the
// score's change, the baseline's findings this run fixed, and its entries
// that expired.
func (t *textWriter) baseline(r *Report) {
	b := r.Baseline
	if b == nil {
		return
	}
	t.heading("BASELINE  %s", b.Source)
	if !b.Comparable {
		t.wrapped("  not comparable:", 4, b.Why)
	}
	t.line(fmt.Sprintf("  %d new, %d unchanged, %d updated, %d fixed", b.New, b.Unchanged, b.Updated, len(b.Absent)))
	t.wrapped("  ", 4, fmt.Sprintf("%s: failures the baseline accepts, which --fail-on-new does not count", plural(b.Suppressed, "suppressed", "suppressed")))
	if c := r.scoreChange(); c != "" {
		t.line("  " + c)
	}
	for _, l := range []struct {
		head  string
		items []BaselineFinding
	}{
		{"fixed since the baseline", b.Absent},
		{"expired entries (their failures count as new again)", b.Expired},
	} {
		if len(l.items) == 0 {
			continue
		}
		t.line(fmt.Sprintf("  %s: %d", l.head, len(l.items)))
		for i, f := range l.items {
			if i == maxExempted {
				t.line(fmt.Sprintf("    and %d more (see -o json)", len(l.items)-maxExempted))
				break
			}
			t.wrapped("    ", 6, f.describe())
		}
	}
	t.line("")
}

// skips counts the skips no exemption caused, by check.
func (t *textWriter) skips(r *Report) {
	n := r.Summary.Skip - r.Summary.Exempted
	if n == 0 {
		return
	}
	exempted := map[string]int{}
	for _, res := range r.Results {
		if res.Exempted {
			exempted[res.Check]++
		}
	}
	var perCheck []string
	for _, c := range r.Checks {
		if k := c.Skip - exempted[c.ID]; k > 0 {
			perCheck = append(perCheck, fmt.Sprintf("%s %d", c.ID, k))
		}
	}
	t.heading("SKIPPED  %d not applicable", n)
	t.wrapped("  ", 2, strings.Join(perCheck, ", "))
	t.line("")
}

// errors lists the checks that failed to run on an object.
func (t *textWriter) errors(r *Report) {
	if r.Summary.Error == 0 {
		return
	}
	t.heading("CHECK ERRORS  %d (not scored; please report them)", r.Summary.Error)
	for _, res := range r.Results {
		if res.Status != "error" {
			continue
		}
		t.listResult(res)
	}
	t.line("")
}

// inputs lists what was not read, and repeats the partial-run warning last,
// where a reader of a long report ends.
func (t *textWriter) inputs(r *Report) {
	if len(r.SkippedInputs) > 0 {
		t.heading("INPUTS NOT READ  %d", len(r.SkippedInputs))
		for _, s := range r.SkippedInputs {
			t.wrapped("  ", 4, s)
		}
		t.line("")
	}
	if len(r.InputErrors) > 0 {
		t.heading("INPUT ERRORS  %d", len(r.InputErrors))
		for _, e := range r.InputErrors {
			t.wrapped("  "+e.Where()+":", 4, e.Message)
		}
		t.line("")
		t.partial(r)
	}
}

// listResult writes one exempted or errored result: check, object, where,
// then the message indented.
func (t *textWriter) listResult(res Result) {
	head := "  " + res.Check + "  " + res.Object.ID()
	if where := res.Source.Where(); where != "" {
		head += "  " + where
	}
	t.line(head)
	t.wrapped("    ", 4, res.Message)
}
