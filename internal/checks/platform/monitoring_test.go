package platform

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/check"
)

// monitoringIDs are the checks of monitoring.go, alerting.go and logging.go.
var monitoringIDs = []string{
	"monitoring-prometheus", "monitoring-alertmanager", "monitoring-grafana",
	"monitoring-kube-state-metrics", "monitoring-node-exporter", "monitoring-alert-rules",
	"monitoring-alertmanager-receiver", "namespace-monitors", "logging-shipper", "logging-backend",
}

// auditCluster audits objects read as a cluster, on the day of the
// production snapshot, and returns the results of one check.
func auditCluster(t *testing.T, yaml, id string) []audit.Result {
	t.Helper()
	results, _ := resultsOf(auditObjects(t, parseCluster(t, yaml), snapshotTime), id)
	return results
}

func fixture(t *testing.T, id, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", id, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// Objects the cases below assemble clusters from.
const (
	datadogAgent = `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: datadog, namespace: datadog, labels: {app.kubernetes.io/name: datadog}}
spec:
  selector: {matchLabels: {app: datadog}}
  template:
    metadata: {labels: {app: datadog}}
    spec: {containers: [{name: agent, image: "gcr.io/datadoghq/agent:7.70.0"}]}
status: {desiredNumberScheduled: 3, numberReady: 3}
`
	communityPrometheus = `apiVersion: apps/v1
kind: Deployment
metadata: {name: prometheus-server, namespace: monitoring, labels: {app.kubernetes.io/name: prometheus}}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: prometheus}}
  template:
    metadata: {labels: {app.kubernetes.io/name: prometheus}}
    spec: {containers: [{name: prometheus-server, image: "quay.io/prometheus/prometheus:v3.5.0"}]}
status: {replicas: 1, readyReplicas: 1}
`
	communityAlertmanager = `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: prometheus-alertmanager, namespace: monitoring, labels: {app.kubernetes.io/name: alertmanager}}
spec:
  serviceName: prometheus-alertmanager-headless
  selector: {matchLabels: {app.kubernetes.io/name: alertmanager}}
  template:
    metadata: {labels: {app.kubernetes.io/name: alertmanager}}
    spec: {containers: [{name: alertmanager, image: "quay.io/prometheus/alertmanager:v0.28.1"}]}
status: {replicas: 1, readyReplicas: 1}
`
	fluentBitOnly = `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: fluent-bit, namespace: logging, labels: {app.kubernetes.io/name: fluent-bit}}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: fluent-bit}}
  template:
    metadata: {labels: {app.kubernetes.io/name: fluent-bit}}
    spec: {containers: [{name: fluent-bit, image: "cr.fluentbit.io/fluent/fluent-bit:4.0.7"}]}
status: {desiredNumberScheduled: 3, numberReady: 3}
`
)

// TestMonitoringOutcomes covers what fixtures cannot: the evidence a pass
// gives (fixtures only count passes), results that are not assessed, and
// the default alert topics (the fixtures of monitoring-alert-rules set
// their own).
func TestMonitoringOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name, id, yaml string
		// status is the result's status; unassessed distinguishes a skip
		// for want of evidence from one for not applying.
		status     audit.Status
		unassessed bool
		want       []string
	}{
		{
			name: "operator Prometheus", id: "monitoring-prometheus", status: audit.Pass,
			yaml: fixture(t, "monitoring-prometheus", "pass-operator.yaml"),
			want: []string{"Prometheus StatefulSet monitoring/prometheus-k8s (label app.kubernetes.io/name=prometheus) has 2 of 2 replicas ready"},
		},
		{
			name: "hosted agent counts as monitoring", id: "monitoring-prometheus", status: audit.Pass,
			yaml: datadogAgent,
			want: []string{"no Prometheus, but a hosted monitoring agent collects metrics: Datadog Agent DaemonSet datadog/datadog (label app.kubernetes.io/name=datadog), 3 of 3 ready"},
		},
		{
			name: "hosted agent alerts instead of Alertmanager", id: "monitoring-alertmanager", status: audit.Skip, unassessed: true,
			yaml: datadogAgent,
			want: []string{"not assessed: alerting is done by the hosted agent Datadog Agent DaemonSet datadog/datadog"},
		},
		{
			name: "hosted agent instead of Grafana", id: "monitoring-grafana", status: audit.Skip, unassessed: true,
			yaml: datadogAgent,
			want: []string{"dashboards are those of the hosted agent Datadog Agent"},
		},
		{
			name: "hosted agent instead of kube-state-metrics", id: "monitoring-kube-state-metrics", status: audit.Skip, unassessed: true,
			yaml: datadogAgent,
			want: []string{"object state is collected by the hosted agent Datadog Agent"},
		},
		{
			name: "a Prometheus that is down is not excused by a hosted agent", id: "monitoring-alertmanager", status: audit.Fail,
			yaml: datadogAgent + "---\n" + fixture(t, "monitoring-prometheus", "fail-not-ready.yaml"),
			want: []string{"no Alertmanager found"},
		},
		{
			name: "hosted agent covering the nodes", id: "monitoring-node-exporter", status: audit.Pass,
			yaml: fixture(t, "monitoring-node-exporter", "pass-hosted-agent.yaml"),
			want: []string{"Datadog Agent DaemonSet datadog/datadog (label app.kubernetes.io/name=datadog), the hosted agent that collects host metrics in place of node-exporter, has a ready pod on each of the 4 nodes"},
		},
		{
			name: "node-exporter on every node", id: "monitoring-node-exporter", status: audit.Pass,
			yaml: fixture(t, "monitoring-node-exporter", "pass-all-nodes.yaml"),
			want: []string{"node-exporter DaemonSet monitoring/node-exporter (label app.kubernetes.io/name=node-exporter) has a ready pod on each of the 4 nodes"},
		},
		{
			name: "no Node visible", id: "monitoring-node-exporter", status: audit.Skip, unassessed: true,
			yaml: exampleNodeExporter[strings.Index(exampleNodeExporter, "apiVersion: apps/v1"):],
			want: []string{"no Node is visible"},
		},
		{
			name: "default topics on kube-prometheus's rules", id: "monitoring-alert-rules", status: audit.Pass,
			yaml: fixture(t, "monitoring-alert-rules", "pass-kube-prometheus.yaml"),
			want: []string{
				"node not ready: PrometheusRule monitoring/kubernetes-monitoring-rules alert KubeNodeNotReady",
				"pods crash-looping: PrometheusRule monitoring/kubernetes-monitoring-rules alert KubePodCrashLooping",
				"disk pressure: PrometheusRule monitoring/node-exporter-rules alert NodeFilesystemSpaceFillingUp",
				"memory pressure: PrometheusRule monitoring/kubernetes-monitoring-rules alert KubeMemoryOvercommit",
				"API server errors: PrometheusRule monitoring/kubernetes-monitoring-rules alert KubeAPIErrorBudgetBurn",
				"certificate expiry: PrometheusRule monitoring/kubernetes-monitoring-rules alert KubeClientCertificateExpiration",
				"backup failure: PrometheusRule velero/velero alert VeleroBackupPartialFailures",
			},
		},
		{
			name: "default topics on the kube-state-metrics rules only", id: "monitoring-alert-rules", status: audit.Fail,
			yaml: fixture(t, "monitoring-alert-rules", "fail-kube-state-metrics-rules-only.yaml"),
			want: []string{"no alerting rule covers backup failure: looked for alert names matching Backup.*Fail, or expressions matching velero_backup_failure_total or velero_backup_partial_failure_total or velero_backup_last_status in the 4 alerting rules of the PrometheusRules loaded by Prometheus monitoring/k8s"},
		},
		{
			name: "rules in a Prometheus configuration file", id: "monitoring-alert-rules", status: audit.Skip, unassessed: true,
			yaml: communityPrometheus,
			want: []string{"not assessed: Prometheus Deployment monitoring/prometheus-server (label app.kubernetes.io/name=prometheus) is not run by the Prometheus Operator", "which plimsoll does not read"},
		},
		{
			name: "hosted agent alerts instead of rules", id: "monitoring-alert-rules", status: audit.Skip, unassessed: true,
			yaml: datadogAgent,
			want: []string{"alerting is done by the hosted agent"},
		},
		{
			name: "a Prometheus without ruleSelector loads no rule", id: "monitoring-alert-rules", status: audit.Fail,
			yaml: strings.Replace(fixture(t, "monitoring-alert-rules", "pass-kube-prometheus.yaml"), "  ruleSelector: {}\n", "", 1),
			want: []string{"Prometheus monitoring/k8s has no spec.ruleSelector, so it selects no PrometheusRules"},
		},
		{
			name: "rules loaded from the Prometheus's own namespace only", id: "monitoring-alert-rules", status: audit.Fail,
			yaml: strings.Replace(fixture(t, "monitoring-alert-rules", "pass-kube-prometheus.yaml"), "  ruleNamespaceSelector: {}\n", "", 1),
			want: []string{"no loaded alerting rule covers backup failure: PrometheusRule velero/velero alert VeleroBackupPartialFailures would", "selects every PrometheusRule (spec.ruleSelector {}) from its own namespace monitoring"},
		},
		{
			name: "selected AlertmanagerConfig", id: "monitoring-alertmanager-receiver", status: audit.Pass,
			yaml: fixture(t, "monitoring-alertmanager-receiver", "pass-selected-config.yaml"),
			want: []string{"Alertmanager monitoring/main uses receiver slack-platform of AlertmanagerConfig monitoring/platform-oncall (spec.alertmanagerConfigSelector), which has slackConfigs; the operator routes to it only alerts labelled namespace=monitoring"},
		},
		{
			name: "global AlertmanagerConfig", id: "monitoring-alertmanager-receiver", status: audit.Pass,
			yaml: fixture(t, "monitoring-alertmanager-receiver", "pass-global-config.yaml"),
			want: []string{"Alertmanager monitoring/main uses receiver pagerduty of AlertmanagerConfig monitoring/global-config (spec.alertmanagerConfiguration), which has pagerdutyConfigs"},
		},
		{
			name: "configuration only in the Secret", id: "monitoring-alertmanager-receiver", status: audit.Skip, unassessed: true,
			yaml: fixture(t, "monitoring-alertmanager", "pass-operator.yaml"),
			want: []string{"not assessed: Alertmanager monitoring/main: the configuration is in Secret alertmanager-main, which plimsoll does not read"},
		},
		{
			name: "Secret and selected configs with empty receivers", id: "monitoring-alertmanager-receiver", status: audit.Skip, unassessed: true,
			yaml: strings.Replace(fixture(t, "monitoring-alertmanager-receiver", "pass-selected-config.yaml"), "    slackConfigs:\n    - apiURL: {name: slack-webhook, key: url}\n      channel: '#platform-alerts'\n      sendResolved: true\n", "", 1),
			want: []string{"the configuration is in Secret alertmanager-main, which plimsoll does not read; of the AlertmanagerConfigs it selects, every receiver in them is empty (no *Configs): receivers slack-platform of AlertmanagerConfig monitoring/platform-oncall"},
		},
		{
			name: "Alertmanager not run by the operator", id: "monitoring-alertmanager-receiver", status: audit.Skip, unassessed: true,
			yaml: communityAlertmanager,
			want: []string{"Alertmanager StatefulSet monitoring/prometheus-alertmanager (label app.kubernetes.io/name=alertmanager) is not run by the Prometheus Operator"},
		},
		{
			name: "no Alertmanager", id: "monitoring-alertmanager-receiver", status: audit.Fail,
			yaml: communityPrometheus,
			want: []string{"no Alertmanager found, so no alert reaches a receiver"},
		},
		{
			name: "Datadog shipping logs", id: "logging-shipper", status: audit.Pass,
			yaml: fixture(t, "logging-shipper", "pass-datadog-logs.yaml"),
			want: []string{"Datadog Agent DaemonSet datadog/datadog (label app.kubernetes.io/name=datadog), which collects logs (env DD_LOGS_ENABLED=true in container agent), has a ready pod on each of the 4 nodes"},
		},
		{
			name: "logs go to Datadog", id: "logging-backend", status: audit.Pass,
			yaml: fixture(t, "logging-shipper", "pass-datadog-logs.yaml"),
			want: []string{"logs go to the hosted service of Datadog Agent DaemonSet datadog/datadog (label app.kubernetes.io/name=datadog), which collects logs (env DD_LOGS_ENABLED=true in container agent)"},
		},
		{
			name: "Loki", id: "logging-backend", status: audit.Pass,
			yaml: fixture(t, "logging-backend", "pass-loki.yaml"),
			want: []string{"Loki StatefulSet logging/loki (label app.kubernetes.io/name=loki) has 3 of 3 replicas ready"},
		},
		{
			name: "a shipper and no backend", id: "logging-backend", status: audit.Skip, unassessed: true,
			yaml: fluentBitOnly,
			want: []string{"not assessed: no log backend runs in the cluster; Fluent Bit DaemonSet logging/fluent-bit must ship logs outside it: confirm where they go"},
		},
		{
			name: "ServiceMonitor of the namespace", id: "namespace-monitors", status: audit.Pass,
			yaml: fixture(t, "namespace-monitors", "pass-own-servicemonitor.yaml"),
			want: []string{"namespace shop is watched by ServiceMonitor shop/web"},
		},
		{
			name: "PodMonitor elsewhere", id: "namespace-monitors", status: audit.Pass,
			yaml: fixture(t, "namespace-monitors", "pass-selected-elsewhere.yaml"),
			want: []string{"namespace shop is watched by PodMonitor monitoring/applications (spec.namespaceSelector.matchNames includes shop)"},
		},
		{
			name: "no Prometheus Operator", id: "namespace-monitors", status: audit.Skip,
			yaml: fixture(t, "monitoring-prometheus", "fail-none.yaml"),
			want: []string{"not applicable: the Prometheus Operator is not installed"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			results := auditCluster(t, tc.yaml, tc.id)
			var r *audit.Result
			for i := range results {
				if results[i].Object.Kind == "Cluster" || results[i].Object.Name == "shop" {
					r = &results[i]
				}
			}
			if r == nil {
				t.Fatalf("got results %+v, want one for the cluster or namespace shop", results)
			}
			if r.Status != tc.status || r.Unassessed != tc.unassessed {
				t.Errorf("got %s (unassessed %v): %s; want %s (unassessed %v)", r.Status, r.Unassessed, r.Message, tc.status, tc.unassessed)
			}
			msgs := r.Message
			for _, other := range results {
				msgs += "\n" + other.Message
			}
			for _, w := range tc.want {
				if !strings.Contains(msgs, w) {
					t.Errorf("got messages:\n%s\nwant one containing %q", msgs, w)
				}
			}
		})
	}
}

// TestAlertTopicDefaultsMatchKubePrometheus pins the default patterns to
// the real rules they were drawn from, and keeps them from matching rules
// about something else.
func TestAlertTopicDefaultsMatchKubePrometheus(t *testing.T) {
	topics := map[string]*check.AlertMatcher{}
	for _, topic := range check.DefaultAlertTopics() {
		m, err := topic.Compile()
		if err != nil {
			t.Fatal(err)
		}
		topics[topic.Name] = m
	}
	for _, tc := range []struct {
		topic, alert, expr string
		want               bool
	}{
		{"node not ready", "SomeNodeAlert", `kube_node_status_condition{job="kube-state-metrics",condition="Ready",status="true"} == 0`, true},
		{"node not ready", "KubeNodeNotReady", "", true},
		{"pods crash-looping", "PodRestarts", `increase(kube_pod_container_status_restarts_total[1h]) > 5`, true},
		{"disk pressure", "NodeDisk", `kube_node_status_condition{condition="DiskPressure",status="true"} == 1`, true},
		{"memory pressure", "NodeMemoryHighUtilization", "", true},
		{"API server errors", "APIErrors", `sum(rate(apiserver_request_total{job="apiserver",code=~"5.."}[5m]))`, true},
		{"certificate expiry", "KubeletClientCertificateExpiration", "", true},
		{"certificate expiry", "SSLCertExpiringSoon", "", true},
		{"backup failure", "VeleroBackupFailed", "", true},
		// Other alerts on the same metrics are not these topics.
		{"node not ready", "KubeNodePressure", `kube_node_status_condition{condition="DiskPressure",status="true"} == 1`, false},
		{"API server errors", "KubeClientErrors", `sum(rate(rest_client_requests_total{code=~"5.."}[5m]))`, false},
		{"API server errors", "KubeAPITerminatedRequests", `sum(rate(apiserver_request_terminations_total{job="apiserver"}[10m])) / sum(rate(apiserver_request_total{job="apiserver"}[10m]))`, false},
		{"memory pressure", "KubeCPUOvercommit", `sum(kube_node_status_allocatable{resource="cpu"})`, false},
	} {
		if got := topics[tc.topic].Match(tc.alert, tc.expr); got != tc.want {
			t.Errorf("topic %q on alert %s (%s): got %v, want %v", tc.topic, tc.alert, tc.expr, got, tc.want)
		}
	}
}

func TestCoverageNamesAtMostTenNodes(t *testing.T) {
	var b strings.Builder
	for i := 1; i <= 12; i++ {
		b.WriteString("apiVersion: v1\nkind: Node\nmetadata: {name: worker-" + string(rune('a'+i-1)) + "}\n---\n")
	}
	b.WriteString(exampleNodeExporter[strings.Index(exampleNodeExporter, "apiVersion: apps/v1"):strings.Index(exampleNodeExporter, "---\napiVersion: v1\nkind: Pod")])
	results := auditCluster(t, b.String(), "monitoring-node-exporter")
	want := "has no ready pod on 12 of the 12 nodes: worker-a, worker-b, worker-c, worker-d, worker-e, worker-f, worker-g, worker-h, worker-i, worker-j, and 2 more (no ready pod)"
	if len(results) != 1 || results[0].Status != audit.Fail || !strings.HasSuffix(results[0].Message, want) {
		t.Errorf("got %+v, want one failure ending %q", results, want)
	}
}

// exampleNodeExporter is monitoring-node-exporter's example: two Nodes and
// a node-exporter DaemonSet with a ready pod on each.
var exampleNodeExporter = func() string {
	b, err := os.ReadFile(filepath.Join("..", "examples", "monitoring-node-exporter.yaml"))
	if err != nil {
		panic(err)
	}
	return string(b)
}()
