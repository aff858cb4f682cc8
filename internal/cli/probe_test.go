package cli

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestProbe: plimsoll probe, the chart's helm test, passes when every URL
// answers 2xx, and fails naming each URL that does not, after trying them
// all. The server listens on loopback.
func TestProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" || r.URL.Path == "/metrics" {
			return
		}
		http.Error(w, "not ready", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	ready, metrics, down := srv.URL+"/readyz", srv.URL+"/metrics", srv.URL+"/down"

	got := run(t, "probe", ready, metrics)
	wantCode(t, got, ExitOK)
	if want := ready + ": 200 OK\n" + metrics + ": 200 OK\n"; got.out != want {
		t.Errorf("got stdout %q, want %q", got.out, want)
	}

	got = run(t, "probe", down, ready)
	wantCode(t, got, ExitPartial)
	if !strings.Contains(got.errOut, down+": 503 Service Unavailable") || got.out != ready+": 200 OK\n" {
		t.Errorf("got stdout %q and stderr %q, want %s passed and %s named as 503", got.out, got.errOut, ready, down)
	}
}
