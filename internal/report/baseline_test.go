package report

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/internal/golden"
)

// baselineReport is the test audit's report as package baseline leaves it
// after a comparison with a baseline file: two failures new (one because
// its entry expired), one updated, the rest unchanged, one finding fixed,
// and the score up from 61.25.
func baselineReport(t *testing.T) *Report {
	t.Helper()
	r := Build(testAudit(t, 1), testInput)
	was := 61.25
	b := &BaselineComparison{
		Source: ".plimsoll-baseline.yaml", Comparable: true, Score: &was,
		Absent: []BaselineFinding{{Check: "demo-replicas", Severity: "high", Object: "Deployment prod/old", Message: "replicas is 1, want at least 2", Reason: "being retired", Owner: "alice"}},
	}
	n := 0
	for i := range r.Results {
		res := &r.Results[i]
		if res.Status != "fail" {
			continue
		}
		switch n++; n {
		case 1:
			res.BaselineState = "new"
			b.New++
			b.Expired = append(b.Expired, BaselineFinding{Check: res.Check, Severity: res.Severity, Object: res.Object.ID(), Message: res.Message,
				Reason: "the team is moving it", Owner: "bob", Expires: "2025-12-31"})
		case 2:
			res.BaselineState = "new"
			b.New++
		case 3:
			res.BaselineState = "updated"
			b.Updated++
		default:
			res.BaselineState = "unchanged"
			b.Unchanged++
		}
	}
	b.Suppressed = b.Unchanged + b.Updated
	r.Baseline = b
	return r
}

// The formats that list failures mark the new ones and say what the
// baseline suppressed, how the score moved and which entries expired.
func TestGoldenBaseline(t *testing.T) {
	r := baselineReport(t)
	for _, g := range []struct {
		format string
		opts   Options
		file   string
	}{
		{"text", Options{Gate: "passed (--fail-on-new critical); 5 suppressed by the baseline, not counted by --fail-on-new"}, "report-baseline.txt"},
		{"text", Options{Quiet: true}, "report-baseline-quiet.txt"},
		{"markdown", Options{}, "report-baseline.md"},
		{"github", Options{}, "report-baseline.github.txt"},
		{"json", Options{}, "report-baseline.json"},
	} {
		t.Run(g.file, func(t *testing.T) {
			golden.Check(t, filepath.Join("testdata", g.file+".golden"), render(t, r, g.format, g.opts), *update)
		})
	}
}

func TestBaselineInEveryFormat(t *testing.T) {
	r := baselineReport(t)
	text := string(render(t, r, "text", Options{Width: 1000}))
	for _, want := range []string{
		"since the baseline: 2 new, 4 unchanged, 1 updated, 1 fixed; 5 suppressed by the baseline; 1 baseline entry expired; score 61.3 → 33.3 (-28.0)",
		"FAILURES  7 (high 2, medium 5), 2 new since the baseline (marked NEW)",
		"expired entries (their failures count as new again): 1",
		"until 2025-12-31, owner bob (reason: the team is moving it)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text: no %q in:\n%s", want, text)
		}
	}
	if got := strings.Count(text, " NEW "); got != 2 {
		t.Errorf("text: %d failures marked NEW, want 2", got)
	}

	md := string(render(t, r, "markdown", Options{}))
	if got := strings.Count(md, "| **new** `"); got != 2 {
		t.Errorf("markdown: %d rows marked new, want 2:\n%s", got, md)
	}
	// New rows come first.
	if i, j := strings.Index(md, "**new**"), strings.Index(md, "| high | `"); i < 0 || j >= 0 && j < i {
		t.Errorf("markdown: new rows do not come first:\n%s", md)
	}
	if !strings.Contains(md, "Score 61.3 → 33.3 (-28.0).") {
		t.Errorf("markdown: no score change in:\n%s", md)
	}

	// GitHub: new failures at their severity's level, first; those the
	// baseline has as notices.
	var levels []string
	for _, line := range strings.Split(string(render(t, r, "github", Options{})), "\n") {
		if strings.HasPrefix(line, "::") && (strings.Contains(line, "title=demo-") || strings.Contains(line, "title=in the baseline%3A demo-")) {
			level, _, _ := strings.Cut(line[2:], " ")
			if strings.Contains(line, "title=in the baseline%3A ") {
				level = "existing " + level
			}
			levels = append(levels, level)
		}
	}
	want := []string{"error", "warning", "existing notice", "existing notice", "existing notice", "existing notice", "existing notice"}
	if diff := cmp.Diff(want, levels); diff != "" {
		t.Errorf("github annotations (-want +got):\n%s", diff)
	}

	// SARIF: each result's baselineState, and the counts in the run's
	// properties.
	var log struct {
		Runs []struct {
			Properties struct {
				Baseline struct {
					New, Unchanged, Updated, Absent, Suppressed, Expired int
				}
			}
			Results []struct {
				BaselineState string `json:"baselineState"`
			}
		}
	}
	if err := json.Unmarshal(render(t, r, "sarif", Options{}), &log); err != nil {
		t.Fatal(err)
	}
	states := map[string]int{}
	for _, res := range log.Runs[0].Results {
		states[res.BaselineState]++
	}
	if b := log.Runs[0].Properties.Baseline; b.New != 2 || b.Unchanged != 4 || b.Updated != 1 || b.Absent != 1 || b.Suppressed != 5 || b.Expired != 1 || states["new"] != 2 {
		t.Errorf("sarif: baseline properties %+v and result states %v, want 2 new, 4 unchanged, 1 updated, 1 absent, 5 suppressed, 1 expired", b, states)
	}

	// JUnit: new failures say so, and the verdict's suite carries the
	// comparison.
	junit := string(render(t, r, "junit", Options{}))
	for _, want := range []string{
		`<property name="baseline.comparison" value="2 new, 4 unchanged, 1 updated, 1 fixed; 5 suppressed by the baseline; 1 baseline entry expired"></property>`,
		`<property name="baseline.score" value="score 61.3 → 33.3 (-28.0)"></property>`,
	} {
		if !strings.Contains(junit, want) {
			t.Errorf("junit: no %s in:\n%s", want, junit)
		}
	}
	if n := strings.Count(junit, `<failure message="new since the baseline: `); n != 2 {
		t.Errorf("junit: %d failures marked new, want 2", n)
	}

	// JSON carries it all, and reads back the same.
	var back Report
	if err := json.Unmarshal(render(t, r, "json", Options{}), &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r.Baseline, back.Baseline); diff != "" {
		t.Errorf("baseline read back from JSON (-built +read):\n%s", diff)
	}
	for _, f := range []string{"text", "markdown", "github"} {
		if diff := cmp.Diff(string(render(t, r, f, Options{})), string(render(t, &back, f, Options{}))); diff != "" {
			t.Errorf("%s: report read back from JSON renders differently (-built +read):\n%s", f, diff)
		}
	}
}

// A score that did not move says so with a sign, and a baseline without a
// score (a file written when nothing was scorable) gives no change.
func TestScoreChange(t *testing.T) {
	was, now := 80.04, 79.96
	r := &Report{Score: Score{Overall: &now}, Baseline: &BaselineComparison{Score: &was}}
	if got, want := r.scoreChange(), "score 80.0 → 80.0 (+0.0)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	r.Baseline.Score = nil
	if got := r.scoreChange(); got != "" {
		t.Errorf("got %q for a baseline without a score, want none", got)
	}
}
