package report

import (
	"fmt"
	"strings"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/check"
)

// verdict says whether the audit shows production readiness by the
// checklist; inputErrors counts the inputs a partial run could not read.
func verdict(s audit.Score, partial bool, inputErrors int) Verdict {
	v := Verdict{Status: string(s.Verdict(partial)), Blockers: []Blocker{}}
	for _, b := range s.Blockers {
		v.Blockers = append(v.Blockers, Blocker{Check: b.Check.ID, Layer: string(b.Check.Layer), Severity: b.Severity.String(), Objects: b.Objects})
	}
	switch audit.Verdict(v.Status) {
	case audit.NotReady:
		v.Summary = fmt.Sprintf("not production-ready: %s of high or critical severity %s, in %s",
			plural(len(v.Blockers), "check", "checks"), fails(len(v.Blockers)), blockersByLayer(v.Blockers))
	case audit.Incomplete:
		var gaps []string
		for _, l := range s.Unassessed() {
			gaps = append(gaps, string(l))
		}
		if len(gaps) > 0 {
			gaps = []string{joinAnd(gaps) + " could not be assessed"}
		}
		if partial {
			gaps = append(gaps, plural(inputErrors, "input", "inputs")+" could not be read")
		}
		v.Summary = "no check of high or critical severity fails in what was assessed, but " + strings.Join(gaps, ", and ") + ": readiness cannot be claimed"
	default:
		v.Summary = "production-ready by the checklist: every layer was assessed and no check of high or critical severity fails"
	}
	return v
}

func fails(n int) string {
	if n == 1 {
		return "fails"
	}
	return "fail"
}

// blockersByLayer names the blocking checks layer by layer, in checklist
// order: "security (pss-baseline), cluster-services (monitoring-prometheus
// and logging-shipper)".
func blockersByLayer(bs []Blocker) string {
	var parts []string
	for _, l := range check.Layers() {
		var ids []string
		for _, b := range bs {
			if b.Layer == string(l) {
				ids = append(ids, b.Check)
			}
		}
		if len(ids) > 0 {
			parts = append(parts, fmt.Sprintf("%s (%s)", l, joinAnd(ids)))
		}
	}
	return strings.Join(parts, ", ")
}

// joinAnd joins items as a sentence does: "a", "a and b", "a, b and c".
func joinAnd(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
