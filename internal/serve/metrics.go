package serve

import (
	"sort"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/report"
)

// metrics are what /metrics exports, on a registry of the server's own.
// Labels are bounded: layers, checks, severities, statuses and namespaces,
// never object names. Scores run from 0 to 100, as in the report; a score
// the audit could not give (a layer not assessed, a namespace with nothing
// scorable) is absent rather than NaN, so alerts on a low score stay quiet
// for it and plimsoll_checks_assessed says why.
type metrics struct {
	report      *reportCollector
	duration    prometheus.Histogram
	audits      *prometheus.CounterVec
	lastSuccess prometheus.Gauge
	leader      prometheus.Gauge
	syncs       *prometheus.CounterVec
	sinkOK      prometheus.Gauge
	configOK    prometheus.Gauge
	configTime  prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		report: &reportCollector{},
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "plimsoll_audit_duration_seconds",
			Help:    "Time an audit of the cached cluster took: inventory, checks and report.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}),
		audits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plimsoll_audits_total",
			Help: "Audits run, by result: ok, or error when no report came of it.",
		}, []string{"result"}),
		lastSuccess: gauge("plimsoll_last_successful_audit_timestamp_seconds",
			"When the latest successful audit finished, in seconds since the Unix epoch; 0 before the first."),
		leader: gauge("plimsoll_leader",
			"1 while this replica holds the leader Lease and hands reports to the sink, else 0."),
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plimsoll_report_syncs_total",
			Help: "Reports handed to the sink by this replica as leader, by result: ok or error.",
		}, []string{"result"}),
		sinkOK: gauge("plimsoll_report_sink_ok",
			"0 while the latest report could not be handed to the sink (PolicyReports not written: the CRDs missing, or the API server refusing them) and it is being retried, else 1."),
		configOK: gauge("plimsoll_config_reload_ok",
			"0 while the configuration file holds a change that could not be loaded (or cannot be read) and audits use the configuration loaded before it, else 1."),
		configTime: gauge("plimsoll_config_last_reload_success_timestamp_seconds",
			"When the configuration in force was loaded from the configuration file, at start or on a change, in seconds since the Unix epoch; 0 without a configuration file."),
	}
	m.sinkOK.Set(1)
	m.configOK.Set(1)
	for _, r := range []string{"ok", "error"} {
		m.audits.WithLabelValues(r)
		m.syncs.WithLabelValues(r)
	}
	reg.MustRegister(m.report, m.duration, m.audits, m.lastSuccess, m.leader, m.syncs, m.sinkOK, m.configOK, m.configTime)
	return m
}

// gauge is a gauge without labels.
func gauge(name, help string) prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
}

// registerState exports the informers' state and the API server's
// reachability, read at each scrape.
func registerState(reg prometheus.Registerer, types func() state, reachable func() bool) {
	for _, s := range []struct {
		name string
		get  func(state) int
	}{
		{"synced", func(s state) int { return s.synced }},
		{"syncing", func(s state) int { return s.syncing }},
		{"unread", func(s state) int { return s.unread }},
	} {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "plimsoll_resource_types",
			Help:        "Resource types watched, by state: synced (listed and watched), syncing (not yet listed), unread (refused, failing, or not discovered).",
			ConstLabels: prometheus.Labels{"state": s.name},
		}, func() float64 { return float64(s.get(types())) }))
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "plimsoll_api_server_reachable",
		Help: "1 while the API server answers this replica's requests, 0 once they have all failed for longer than /readyz tolerates.",
	}, func() float64 {
		if reachable() {
			return 1
		}
		return 0
	}))
}

// configLoaded records that the configuration file's content in force
// was loaded at at.
func (m *metrics) configLoaded(at time.Time) {
	m.configOK.Set(1)
	m.configTime.Set(float64(at.UnixNano()) / 1e9)
}

// audited records an audit that took d and produced r, or failed (r nil).
func (m *metrics) audited(r *report.Report, d time.Duration, at time.Time) {
	m.duration.Observe(d.Seconds())
	if r == nil {
		m.audits.WithLabelValues("error").Inc()
		return
	}
	m.audits.WithLabelValues("ok").Inc()
	m.lastSuccess.Set(float64(at.UnixNano()) / 1e9)
	m.report.set(summarize(r))
}

// reportCollector exports the latest report, summarized once per audit
// rather than once per scrape.
type reportCollector struct {
	cur atomic.Pointer[summary]
}

var (
	scoreDesc = prometheus.NewDesc("plimsoll_score",
		"Overall readiness score of the latest audit, 0 to 100; absent when nothing scorable was assessed.", nil, nil)
	layerScoreDesc = prometheus.NewDesc("plimsoll_layer_score",
		"Readiness score of a checklist layer, 0 to 100; absent for a layer that was not assessed.", []string{"layer"}, nil)
	namespaceScoreDesc = prometheus.NewDesc("plimsoll_namespace_score",
		`Readiness score of a namespace, 0 to 100 (namespace "" holds cluster-scoped objects); absent when nothing in it was scorable.`, []string{"namespace"}, nil)
	resultsDesc = prometheus.NewDesc("plimsoll_results",
		`Results of the latest audit by check, layer, severity, status (pass, fail, skip, error) and namespace ("" for cluster-scoped objects; a Namespace's own results count in it). A check that finds several things wrong with an object gives several fail results.`,
		[]string{"check", "layer", "severity", "status", "namespace"}, nil)
	coverageDesc = prometheus.NewDesc("plimsoll_coverage_percent",
		"Share of the checklist the latest audit could assess: the mean over the layers of their assessed share of enabled checks, 0 to 100.", nil, nil)
	checksDesc = prometheus.NewDesc("plimsoll_checks",
		"Enabled checks, by layer.", []string{"layer"}, nil)
	assessedDesc = prometheus.NewDesc("plimsoll_checks_assessed",
		"Enabled checks the latest audit could assess, by layer.", []string{"layer"}, nil)
	checkAssessedDesc = prometheus.NewDesc("plimsoll_check_assessed",
		"1 when the latest audit could assess the check, 0 when what it needs could not be read.", []string{"check", "layer"}, nil)
	objectsDesc = prometheus.NewDesc("plimsoll_objects",
		"Objects the latest audit looked at.", nil, nil)
	verdictDesc = prometheus.NewDesc("plimsoll_verdict",
		"The latest audit's verdict, one series per possible value, 1 for the one in force: ready (every layer assessed, no check of high or critical severity fails), not-ready (one fails), incomplete (nothing high fails, but a layer could not be assessed or an input read).", []string{"verdict"}, nil)
	blockingDesc = prometheus.NewDesc("plimsoll_blocking_checks",
		"Failing checks of high or critical severity, by layer: what stops the cluster from being production-ready.", []string{"layer"}, nil)
	inputErrorsDesc = prometheus.NewDesc("plimsoll_input_errors",
		"Inputs the latest audit could not read (resource types refused or failing, objects that could not be decoded); above 0 the audit is partial.", nil, nil)
)

func (c *reportCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{scoreDesc, verdictDesc, blockingDesc, layerScoreDesc, namespaceScoreDesc, resultsDesc, coverageDesc, checksDesc, assessedDesc, checkAssessedDesc, objectsDesc, inputErrorsDesc} {
		ch <- d
	}
}

func (c *reportCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.cur.Load()
	if s == nil {
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	if s.overall != nil {
		gauge(scoreDesc, *s.overall)
	}
	for _, v := range []audit.Verdict{audit.Ready, audit.NotReady, audit.Incomplete} {
		gauge(verdictDesc, boolValue(string(v) == s.verdict.Status), string(v))
	}
	blocking := map[string]int{}
	for _, b := range s.verdict.Blockers {
		blocking[b.Layer]++
	}
	for _, l := range s.layers {
		gauge(blockingDesc, float64(blocking[l.Layer]), l.Layer)
		if l.Score != nil {
			gauge(layerScoreDesc, *l.Score, l.Layer)
		}
		gauge(checksDesc, float64(l.Checks), l.Layer)
		gauge(assessedDesc, float64(l.Assessed), l.Layer)
	}
	for _, n := range s.namespaces {
		if n.Score != nil {
			gauge(namespaceScoreDesc, *n.Score, n.Namespace)
		}
	}
	for _, r := range s.results {
		gauge(resultsDesc, float64(r.n), r.check, r.layer, r.severity, r.status, r.namespace)
	}
	for _, ch := range s.checks {
		gauge(checkAssessedDesc, boolValue(ch.Assessed), ch.ID, ch.Layer)
	}
	gauge(coverageDesc, s.coverage)
	gauge(objectsDesc, float64(s.objects))
	gauge(inputErrorsDesc, float64(s.inputErrors))
}

func (c *reportCollector) set(s *summary) { c.cur.Store(s) }

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// summary is what the metrics show of a report.
type summary struct {
	verdict     report.Verdict
	overall     *float64
	layers      []report.LayerScore
	namespaces  []report.NamespaceScore
	results     []resultCount
	checks      []report.Check
	coverage    float64
	objects     int
	inputErrors int
}

type resultCount struct {
	check, layer, severity, status, namespace string
	n                                         int
}

func summarize(r *report.Report) *summary {
	s := &summary{
		verdict: r.Score.Verdict, overall: r.Score.Overall, layers: r.Score.Layers, namespaces: r.Score.Namespaces, checks: r.Checks,
		coverage: r.Score.Coverage.Percent, objects: r.Summary.Objects, inputErrors: len(r.InputErrors),
	}
	counts := map[resultCount]int{}
	for _, res := range r.Results {
		counts[resultCount{check: res.Check, layer: res.Layer, severity: res.Severity, status: res.Status, namespace: res.Object.ScoreNamespace()}]++
	}
	for k, n := range counts {
		k.n = n
		s.results = append(s.results, k)
	}
	sort.Slice(s.results, func(i, j int) bool {
		a, b := s.results[i], s.results[j]
		if a.check != b.check {
			return a.check < b.check
		}
		if a.namespace != b.namespace {
			return a.namespace < b.namespace
		}
		if a.status != b.status {
			return a.status < b.status
		}
		return a.severity < b.severity
	})
	return s
}
