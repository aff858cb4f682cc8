// Package fleet tests a fleet for real, and the recipes of docs/fleet.md:
// three control planes, each with a different workload mix, one plimsoll
// serve per cluster (in process, two with --cluster-name, one named by its
// Prometheus instead), and real Prometheus servers, built from the Go
// module proxy by hack/prometheus-build: one scraping all three serves,
// and the federation recipe's Prometheus per cluster with a global one
// federating from them. PromQL over each fleet view's HTTP API must give,
// per cluster, the score and failure counts that plimsoll audit gives for
// that cluster; a change in one cluster must reach the direct Prometheus
// within two scrapes and then every fleet view, leaving the other clusters
// as they were.
package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/plimsoll/plimsoll/internal/cli"
	"github.com/plimsoll/plimsoll/internal/report"
	"github.com/plimsoll/plimsoll/test/controlplane"
)

func TestMain(m *testing.M) { controlplane.Main(m) }

// prometheusBinEnv names the prometheus server that hack/prometheus-build
// builds; hack/test exports it.
const prometheusBinEnv = "PLIMSOLL_PROMETHEUS_BIN"

// clock is the fixed time both serve and audit judge exemptions at.
var clock = func() time.Time { return time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC) }

// server is one plimsoll serve running in process.
type server struct {
	addr   string // host:port of its listener
	cancel context.CancelFunc
	done   chan error
	log    string // path of its log
}

// startServe runs plimsoll serve as the admin of cp on a free port of
// 127.0.0.1, with --cluster-name cluster if nameIt (else the Prometheus
// that scrapes it names the cluster). The test's cleanup stops it.
func startServe(t *testing.T, cp *controlplane.ControlPlane, cluster string, nameIt bool) *server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	s := &server{addr: l.Addr().String(), cancel: cancel, done: make(chan error, 1), log: filepath.Join(dir, "serve.log")}
	logFile, err := os.Create(s.log)
	if err != nil {
		t.Fatal(err)
	}
	streams := cli.Streams{
		In: strings.NewReader(""), Out: logFile, Err: logFile,
		Getenv: func(string) string { return "" },
		Dir:    dir, Now: clock,
	}
	args := []string{
		"--kubeconfig", cp.Kubeconfig(controlplane.AdminUser),
		"--debounce", "500ms", "--leader-elect=false", "--policy-reports=false",
	}
	if nameIt {
		args = append(args, "--cluster-name", cluster)
	}
	go func() { s.done <- cli.Serve(ctx, args, streams, cli.ServeDeps{Listener: l}) }()
	t.Cleanup(func() {
		s.cancel()
		select {
		case err := <-s.done:
			if err != nil {
				t.Errorf("serve %s: %v", cluster, err)
			}
		case <-time.After(time.Minute):
			t.Errorf("serve %s did not stop within a minute of its context's end", cluster)
		}
		logFile.Close()
		if t.Failed() {
			t.Logf("the end of serve %s's log:\n%s", cluster, logEnd(s.log))
		}
	})
	return s
}

// get returns the status and body of a GET of url.
func get(url string) (int, string, error) {
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// awaitReady waits until serve's /readyz answers 200: its first audit is
// done.
func (s *server) awaitReady(t *testing.T) {
	t.Helper()
	waitFor(t, "serve to be ready", 3*time.Minute, func() (bool, error) {
		code, body, err := get("http://" + s.addr + "/readyz")
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("/readyz %d: %s", code, body)
		}
		return err == nil, err
	})
}

// score reads plimsoll_score from serve's own /metrics.
func (s *server) score() (float64, error) {
	code, body, err := get("http://" + s.addr + "/metrics")
	if err != nil {
		return 0, err
	}
	if code != http.StatusOK {
		return 0, fmt.Errorf("/metrics: %d", code)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	f := mfs["plimsoll_score"]
	if f == nil || len(f.GetMetric()) != 1 {
		return 0, errors.New("no plimsoll_score")
	}
	return gaugeOf(f.GetMetric()[0]), nil
}

func gaugeOf(m *dto.Metric) float64 { return m.GetGauge().GetValue() }

// prometheus is a real Prometheus server process, or anything that
// answers Prometheus's HTTP query API (Thanos Query).
type prometheus struct {
	name string // what the test calls it
	url  string // http://127.0.0.1:PORT
	addr string // 127.0.0.1:PORT
	data string // its TSDB directory (none for Thanos Query)
}

// freeAddr returns a port of 127.0.0.1 that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// binary returns the path in env, or fails the test saying which script
// builds it.
func binary(t *testing.T, env, script, file string) string {
	t.Helper()
	bin := os.Getenv(env)
	if bin == "" {
		t.Fatalf("%s is not set: build it with hack/%s and run\n  %s=$(./hack/%s)/%s go test ./test/e2e/fleet\n(hack/test sets it)", env, script, env, script, file)
	}
	return bin
}

// startProcess runs bin with args, its output in a log of the test's, and
// waits until ready (a URL) answers 200. The test's cleanup stops it and,
// if the test failed, logs the end of its log.
func startProcess(t *testing.T, name, bin string, args []string, ready string) {
	t.Helper()
	log := filepath.Join(t.TempDir(), name+".log")
	logFile, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logFile.Close() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			t.Logf("the end of %s's log:\n%s", name, logEnd(log))
		}
	})
	waitFor(t, name+" to be ready", 2*time.Minute, func() (bool, error) {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("%s exited (%v); its log:\n%s", name, err, logEnd(log))
		default:
		}
		code, body, err := get(ready)
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("%s %d: %s", ready, code, body)
		}
		return err == nil, err
	})
}

// startPrometheus starts $PLIMSOLL_PROMETHEUS_BIN with the configuration
// config makes of its own address, and waits until it is ready.
func startPrometheus(t *testing.T, name string, config func(addr string) string) *prometheus {
	t.Helper()
	bin := binary(t, prometheusBinEnv, "prometheus-build", "prometheus")
	addr := freeAddr(t)
	dir := t.TempDir()
	configFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(configFile, []byte(config(addr)), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &prometheus{name: name, url: "http://" + addr, addr: addr, data: filepath.Join(dir, "data")}
	startProcess(t, name, bin, []string{
		"--config.file", configFile,
		"--storage.tsdb.path", p.data,
		"--web.listen-address", addr,
	}, p.url+"/-/ready")
	return p
}

// targetList is targets as a YAML flow sequence of quoted strings.
func targetList(targets ...string) string {
	quoted := make([]string, len(targets))
	for i, target := range targets {
		quoted[i] = strconv.Quote(target)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// scrapeConfig is the configuration of a Prometheus that scrapes serves
// directly (job plimsoll; each target with the extra labels given for it,
// if any) and itself (job prometheus) every second.
func scrapeConfig(targets []string, labels map[string]string) func(addr string) string {
	return func(addr string) string {
		var b strings.Builder
		b.WriteString("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: plimsoll\n    static_configs:\n")
		for _, target := range targets {
			fmt.Fprintf(&b, "      - targets: %s\n", targetList(target))
			if labels[target] != "" {
				fmt.Fprintf(&b, "        labels: {%s}\n", labels[target])
			}
		}
		fmt.Fprintf(&b, "  - job_name: prometheus\n    static_configs:\n      - targets: %s\n", targetList(addr))
		return b.String()
	}
}

// clusterConfig is the configuration of one cluster's own Prometheus, as
// docs/fleet.md gives it: it scrapes that cluster's serve every second and
// names the cluster in an external label, which federation and Thanos's
// sidecar add to the series that lack it.
func clusterConfig(cluster, target string) func(addr string) string {
	return func(string) string {
		return fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  external_labels:
    cluster: %s
scrape_configs:
  - job_name: plimsoll
    static_configs:
      - targets: %s
`, cluster, targetList(target))
	}
}

// globalConfig is the configuration of the global Prometheus of the
// federation recipe in docs/fleet.md: it federates plimsoll's series from
// each cluster's Prometheus, keeping their labels (honor_labels), and
// scrapes itself. Federated samples carry the timestamps of the cluster's
// Prometheus, and Prometheus marks no series with its own timestamps stale
// when it vanishes unless told to (track_timestamps_staleness): without it
// a result that is gone from a cluster would stay in the global view for
// the five minutes of a query's lookback.
func globalConfig(clusterPrometheus []string) func(addr string) string {
	return func(addr string) string {
		return fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: federate
    honor_labels: true
    track_timestamps_staleness: true
    metrics_path: /federate
    params:
      'match[]': ['{__name__=~"plimsoll_.+"}']
    static_configs:
      - targets: %s
  - job_name: prometheus
    static_configs:
      - targets: %s
`, targetList(clusterPrometheus...), targetList(addr))
	}
}

// thanosBinEnv names the thanos binary that hack/thanos-build builds;
// hack/test exports it.
const thanosBinEnv = "PLIMSOLL_THANOS_BIN"

// startThanos starts, as docs/fleet.md's Thanos recipe does, a Thanos
// sidecar beside each cluster's Prometheus and one Thanos Query over their
// store APIs (gRPC on loopback), and returns the Query, whose HTTP API is
// Prometheus's.
func startThanos(t *testing.T, clusterPrometheus []*prometheus) (query *prometheus, sidecars []string) {
	t.Helper()
	bin := binary(t, thanosBinEnv, "thanos-build", "thanos")
	var endpoints []string
	for _, p := range clusterPrometheus {
		grpc, http := freeAddr(t), freeAddr(t)
		startProcess(t, "thanos sidecar of "+p.name, bin, []string{
			"sidecar", "--log.level", "warn",
			"--prometheus.url", p.url,
			"--tsdb.path", p.data, // what it would upload, given object storage
			"--grpc-address", grpc, "--http-address", http,
		}, "http://"+http+"/-/ready")
		endpoints = append(endpoints, "  - address: "+grpc+"\n")
		sidecars = append(sidecars, "http://"+http)
	}
	grpc, http := freeAddr(t), freeAddr(t)
	// --endpoint is deprecated in favour of this configuration.
	args := []string{"query", "--log.level", "warn",
		"--endpoint.sd-config", "endpoints:\n" + strings.Join(endpoints, ""),
		"--grpc-address", grpc, "--http-address", http}
	query = &prometheus{name: "thanos query", url: "http://" + http, addr: http}
	startProcess(t, query.name, bin, args, query.url+"/-/ready")
	return query, sidecars
}

// selfMetric reads one unlabelled metric from the /metrics of the process
// at baseURL.
func selfMetric(baseURL, name string) (float64, error) {
	code, body, err := get(baseURL + "/metrics")
	if err != nil {
		return 0, err
	}
	if code != http.StatusOK {
		return 0, fmt.Errorf("%s/metrics: %d", baseURL, code)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	f := mfs[name]
	if f == nil || len(f.GetMetric()) != 1 {
		return 0, fmt.Errorf("%s/metrics has no %s", baseURL, name)
	}
	m := f.GetMetric()[0]
	if m.GetGauge() != nil {
		return m.GetGauge().GetValue(), nil
	}
	return m.GetUntyped().GetValue(), nil
}

// sample is one series of an instant vector, or of a range vector with
// its samples.
type sample struct {
	Metric map[string]string `json:"metric"`
	Value  point             `json:"value"`
	Values []point           `json:"values"`
}

// point is a timestamp in seconds and a value.
type point struct {
	T float64
	V float64
}

func (p *point) UnmarshalJSON(b []byte) error {
	var raw [2]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	var v string
	if err := json.Unmarshal(raw[0], &p.T); err != nil {
		return err
	}
	if err := json.Unmarshal(raw[1], &v); err != nil {
		return err
	}
	var err error
	p.V, err = strconv.ParseFloat(v, 64)
	return err
}

// time is the point's timestamp; Prometheus keeps milliseconds.
func (p point) time() time.Time { return time.UnixMilli(int64(p.T*1000 + 0.5)) }

// query evaluates expr now through /api/v1/query.
func (p *prometheus) query(expr string) ([]sample, error) {
	code, body, err := get(p.url + "/api/v1/query?query=" + url.QueryEscape(expr))
	if err != nil {
		return nil, err
	}
	var resp struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []sample `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		return nil, fmt.Errorf("%s: %d: %v: %s", expr, code, err, body)
	}
	if resp.Status != "success" {
		return nil, fmt.Errorf("%s: %d: %s", expr, code, resp.Error)
	}
	return resp.Data.Result, nil
}

// byLabel maps the value of label in each series of an instant vector to
// its value.
func byLabel(samples []sample, label string) map[string]float64 {
	out := map[string]float64{}
	for _, s := range samples {
		out[s.Metric[label]] = s.Value.V
	}
	return out
}

// audit runs plimsoll audit -o json in process as cp's admin and decodes
// the report.
func audit(t *testing.T, cp *controlplane.ControlPlane) *report.Report {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Main(context.Background(), []string{"audit", "--kubeconfig", cp.Kubeconfig(controlplane.AdminUser), "-o", "json"}, cli.Streams{
		In: strings.NewReader(""), Out: &out, Err: &errOut,
		Getenv: func(string) string { return "" }, Dir: t.TempDir(), Now: clock,
	})
	if code != cli.ExitOK && code != cli.ExitGate && code != cli.ExitPartial {
		t.Fatalf("plimsoll audit: exit %d: %s", code, errOut.String())
	}
	var r report.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("plimsoll audit: %v; stderr:\n%s", err, errOut.String())
	}
	return &r
}

// waitFor polls cond every quarter second until it holds, and fails the
// test with cond's last error when timeout passes first.
var waitFor = controlplane.WaitFor

// logEnd returns the last 8 KiB of the file at path.
func logEnd(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return string(data[max(0, len(data)-8192):])
}
