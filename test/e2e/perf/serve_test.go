package perf

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/cli"
	"github.com/plimsoll/plimsoll/test/controlplane"
)

// serveRun is one plimsoll serve running in this process against a
// populated cluster, with its API requests counted.
type serveRun struct {
	url      string
	requests atomic.Int64
	leases   atomic.Int64
	cancel   context.CancelFunc
	done     chan error
	synced   time.Duration // from start to /readyz 200
}

// startServe runs plimsoll serve as it runs in a pod, leader election
// included, and waits until it is ready.
func startServe(tb testing.TB, cp *controlplane.ControlPlane) *serveRun {
	tb.Helper()
	ctx := context.Background()
	kube := kubernetes.NewForConfigOrDie(cp.RESTConfig(controlplane.AdminUser))
	if _, err := kube.CoreV1().Namespaces().Get(ctx, "plimsoll", metav1.GetOptions{}); err != nil {
		if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "plimsoll"}}, metav1.CreateOptions{}); err != nil {
			tb.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &serveRun{url: "http://" + l.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	count := func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(req *http.Request) (*http.Response, error) {
			r.requests.Add(1)
			if strings.Contains(req.URL.Path, "/leases/") {
				r.leases.Add(1)
			}
			return rt.RoundTrip(req)
		})
	}
	s := cli.Streams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard, Getenv: func(k string) string {
		return map[string]string{"POD_NAME": "bench", "POD_NAMESPACE": "plimsoll"}[k]
	}, Dir: tb.TempDir()}
	start := time.Now()
	go func() {
		r.done <- cli.Serve(ctx, []string{"--kubeconfig", cp.Kubeconfig(controlplane.AdminUser)}, s, cli.ServeDeps{Listener: l, WrapTransport: count})
	}()
	tb.Cleanup(func() {
		r.cancel()
		if err := <-r.done; err != nil {
			tb.Errorf("serve: %v", err)
		}
	})
	deadline := time.Now().Add(15 * time.Minute)
	for {
		if code, _, err := r.get("/readyz"); err == nil && code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatal("serve not ready after 15 minutes")
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.synced = time.Since(start)
	return r
}

func (r *serveRun) get(path string) (int, string, error) {
	resp, err := http.Get(r.url + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// metric returns the value of the first series of name whose labels
// include every one of labels (as `name="value"`), or -1 if none.
func (r *serveRun) metric(name string, labels ...string) (float64, error) {
	code, body, err := r.get("/metrics")
	if err != nil || code != http.StatusOK {
		return 0, fmt.Errorf("/metrics: %d %v", code, err)
	}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
line:
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(line, l) {
				continue line
			}
		}
		return strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
	}
	return -1, sc.Err()
}

// changeLatency exempts a Deployment from a check it fails, or lifts the
// exemption, by annotation (a change that restarts no pods, so nothing
// else moves), and returns the time until /metrics shows it.
func changeLatency(tb testing.TB, cp *controlplane.ControlPlane, r *serveRun, ns, name string, exempt bool) time.Duration {
	tb.Helper()
	kube := kubernetes.NewForConfigOrDie(cp.RESTConfig(controlplane.AdminUser))
	fails := func() float64 {
		v, err := r.metric("plimsoll_results", `check="container-liveness-probe"`, `namespace="`+ns+`"`, `status="fail"`)
		if err != nil {
			tb.Fatal(err)
		}
		return max(v, 0)
	}
	value, want := "null", fails()+1
	if exempt {
		value, want = `"container-liveness-probe"`, fails()-1
	}
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%s}}}`, audit.IgnoreAnnotation, value)
	start := time.Now()
	if _, err := kube.AppsV1().Deployments(ns).Patch(context.Background(), name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		tb.Fatal(err)
	}
	for time.Since(start) < time.Minute {
		if fails() == want {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatalf("the metrics did not show %s/%s exempt=%v within a minute", ns, name, exempt)
	return 0
}

// vmRSS is the resident memory of this process, from /proc/self/status.
func vmRSS(tb testing.TB) int64 { return procRSS(tb, os.Getpid()) }

// settledRSS is the resident memory after a garbage collection returned
// what it could to the system.
func settledRSS(tb testing.TB) int64 {
	runtime.GC()
	debug.FreeOSMemory()
	return vmRSS(tb)
}

// peakRSS samples the resident memory every 50 ms until the returned
// function is called, which returns the most it saw.
func peakRSS(tb testing.TB) (stop func() int64) {
	quit, done := make(chan struct{}), make(chan int64)
	go func() {
		var peak int64
		for {
			peak = max(peak, vmRSS(tb))
			select {
			case <-quit:
				done <- peak
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return func() int64 {
		close(quit)
		return <-done
	}
}

// podMemoryLimit is the memory limit of plimsoll's pod in deploy/; serve
// turns it into a garbage collection limit (serve.LimitMemory), which the
// benchmark sets as that would.
const podMemoryLimit = 320 << 20

// measureServe starts serve on the populated cluster, leaves it at rest
// for the window, and times changes (two per round).
func measureServe(tb testing.TB, cp *controlplane.ControlPlane, ns, deployment string, rest time.Duration, rounds int) (r *serveRun, memory, peak int64, perMinute, leasesPerMinute, auditsPerMinute float64, latencies []time.Duration) {
	// The peak is serve's: what populating the cluster took is returned
	// to the system first.
	settledRSS(tb)
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(podMemoryLimit / 10 * 9))
	stopPeak := peakRSS(tb)
	r = startServe(tb, cp)
	time.Sleep(5 * time.Second) // the first audits, of objects still arriving
	before, leases := r.requests.Load(), r.leases.Load()
	audits, err := r.metric("plimsoll_audits_total", `result="ok"`)
	if err != nil {
		tb.Fatal(err)
	}
	time.Sleep(rest)
	perMinute = float64(r.requests.Load()-before) / rest.Minutes()
	leasesPerMinute = float64(r.leases.Load()-leases) / rest.Minutes()
	after, err := r.metric("plimsoll_audits_total", `result="ok"`)
	if err != nil {
		tb.Fatal(err)
	}
	auditsPerMinute = (after - audits) / rest.Minutes()
	memory = settledRSS(tb)
	for range rounds {
		latencies = append(latencies, changeLatency(tb, cp, r, ns, deployment, true))
		time.Sleep(3 * time.Second) // let the next change find serve idle
		latencies = append(latencies, changeLatency(tb, cp, r, ns, deployment, false))
		time.Sleep(3 * time.Second)
	}
	return r, memory, stopPeak(), perMinute, leasesPerMinute, auditsPerMinute, latencies
}

// TestServeBenchmarkHarness runs BenchmarkServe's code on a small
// cluster, so that it keeps working between benchmark runs.
func TestServeBenchmarkHarness(t *testing.T) {
	cp := controlplane.Shared()
	s := scale{nodes: 3, namespaces: 2, deployments: 2, replicas: 2}
	populate(t, cp, s, "small")
	_, memory, _, perMinute, _, _, latencies := measureServe(t, cp, "small-ns-000", "app-000", 5*time.Second, 1)
	t.Logf("RSS %d MB, %.0f requests a minute, change to metric %v", memory>>20, perMinute, latencies)
	if memory <= 0 || perMinute < 0 || len(latencies) != 2 {
		t.Errorf("got RSS %d, %v requests a minute, latencies %v; want real measurements", memory, perMinute, latencies)
	}
}

// BenchmarkServe runs plimsoll serve against the cluster of
// BenchmarkLiveAudit10kPods (100 nodes, 10,000 Running pods) and reports
// the time from a Deployment change to the metric that shows it (target
// under 2 s); the process's resident memory at rest after a garbage
// collection (target under 300 MB), and its peak while serve ran (sampled
// every 50 ms, with the garbage collection limit serve sets in its pod);
// and, at rest, the API requests it sends a minute (Lease renewals
// included, and apart) and the audits it runs a minute (kwok's nodes
// heartbeat every 20 to 45 s).
func BenchmarkServe(b *testing.B) {
	cp := controlplane.Shared()
	populate(b, cp, scale{nodes: 100, namespaces: 50, deployments: 20, replicas: 10}, "big")
	b.ResetTimer()
	r, memory, peak, perMinute, leasesPerMinute, auditsPerMinute, latencies := measureServe(b, cp, "big-ns-007", "app-003", time.Minute, 4*b.N)
	var total, worst time.Duration
	for _, l := range latencies {
		total += l
		worst = max(worst, l)
	}
	auditSeconds, _ := r.metric("plimsoll_audit_duration_seconds_sum")
	audits, _ := r.metric("plimsoll_audit_duration_seconds_count")
	b.ReportMetric(r.synced.Seconds(), "sync-s")
	b.ReportMetric(total.Seconds()/float64(len(latencies)), "change-to-metric-s")
	b.ReportMetric(worst.Seconds(), "change-to-metric-max-s")
	b.ReportMetric(float64(memory)/(1<<20), "rss-MB")
	b.ReportMetric(float64(peak)/(1<<20), "peak-rss-MB")
	b.ReportMetric(perMinute, "api-req/min")
	b.ReportMetric(leasesPerMinute, "lease-req/min")
	b.ReportMetric(auditsPerMinute, "audits/min")
	b.ReportMetric(auditSeconds/audits, "audit-s")
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
