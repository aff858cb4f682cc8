package serve

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"k8s.io/utils/clock"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/checks"
	"github.com/plimsoll/plimsoll/internal/config"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/manifest"
	"github.com/plimsoll/plimsoll/internal/platform"
	"github.com/plimsoll/plimsoll/internal/report"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// testReport audits testdata/shop.yaml as plimsoll audit does.
func testReport(t *testing.T) *report.Report {
	t.Helper()
	res := manifest.Load(context.Background(), []string{filepath.Join("testdata", "shop.yaml")}, manifest.Options{})
	if len(res.Errors) > 0 {
		t.Fatalf("load: %v", res.Errors)
	}
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	a := audit.Run(platform.Inventory(inventory.FromManifests, res.Objects), audit.Options{
		Registry: checks.Registry(), Config: config.Default(), Now: now,
	})
	return report.Build(a, report.Input{Tool: "plimsoll", Version: "test", Sources: []string{"testdata/shop.yaml"}})
}

// TestMetricsGolden feeds a fixed report and two audits' timings into the
// metrics and compares what a scrape shows with testdata/metrics.golden
// (the process and Go collectors left out). -update rewrites the golden.
func TestMetricsGolden(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	m.audited(nil, 30*time.Millisecond, time.Unix(1795000000, 0))
	m.audited(testReport(t), 700*time.Millisecond, time.Unix(1795000060, 500_000_000))
	m.syncs.WithLabelValues("ok").Inc()
	m.leader.Set(1)
	registerState(reg, func() state { return state{synced: 20, syncing: 1, unread: 2} }, func() bool { return true })

	golden := filepath.Join("testdata", "metrics.golden")
	if *update {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, mf := range mfs {
			if err := writeText(&b, mf); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(golden)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := testutil.GatherAndCompare(reg, f); err != nil {
		t.Errorf("metrics differ from %s (go test -update to accept):\n%v", golden, err)
	}
}

// TestMetricsBeforeFirstAudit: no report, no report metrics; the audit
// counters are there at zero.
func TestMetricsBeforeFirstAudit(t *testing.T) {
	reg := prometheus.NewRegistry()
	newMetrics(reg)
	if n := testutil.CollectAndCount(&reportCollector{}); n != 0 {
		t.Errorf("got %d report metrics before any audit, want none", n)
	}
	n, err := testutil.GatherAndCount(reg, "plimsoll_audits_total")
	if err != nil || n != 2 {
		t.Errorf("got %d plimsoll_audits_total series (%v), want 2 (ok and error)", n, err)
	}
}

func writeText(b *strings.Builder, mf *dto.MetricFamily) error {
	_, err := expfmt.MetricFamilyToText(b, mf)
	return err
}

// TestMetricsClusterLabel: with Options.Cluster, every series, the
// process's and Go's included, carries the cluster label, so that one
// Prometheus holds many clusters apart.
func TestMetricsClusterLabel(t *testing.T) {
	s := newLocalServer(Options{Cluster: "eu-west-1", Clock: clock.RealClock{}})
	s.cache = newFakes()
	s.metrics.audited(testReport(t), time.Second, time.Unix(1795000000, 0))
	mfs, err := s.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := 0
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			series++
			found := false
			for _, l := range m.GetLabel() {
				found = found || l.GetName() == "cluster" && l.GetValue() == "eu-west-1"
			}
			if !found {
				t.Errorf("%s has no cluster label: %v", mf.GetName(), m.GetLabel())
			}
		}
	}
	if series < 100 {
		t.Errorf("gathered %d series, want the report's too", series)
	}
}
