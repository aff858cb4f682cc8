package fix_test

import (
	"context"
	"testing"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/checks"
	"github.com/plimsoll/plimsoll/internal/checks/checktest"
	"github.com/plimsoll/plimsoll/internal/fix"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/pipeline"
	"github.com/plimsoll/plimsoll/internal/platform"
)

func auditor(t *testing.T) fix.Auditor {
	reg := checks.Registry()
	return func(objs []*inventory.Object) *audit.Audit {
		return audit.Run(platform.Inventory(inventory.FromManifests, objs), audit.Options{Registry: reg, FailuresOnly: true}) // as fix audits
	}
}

func TestNotReadyExample(t *testing.T) {
	in, err := pipeline.Read(context.Background(), pipeline.Source{Paths: []string{"../../examples/not-ready"}})
	if err != nil {
		t.Fatal(err)
	}
	run := auditor(t)
	before := run(in.Objects)
	inv := platform.Inventory(inventory.FromManifests, in.Objects)
	changes := fix.Plan(inv, before, fix.Options{})
	plan := func(objs []*inventory.Object, a *audit.Audit) []fix.Change {
		return fix.Plan(platform.Inventory(inventory.FromManifests, objs), a, fix.Options{})
	}
	out := fix.Prove(in.Objects, changes, false, before, run, plan)
	applied := map[string]bool{}
	for _, a := range out.Applied {
		applied[a.Change.String()] = true
		t.Logf("applied %s (removed %d)", a.Change, a.Removed)
	}
	for _, d := range out.Dropped {
		t.Errorf("dropped %s: %s", d.Change, d.Why)
	}
	for _, want := range []string{
		"create PodDisruptionBudget default/web-pdb (pdb-coverage): a PodDisruptionBudget for Deployment default/web: one pod at a time may be evicted",
		"create NetworkPolicy default/default-deny-ingress (namespace-default-deny-ingress): denies all ingress traffic of namespace default that no policy allows",
		"patch StatefulSet default/db (workload-min-replicas): runs 2 replicas of StatefulSet default/db",
	} {
		if !applied[want] {
			t.Errorf("not applied: %s", want)
		}
	}
	after := reaudit(t, in.Objects, out, run)
	noNewFailures(t, before, after)
	if *after.Score.Overall <= *before.Score.Overall {
		t.Errorf("score %v -> %v: no better", *before.Score.Overall, *after.Score.Overall)
	}
}

// reaudit audits the objects with the applied changes made, and checks the
// outcome's figures are that audit's.
func reaudit(t *testing.T, objs []*inventory.Object, out fix.Outcome, run fix.Auditor) *audit.Audit {
	t.Helper()
	var changes []fix.Change
	for _, a := range out.Applied {
		changes = append(changes, a.Change)
	}
	patched, failed := fix.Apply(objs, changes)
	if len(failed) > 0 {
		t.Fatalf("applied changes that cannot be made: %v", failed)
	}
	after := run(patched)
	fails := 0
	for _, r := range after.Results {
		if r.Status == audit.Fail {
			fails++
		}
	}
	if out.Remaining != fails {
		t.Errorf("the outcome says %d failures remain; the audit with its changes finds %d", out.Remaining, fails)
	}
	if out.ScoreAfter == nil || *out.ScoreAfter != *after.Score.Overall {
		t.Errorf("the outcome's score after is %v; the audit with its changes scores %v", out.ScoreAfter, *after.Score.Overall)
	}
	return after
}

// TestCorpus fixes everything fixable in the shared corpus of real
// manifests: the re-audit shows the fixed findings gone and no new one.
func TestCorpus(t *testing.T) {
	objs := checktest.CorpusObjects(t)
	run := auditor(t)
	before := run(objs)
	plan := func(objs []*inventory.Object, a *audit.Audit) []fix.Change {
		return fix.Plan(platform.Inventory(inventory.FromManifests, objs), a, fix.Options{})
	}
	out := fix.Prove(objs, plan(objs, before), false, before, run, plan)
	count := func(a *audit.Audit) (n int) {
		for _, r := range a.Results {
			if r.Status == audit.Fail {
				n++
			}
		}
		return n
	}
	removed := 0
	for _, a := range out.Applied {
		removed += a.Removed
	}
	after := reaudit(t, objs, out, run)
	t.Logf("corpus: %d objects; %d failures before, %d after; %d changes applied removing %d findings, %d dropped, %d suggested; score %.1f -> %.1f",
		len(objs), count(before), count(after), len(out.Applied), removed, len(out.Dropped), len(out.Suggested), *before.Score.Overall, *after.Score.Overall)
	for _, d := range out.Dropped {
		t.Logf("dropped %s: %s", d.Change, d.Why)
	}
	noNewFailures(t, before, after)
	if len(out.Applied) == 0 || count(after) >= count(before) {
		t.Errorf("the fixes removed nothing")
	}
}

// noNewFailures is the proof, checked again: no check fails more often on
// any object of the fixed inputs than on the inputs. (A finding whose
// message narrows, as a Pod Security finding that lists fewer containers
// once some are fixed, is the same finding.)
func noNewFailures(t *testing.T, before, after *audit.Audit) {
	t.Helper()
	count := func(a *audit.Audit) map[string]int {
		out := map[string]int{}
		for _, r := range a.Results {
			if r.Status == audit.Fail {
				out[r.Check.ID+" on "+r.Object.ID()+" ("+r.Object.Source.String()+")"]++
			}
		}
		return out
	}
	was := count(before)
	for k, n := range count(after) {
		if n > was[k] {
			t.Errorf("a new failure after the fixes: %s (%d, was %d)", k, n, was[k])
		}
	}
}

// BenchmarkProveCorpus measures planning and proving the fixes of the
// shared corpus (1,086 objects); hack/bench measures plimsoll fix on the
// multiplied bench corpus through the binary.
func BenchmarkProveCorpus(b *testing.B) {
	objs := checktest.CorpusObjects(b)
	reg := checks.Registry()
	run := func(objs []*inventory.Object) *audit.Audit {
		return audit.Run(platform.Inventory(inventory.FromManifests, objs), audit.Options{Registry: reg})
	}
	plan := func(objs []*inventory.Object, a *audit.Audit) []fix.Change {
		return fix.Plan(platform.Inventory(inventory.FromManifests, objs), a, fix.Options{})
	}
	for b.Loop() {
		before := run(objs)
		if out := fix.Prove(objs, plan(objs, before), false, before, run, plan); len(out.Applied) == 0 {
			b.Fatal("nothing fixed")
		}
	}
}
