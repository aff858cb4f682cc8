package inventory_test

import (
	"sort"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// traced returns the kind keys read calls consult on inv, sorted.
func traced(inv *inventory.Inventory, read func()) []string {
	var mu sync.Mutex
	seen := map[string]bool{}
	inv.Trace(func(key string) {
		mu.Lock()
		seen[key] = true
		mu.Unlock()
	})
	read()
	inv.Trace(nil)
	var out []string
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestMemoTracesItsReads proves that a memoized index reports the kinds it
// was built from to every caller's trace, without the caller reading them
// itself: whether the index is built by this call, was built by another
// caller under another trace, or was built with no trace at all.
func TestMemoTracesItsReads(t *testing.T) {
	inv := build(t)
	web := inv.Get("Deployment", "shop", "web")
	builds := 0
	// podsAndBudgets is what a check would memoize: every PDB of web, and
	// the pods of every CronJob.
	podsAndBudgets := func() int {
		return inventory.Memo(inv, "test.podsAndBudgets", func(inv *inventory.Inventory) int {
			builds++
			n := len(inv.PDBs(web))
			for _, c := range inv.OfKind("CronJob") {
				n += len(inv.PodsOf(c))
			}
			return n
		})
	}
	if got := podsAndBudgets(); got != 1 { // report-1-x
		t.Errorf("built without a trace: got %d, want 1", got)
	}
	want := []string{"CronJob", "Job", "Pod", "PodDisruptionBudget"}
	for _, caller := range []string{"a second caller", "a third caller"} {
		got := traced(inv, func() { podsAndBudgets() })
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: kinds read (-want +got):\n%s", caller, diff)
		}
	}
	if builds != 1 {
		t.Errorf("got %d builds, want 1", builds)
	}

	// An index built under one trace is reported to the next, and an
	// index built from another one reports the other's reads too.
	fresh := build(t)
	bindings := func(inv *inventory.Inventory) int {
		return inventory.Memo(inv, "test.bindings", func(inv *inventory.Inventory) int {
			return len(inv.Bindings("shop", "default"))
		})
	}
	outer := func() int {
		return inventory.Memo(fresh, "test.outer", func(inv *inventory.Inventory) int {
			return bindings(inv) + len(inv.Namespaces())
		})
	}
	want = []string{"ClusterRoleBinding", "Namespace", "RoleBinding"}
	for _, caller := range []string{"the builder", "the next caller"} {
		if diff := cmp.Diff(want, traced(fresh, func() { outer() })); diff != "" {
			t.Errorf("%s: kinds read (-want +got):\n%s", caller, diff)
		}
	}
	if diff := cmp.Diff([]string{"ClusterRoleBinding", "RoleBinding"}, traced(fresh, func() { bindings(fresh) })); diff != "" {
		t.Errorf("the inner index: kinds read (-want +got):\n%s", diff)
	}
}

// TestMemoConcurrent builds an index once however many checks ask for it
// at the same time, and hands every one of them the same value.
func TestMemoConcurrent(t *testing.T) {
	inv := build(t)
	var mu sync.Mutex
	builds := 0
	got := make([]*[]string, 8)
	var wg sync.WaitGroup
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = inventory.Memo(inv, "test.names", func(inv *inventory.Inventory) *[]string {
				mu.Lock()
				builds++
				mu.Unlock()
				ns := names(inv.Namespaces())
				return &ns
			})
		}()
	}
	wg.Wait()
	if builds != 1 {
		t.Errorf("got %d builds, want 1", builds)
	}
	for i := range got {
		if got[i] != got[0] {
			t.Errorf("caller %d got another value than caller 0", i)
		}
	}
}
