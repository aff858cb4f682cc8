// Package baseline compares a run with an earlier one, so that a gate
// fails on the findings a change brings, not on those it inherits. A
// finding is known by its fingerprint (report.Fingerprint), which holds
// no file, line or document index: moving or reformatting a file never
// makes its findings new, and a change that makes another object fail
// (deleting a budget) does.
//
// A baseline is read from a JSON report (plimsoll audit -o json), from a
// reviewed baseline file (File: the failures a team accepts for now, each
// with a reason, an owner and an expiry), or from the audit of a git
// commit (Checkout).
package baseline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"time"

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
	// Source names where it was read from: a file, or a git commit.
	Source string
	// Mode and Checks are the earlier run's scope: what it audited, and
	// the IDs of the checks it ran, sorted.
	Mode   string
	Checks []string
	// Score is the earlier run's overall score, when it is known.
	Score *float64
	// Findings are its failures, by fingerprint. Those of a baseline file
	// carry its reasons, owners and expiry dates.
	Findings map[string]report.BaselineFinding
}

// Load reads a baseline from a JSON report that plimsoll audit -o json
// wrote, or from a baseline file (ReadFile), whichever path holds: a JSON
// report starts with "{", which no baseline file, a YAML mapping, does.
func Load(path string) (*Baseline, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	if !isJSON(data) {
		f, err := decodeFile(path, data)
		if err != nil {
			return nil, err
		}
		return f.Baseline(path), nil
	}
	var r report.Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("baseline %s: not a plimsoll JSON report: %w", path, err)
	}
	if r.Kind != report.Kind {
		return nil, fmt.Errorf("baseline %s: kind %q, want a plimsoll %s (plimsoll audit -o json)", path, r.Kind, report.Kind)
	}
	return FromReport(path, &r)
}

// isJSON reports whether data is a JSON object: its first byte other than
// white space is "{".
func isJSON(data []byte) bool {
	data = bytes.TrimLeft(data, " \t\r\n")
	return len(data) > 0 && data[0] == '{'
}

// FromReport is the baseline a report makes, named source.
func FromReport(source string, r *report.Report) (*Baseline, error) {
	b := &Baseline{Source: source, Mode: r.Mode, Checks: checkIDs(r), Score: r.Score.Overall, Findings: map[string]report.BaselineFinding{}}
	for _, res := range r.Results {
		if res.Status != "fail" {
			continue
		}
		if res.Fingerprint == "" {
			return nil, fmt.Errorf("baseline %s: its failures have no fingerprints: write it again with this plimsoll", source)
		}
		b.Findings[res.Fingerprint] = report.BaselineFinding{Check: res.Check, Severity: res.Severity, Object: res.Object.ID(), Message: res.Message}
	}
	return b, nil
}

// Empty is the baseline of nothing found, in the scope of r: the audit of
// a commit that did not have the inputs yet.
func Empty(source string, r *report.Report) *Baseline {
	return &Baseline{Source: source, Mode: r.Mode, Checks: checkIDs(r), Findings: map[string]report.BaselineFinding{}}
}

// checkIDs are the IDs of the checks r ran, sorted.
func checkIDs(r *report.Report) []string {
	ids := make([]string, 0, len(r.Checks))
	for _, c := range r.Checks {
		ids = append(ids, c.ID)
	}
	sort.Strings(ids)
	return ids
}

// Compare marks each failure of r new, unchanged or updated against b,
// and says so in r.Baseline, with the baseline's findings r no longer
// has. A finding whose entry expired before now is new: the entry
// suppresses nothing any more, and r.Baseline lists it as expired.
func Compare(r *report.Report, b *Baseline, now time.Time) {
	c := &report.BaselineComparison{Source: b.Source, Comparable: true, Score: b.Score,
		Absent: []report.BaselineFinding{}, Expired: []report.BaselineFinding{}}
	r.Baseline = c
	switch checks := checkIDs(r); {
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
		case expired(was, now):
			res.BaselineState = New
			c.New++
			c.Expired = append(c.Expired, was)
		case was.Message == res.Message:
			res.BaselineState = Unchanged
			c.Unchanged++
		default:
			res.BaselineState = Updated
			c.Updated++
		}
	}
	c.Suppressed = c.Unchanged + c.Updated
	for fp, f := range b.Findings {
		if !seen[fp] {
			c.Absent = append(c.Absent, f)
		}
	}
	sortFindings(c.Absent)
	sortFindings(c.Expired)
}

// sortFindings sorts findings by object, then check and message.
func sortFindings(fs []report.BaselineFinding) {
	sort.Slice(fs, func(i, j int) bool {
		x, y := fs[i], fs[j]
		if x.Object != y.Object {
			return x.Object < y.Object
		}
		return x.Check+x.Message < y.Check+y.Message
	})
}

// expired reports whether a finding's entry has expired at now: an entry
// suppresses its finding through the whole day it names (UTC), as an
// exemption of the configuration does.
func expired(f report.BaselineFinding, now time.Time) bool {
	if f.Expires == "" {
		return false
	}
	day, err := time.Parse(time.DateOnly, f.Expires)
	return err == nil && !now.Before(day.AddDate(0, 0, 1))
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
