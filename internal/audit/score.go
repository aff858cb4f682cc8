package audit

import (
	"math"
	"slices"
	"sort"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

// Score is an audit's readiness, 0 to 100, overall, per layer and per
// namespace, with what it could not assess and what stops production.
// docs/scoring.md explains it.
type Score struct {
	// Overall is the mean of the assessed layers' scores; nil when no
	// layer has one.
	Overall    *float64
	Layers     []LayerScore
	Namespaces []NamespaceScore
	Coverage   Coverage
	// Blockers are the failing checks of high or critical severity, most
	// severe first, then by layer and ID: what stops the cluster from
	// being production-ready by the checklist.
	Blockers []Blocker
}

// Blocker is a failing check of high or critical severity.
type Blocker struct {
	Check *check.Check
	// Severity is the check's severity after configuration.
	Severity check.Severity
	// Objects counts the objects it fails on.
	Objects int
}

// Verdict says whether the audited cluster or manifests are
// production-ready by the checklist.
type Verdict string

const (
	// Ready: every layer was assessed, every input read, and no check of
	// high or critical severity fails.
	Ready Verdict = "ready"
	// NotReady: a check of high or critical severity fails.
	NotReady Verdict = "not-ready"
	// Incomplete: nothing high or critical fails in what was assessed, but
	// a layer with enabled checks had none assessed (manifests cannot show
	// infrastructure) or some input could not be read, so readiness cannot
	// be claimed.
	Incomplete Verdict = "incomplete"
)

// Verdict is the score's verdict; partial says some inputs could not be
// read.
func (s Score) Verdict(partial bool) Verdict {
	switch {
	case len(s.Blockers) > 0:
		return NotReady
	case partial:
		return Incomplete
	}
	if len(s.Unassessed()) > 0 {
		return Incomplete
	}
	return Ready
}

// Unassessed are the layers with enabled checks of which none could be
// assessed (a manifest audit cannot show infrastructure): while there is
// one, readiness cannot be claimed.
func (s Score) Unassessed() []check.Layer {
	var out []check.Layer
	for _, l := range s.Layers {
		if l.Checks > 0 && l.Assessed == 0 {
			out = append(out, l.Layer)
		}
	}
	return out
}

// LayerScore is one layer's score.
type LayerScore struct {
	Layer check.Layer
	// Score is nil when the layer was not assessed; Reason says why.
	Score  *float64
	Reason string
	// Checks and Assessed count the layer's enabled checks and those that
	// were assessed.
	Checks, Assessed int
}

// NamespaceScore is one namespace's score. Namespace "" holds
// cluster-scoped objects and objects whose manifests set no namespace.
type NamespaceScore struct {
	Namespace string
	Score     *float64
	Passed    int
	Failed    int
}

// Coverage says how much of the checklist the inputs let the audit judge.
type Coverage struct {
	// Percent is the mean, over the six layers, of the share of the layer's
	// enabled checks that were assessed; a layer with none counts as 0.
	Percent float64
	// Checks and Assessed count enabled and assessed checks.
	Checks, Assessed int
	// NotAssessed lists the checks that could not be assessed, and why.
	NotAssessed []*CheckState
}

// NotAssessedLayerReason is why the layers that describe a running cluster
// cannot be judged from manifests.
const NotAssessedLayerReason = "manifests cannot show what a cluster runs; audit a live cluster or a snapshot"

// InfoOnlyLayerReason is why a layer whose only judged checks are info
// checks has no score.
const InfoOnlyLayerReason = "only info checks judged anything, and they carry no weight"

// pairs counts the assessed (check, object) pairs of one check that pass and
// fail.
type pairs struct {
	severity       check.Severity
	passed, failed int
}

// checkScores is the severity-weighted share of checks met: a check with an
// assessed pair counts once, whatever the number of objects it judged, and
// is met when none of them fails it.
type checkScores struct{ met, weight float64 }

func (t *checkScores) add(p *pairs) {
	w := float64(p.severity.Weight())
	if p.failed == 0 {
		t.met += w
	}
	t.weight += w
}

// percent is the share met, 0 to 100, unrounded; ok is false when no
// check with a weight was assessed.
func (t *checkScores) percent() (float64, bool) {
	if t == nil || t.weight == 0 {
		return 0, false
	}
	return 100 * t.met / t.weight, true
}

func (t *checkScores) score() *float64 {
	if p, ok := t.percent(); ok {
		return floor1(p)
	}
	return nil
}

// floor1 rounds down to one decimal, so that a score shows 100 only when
// nothing failed.
func floor1(v float64) *float64 {
	s := math.Floor(10*v+1e-9) / 10
	return &s
}

// score scores checklist items, not objects: a check is met when no object
// it assessed fails it. A layer's score is the severity-weighted share of
// its assessed checks that are met, a namespace's the same over the checks
// that judged its objects, and the overall score is the mean of the layers
// that have one. So the number of objects moves no score: a thousand
// well-configured Deployments neither drown a missing monitoring stack nor
// hide one misconfigured workload. Skips, errors and checks that could not
// be assessed are left out, never counted as met.
func (sum *summary) score(a *Audit) Score {
	byCheck, byNamespace, order := sum.byCheck, sum.byNamespace, sum.order
	layers := map[check.Layer]*checkScores{}
	var s Score
	for _, c := range order {
		p := byCheck[c]
		if layers[c.Layer] == nil {
			layers[c.Layer] = &checkScores{}
		}
		layers[c.Layer].add(p)
		if p.failed > 0 && p.severity >= check.High {
			s.Blockers = append(s.Blockers, Blocker{Check: c, Severity: p.severity, Objects: p.failed})
		}
	}
	sort.Slice(s.Blockers, func(i, j int) bool {
		bi, bj := s.Blockers[i], s.Blockers[j]
		if bi.Severity != bj.Severity {
			return bi.Severity > bj.Severity
		}
		if bi.Check.Layer != bj.Check.Layer {
			return layerIndex(bi.Check.Layer) < layerIndex(bj.Check.Layer)
		}
		return bi.Check.ID < bj.Check.ID
	})
	for _, l := range check.Layers() {
		ls := LayerScore{Layer: l}
		for _, st := range a.Checks {
			if st.Check.Layer == l {
				ls.Checks++
				if st.Assessed {
					ls.Assessed++
				}
			}
		}
		switch {
		case ls.Assessed == 0 && a.Mode == inventory.FromManifests && (l == check.Infrastructure || l == check.ClusterServices):
			ls.Reason = NotAssessedLayerReason
		case ls.Assessed == 0 && ls.Checks == 0:
			ls.Reason = "no checks enabled"
		case ls.Assessed == 0:
			ls.Reason = "none of its checks could be assessed"
		case layers[l] == nil:
			ls.Reason = "nothing in the inputs for its checks to judge"
		case layers[l].weight == 0:
			// Only info checks judged anything, and they weigh nothing:
			// without this the layer would have neither a score nor a
			// reason, which the report schema does not allow.
			ls.Reason = InfoOnlyLayerReason
		default:
			ls.Score = layers[l].score()
		}
		s.Layers = append(s.Layers, ls)
	}
	var layerSum float64
	var scored int
	for _, ls := range s.Layers {
		if ls.Score != nil {
			p, _ := layers[ls.Layer].percent()
			layerSum += p
			scored++
		}
	}
	if scored > 0 {
		s.Overall = floor1(layerSum / float64(scored))
	}
	for ns, checks := range byNamespace {
		var t checkScores
		n := NamespaceScore{Namespace: ns}
		for _, c := range order {
			if p := checks[c]; p != nil {
				t.add(p)
				n.Passed += p.passed
				n.Failed += p.failed
			}
		}
		n.Score = t.score()
		s.Namespaces = append(s.Namespaces, n)
	}
	sort.Slice(s.Namespaces, func(i, j int) bool { return s.Namespaces[i].Namespace < s.Namespaces[j].Namespace })

	for _, st := range a.Checks {
		s.Coverage.Checks++
		if st.Assessed {
			s.Coverage.Assessed++
		} else {
			s.Coverage.NotAssessed = append(s.Coverage.NotAssessed, st)
		}
	}
	var assessed float64 // the layers' shares of assessed checks, summed
	for _, ls := range s.Layers {
		if ls.Checks > 0 {
			assessed += float64(ls.Assessed) / float64(ls.Checks)
		}
	}
	s.Coverage.Percent = math.Floor(1000*assessed/float64(len(s.Layers))) / 10
	return s
}

// pair counts one (check, object) pair's first result for the score: a
// pass, or a failure however many findings it has; skips and errors are
// left out.
func (sum *summary) pair(r Result) {
	if r.Status != Pass && r.Status != Fail {
		return
	}
	count := func(m map[*check.Check]*pairs) {
		p := m[r.Check]
		if p == nil {
			p = &pairs{severity: r.Severity}
			m[r.Check] = p
		}
		if r.Status == Pass {
			p.passed++
		} else {
			p.failed++
		}
	}
	if sum.byCheck[r.Check] == nil {
		sum.order = append(sum.order, r.Check) // first seen first: results are sorted, so this is deterministic
	}
	count(sum.byCheck)
	ns := r.Object.ScoreNamespace
	if sum.byNamespace[ns] == nil {
		sum.byNamespace[ns] = map[*check.Check]*pairs{}
	}
	count(sum.byNamespace[ns])
}

func layerIndex(l check.Layer) int {
	return slices.Index(check.Layers(), l)
}
