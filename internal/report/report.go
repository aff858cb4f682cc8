// Package report turns an audit into plimsoll's report and writes it in the
// formats users and tools read: text for people at a terminal, json and yaml
// for programs, sarif for code-scanning dashboards, junit for CI test
// reports, markdown for pull-request comments and html for a page to read
// in a browser or to serve.
//
// The Report type is a documented, versioned schema (docs/report-schema.md):
// the json and yaml formats are the Report itself, and every other writer
// renders from the Report alone, never from the audit, so a report read back
// from JSON renders the same. Output is deterministic: the same audit and
// input give byte-identical output in every format. The one time a report
// carries is the time it describes (Report.Time), which comes from the
// audit, and so from a snapshot or from the clock its caller passed in.
package report

import (
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/config"
)

// The report's schema version and kind. Additive changes (a new field, a
// new value where a consumer already has to expect unknown ones) keep the
// version; renaming, removing or changing the meaning of a field bumps it.
const (
	APIVersion = "plimsoll.dev/v1alpha2"
	Kind       = "Report"
)

// Input describes what was audited, besides the audit itself.
type Input struct {
	// Tool is the tool's name, "plimsoll" (the default when empty).
	Tool string
	// Version is the tool's version.
	Version string
	// Sources are what the user pointed at: paths, "-", "helm chart ./x".
	Sources []string
	// Errors are inputs that could not be read; any makes the run partial.
	Errors []InputError
	// Skipped are inputs deliberately not read, each with the reason.
	Skipped []string
	// Cluster describes the cluster read, live or from a snapshot.
	Cluster *Cluster
}

// Cluster is the cluster an audit read.
type Cluster struct {
	Server  string `json:"server"`
	Version string `json:"version"`
	Context string `json:"context,omitempty"`
	// Namespace is the namespace the audit was limited to, if any.
	Namespace string `json:"namespace,omitempty"`
	// Nodes is how many Nodes the audit saw, and Zones the zones their
	// topology.kubernetes.io/zone labels name, sorted.
	Nodes int      `json:"nodes"`
	Zones []string `json:"zones"`
}

// InputError is an input that could not be read: a file and line for
// manifests, or an object or resource for a cluster ("Pods (forbidden)").
type InputError struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Object  string `json:"object,omitempty"`
	Message string `json:"message"`
}

// Where names the input for people: file:line, file, or the object.
func (e InputError) Where() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("%s:%d", displayFile(e.File), e.Line)
	case e.File != "":
		return displayFile(e.File)
	}
	return e.Object
}

// displayFile names a file for people: "-" is standard input.
func displayFile(f string) string {
	if f == "-" {
		return "(stdin)"
	}
	return f
}

// Report is the outcome of an audit as users and tools see it.
type Report struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Tool       Tool   `json:"tool"`
	// Time is the time the report describes, in RFC 3339 form, in UTC and
	// to the second: when the snapshot audited was taken, or else when the
	// audit ran (TimeFormat). Empty only when the audit had no clock.
	Time string `json:"time"`
	// Mode is what the audit looked at: "manifests" or "cluster".
	Mode    string   `json:"mode"`
	Sources []string `json:"sources"`
	// Cluster is set when the audit read a cluster or a snapshot of one.
	Cluster *Cluster `json:"cluster,omitempty"`
	// Partial is true when some inputs could not be read: the scores then
	// cover only what was read.
	Partial       bool         `json:"partial"`
	InputErrors   []InputError `json:"inputErrors"`
	SkippedInputs []string     `json:"skippedInputs"`
	Summary       Summary      `json:"summary"`
	Score         Score        `json:"score"`
	// Checks are the enabled checks, sorted by ID.
	Checks []Check `json:"checks"`
	// DisabledChecks are the IDs of the checks configuration turned off or
	// left off, sorted.
	DisabledChecks []string `json:"disabledChecks"`
	// Results are every outcome of every check on every object, sorted by
	// object (namespace, kind, name) and then by check ID.
	Results           []Result    `json:"results"`
	ExpiredExemptions []Exemption `json:"expiredExemptions"`
	// UnusedExemptions exempted nothing though a check they name ran: a
	// typo, or what they exempted is gone. Omitted when there are none.
	UnusedExemptions []Exemption `json:"unusedExemptions,omitempty"`
	// Baseline is, when the run was compared with an earlier one
	// (--baseline), what the comparison found.
	Baseline *BaselineComparison `json:"baseline,omitempty"`
}

// BaselineComparison is what comparing a run with a baseline found
// (package baseline).
type BaselineComparison struct {
	// Source is the baseline's file.
	Source string `json:"source"`
	// Comparable is false when the runs differ in scope (one audited
	// manifests, the other a cluster) or in the checks they ran (another
	// plimsoll, another configuration): a finding may then be new or gone
	// only because of that. Why says how.
	Comparable bool   `json:"comparable"`
	Why        string `json:"why,omitempty"`
	// New, Unchanged and Updated count the run's failures by state.
	New       int `json:"new"`
	Unchanged int `json:"unchanged"`
	Updated   int `json:"updated"`
	// Suppressed counts the failures the baseline accepts, which
	// --fail-on-new therefore does not count: those unchanged or updated
	// against an entry that has not expired. A failure whose entry has
	// expired is new, so Suppressed is Unchanged plus Updated.
	Suppressed int `json:"suppressed"`
	// Score is the baseline's overall score, when it has one: a JSON
	// report's, or the one a baseline file was written at.
	Score *float64 `json:"score,omitempty"`
	// Absent are the baseline's findings the run no longer has: fixed.
	Absent []BaselineFinding `json:"absent"`
	// Expired are the entries of a baseline file past their expiry date
	// whose findings the run still has: they suppress nothing, and their
	// findings are new.
	Expired []BaselineFinding `json:"expired"`
}

// BaselineFinding is a failure of a baseline. Reason, Owner and Expires
// are what a reviewed baseline file says of it.
type BaselineFinding struct {
	Check    string `json:"check"`
	Severity string `json:"severity"`
	Object   string `json:"object"`
	Message  string `json:"message"`
	Reason   string `json:"reason,omitempty"`
	Owner    string `json:"owner,omitempty"`
	// Expires is the last day the entry suppresses its finding, as
	// 2006-01-02.
	Expires string `json:"expires,omitempty"`
}

// Tool names the program that made the report.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Summary counts the results.
type Summary struct {
	// Objects is how many objects the audit looked at.
	Objects int `json:"objects"`
	// Pass, Fail, Skip and Error count results; a check that finds several
	// things wrong with one object gives several fail results.
	Pass  int `json:"pass"`
	Fail  int `json:"fail"`
	Skip  int `json:"skip"`
	Error int `json:"error"`
	// Exempted counts the skips an exemption caused.
	Exempted int `json:"exempted"`
	// Failures counts fail results by severity.
	Failures SeverityCounts `json:"failures"`
}

// SeverityCounts counts results by severity, most severe first.
type SeverityCounts struct {
	Critical int `json:"critical"`
	High     int `json:"high"`
	Medium   int `json:"medium"`
	Low      int `json:"low"`
	Info     int `json:"info"`
}

func (c *SeverityCounts) add(s check.Severity) {
	switch s {
	case check.Critical:
		c.Critical++
	case check.High:
		c.High++
	case check.Medium:
		c.Medium++
	case check.Low:
		c.Low++
	default:
		c.Info++
	}
}

// Score is the audit's readiness, 0 to 100; docs/scoring.md explains it.
type Score struct {
	// Verdict says whether what was audited is production-ready by the
	// checklist, and what stops it.
	Verdict Verdict `json:"verdict"`
	// Overall is null when nothing scorable was assessed.
	Overall    *float64         `json:"overall"`
	Layers     []LayerScore     `json:"layers"`
	Namespaces []NamespaceScore `json:"namespaces"`
	Coverage   Coverage         `json:"coverage"`
}

// Verdict says whether what was audited is production-ready by the
// checklist.
type Verdict struct {
	// Status is "ready", "not-ready" or "incomplete".
	Status string `json:"status"`
	// Summary says it in one sentence, naming what stops it.
	Summary string `json:"summary"`
	// Blockers are the failing checks of high or critical severity, most
	// severe first, then by layer and ID.
	Blockers []Blocker `json:"blockers"`
}

// Blocker is a failing check of high or critical severity.
type Blocker struct {
	Check    string `json:"check"`
	Layer    string `json:"layer"`
	Severity string `json:"severity"`
	// Objects counts the objects it fails on.
	Objects int `json:"objects"`
}

// LayerScore is one layer's score; every layer is listed, in checklist
// order.
type LayerScore struct {
	Layer string `json:"layer"`
	// Score is null when the layer was not assessed; Reason says why.
	Score    *float64 `json:"score"`
	Reason   string   `json:"reason,omitempty"`
	Checks   int      `json:"checks"`
	Assessed int      `json:"assessed"`
}

// ScoreNamespace is the namespace whose score the object's results count
// in. It mirrors inventory.Object.ScoreNamespace: a Namespace's results
// belong to the namespace it is.
func (o Object) ScoreNamespace() string {
	if o.Kind == "Namespace" {
		return o.Name
	}
	return o.Namespace
}

// NamespaceScore is one namespace's score. Namespace "" holds
// cluster-scoped objects and objects whose manifests set no namespace.
type NamespaceScore struct {
	Namespace string   `json:"namespace"`
	Score     *float64 `json:"score"`
	// Passed and Failed count (check, object) pairs.
	Passed int `json:"passed"`
	Failed int `json:"failed"`
}

// Coverage says how much of the checklist the inputs let the audit judge.
type Coverage struct {
	Percent     float64       `json:"percent"`
	Checks      int           `json:"checks"`
	Assessed    int           `json:"assessed"`
	NotAssessed []NotAssessed `json:"notAssessed"`
}

// NotAssessed is a check the audit could not assess, and why.
type NotAssessed struct {
	Check  string `json:"check"`
	Reason string `json:"reason"`
}

// Check is one enabled check and how it fared.
type Check struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Layer string `json:"layer"`
	// Severity is the severity in force: the default or the configured one.
	Severity      string `json:"severity"`
	ChecklistItem string `json:"checklistItem"`
	Rationale     string `json:"rationale"`
	Remediation   string `json:"remediation"`
	// Pass, Fail, Skip and Error count objects; Fail counts an object once
	// however many findings it has.
	Pass  int `json:"pass"`
	Fail  int `json:"fail"`
	Skip  int `json:"skip"`
	Error int `json:"error"`
	// Assessed is false when the inputs could not show what the check
	// needs; Reason says why.
	Assessed bool   `json:"assessed"`
	Reason   string `json:"reason,omitempty"`
}

// Result is one check's outcome on one object.
type Result struct {
	Check    string `json:"check"`
	Layer    string `json:"layer"`
	Severity string `json:"severity"`
	// Status is pass, fail, skip or error.
	Status string `json:"status"`
	// Object and Source are shared by every result on the same object: a
	// large audit has hundreds of thousands of results.
	Object *Object `json:"object"`
	Source *Source `json:"source"`
	// Message is the finding for a failure, the reason for a skip and what
	// went wrong for an error; empty for a pass.
	Message string `json:"message,omitempty"`
	// Path is the field path of a failure.
	Path string `json:"path,omitempty"`
	// Exempted marks a skip that an exemption caused.
	Exempted bool `json:"exempted,omitempty"`
	// Fingerprint identifies a failure across runs (see Fingerprint).
	Fingerprint string `json:"fingerprint,omitempty"`
	// BaselineState is, when the run is compared with a baseline, whether
	// the failure is new, unchanged, or updated (the same finding, said
	// differently).
	BaselineState string `json:"baselineState,omitempty"`
}

// Object identifies a Kubernetes object.
type Object struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
}

// ID names the object for people: Kind namespace/name, or Kind name.
func (o Object) ID() string {
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

// Source says where an object came from.
type Source struct {
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Origin string `json:"origin,omitempty"`
}

// Where is file:line, the file, or the origin when there is no file.
func (s Source) Where() string {
	switch {
	case s.File != "" && s.Line > 0:
		return fmt.Sprintf("%s:%d", displayFile(s.File), s.Line)
	case s.File != "":
		return displayFile(s.File)
	}
	return s.Origin
}

// Exemption is an exemption from configuration that has expired: its checks
// apply again.
type Exemption struct {
	Checks     []string          `json:"checks"`
	Namespaces []string          `json:"namespaces,omitempty"`
	Kinds      []string          `json:"kinds,omitempty"`
	Names      []string          `json:"names,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	Reason     string            `json:"reason"`
	Expires    string            `json:"expires"`
}

// Build makes the report of an audit.
func Build(a *audit.Audit, in Input) *Report {
	if in.Tool == "" {
		in.Tool = "plimsoll"
	}
	r := &Report{
		APIVersion:        APIVersion,
		Kind:              Kind,
		Tool:              Tool{Name: in.Tool, Version: in.Version},
		Time:              formatTime(a.At),
		Mode:              string(a.Mode),
		Sources:           append([]string{}, in.Sources...),
		Cluster:           in.Cluster,
		Partial:           len(in.Errors) > 0,
		InputErrors:       append([]InputError{}, in.Errors...),
		SkippedInputs:     append([]string{}, in.Skipped...),
		Checks:            []Check{},
		DisabledChecks:    []string{},
		Results:           make([]Result, 0, len(a.Results)),
		ExpiredExemptions: []Exemption{},
	}
	sort.SliceStable(r.InputErrors, func(i, j int) bool {
		x, y := r.InputErrors[i], r.InputErrors[j]
		if x.File != y.File {
			return x.File < y.File
		}
		if x.Line != y.Line {
			return x.Line < y.Line
		}
		return x.Object < y.Object
	})

	r.Summary.Objects = a.Objects
	type shared struct {
		object *Object
		source *Source
	}
	refs := map[*audit.Object]shared{}
	for _, res := range a.Results {
		o := res.Object
		ref, ok := refs[o]
		if !ok {
			ref = shared{
				&Object{APIVersion: o.APIVersion, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name},
				&Source{File: o.Source.File, Line: o.Source.Line, Origin: o.Source.Origin},
			}
			refs[o] = ref
		}
		r.Results = append(r.Results, Result{
			Check:    res.Check.ID,
			Layer:    string(res.Check.Layer),
			Severity: res.Severity.String(),
			Status:   res.Status.String(),
			Object:   ref.object,
			Source:   ref.source,
			Message:  res.Message,
			Path:     res.Path,
			Exempted: res.Exempted,
		})
		if res.Status == audit.Fail {
			r.Results[len(r.Results)-1].Fingerprint = Fingerprint(res)
		}
		switch res.Status {
		case audit.Pass:
			r.Summary.Pass++
		case audit.Fail:
			r.Summary.Fail++
			r.Summary.Failures.add(res.Severity)
		case audit.Skip:
			r.Summary.Skip++
			if res.Exempted {
				r.Summary.Exempted++
			}
		case audit.Error:
			r.Summary.Error++
		}
	}

	for _, st := range a.Checks {
		c := st.Check
		r.Checks = append(r.Checks, Check{
			ID: c.ID, Title: c.Title, Layer: string(c.Layer), Severity: st.Severity.String(),
			ChecklistItem: c.ChecklistItem, Rationale: c.Rationale, Remediation: c.Remediation,
			Pass: st.Pass, Fail: st.Fail, Skip: st.Skip, Error: st.Error,
			Assessed: st.Assessed, Reason: st.Reason,
		})
	}
	for _, c := range a.Disabled {
		r.DisabledChecks = append(r.DisabledChecks, c.ID)
	}
	sort.Strings(r.DisabledChecks)

	s := a.Score
	r.Score = Score{
		Overall:    s.Overall,
		Layers:     []LayerScore{},
		Namespaces: []NamespaceScore{},
		Coverage: Coverage{
			Percent: s.Coverage.Percent, Checks: s.Coverage.Checks, Assessed: s.Coverage.Assessed,
			NotAssessed: []NotAssessed{},
		},
	}
	for _, l := range s.Layers {
		r.Score.Layers = append(r.Score.Layers, LayerScore{
			Layer: string(l.Layer), Score: l.Score, Reason: l.Reason, Checks: l.Checks, Assessed: l.Assessed,
		})
	}
	for _, n := range s.Namespaces {
		r.Score.Namespaces = append(r.Score.Namespaces, NamespaceScore{
			Namespace: n.Namespace, Score: n.Score, Passed: n.Passed, Failed: n.Failed,
		})
	}
	for _, st := range s.Coverage.NotAssessed {
		r.Score.Coverage.NotAssessed = append(r.Score.Coverage.NotAssessed, NotAssessed{Check: st.Check.ID, Reason: st.Reason})
	}
	r.Score.Verdict = verdict(s, r.Partial, len(r.InputErrors))

	for _, e := range a.ExpiredExemptions {
		r.ExpiredExemptions = append(r.ExpiredExemptions, exemptionOf(e))
	}
	for _, e := range a.UnusedExemptions {
		r.UnusedExemptions = append(r.UnusedExemptions, exemptionOf(e))
	}
	return r
}

// TimeFormat is the form of Report.Time: RFC 3339, in UTC, to the second.
const TimeFormat = "2006-01-02T15:04:05Z"

// formatTime formats t in TimeFormat, or as "" when it is zero.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeFormat)
}

// displayTime is a report's time as people read it, "2026-01-02 15:04:05 UTC",
// or as written when it is not in TimeFormat.
func displayTime(s string) string {
	t, err := time.Parse(TimeFormat, s)
	if err != nil {
		return s
	}
	return t.Format("2006-01-02 15:04:05 UTC")
}

// asOf is " as of" the report's time, for a sentence about the audit, or
// "" when it has none.
func asOf(s string) string {
	if s == "" {
		return ""
	}
	return " as of " + displayTime(s)
}

func exemptionOf(e config.Exemption) Exemption {
	return Exemption{Checks: e.Checks, Namespaces: e.Namespaces, Kinds: e.Kinds, Names: e.Names, Labels: e.Labels, Reason: e.Reason, Expires: e.Expires}
}

// check returns the report's entry for a check ID, or nil.
func (r *Report) check(id string) *Check {
	i := sort.Search(len(r.Checks), func(i int) bool { return r.Checks[i].ID >= id })
	if i < len(r.Checks) && r.Checks[i].ID == id {
		return &r.Checks[i]
	}
	return nil
}

// Options tune writing.
type Options struct {
	// Color uses ANSI colours and bold; only the text format has any.
	Color bool
	// Width is the column the text format wraps at: the terminal's width,
	// or DefaultWidth when it is 0.
	Width int
	// Quiet makes the text format the summary alone (and the gates').
	Quiet bool
	// Gate is what the run's gates (--fail-on, --min-score, --fail-on-new)
	// decided, for the text format's last lines: "" when none was set.
	Gate string
	// SARIFRoot is the absolute directory the sarif format names files
	// relative to (--sarif-root): a file under it by its path from it,
	// with the uriBaseId ROOT, which the log says is SARIFRoot; a file
	// outside it by an absolute file URI. Code scanning reads relative
	// paths as paths in the repository, so it is the repository's top.
	// Empty: files are named as the report names them.
	SARIFRoot string
	// Dir is the directory the report's relative file names are relative
	// to, the run's working directory, for the sarif format to place them
	// under SARIFRoot. Empty means SARIFRoot.
	Dir string
}

// DefaultWidth is the text format's width when the terminal's is unknown.
const DefaultWidth = 80

var writers = []struct {
	name  string
	write func(io.Writer, *Report, Options) error
}{
	{"text", writeText},
	{"json", writeJSON},
	{"yaml", writeYAML},
	{"sarif", writeSARIF},
	{"junit", writeJUnit},
	{"markdown", writeMarkdown},
	{"html", writeHTML},
	{"github", writeGitHub},
}

// Formats returns the names Write accepts, the default first.
func Formats() []string {
	out := make([]string, len(writers))
	for i, w := range writers {
		out[i] = w.name
	}
	return out
}

// Write writes the report in a format Formats names.
func Write(w io.Writer, format string, r *Report, opts Options) error {
	for _, x := range writers {
		if x.name == format {
			if err := x.write(w, r, opts); err != nil {
				return fmt.Errorf("write %s report: %w", format, err)
			}
			return nil
		}
	}
	return fmt.Errorf("unknown report format %q (want one of %v)", format, Formats())
}
