package parallel

import (
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

func TestOrdered(t *testing.T) {
	for _, workers := range []int{0, 1, 2, 7} {
		var got []int
		// Later items finish first: the order must still be kept.
		Ordered(50, workers, func(i int) int {
			time.Sleep(time.Duration(50-i) * 10 * time.Microsecond)
			return i * i
		}, func(v int) { got = append(got, v) })
		want := make([]int, 50)
		for i := range want {
			want[i] = i * i
		}
		if !slices.Equal(got, want) {
			t.Errorf("workers %d: got %v, want %v", workers, got, want)
		}
	}
}

// TestOrderedBounded holds the first item's work back: the others may run
// ahead of it, but only as far as the bound.
func TestOrderedBounded(t *testing.T) {
	const workers, n = 2, 100
	var started atomic.Int32
	release := make(chan struct{})
	finished := make(chan int)
	go func() {
		emitted := 0
		Ordered(n, workers, func(i int) int {
			started.Add(1)
			if i == 0 {
				<-release
			}
			return i
		}, func(int) { emitted++ })
		finished <- emitted
	}()
	// Give the workers time to run as far ahead as they can; a slow
	// machine only makes them run less far.
	time.Sleep(100 * time.Millisecond)
	// In flight: the item being emitted, 2×workers queued behind it, and
	// one more being handed to a worker.
	if got, limit := started.Load(), int32(2*workers+2); got > limit {
		t.Errorf("%d items started while the first was held back, want at most %d", got, limit)
	}
	close(release)
	if emitted := <-finished; emitted != n {
		t.Errorf("emitted %d results, want %d", emitted, n)
	}
}

func TestOrderedNone(t *testing.T) {
	Ordered(0, 2, func(int) int { t.Error("work called for n = 0"); return 0 }, func(int) { t.Error("emit called for n = 0") })
}
