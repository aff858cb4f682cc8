package audit

import (
	"math"
	"sort"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

// Score is an audit's readiness, 0 to 100, overall, per layer and per
// namespace, with what it could not assess. docs/scoring.md explains it.
type Score struct {
	// Overall is nil when nothing scorable was assessed.
	Overall    *float64
	Layers     []LayerScore
	Namespaces []NamespaceScore
	Coverage   Coverage
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

type tallyW struct{ pass, total int }

func (t tallyW) score() *float64 {
	if t.total == 0 {
		return nil
	}
	s := math.Floor(1000*float64(t.pass)/float64(t.total)) / 10
	return &s
}

// score weighs each (check, object) pair that was assessed by its severity:
// a pair passes when the check found nothing wrong with the object. Skips,
// errors and checks that could not be assessed are left out, never counted
// as passed.
func score(a *Audit) Score {
	var all tallyW
	layers := map[check.Layer]*tallyW{}
	namespaces := map[string]*tallyW{}
	nsCounts := map[string]*NamespaceScore{}

	eachPair(a.Results, func(rs []Result) {
		r := rs[0]
		if r.Status != Pass && r.Status != Fail {
			return
		}
		ok := r.Status == Pass
		w := r.Severity.Weight()
		add := func(t *tallyW) {
			t.total += w
			if ok {
				t.pass += w
			}
		}
		add(&all)
		if layers[r.Check.Layer] == nil {
			layers[r.Check.Layer] = &tallyW{}
		}
		add(layers[r.Check.Layer])
		ns := r.Object.ScoreNamespace
		if namespaces[ns] == nil {
			namespaces[ns] = &tallyW{}
			nsCounts[ns] = &NamespaceScore{Namespace: ns}
		}
		add(namespaces[ns])
		if ok {
			nsCounts[ns].Passed++
		} else {
			nsCounts[ns].Failed++
		}
	})

	s := Score{Overall: all.score()}
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
		case layers[l].total == 0:
			// Only info checks judged anything, and they weigh nothing:
			// without this the layer would have neither a score nor a
			// reason, which the report schema does not allow.
			ls.Reason = InfoOnlyLayerReason
		default:
			ls.Score = layers[l].score()
		}
		s.Layers = append(s.Layers, ls)
	}
	for ns, t := range namespaces {
		n := nsCounts[ns]
		n.Score = t.score()
		s.Namespaces = append(s.Namespaces, *n)
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
	var sum float64
	for _, ls := range s.Layers {
		if ls.Checks > 0 {
			sum += float64(ls.Assessed) / float64(ls.Checks)
		}
	}
	s.Coverage.Percent = math.Floor(1000*sum/float64(len(s.Layers))) / 10
	return s
}
