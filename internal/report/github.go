package report

import (
	"fmt"
	"io"
	"strings"
)

// GitHub Actions workflow commands: one annotation per failure, which
// GitHub shows on the pull request's files at the line the object starts
// (critical and high findings as errors, medium as warnings, the rest as
// notices), an error per input that could not be read, and a summary line.
// GitHub shows a limited number of annotations per step; the summary line
// counts them all.
//
// When the run was compared with a baseline, only the failures new since
// it keep their severity's level, and come first; those the baseline has
// are notices, titled so, whatever their severity: a pull request is
// shown what it brings, not what it inherits. Each baseline entry that
// expired is a warning, and the summary line says how many failures were
// new and how many the baseline suppressed.
// https://docs.github.com/actions/reference/workflow-commands-for-github-actions

func writeGitHub(w io.Writer, r *Report, _ Options) error {
	titles := map[string]string{}
	for _, c := range r.Checks {
		titles[c.ID] = c.Title
	}
	var b strings.Builder
	for _, e := range r.InputErrors {
		b.WriteString(githubCommand("error", e.File, e.Line, "plimsoll: cannot read input", e.Where()+": "+e.Message))
	}
	// Without a baseline every failure is new; with one, new ones first.
	for _, existing := range []bool{false, true} {
		for _, res := range r.Results {
			fresh := r.Baseline == nil || res.isNew()
			if res.Status != "fail" || fresh == existing {
				continue
			}
			msg := res.Object.ID() + ": " + res.Message
			if res.Path != "" {
				msg = res.Object.ID() + " " + res.Path + ": " + res.Message
			}
			title := fmt.Sprintf("%s (%s, %s): %s", res.Check, res.Severity, res.Layer, titles[res.Check])
			level := githubLevel(res.Severity)
			if existing {
				title, level = "in the baseline: "+title, "notice"
			}
			var file string
			var line int
			if res.Source != nil && res.Source.File != "-" {
				file, line = res.Source.File, res.Source.Line
			}
			b.WriteString(githubCommand(level, file, line, title, msg))
		}
	}
	if bl := r.Baseline; bl != nil {
		for _, e := range bl.Expired {
			b.WriteString(githubCommand("warning", "", 0, "plimsoll: baseline entry expired", e.describe()+": its failure counts as new again"))
		}
	}
	f := r.Summary.Failures
	score := "no score"
	if r.Score.Overall != nil {
		score = fmt.Sprintf("score %.1f", *r.Score.Overall)
	}
	fmt.Fprintf(&b, "plimsoll: %d failure(s) (%d critical, %d high, %d medium, %d low, %d info), %s, %d input error(s)",
		r.Summary.Fail, f.Critical, f.High, f.Medium, f.Low, f.Info, score, len(r.InputErrors))
	if bl := r.Baseline; bl != nil {
		fmt.Fprintf(&b, "; since the baseline: %s", bl.counts())
		if !bl.Comparable {
			fmt.Fprintf(&b, "; not comparable with it: %s", githubData(bl.Why))
		}
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// githubLevel is the annotation a finding of a severity becomes.
func githubLevel(severity string) string {
	switch severity {
	case "critical", "high":
		return "error"
	case "medium":
		return "warning"
	}
	return "notice"
}

// githubCommand is one workflow command line, its properties and message
// escaped as the runner unescapes them, so no input can end the line or
// start a command of its own.
func githubCommand(level, file string, line int, title, message string) string {
	var props []string
	if file != "" {
		props = append(props, "file="+githubProperty(file))
		if line > 0 {
			props = append(props, fmt.Sprintf("line=%d", line))
		}
	}
	props = append(props, "title="+githubProperty(title))
	return "::" + level + " " + strings.Join(props, ",") + "::" + githubData(message) + "\n"
}

var (
	githubDataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	githubPropertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

func githubData(s string) string     { return githubDataEscaper.Replace(s) }
func githubProperty(s string) string { return githubPropertyEscaper.Replace(s) }
