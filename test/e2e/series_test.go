package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/internal/cli"
	"github.com/plimsoll/plimsoll/internal/report"
	"github.com/plimsoll/plimsoll/test/controlplane"
)

// checkSeries runs plimsoll serve against cp and holds the series of its
// /metrics to the bound README and docs/fleet.md state: plimsoll_results
// has one series per check, status and namespace that some result of
// plimsoll audit of cp has (the check fixes the layer and severity), no
// more. It logs
// how many series serve exports, plimsoll_* and in all, which docs/fleet.md
// quotes for examples/production.
func checkSeries(t *testing.T, cp *controlplane.ControlPlane) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	s := cli.Streams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard, Getenv: func(string) string { return "" }, Dir: t.TempDir(), Now: time.Now}
	go func() {
		done <- cli.Serve(ctx, []string{"--kubeconfig", cp.Kubeconfig("admin"), "--leader-elect=false", "--policy-reports=false"}, s, cli.ServeDeps{Listener: l})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	var r *report.Report
	var plimsoll, all, results int
	var extra, missing []string
	waitFor(t, "serve to export one plimsoll_results series per check, status and namespace of the audit", 3*time.Minute, func() (bool, error) {
		r = auditNow(t, cp.Kubeconfig("admin"))
		want := map[string]bool{}
		for _, res := range r.Results {
			want[fmt.Sprintf("%s %s %s", res.Check, res.Status, res.Object.ScoreNamespace())] = true
		}
		resp, err := http.Get("http://" + l.Addr().String() + "/metrics")
		if err != nil {
			return false, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return false, err
		}
		plimsoll, all, results = 0, 0, 0
		got := map[string]bool{}
		for _, line := range strings.Split(string(body), "\n") {
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			all++
			if !strings.HasPrefix(line, "plimsoll_") {
				continue
			}
			plimsoll++
			if labels, ok := strings.CutPrefix(line, "plimsoll_results{"); ok {
				results++
				got[fmt.Sprintf("%s %s %s", label(labels, "check"), label(labels, "status"), label(labels, "namespace"))] = true
			}
		}
		extra, missing = nil, nil
		for k := range got {
			if !want[k] {
				extra = append(extra, k)
			}
		}
		for k := range want {
			if !got[k] {
				missing = append(missing, k)
			}
		}
		sort.Strings(extra)
		sort.Strings(missing)
		if results == 0 || len(extra)+len(missing) > 0 || results != len(got) {
			return false, fmt.Errorf("%d plimsoll_results series; not in the audit: %v; in the audit, not exported: %v", results, extra, missing)
		}
		return true, nil
	})
	namespaces := map[string]bool{}
	for _, res := range r.Results {
		namespaces[res.Object.ScoreNamespace()] = true
	}
	t.Logf("serve exports %d plimsoll_* series (%d of them plimsoll_results, for %d checks and %d namespaces with results), %d in all with the Go and process ones", plimsoll, results, len(r.Checks), len(namespaces), all)
}

// label returns the value of name in a series' label text (`a="x",b="y"}
// 1`); plimsoll's check IDs, statuses and namespaces hold no comma or quote.
func label(labels, name string) string {
	labels, _, _ = strings.Cut(labels, "}")
	for _, kv := range strings.Split(labels, ",") {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}
