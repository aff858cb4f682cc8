package report

import (
	"fmt"
	"math"
)

// What the writers say of a comparison with a baseline (--baseline,
// --baseline-ref), the same words in each format.

// isNew reports whether a failure is new since the baseline the report
// was compared with: new findings are marked in every format that lists
// failures, and only they fail --fail-on-new.
func (r Result) isNew() bool {
	return r.BaselineState == "new"
}

// counts says the comparison in one phrase: "2 new, 34 unchanged,
// 7 updated, 1 fixed; 41 suppressed by the baseline".
func (b *BaselineComparison) counts() string {
	s := fmt.Sprintf("%d new, %d unchanged, %d updated, %d fixed; %d suppressed by the baseline",
		b.New, b.Unchanged, b.Updated, len(b.Absent), b.Suppressed)
	if n := len(b.Expired); n > 0 {
		s += "; " + plural(n, "baseline entry", "baseline entries") + " expired"
	}
	return s
}

// scoreChange says how the overall score moved since the baseline, as
// "score 61.2 → 64.0 (+2.8)", or "" when either run has none. The change
// is that of the scores as shown, rounded to a tenth, so the figures add
// up.
func (r *Report) scoreChange() string {
	b := r.Baseline
	if b == nil || b.Score == nil || r.Score.Overall == nil {
		return ""
	}
	was, now := math.Round(*b.Score*10)/10, math.Round(*r.Score.Overall*10)/10
	return fmt.Sprintf("score %.1f → %.1f (%+.1f)", was, now, now-was)
}

// describe names a finding of the baseline for people: the check, the
// object, and what a baseline file says of it.
func (f BaselineFinding) describe() string {
	s := f.Check + " on " + f.Object
	if f.Expires != "" {
		s += ", until " + f.Expires
	}
	if f.Owner != "" {
		s += ", owner " + f.Owner
	}
	if f.Reason != "" {
		s += " (reason: " + f.Reason + ")"
	}
	return s
}
