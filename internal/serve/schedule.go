package serve

import "time"

// The loop's scheduling decisions, apart from its select so that they can
// be tested as plain functions: when the next audit is due, and how long
// to wait before trying again what failed or was refused.

// auditDelay returns how long from now an audit scheduled now waits: the
// settling delay (Debounce/20) after the change that scheduled it, and no
// less than until Debounce after the previous audit started (lastStart)
// and until a failed discovery may be tried again (discoverAt). Zero times
// are long past.
func auditDelay(now, lastStart, discoverAt time.Time, debounce time.Duration) time.Duration {
	wait := debounce / 20
	for _, t := range []time.Time{lastStart.Add(debounce), discoverAt} {
		wait = max(wait, t.Sub(now))
	}
	return wait
}

// backoff is a wait that doubles each time it is taken, up to limit, and
// starts again from first when reset.
type backoff struct{ first, limit, next time.Duration }

func newBackoff(first, limit time.Duration) backoff {
	return backoff{first: first, limit: limit, next: first}
}

// take returns the wait and doubles the next one.
func (b *backoff) take() time.Duration {
	wait := b.next
	b.next = min(2*wait, b.limit)
	return wait
}

func (b *backoff) reset() { b.next = b.first }

// refusals schedules the retries of refused types, from the loop's ticks:
// the first tick that sees a refused type sets a wait (refusedRetry, then
// double for each retry that found a type still refused, up to Resync),
// and the first tick after that wait tries again. A tick that sees none
// refused starts over.
type refusals struct {
	wait backoff
	at   time.Time // when to try refused types again; zero if not set
}

func newRefusals(resync time.Duration) refusals {
	return refusals{wait: newBackoff(refusedRetry, resync)}
}

// due tells, at a tick, whether the refused types are to be discovered
// and listed again; refused says whether any is.
func (r *refusals) due(refused bool, now time.Time) bool {
	switch {
	case !refused:
		r.at = time.Time{}
		r.wait.reset()
	case r.at.IsZero():
		r.at = now.Add(r.wait.take())
	case now.After(r.at):
		r.at = time.Time{}
		return true
	}
	return false
}
