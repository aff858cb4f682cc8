package perf

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/plimsoll/plimsoll/internal/cli"
	"github.com/plimsoll/plimsoll/test/controlplane"
)

// prometheusBinEnv names the prometheus server that hack/prometheus-build
// builds; hack/test exports it.
const prometheusBinEnv = "PLIMSOLL_PROMETHEUS_BIN"

// fleetFigures is what one Prometheus holding several clusters' serves
// costs.
type fleetFigures struct {
	plimsollSeries, allSeries int     // in one serve's /metrics, as Prometheus stores them
	headSeries                float64 // prometheus_tsdb_head_series, every serve and the scrapes' own
	rss, heapInuse            float64 // Prometheus's process_resident_memory_bytes and go_memstats_heap_inuse_bytes
	vmRSS                     int64   // Prometheus's VmRSS, from /proc
	scrapes                   int     // scrapes of each serve when measured
}

// measureFleet runs n plimsoll serves against cp, as if cp were n clusters
// (each with its own --cluster-name, so their series are apart), one real
// Prometheus scraping them every interval, and measures, once Prometheus
// has scraped each serve scrapes times, the series one serve exports and
// what Prometheus holds and uses.
func measureFleet(tb testing.TB, cp *controlplane.ControlPlane, n int, interval time.Duration, scrapes int) fleetFigures {
	tb.Helper()
	bin := os.Getenv(prometheusBinEnv)
	if bin == "" {
		tb.Fatalf("%s is not set: build the prometheus server with hack/prometheus-build and run\n  %s=$(./hack/prometheus-build)/prometheus go test ./test/e2e/perf\n(hack/test sets it)", prometheusBinEnv, prometheusBinEnv)
	}
	var targets []string
	for i := range n {
		targets = append(targets, strconv.Quote(startNamedServe(tb, cp, fmt.Sprintf("cluster-%d", i))))
	}
	var f fleetFigures
	metrics, err := httpGet("http://" + strings.Trim(targets[0], `"`) + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(metrics, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f.allSeries++
		if strings.HasPrefix(line, "plimsoll_") {
			f.plimsollSeries++
		}
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := tb.TempDir()
	config := fmt.Sprintf("global:\n  scrape_interval: %s\n  scrape_timeout: %s\nscrape_configs:\n  - job_name: plimsoll\n    static_configs:\n      - targets: [%s]\n",
		model.Duration(interval), model.Duration(min(interval, 10*time.Second)), strings.Join(targets, ", "))
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o644); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file", filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path", filepath.Join(dir, "data"), "--web.listen-address", addr)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })

	// Wait for the scrapes: the fewest samples of up over the serves.
	deadline := time.Now().Add(time.Duration(scrapes+2)*interval + 2*time.Minute)
	for {
		f.scrapes = -1
		body, err := httpGet("http://" + addr + "/api/v1/query?query=" + "min(count_over_time(up%5B1h%5D))")
		if err == nil {
			if i := strings.Index(body, `"value":[`); i >= 0 {
				v := body[i+len(`"value":[`):]
				v = v[strings.Index(v, `"`)+1:]
				f.scrapes, _ = strconv.Atoi(v[:strings.Index(v, `"`)])
			}
		}
		if f.scrapes >= scrapes {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("Prometheus scraped each serve %d times, want %d (last: %v %s)", f.scrapes, scrapes, err, body)
		}
		time.Sleep(time.Second)
	}
	self, err := httpGet("http://" + addr + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(self))
	if err != nil {
		tb.Fatal(err)
	}
	value := func(name string) float64 {
		mf := mfs[name]
		if mf == nil || len(mf.GetMetric()) != 1 {
			tb.Fatalf("Prometheus's /metrics has no %s", name)
		}
		if g := mf.GetMetric()[0].GetGauge(); g != nil {
			return g.GetValue()
		}
		return mf.GetMetric()[0].GetUntyped().GetValue()
	}
	f.headSeries = value("prometheus_tsdb_head_series")
	f.rss = value("process_resident_memory_bytes")
	f.heapInuse = value("go_memstats_heap_inuse_bytes")
	f.vmRSS = procRSS(tb, cmd.Process.Pid)
	return f
}

// startNamedServe runs plimsoll serve in this process against cp with
// --cluster-name cluster and waits until it is ready; it returns the
// address of its listener.
func startNamedServe(tb testing.TB, cp *controlplane.ControlPlane, cluster string) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	s := cli.Streams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard, Getenv: func(string) string { return "" }, Dir: tb.TempDir()}
	go func() {
		done <- cli.Serve(ctx, []string{"--kubeconfig", cp.Kubeconfig(controlplane.AdminUser), "--cluster-name", cluster, "--leader-elect=false", "--policy-reports=false"}, s, cli.ServeDeps{Listener: l})
	}()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("serve %s: %v", cluster, err)
		}
	})
	addr := l.Addr().String()
	deadline := time.Now().Add(15 * time.Minute)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("serve %s not ready after 15 minutes", cluster)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func httpGet(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s: %d", url, resp.StatusCode)
	}
	return string(body), err
}

// procRSS is the resident memory of process pid, from /proc.
func procRSS(tb testing.TB, pid int) int64 {
	tb.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kb * 1024
		}
	}
	tb.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// TestFleetBenchmarkHarness runs BenchmarkFleet10kPods's code on a small
// cluster, so that it keeps working between benchmark runs. The series a
// serve exports must reach Prometheus, every one, for each serve.
func TestFleetBenchmarkHarness(t *testing.T) {
	cp := controlplane.Shared()
	populate(t, cp, scale{nodes: 3, namespaces: 2, deployments: 2, replicas: 2}, "small")
	f := measureFleet(t, cp, 2, time.Second, 3)
	t.Logf("%+v", f)
	// Prometheus adds five series of its own per target (up, scrape_*).
	if want := float64(2 * (f.allSeries + 5)); f.headSeries != want {
		t.Errorf("Prometheus holds %v series, want %v: two serves of %d series and five of each scrape's own", f.headSeries, want, f.allSeries)
	}
	if f.plimsollSeries == 0 || f.plimsollSeries >= f.allSeries || f.rss <= 0 || f.heapInuse <= 0 || f.vmRSS <= 0 {
		t.Errorf("got %+v; want real figures", f)
	}
}

// BenchmarkFleet10kPods measures a fleet of three clusters of the shape of
// BenchmarkLiveAudit10kPods (100 nodes, 10,000 Running pods) in one
// Prometheus: three serves with different --cluster-name against that one
// cluster (their series are those of three such clusters), scraped every
// 15 s. It reports the series one serve exports (plimsoll_* and in all)
// and, after ten scrapes of each, Prometheus's series, resident memory
// (its own metric and /proc) and heap in use.
func BenchmarkFleet10kPods(b *testing.B) {
	cp := controlplane.Shared()
	populate(b, cp, scale{nodes: 100, namespaces: 50, deployments: 20, replicas: 10}, "big")
	b.ResetTimer()
	var f fleetFigures
	for range b.N {
		f = measureFleet(b, cp, 3, 15*time.Second, 10)
	}
	b.ReportMetric(float64(f.plimsollSeries), "plimsoll-series/cluster")
	b.ReportMetric(float64(f.allSeries), "series/cluster")
	b.ReportMetric(f.headSeries, "prometheus-head-series")
	b.ReportMetric(f.rss/(1<<20), "prometheus-rss-MB")
	b.ReportMetric(float64(f.vmRSS)/(1<<20), "prometheus-vmrss-MB")
	b.ReportMetric(f.heapInuse/(1<<20), "prometheus-heap-inuse-MB")
}
