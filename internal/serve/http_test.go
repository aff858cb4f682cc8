package serve

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"

	"github.com/plimsoll/plimsoll/internal/report"
)

// TestEndpoints checks what each endpoint answers before the first audit,
// after it, and while the API server does not answer: /healthz never
// depends on either.
func TestEndpoints(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	recovered := 0
	s := &server{
		o:      Options{Config: &rest.Config{Host: "https://127.0.0.1:6443"}, LostAfter: 5 * time.Second},
		cache:  &cache{sources: map[string]*source{}},
		health: &reachability{now: func() time.Time { return now }, recovered: func() { recovered++ }},
	}
	h := s.handler(prometheus.NewRegistry())
	get := func(method, path string) (int, string) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
		return w.Code, w.Body.String()
	}
	expect := func(what, path string, code int, body string) {
		t.Helper()
		gotCode, gotBody := get(http.MethodGet, path)
		if gotCode != code || !strings.Contains(gotBody, body) {
			t.Errorf("%s: GET %s = %d %q, want %d and %q in the body", what, path, gotCode, gotBody, code, body)
		}
	}

	expect("before the first audit", "/healthz", 200, "ok")
	expect("before the first audit", "/readyz", 503, "the first audit has not completed: 0 of 0 resource types listed")
	expect("before the first audit", "/", 503, "the first audit has not completed yet")

	rep := testReport(t)
	s.latest.Store(&published{report: rep})
	var page bytes.Buffer
	if err := report.WriteHTML(&page, rep, report.HTMLOptions{Refresh: dashboardRefresh}); err != nil {
		t.Fatal(err)
	}
	if code, body := get(http.MethodGet, "/"); code != 200 || body != page.String() {
		t.Errorf("after an audit: GET / = %d and %d bytes, want 200 and the HTML report (%d bytes)", code, len(body), page.Len())
	}
	expect("after an audit", "/readyz", 200, "ok")

	wrapped := s.health.wrap(roundTripper(func(*http.Request) (*http.Response, error) { return nil, errRefused }))
	if _, err := wrapped.RoundTrip(httptest.NewRequest(http.MethodGet, "https://127.0.0.1:6443/api", nil)); err == nil {
		t.Fatal("the failing transport answered")
	}
	now = now.Add(4 * time.Second)
	expect("4s into an outage", "/readyz", 200, "ok")
	now = now.Add(2 * time.Second)
	expect("6s into an outage", "/readyz", 503, "the API server at https://127.0.0.1:6443 has not answered for 6s")
	expect("6s into an outage", "/healthz", 200, "ok")

	answering := s.health.wrap(roundTripper(func(*http.Request) (*http.Response, error) { return &http.Response{StatusCode: 403}, nil }))
	if _, err := answering.RoundTrip(httptest.NewRequest(http.MethodGet, "https://127.0.0.1:6443/api", nil)); err != nil {
		t.Fatal(err)
	}
	expect("after any answer", "/readyz", 200, "ok")
	if recovered != 1 {
		t.Errorf("recovery was told %d times, want once", recovered)
	}

	expect("an unknown path", "/nothing", 404, "")
	if code, _ := get(http.MethodPost, "/metrics"); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics = %d, want 405", code)
	}
}

var errRefused = &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
