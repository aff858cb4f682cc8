package fix

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

// Auditor audits objects as the run audited its inputs.
type Auditor func(objs []*inventory.Object) *audit.Audit

// Outcome is what the proof of a plan found.
type Outcome struct {
	// Applied are the changes the re-audit proved: each removes at least one
	// of the findings it names, and no change adds a failure anywhere.
	Applied []Applied
	// Dropped are the changes that could not be proven, and why.
	Dropped []Dropped
	// Suggested are the suggestions, not applied.
	Suggested []Change
	// ScoreBefore and ScoreAfter are the overall scores of the inputs and
	// of the inputs with the applied changes (nil when nothing was scored),
	// and Remaining counts the failures that remain. The audits themselves
	// are not kept: on a large input they are much of the memory, and the
	// changes are written after the proof.
	ScoreBefore, ScoreAfter *float64
	Remaining               int
}

// Applied is a proven change and the failures it removed.
type Applied struct {
	Change
	Removed int `json:"removed"`
}

// Dropped is a change the proof refused.
type Dropped struct {
	Change
	Why string `json:"why"`
}

// Planner plans the changes that fix an audit's failures of objs.
type Planner func(objs []*inventory.Object, a *audit.Audit) []Change

// rounds bounds the proof: each round applies the changes, audits, and
// adds follow-ups or drops changes. The corpora settle in two or three.
const rounds = 8

// Prove applies the changes to the objects in memory and re-audits them.
// A failure the changes bring (a workload raised to two replicas now needs
// a budget) is first met with the changes the planner makes for it; a
// change that still adds a failure anywhere, or removes none of the
// findings it names, is dropped, until what remains adds none. What it
// returns as applied is exactly what the last audit saw: a drop is always
// audited again, as what is left may then bring a failure (the budget
// dropped, the workload raised without one). A proof that does not settle
// in its rounds applies nothing. Suggestions are applied only when suggest
// is set. plan plans for every check, whatever checks the changes were
// chosen from: a change kept to one check may need another's fix. The
// objects themselves are not changed.
func Prove(objs []*inventory.Object, changes []Change, suggest bool, before *audit.Audit, run Auditor, plan Planner) Outcome {
	var out Outcome
	var active []Change
	for _, ch := range changes {
		if ch.Suggestion && !suggest {
			out.Suggested = append(out.Suggested, ch)
			continue
		}
		active = append(active, ch)
	}
	// What the proof needs of before is taken now, so that its results can
	// be freed: on a large input they are much of what the rounds hold.
	was, _ := failures(before)
	out.ScoreBefore = before.Score.Overall
	// Until the changes settle, they change nothing.
	now, settled := was, false
	out.ScoreAfter = out.ScoreBefore
	drop := func(why map[int]string) {
		for i, w := range why {
			out.Dropped = append(out.Dropped, Dropped{active[i], w})
		}
		active = without(active, why)
	}
	for round := 0; !settled; round++ {
		switch {
		case len(active) == 0:
			settled = true
			continue
		case round == rounds:
			why := map[int]string{}
			for i := range active {
				why[i] = fmt.Sprintf("the proof did not settle in %d rounds on changes that bring no new failure", rounds)
			}
			drop(why)
			continue
		}
		patched, failed := Apply(objs, active)
		if len(failed) > 0 {
			drop(failed)
			continue
		}
		a := run(patched)
		on, message := failures(a)
		fresh := newFailures(was, on)
		if len(fresh) == 0 {
			if idle := idle(active, was, on); len(idle) > 0 {
				drop(idle)
				continue
			}
			now, out.ScoreAfter, settled = on, a.Score.Overall, true
			continue
		}
		if round < 3 {
			if more := followUps(active, out.Dropped, plan(patched, a), fresh, suggest); len(more) > 0 {
				active = append(active, more...)
				continue
			}
		}
		blamed := map[int]string{}
		for _, f := range fresh {
			for _, i := range culprits(objs, active, f, was, run) {
				if _, ok := blamed[i]; !ok {
					blamed[i] = fmt.Sprintf("the re-audit found a new failure: %s on %s: %s", f.Check, f.Object, message[f])
				}
			}
		}
		drop(blamed)
	}
	for _, n := range now {
		out.Remaining += n
	}
	for _, ch := range active {
		out.Applied = append(out.Applied, Applied{ch, removed(ch, was, now)})
	}
	sort.SliceStable(out.Applied, func(i, j int) bool { return out.Applied[i].Target.key() < out.Applied[j].Target.key() })
	sort.SliceStable(out.Dropped, func(i, j int) bool { return out.Dropped[i].Target.key() < out.Dropped[j].Target.key() })
	return out
}

// idle are the changes that remove none of the findings they name, unless
// the others brought those (see brought), with why, by index.
func idle(active []Change, was, now map[Finding]int) map[int]string {
	out := map[int]string{}
	for i, ch := range active {
		if removed(ch, was, now) == 0 && !brought(ch, was) {
			out[i] = "the re-audit still shows every finding it should fix"
		}
	}
	return out
}

// removed counts the failures of the findings a change names that are gone.
func removed(ch Change, was, now map[Finding]int) int {
	n := 0
	for _, f := range ch.Fixes {
		n += max(was[f]-now[f], 0)
	}
	return n
}

// brought reports whether a change fixes only failures the other changes
// brought (none of its findings failed before): it is kept, as without it
// the others would add a failure.
func brought(ch Change, was map[Finding]int) bool {
	for _, f := range ch.Fixes {
		if was[f] > 0 {
			return false
		}
	}
	return true
}

// newFailures are the failures counted in now more often than in was,
// sorted.
func newFailures(was, now map[Finding]int) []Finding {
	var out []Finding
	for f, n := range now {
		if n > was[f] {
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Object+out[i].Check < out[j].Object+out[j].Check })
	return out
}

// followUps are the planned changes that fix a fresh failure and are not
// among the changes already, nor among those the proof dropped.
func followUps(active []Change, dropped []Dropped, planned []Change, fresh []Finding, suggest bool) []Change {
	have := map[string]bool{}
	for _, ch := range active {
		have[ch.Check+"\x00"+ch.Target.key()] = true
	}
	for _, d := range dropped {
		have[d.Check+"\x00"+d.Target.key()] = true
	}
	wanted := map[Finding]bool{}
	for _, f := range fresh {
		wanted[f] = true
	}
	var out []Change
	for _, ch := range planned {
		if (ch.Suggestion && !suggest) || have[ch.Check+"\x00"+ch.Target.key()] {
			continue
		}
		for _, f := range ch.Fixes {
			if wanted[f] {
				out = append(out, ch)
				break
			}
		}
	}
	return out
}

// culprits are the changes a fresh failure is due to: of those that change
// the object it is on (else those of its namespace, else all), the first
// whose removal makes it go; all of them when no single one does.
func culprits(objs []*inventory.Object, active []Change, f Finding, was map[Finding]int, run Auditor) []int {
	var candidates []int
	for i, ch := range active {
		if ch.Target.ID() == f.Object {
			candidates = append(candidates, i)
		}
	}
	if len(candidates) == 0 {
		for i, ch := range active {
			if ch.Target.Namespace != "" && strings.Contains(f.Object, " "+ch.Target.Namespace+"/") || ch.Target.Kind == "Namespace" && strings.HasSuffix(f.Object, "/"+ch.Target.Name) {
				candidates = append(candidates, i)
			}
		}
	}
	if len(candidates) == 0 {
		for i := range active {
			candidates = append(candidates, i)
		}
	}
	// Bisect: keep the half whose removal makes the failure go, as long as
	// one does (a failure with a single cause). A failure in a namespace is
	// traced on that namespace's objects and the cluster's, which is all
	// but the checks that look across namespaces see, and far quicker than
	// the whole inputs; the full re-audit after the drop has the last word.
	scope, ns := inScope(objs, f)
	gone := func(drop []int) bool {
		var kept []Change
		for i, ch := range active {
			if !slices.Contains(drop, i) && (ns == nil || *ns == ch.Target.Namespace || ch.Target.Namespace == "") {
				kept = append(kept, ch)
			}
		}
		patched, _ := Apply(scope, kept)
		count, _ := failures(run(patched))
		fresh := newFailures(was, count)
		return !slices.Contains(fresh, f)
	}
	for len(candidates) > 1 {
		half := candidates[:len(candidates)/2]
		switch {
		case gone(half):
			candidates = half
		case gone(candidates[len(half):]):
			candidates = candidates[len(half):]
		default:
			return candidates
		}
	}
	return candidates
}

// inScope are the objects a failure is traced on, and their namespace:
// those of its object's namespace and the cluster-scoped ones, or all (and
// nil) for a failure on a cluster-scoped object.
func inScope(objs []*inventory.Object, f Finding) ([]*inventory.Object, *string) {
	_, rest, _ := strings.Cut(f.Object, " ")
	ns, _, namespaced := strings.Cut(rest, "/")
	if !namespaced {
		return objs, nil
	}
	var out []*inventory.Object
	for _, o := range objs {
		if o.Namespace == ns || o.Namespace == "" {
			out = append(out, o)
		}
	}
	return out, &ns
}

// without returns the changes whose indexes are not in drop.
func without(changes []Change, drop map[int]string) []Change {
	var out []Change
	for i, ch := range changes {
		if _, ok := drop[i]; !ok {
			out = append(out, ch)
		}
	}
	return out
}

// failures counts an audit's failures of each check on each object (its
// ID and where it was read), what the proof counts, with a message of each
// for people. A failure whose message changes, as a Pod Security finding
// lists fewer violations once some are fixed, is not a new one.
func failures(a *audit.Audit) (map[Finding]int, map[Finding]string) {
	count, message := map[Finding]int{}, map[Finding]string{}
	// An object's failures share one copy of its ID and source: a large
	// input has many failures per object, and the proof holds these maps
	// through its re-audits.
	var last *audit.Object
	var id, source string
	for _, r := range a.Results {
		if r.Status != audit.Fail {
			continue
		}
		if r.Object != last {
			last, id, source = r.Object, r.Object.ID(), r.Object.Source.String()
		}
		f := Finding{Check: r.Check.ID, Object: id, source: source}
		count[f]++
		message[f] = r.Message
	}
	return count, message
}

// Apply returns the objects with the changes made: patched objects in
// place of the originals, and the created ones after them. A change that
// cannot be made is left out, with why, by its index.
func Apply(objs []*inventory.Object, changes []Change) ([]*inventory.Object, map[int]string) {
	failed := map[int]string{}
	sets := map[string][]int{} // object key -> changes
	out := slices.Clone(objs)
	for i, ch := range changes {
		if ch.creates() {
			o, err := inventory.New(deepCopy(ch.Create), inventory.Source{File: ch.File, Origin: "plimsoll fix"})
			if err != nil {
				failed[i] = "the object it creates does not decode: " + err.Error()
				continue
			}
			out = append(out, o)
			continue
		}
		sets[ch.Target.key()] = append(sets[ch.Target.key()], i)
	}
	for n, o := range out[:len(objs)] {
		idx := sets[RefOf(o).key()]
		if len(idx) == 0 {
			continue
		}
		content, err := Content(o)
		if err != nil {
			for _, i := range idx {
				failed[i] = err.Error()
			}
			continue
		}
		for _, i := range idx {
			if err := applySets(content, changes[i].Sets); err != nil {
				failed[i] = err.Error()
			}
		}
		patched, err := inventory.New(content, o.Source)
		if err != nil {
			for _, i := range idx {
				failed[i] = "the patched object does not decode: " + err.Error()
			}
			continue
		}
		out[n] = patched
	}
	return out, failed
}

// Content is an object's content as a map, a copy the caller may change.
func Content(o *inventory.Object) (map[string]any, error) {
	if o.Typed == nil {
		return deepCopy(o.Content), nil
	}
	if c := o.Converted(); c != nil {
		return deepCopy(c), nil // Typed has another version's shape
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o.Typed)
	if err != nil {
		return nil, err
	}
	// The status stays: a cluster's objects are judged by it.
	m["apiVersion"], m["kind"] = o.APIVersion, o.Kind
	if meta, ok := m["metadata"].(map[string]any); ok && meta["creationTimestamp"] == nil {
		delete(meta, "creationTimestamp")
	}
	return m, nil
}

// applySets makes the sets on an object, as SetValue means them.
func applySets(obj map[string]any, sets []Set) error {
	for _, s := range sets {
		if _, err := SetValue(obj, s.Path, copyValue(s.Value)); err != nil {
			return fmt.Errorf("%s: %w", PathString(s.Path), err)
		}
	}
	return nil
}

func deepCopy(m map[string]any) map[string]any {
	return copyValue(m).(map[string]any)
}

func copyValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = copyValue(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = copyValue(e)
		}
		return out
	}
	return v
}
