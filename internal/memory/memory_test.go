package memory

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func currentLimit() int64 { return debug.SetMemoryLimit(-1) }

// TestBound holds a live heap well above the floor and checks that, once a
// collection has run, the soft limit follows it, that it does not come
// down when the heap is let go, and that stopping restores the limit there
// was.
func TestBound(t *testing.T) {
	before := currentLimit()
	stop := Bound(env(nil))
	if got := currentLimit(); got < Floor {
		t.Errorf("got a limit of %d at once, want at least the floor %d", got, Floor)
	}
	held := make([][]byte, 0, 200)
	for range 200 {
		held = append(held, make([]byte, 1<<20)) // 200 MiB live
	}
	// The finalizer that adjusts the limit runs after a collection, on
	// its own goroutine: collect until it has.
	want := int64(Ratio * 200 << 20)
	for i := 0; i < 100 && currentLimit() < want; i++ {
		runtime.GC()
		runtime.Gosched()
	}
	if got := currentLimit(); got < want || got > want*3/2 { // its spans are full: little other memory
		t.Errorf("with 200 MiB live, got a limit of %d MiB, want about %d MiB", got>>20, want>>20)
	}
	runtime.KeepAlive(held)
	// Once the memory has grown so far, the limit stays: a run that holds
	// less later would otherwise only collect more often.
	held = nil
	for range 3 {
		runtime.GC()
		runtime.Gosched()
	}
	if got := currentLimit(); got < want {
		t.Errorf("with the 200 MiB let go, got a limit of %d MiB, want it to stay at %d MiB", got>>20, want>>20)
	}
	stop()
	stop() // a second call changes nothing
	if got := currentLimit(); got != before {
		t.Errorf("after stop, got a limit of %d, want %d as before", got, before)
	}
}

func TestBoundNests(t *testing.T) {
	before := currentLimit()
	stopA := Bound(env(nil))
	stopB := Bound(env(nil))
	stopA()
	if got := currentLimit(); got == before {
		t.Error("the limit was restored while a second Bound was still active")
	}
	stopB()
	if got := currentLimit(); got != before {
		t.Errorf("after both stopped, got a limit of %d, want %d", got, before)
	}
}

func TestBoundLeavesTheUsersChoice(t *testing.T) {
	for _, vars := range []map[string]string{{"GOGC": "200"}, {"GOMEMLIMIT": "1GiB"}} {
		before := currentLimit()
		stop := Bound(env(vars))
		if got := currentLimit(); got != before {
			t.Errorf("with %v, got a limit of %d, want %d untouched", vars, got, before)
		}
		stop()
	}
}

func TestLimitFor(t *testing.T) {
	for _, c := range []struct {
		live, other uint64
		want        int64
	}{
		{0, 0, Floor},
		{Floor / 2, 0, Floor},
		{500 << 20, 0, 700 << 20},
		{500 << 20, 20 << 20, 700 << 20},
		// Other memory past three tenths of the live heap: a tenth of it
		// still for new objects.
		{400 << 20, 200 << 20, 640 << 20},
		{math.MaxUint64, 0, math.MaxInt64},
	} {
		if got := limitFor(c.live, c.other); got != c.want {
			t.Errorf("limitFor(%d, %d) = %d, want %d", c.live, c.other, got, c.want)
		}
	}
}
