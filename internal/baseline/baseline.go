// Package baseline compares a run with an earlier one, so that a gate
// fails on the findings a change brings, not on those it inherits. A
// finding is known by its fingerprint (report.Fingerprint), which holds
// no file, line or document index: moving or reformatting a file never
// makes its findings new, and a change that makes another object fail
// (deleting a budget) does.
package baseline

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"

	"github.com/plimsoll/plimsoll/internal/report"
)

// States of a failure, and of a finding of the baseline, as SARIF names
// them (result.baselineState).
const (
	New       = "new"
	Unchanged = "unchanged"
	Updated   = "updated"
	Absent    = "absent"
)

// Baseline is what an earlier run found.
type Baseline struct {
	// Source is the file it was read from.
	Source string
	// Mode and Checks are the earlier run's scope: what it audited, and
	// the IDs of the checks it ran, sorted.
	Mode   string
	Checks []string
	// Findings are its failures, by fingerprint.
	Findings map[string]report.BaselineFinding
}

// Load reads a baseline from a JSON report that plimsoll audit -o json
// wrote.
func Load(path string) (*Baseline, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	var r report.Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("baseline %s: not a plimsoll JSON report: %w", path, err)
	}
	if r.Kind != report.Kind {
		return nil, fmt.Errorf("baseline %s: kind %q, want a plimsoll %s (plimsoll audit -o json)", path, r.Kind, report.Kind)
	}
	b := &Baseline{Source: path, Mode: r.Mode, Findings: map[string]report.BaselineFinding{}}
	for _, c := range r.Checks {
		b.Checks = append(b.Checks, c.ID)
	}
	sort.Strings(b.Checks)
	for _, res := range r.Results {
		if res.Status != "fail" {
			continue
		}
		if res.Fingerprint == "" {
			return nil, fmt.Errorf("baseline %s: its failures have no fingerprints: write it again with this plimsoll", path)
		}
		b.Findings[res.Fingerprint] = report.BaselineFinding{Check: res.Check, Severity: res.Severity, Object: res.Object.ID(), Message: res.Message}
	}
	return b, nil
}

// Compare marks each failure of r new, unchanged or updated against b,
// and says so in r.Baseline, with the baseline's findings r no longer has.
func Compare(r *report.Report, b *Baseline) {
	c := &report.BaselineComparison{Source: b.Source, Comparable: true, Absent: []report.BaselineFinding{}}
	r.Baseline = c
	var checks []string
	for _, ch := range r.Checks {
		checks = append(checks, ch.ID)
	}
	sort.Strings(checks)
	switch {
	case r.Mode != b.Mode:
		c.Comparable, c.Why = false, fmt.Sprintf("the baseline audited %s, this run %s", b.Mode, r.Mode)
	case !slices.Equal(checks, b.Checks):
		c.Comparable, c.Why = false, "the runs ran different checks "+difference(b.Checks, checks)
	}
	seen := map[string]bool{}
	for i := range r.Results {
		res := &r.Results[i]
		if res.Status != "fail" {
			continue
		}
		seen[res.Fingerprint] = true
		was, ok := b.Findings[res.Fingerprint]
		switch {
		case !ok:
			res.BaselineState = New
			c.New++
		case was.Message == res.Message:
			res.BaselineState = Unchanged
			c.Unchanged++
		default:
			res.BaselineState = Updated
			c.Updated++
		}
	}
	for fp, f := range b.Findings {
		if !seen[fp] {
			c.Absent = append(c.Absent, f)
		}
	}
	sort.Slice(c.Absent, func(i, j int) bool {
		x, y := c.Absent[i], c.Absent[j]
		if x.Object != y.Object {
			return x.Object < y.Object
		}
		return x.Check+x.Message < y.Check+y.Message
	})
}

// difference says which checks one side ran and the other did not.
func difference(was, now []string) string {
	var gone, added []string
	for _, id := range was {
		if !slices.Contains(now, id) {
			gone = append(gone, id)
		}
	}
	for _, id := range now {
		if !slices.Contains(was, id) {
			added = append(added, id)
		}
	}
	msg := "("
	if len(added) > 0 {
		msg += fmt.Sprintf("%d only in this run, such as %s", len(added), added[0])
	}
	if len(gone) > 0 {
		if len(added) > 0 {
			msg += "; "
		}
		msg += fmt.Sprintf("%d only in the baseline, such as %s", len(gone), gone[0])
	}
	return msg + ")"
}
