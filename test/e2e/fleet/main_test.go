// Package fleet tests a fleet for real: three control planes, each with a
// different workload mix, one plimsoll serve per cluster (in process, with
// --cluster-name), and one real Prometheus, built from the Go module proxy
// by hack/prometheus-build, scraping all three. PromQL over Prometheus's
// HTTP API must give, per cluster, the score and failure counts that
// plimsoll audit gives for that cluster, and a change in one cluster must
// reach the fleet query within two scrapes.
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
// 127.0.0.1, with --cluster-name cluster. The test's cleanup stops it.
func startServe(t *testing.T, cp *controlplane.ControlPlane, cluster string) *server {
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
		"--cluster-name", cluster, "--debounce", "500ms",
		"--leader-elect=false", "--policy-reports=false",
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

// prometheus is a real Prometheus server process.
type prometheus struct {
	url string // http://127.0.0.1:PORT
	log string // path of its log
	cmd *exec.Cmd
}

// startPrometheus starts $PLIMSOLL_PROMETHEUS_BIN scraping targets (job
// plimsoll) and itself (job prometheus) every second, and waits until it is
// ready. The test's cleanup stops it and, if the test failed, logs the end
// of its log.
func startPrometheus(t *testing.T, targets []string) *prometheus {
	t.Helper()
	bin := os.Getenv(prometheusBinEnv)
	if bin == "" {
		t.Fatalf("%s is not set: build the prometheus server with hack/prometheus-build and run\n  %s=$(./hack/prometheus-build)/prometheus go test ./test/e2e/fleet\n(hack/test sets it)", prometheusBinEnv, prometheusBinEnv)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	quoted := make([]string, len(targets))
	for i, target := range targets {
		quoted[i] = strconv.Quote(target)
	}
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: plimsoll
    static_configs:
      - targets: [%s]
  - job_name: prometheus
    static_configs:
      - targets: [%q]
`, strings.Join(quoted, ", "), addr)
	configFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(configFile, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &prometheus{url: "http://" + addr, log: filepath.Join(dir, "prometheus.log")}
	logFile, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin,
		"--config.file", configFile,
		"--storage.tsdb.path", filepath.Join(dir, "data"),
		"--web.listen-address", addr,
	)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait(); logFile.Close() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			t.Logf("the end of Prometheus's log:\n%s", logEnd(p.log))
		}
	})
	waitFor(t, "Prometheus to be ready", 2*time.Minute, func() (bool, error) {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("Prometheus exited (%v); its log:\n%s", err, logEnd(p.log))
		default:
		}
		code, body, err := get(p.url + "/-/ready")
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("/-/ready %d: %s", code, body)
		}
		return err == nil, err
	})
	return p
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
