package serve

import (
	"net/http"
	"sync"
	"time"
)

// reachability tells whether the API server answers, from the requests
// plimsoll makes anyway: informers' watches (which client-go re-opens at
// once when the server closes them) and Lease renewals. It sends no
// requests of its own, so a cluster at rest sees no probing.
type reachability struct {
	now func() time.Time
	// recovered is called when a request gets an answer after failures.
	recovered func()

	mu           sync.Mutex
	failingSince time.Time // zero while requests get answers
}

// lostFor returns how long every request has failed, or zero.
func (h *reachability) lostFor() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failingSince.IsZero() {
		return 0
	}
	return h.now().Sub(h.failingSince)
}

func (h *reachability) record(answered bool) {
	h.mu.Lock()
	was := h.failingSince
	switch {
	case answered:
		h.failingSince = time.Time{}
	case was.IsZero():
		h.failingSince = h.now()
	}
	h.mu.Unlock()
	if answered && !was.IsZero() {
		h.recovered()
	}
}

// wrap is a rest.Config.WrapTransport that records whether each request
// got an answer: any HTTP response counts, whatever its status; a request
// that failed at the transport (refused, reset, timed out) does not,
// unless its caller had given up on it.
func (h *reachability) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(req)
		if err == nil || req.Context().Err() == nil {
			h.record(err == nil)
		}
		return resp, err
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
