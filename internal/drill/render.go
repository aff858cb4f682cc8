package drill

import (
	"bufio"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/plimsoll/plimsoll/internal/report"
)

// Formats are the output formats of a drill report.
func Formats() []string { return []string{"text", "json", "markdown", "html"} }

// Write writes the report in a format.
func Write(w io.Writer, format string, r *Report) error {
	bw := bufio.NewWriter(w)
	var err error
	switch format {
	case "json":
		enc := json.NewEncoder(bw)
		enc.SetIndent("", "  ")
		err = enc.Encode(r)
	case "text":
		writeText(bw, r)
	case "markdown":
		writeMarkdown(bw, r)
	case "html":
		err = htmlPage.Execute(bw, r)
	default:
		return fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats(), ", "))
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

// Title says what the drill disrupted, in words.
func (r *Report) Title() string {
	sc := r.Scenario
	switch sc.Kind {
	case Drain:
		return "Drain " + strings.Join(sc.Nodes, ", ") + ", one after another"
	case Upgrade:
		on := "every node"
		if sc.Selector != "" {
			on = "the nodes matching " + sc.Selector
		}
		return fmt.Sprintf("Upgrade %s, %d at a time", on, max(sc.MaxUnavailable, 1))
	case Zone:
		return "Lose zone " + sc.Zone + lostHow(sc)
	case Nodes:
		return "Lose the nodes matching " + sc.Selector + lostHow(sc)
	}
	return string(sc.Kind)
}

func lostHow(sc Scenario) string {
	if sc.NodesDeleted {
		return " (nodes deleted)"
	}
	return " (nodes unreachable)"
}

// SummaryLine counts the workloads by verdict, worst first.
func (r *Report) SummaryLine() string {
	var parts []string
	for _, v := range []string{Outage, Blocks, Pending, Degraded, Undetermined, Unaffected} {
		if n := r.Summary[v]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, v))
		}
	}
	if len(parts) == 0 {
		return "no workload touched"
	}
	return strings.Join(parts, ", ")
}

func writeText(w io.Writer, r *Report) {
	esc := report.EscapeTerminal
	fmt.Fprintf(w, "DRILL    %s\n", esc(r.Title()))
	if r.Source != "" {
		fmt.Fprintf(w, "SOURCE   %s", esc(r.Source))
		if r.At != nil {
			fmt.Fprintf(w, ", read %s", r.At.Format("2006-01-02 15:04 MST"))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "VERDICT  %s: %s\n\n", strings.ToUpper(r.Verdict), r.SummaryLine())
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tZONE\tWAVE\tVERDICT\tNEEDS\tREASON")
	for _, n := range r.Nodes {
		wave := "-"
		if n.Wave > 0 {
			wave = fmt.Sprint(n.Wave)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", esc(n.Name), orDash(esc(n.Zone)), wave, n.Verdict, orDash(strings.Join(n.Needs, " ")), esc(n.Reason))
	}
	tw.Flush()
	fmt.Fprintln(w)
	if len(r.Workloads) > 0 {
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VERDICT\tWORKLOAD\tREADY (before, lowest, after)\tREASON")
		for _, wl := range r.Workloads {
			if wl.Verdict == Unaffected {
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%d, %d, %d\t%s\n", wl.Verdict, esc(wl.ID()), wl.ReadyBefore, wl.ReadyDuring, wl.ReadyAfter, esc(wl.Reason))
		}
		tw.Flush()
		if n := r.Summary[Unaffected]; n > 0 {
			fmt.Fprintf(w, "%d more workload(s) touched and unaffected (-o json lists them).\n", n)
		}
		fmt.Fprintln(w)
	}
	if len(r.PDBs) > 0 {
		fmt.Fprintln(w, "BUDGETS")
		for _, b := range r.PDBs {
			fmt.Fprintf(w, "  %s/%s: %s\n", esc(b.Namespace), esc(b.Name), esc(b.describe()))
		}
		fmt.Fprintln(w)
	}
	if len(r.Unknowns) > 0 {
		fmt.Fprintln(w, "UNKNOWN")
		for _, u := range r.Unknowns {
			fmt.Fprintf(w, "  %s\n", esc(u.String()))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "ASSUMED")
	for _, a := range r.Assumptions {
		fmt.Fprintf(w, "  - %s\n", a)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// String names the object, if any, and the reason.
func (u Unknown) String() string {
	if u.Object == "" {
		return u.Reason
	}
	return u.Object + ": " + u.Reason
}

// describe says how the recomputed status differs from the recorded one,
// or what is wrong with the budget.
func (s PDBStatus) describe() string {
	var parts []string
	if s.Problem != "" {
		parts = append(parts, s.Problem)
	}
	mine := fmt.Sprintf("expected %d, desired %d, healthy %d, allowed %d", s.ExpectedPods, s.DesiredHealthy, s.CurrentHealthy, s.DisruptionsAllowed)
	if s.Cluster != nil {
		c := s.Cluster
		parts = append(parts, fmt.Sprintf("recomputed %s; the cluster records expected %d, desired %d, healthy %d, allowed %d", mine, c.ExpectedPods, c.DesiredHealthy, c.CurrentHealthy, c.DisruptionsAllowed))
	}
	return strings.Join(parts, "; ")
}

func writeMarkdown(w io.Writer, r *Report) {
	cell := func(s string) string { return report.EscapeMarkdownCell(s) }
	fmt.Fprintf(w, "# Drill: %s\n\n", cell(r.Title()))
	if r.Source != "" {
		fmt.Fprintf(w, "Source: %s", cell(r.Source))
		if r.At != nil {
			fmt.Fprintf(w, ", read %s", r.At.Format("2006-01-02 15:04 MST"))
		}
		fmt.Fprint(w, "\n\n")
	}
	fmt.Fprintf(w, "**Verdict: %s** (%s)\n\n", r.Verdict, r.SummaryLine())
	fmt.Fprint(w, "## Nodes\n\n| Node | Zone | Wave | Verdict | Needs | Reason |\n|---|---|---|---|---|---|\n")
	for _, n := range r.Nodes {
		wave := ""
		if n.Wave > 0 {
			wave = fmt.Sprint(n.Wave)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", cell(n.Name), cell(n.Zone), wave, n.Verdict, cell(strings.Join(n.Needs, " ")), cell(n.Reason))
	}
	fmt.Fprint(w, "\n## Workloads\n\n| Verdict | Workload | Ready before | Lowest | After | Reason |\n|---|---|---|---|---|---|\n")
	for _, wl := range r.Workloads {
		fmt.Fprintf(w, "| %s | %s | %d | %d | %d | %s |\n", wl.Verdict, cell(wl.ID()), wl.ReadyBefore, wl.ReadyDuring, wl.ReadyAfter, cell(wl.Reason))
	}
	if len(r.PDBs) > 0 {
		fmt.Fprint(w, "\n## Budgets\n\n")
		for _, b := range r.PDBs {
			fmt.Fprintf(w, "- %s/%s: %s\n", cell(b.Namespace), cell(b.Name), cell(b.describe()))
		}
	}
	if len(r.Unknowns) > 0 {
		fmt.Fprint(w, "\n## Unknown\n\n")
		for _, u := range r.Unknowns {
			fmt.Fprintf(w, "- %s\n", cell(u.String()))
		}
	}
	fmt.Fprint(w, "\n## Assumed\n\n")
	for _, a := range r.Assumptions {
		fmt.Fprintf(w, "- %s\n", a)
	}
}

var htmlPage = template.Must(template.New("drill").Funcs(template.FuncMap{
	"join": strings.Join,
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>plimsoll drill: {{.Title}}</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;padding:0 1em;color:#1b1f24}
table{border-collapse:collapse;width:100%;margin:0 0 1.5em}th,td{border-bottom:1px solid #d0d7de;padding:.35em .5em;text-align:left;vertical-align:top}
th{background:#f6f8fa}.v{font-weight:600;white-space:nowrap}
.outage,.blocks{color:#b42318}.pending,.degraded,.serializes,.unknown{color:#9a6700}.unaffected,.drains{color:#1a7f37}.lost{color:#57606a}
</style></head><body>
<h1>Drill: {{.Title}}</h1>
{{with .Source}}<p>Source: {{.}}{{with $.At}}, read {{.Format "2006-01-02 15:04 MST"}}{{end}}</p>{{end}}
<p id="verdict">Verdict: <span class="v {{.Verdict}}">{{.Verdict}}</span> ({{.SummaryLine}})</p>
<h2>Nodes</h2>
<table id="nodes"><thead><tr><th>Node</th><th>Zone</th><th>Wave</th><th>Verdict</th><th>Needs</th><th>Reason</th></tr></thead><tbody>
{{range .Nodes}}<tr><td>{{.Name}}</td><td>{{.Zone}}</td><td>{{if .Wave}}{{.Wave}}{{end}}</td><td class="v {{.Verdict}}">{{.Verdict}}</td><td>{{join .Needs " "}}</td><td>{{.Reason}}</td></tr>
{{end}}</tbody></table>
<h2>Workloads</h2>
<table id="workloads"><thead><tr><th>Verdict</th><th>Workload</th><th>Ready before</th><th>Lowest</th><th>After</th><th>Reason</th></tr></thead><tbody>
{{range .Workloads}}<tr><td class="v {{.Verdict}}">{{.Verdict}}</td><td>{{.ID}}</td><td>{{.ReadyBefore}}</td><td>{{.ReadyDuring}}</td><td>{{.ReadyAfter}}</td><td>{{.Reason}}</td></tr>
{{end}}</tbody></table>
{{with .Unknowns}}<h2>Unknown</h2><ul>{{range .}}<li>{{.String}}</li>{{end}}</ul>{{end}}
<h2>Assumed</h2><ul>{{range .Assumptions}}<li>{{.}}</li>{{end}}</ul>
</body></html>
`))
