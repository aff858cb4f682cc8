package serve

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/plimsoll/plimsoll/internal/report"
)

// published is a report as served: the page is rendered once, at the
// first request for it, and then served from memory.
type published struct {
	report *report.Report

	once sync.Once
	page []byte
	err  error
}

func (p *published) html() ([]byte, error) {
	p.once.Do(func() {
		var b bytes.Buffer
		p.err = report.WriteHTML(&b, p.report, report.HTMLOptions{Refresh: dashboardRefresh})
		p.page = b.Bytes()
	})
	return p.page, p.err
}

// waitingPage is the dashboard before the first audit.
const waitingPage = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="2">
<title>plimsoll: auditing</title></head>
<body><p>plimsoll is reading the cluster; the first audit has not completed yet. This page reloads itself.</p></body></html>
`

func (s *server) handler(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		text(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if why := s.notReady(); len(why) > 0 {
			text(w, http.StatusServiceUnavailable, strings.Join(why, "\n")+"\n")
			return
		}
		text(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /{$}", s.dashboard)
	return mux
}

// webhookHandler serves the admission webhook.
func (s *server) webhookHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /validate", s.validate)
	return mux
}

func (s *server) dashboard(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	p := s.latest.Load()
	if p == nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, waitingPage)
		return
	}
	page, err := p.html()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Write(page)
}

// notReady says why the replica is not ready, or nothing when it is.
func (s *server) notReady() []string {
	var why []string
	if s.latest.Load() == nil {
		st := s.cache.state()
		why = append(why, fmt.Sprintf("the first audit has not completed: %d of %d resource types listed", st.synced+st.unread, st.synced+st.unread+st.syncing))
	}
	if d := s.health.lostFor(); d >= s.o.LostAfter {
		why = append(why, fmt.Sprintf("the API server at %s has not answered for %s", s.o.Config.Host, d.Round(time.Second)))
	}
	return why
}

func text(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	fmt.Fprint(w, body)
}
