package serve

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestAuditDelay: an audit waits the settling delay after the change that
// scheduled it, and longer when the previous audit started less than
// Debounce ago or a failed discovery is not to be tried again yet.
func TestAuditDelay(t *testing.T) {
	const debounce = 2 * time.Second
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name                  string
		lastStart, discoverAt time.Time
		want                  time.Duration
	}{
		{"never audited", time.Time{}, time.Time{}, 100 * time.Millisecond},
		{"a quiet cluster", now.Add(-time.Minute), time.Time{}, 100 * time.Millisecond},
		{"an audit started 0.5s ago", now.Add(-500 * time.Millisecond), time.Time{}, 1500 * time.Millisecond},
		{"an audit started 1.95s ago", now.Add(-1950 * time.Millisecond), time.Time{}, 100 * time.Millisecond},
		{"a discovery to try again in 4s", now.Add(-time.Minute), now.Add(4 * time.Second), 4 * time.Second},
		{"a discovery to try again in 1s after an audit 0.5s ago", now.Add(-500 * time.Millisecond), now.Add(time.Second), 1500 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := auditDelay(now, c.lastStart, c.discoverAt, debounce); got != c.want {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

// TestBackoff: each wait taken doubles the next, up to the limit, and a
// reset starts again from the first, also when the limit is below it (a
// Resync shorter than refusedRetry).
func TestBackoff(t *testing.T) {
	for _, c := range []struct {
		name         string
		first, limit time.Duration
		want         []time.Duration
	}{
		{"discovery", time.Second, maxDiscoveryBackoff, []time.Duration{
			time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second,
		}},
		{"refused types, Resync 100s", refusedRetry, 100 * time.Second, []time.Duration{
			15 * time.Second, 30 * time.Second, 60 * time.Second, 100 * time.Second, 100 * time.Second,
		}},
		{"refused types, Resync 10s", refusedRetry, 10 * time.Second, []time.Duration{
			15 * time.Second, 10 * time.Second, 10 * time.Second,
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBackoff(c.first, c.limit)
			var got []time.Duration
			for range c.want {
				got = append(got, b.take())
			}
			if d := cmp.Diff(c.want, got); d != "" {
				t.Errorf("got %v, want %v (-want +got):\n%s", got, c.want, d)
			}
			b.reset()
			if got := b.take(); got != c.first {
				t.Errorf("after a reset: got %v, want %v", got, c.first)
			}
		})
	}
}
