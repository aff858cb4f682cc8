package report

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
)

// maxMarkdownRows caps the failures table: a pull-request comment has a
// size limit, and past a hundred rows nobody reads one anyway.
const maxMarkdownRows = 100

// mdTable keeps text on one table row and in one cell: newlines would end
// the row and pipes the cell (GitHub honours \| even in code spans).
func mdTable(s string) string {
	s = strings.ReplaceAll(s, "\r\n", " ")
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// EscapeMarkdownCell escapes text for a Markdown table cell. Angle brackets are escaped too:
// messages quote values such as <none>, which GitHub would drop as HTML.
func EscapeMarkdownCell(s string) string {
	s = strings.ReplaceAll(s, "&", "&amp;")
	s = strings.ReplaceAll(s, "<", "&lt;")
	s = strings.ReplaceAll(s, ">", "&gt;")
	return mdTable(s)
}

// mdCode makes text a code span fit for a table cell, with a longer fence
// when it holds backticks.
func mdCode(s string) string {
	if s == "" {
		return ""
	}
	s = mdTable(s)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

func writeMarkdown(w io.Writer, r *Report, _ Options) error {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }

	title := "not assessed"
	if r.Score.Overall != nil {
		title = formatScore(r.Score.Overall) + " / 100"
	}
	name := r.Tool.Name
	if name == "" {
		name = "plimsoll"
	}
	p("## %s readiness: %s", name, title)
	p("")
	p("**Verdict:** %s.", EscapeMarkdownCell(r.Score.Verdict.Summary))
	p("")
	if r.Partial {
		p("> [!WARNING]")
		p("> **PARTIAL RUN:** %s could not be read; the scores cover only what was read.",
			plural(len(r.InputErrors), "input", "inputs"))
		for _, e := range r.InputErrors {
			p("> - %s: %s", mdCode(e.Where()), EscapeMarkdownCell(e.Message))
		}
		p("")
	}

	p("Audit of %s (%s)%s.", r.Mode, plural(r.Summary.Objects, "object", "objects"), asOf(r.Time))
	p("")
	p("| Layer | Score | Checks assessed |")
	p("| --- | ---: | --- |")
	for _, l := range r.Score.Layers {
		score := formatScore(l.Score)
		if l.Score == nil {
			score = "not assessed: " + EscapeMarkdownCell(l.Reason)
		}
		p("| %s | %s | %d of %d |", l.Layer, score, l.Assessed, l.Checks)
	}
	p("")
	c := r.Score.Coverage
	p("**Coverage:** %.1f%% of the checklist (%d of %s assessed).", c.Percent, c.Assessed, plural(c.Checks, "enabled check", "enabled checks"))
	p("")
	if b := r.Baseline; b != nil {
		if !b.Comparable {
			p("> [!WARNING]")
			p("> **Not comparable with the baseline** %s: %s.", mdCode(b.Source), EscapeMarkdownCell(b.Why))
			p("")
		}
		line := fmt.Sprintf("**Since the baseline** %s: %s.", mdCode(b.Source), EscapeMarkdownCell(b.counts()))
		if sc := r.scoreChange(); sc != "" && b.Comparable {
			line += " " + strings.ToUpper(sc[:1]) + sc[1:] + "."
		}
		p("%s", line)
		p("")
		if len(b.Expired) > 0 {
			p("Baseline entries that expired (their failures count as new again):")
			p("")
			for _, f := range b.Expired {
				p("- %s", EscapeMarkdownCell(f.describe()))
			}
			p("")
		}
	}

	s := r.Summary
	if s.Fail == 0 {
		p("### No failures")
	} else {
		if b := r.Baseline; b != nil {
			p("### Failures (%d, %d new since the baseline)", s.Fail, b.New)
		} else {
			p("### Failures (%d)", s.Fail)
		}
		p("")
		p("| Severity | Check | Object | Location | Message |")
		p("| --- | --- | --- | --- | --- |")
		// New ones first (they are what a change brings), then the most
		// severe, so the rows the cap drops are the least severe of those
		// the baseline already had.
		var fails []Result
		for _, res := range r.Results {
			if res.Status == "fail" {
				fails = append(fails, res)
			}
		}
		sort.SliceStable(fails, func(i, j int) bool {
			if a, b := fails[i].isNew(), fails[j].isNew(); a != b {
				return a
			}
			return severityRank(fails[i].Severity) > severityRank(fails[j].Severity)
		})
		for i, res := range fails {
			if i == maxMarkdownRows {
				p("")
				p("_and %d more_", len(fails)-maxMarkdownRows)
				break
			}
			msg := EscapeMarkdownCell(res.Message)
			if res.Path != "" {
				msg += " (" + mdCode(res.Path) + ")"
			}
			check := mdCode(res.Check)
			if res.isNew() {
				check = "**new** " + check
			}
			p("| %s | %s | %s | %s | %s |", res.Severity, check, EscapeMarkdownCell(res.Object.ID()),
				mdCode(res.Source.Where()), msg)
		}
	}
	p("")
	var tail []string
	if s.Exempted > 0 {
		tail = append(tail, plural(s.Exempted, "result", "results")+" exempted")
	}
	if n := s.Skip - s.Exempted; n > 0 {
		tail = append(tail, plural(n, "result", "results")+" not applicable")
	}
	if s.Error > 0 {
		tail = append(tail, plural(s.Error, "check error", "check errors"))
	}
	if n := len(r.ExpiredExemptions); n > 0 {
		tail = append(tail, plural(n, "expired exemption", "expired exemptions"))
	}
	if len(tail) > 0 {
		p("%s.", strings.Join(tail, ", "))
	}
	_, err := w.Write(b.Bytes())
	return err
}
