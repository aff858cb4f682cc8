// Package memory keeps a run's peak memory near what the run holds.
//
// Go's garbage collector (GOGC=100) lets the heap grow to twice what was
// live at the last collection before it collects again. An audit holds its
// whole inventory and then its results, so its peak was about twice that:
// 280 MB for the 20,000-object bench corpus (hack/bench), of which about
// 100 MB was live. Bound lowers that peak to about 190 MB, for some more
// collection work (about a twentieth more time on that corpus).
package memory

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

const (
	// Floor is the soft limit Bound never goes below: a small run
	// collects no more often than it would without Bound.
	Floor = 140 << 20
	// Ratio is how far above the live heap Bound lets memory grow (Go's
	// default is twice).
	Ratio = 1.4
	// Headroom is the least share of the live heap that new objects get
	// past the rest of the runtime's memory: its free and partly used
	// spans, stacks and metadata, which the limit counts as well. Without
	// it, a heap whose spans are a quarter empty (fix's proof: 40 MB of
	// 167 MB) gets almost no room under Ratio times the live heap, and the
	// collector runs again and again for a few MB each time. fix --overlay
	// on the bench corpus took 23-26 s and 325 MB without it; 20 s and
	// 318 MB with a tenth; 18.5 s and 331 MB with 0.15; 16 s and 360 MB
	// with a quarter. A tenth stops the collector running for nothing, and
	// keeps the memory where it was.
	Headroom = 0.1
)

var (
	mu     sync.Mutex
	active int   // Bound calls not yet stopped
	prev   int64 // the soft limit before the first of them
	// high is the highest limit set since the first of them: the limit
	// never comes down from it (see adjust).
	high int64
)

// Bound sets the Go runtime's soft memory limit (runtime/debug
// SetMemoryLimit) after every collection to Ratio times the live heap
// (see limitFor), never below Floor nor below the highest limit it set
// before (see adjust), until stop is called, which restores the limit there
// was. It does nothing when GOGC or GOMEMLIMIT is set: then the user has
// chosen. Calls may nest or overlap (tests run commands in one process);
// the limit is restored when the last one stops.
func Bound(getenv func(string) string) (stop func()) {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	mu.Lock()
	defer mu.Unlock()
	active++
	if active == 1 {
		prev = debug.SetMemoryLimit(-1)
		high = 0
		adjust()
		arm()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			mu.Lock()
			defer mu.Unlock()
			active--
			if active == 0 {
				debug.SetMemoryLimit(prev)
			}
		})
	}
}

// sentinel becomes garbage at once; its finalizer runs after the
// collection that finds it, so it marks each collection.
type sentinel struct{ _ *int }

func arm() {
	runtime.SetFinalizer(&sentinel{}, func(*sentinel) {
		mu.Lock()
		defer mu.Unlock()
		if active > 0 {
			adjust()
			arm()
		}
	})
}

// adjust sets the limit from the live heap the last collection found, or
// leaves it where it was when that is higher. Memory has already grown to
// the highest limit once, so coming down from it would not lower the peak,
// only make the collector work harder: a run that holds much at first
// (fix, while it proves its changes on the whole inventory) and little
// later, but allocates as fast, would collect several times as often. The
// caller holds mu.
func adjust() {
	high = max(high, limitFor(heap()))
	debug.SetMemoryLimit(high)
}

// limitFor is the limit for a live heap and the runtime's other memory:
// Ratio times the live heap, at least Headroom of it past the other
// memory, and never below Floor.
func limitFor(live, other uint64) int64 {
	l := max(Ratio*float64(live), (1+Headroom)*float64(live)+float64(other))
	if l >= math.MaxInt64 {
		return math.MaxInt64
	}
	return max(Floor, int64(l))
}

// heap returns the live heap the last collection found, and the memory
// the limit counts that objects do not occupy.
func heap() (live, other uint64) {
	s := []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"}, // returned to the system: the limit leaves it out
		{Name: "/memory/classes/heap/objects:bytes"},
	}
	metrics.Read(s)
	for _, v := range s {
		if v.Value.Kind() != metrics.KindUint64 {
			return 0, 0
		}
	}
	live = s[0].Value.Uint64()
	counted, objects := s[1].Value.Uint64()-s[2].Value.Uint64(), s[3].Value.Uint64()
	if counted > objects {
		other = counted - objects
	}
	return live, other
}
