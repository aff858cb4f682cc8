package platform

import (
	"strings"
	"testing"
)

func datadog(env string) string {
	return `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: datadog, namespace: datadog, labels: {app.kubernetes.io/name: datadog}}
spec:
  selector: {matchLabels: {app: datadog}}
  template:
    metadata: {labels: {app: datadog}}
    spec:
      containers:
      - name: trace-agent
        image: gcr.io/datadoghq/agent:7.70.0
      - name: agent
        image: gcr.io/datadoghq/agent:7.70.0
        env: [` + env + `]
`
}

func TestCollectsLogs(t *testing.T) {
	for _, tc := range []struct {
		name, env, want string
	}{
		{"switched on", `{name: DD_LOGS_ENABLED, value: "true"}`, "env DD_LOGS_ENABLED=true in container agent"},
		{"any case, as the agent parses it", `{name: DD_LOGS_ENABLED, value: "True"}`, "env DD_LOGS_ENABLED=True in container agent"},
		{"switched off", `{name: DD_LOGS_ENABLED, value: "false"}`, ""},
		// A value from a ConfigMap cannot be seen: not counted.
		{"from elsewhere", `{name: DD_LOGS_ENABLED, valueFrom: {configMapKeyRef: {name: dd, key: logs}}}`, ""},
		{"not set (the chart's default)", `{name: DD_SITE, value: datadoghq.eu}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms := Find(build(t, datadog(tc.env)), HostedMonitoring)
			if len(ms) != 1 {
				t.Fatalf("got %d hosted agents, want the Datadog DaemonSet", len(ms))
			}
			got, ok := CollectsLogs(ms[0])
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("got %q, %v; want %q", got, ok, tc.want)
			}
		})
	}
}

func TestCollectsLogsNeedsALogsEnv(t *testing.T) {
	// New Relic's infrastructure agent has no LogsEnv: its logs are a
	// separate chart, recognised (or not) on its own.
	inv := build(t, workload("DaemonSet", "newrelic", "newrelic-infrastructure", "app.kubernetes.io/name: newrelic-infrastructure", "newrelic/infrastructure-bundle:3.2"))
	ms := Find(inv, HostedMonitoring)
	if len(ms) != 1 {
		t.Fatalf("got %d hosted agents, want one", len(ms))
	}
	if got, ok := CollectsLogs(ms[0]); ok {
		t.Errorf("got %q, want no log collection", got)
	}
}

func TestSignalsOf(t *testing.T) {
	got := SignalsOf(Grafana)
	want := "Grafana (label app.kubernetes.io/name=grafana or app=grafana, image grafana/grafana or grafana/grafana-oss or grafana/grafana-enterprise, name grafana)"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := SignalsOf(Prometheus); !strings.Contains(got, " or VictoriaMetrics (label ") {
		t.Errorf("got %q, want every implementation of the component", got)
	}
}

func TestInstalledServiceMonitors(t *testing.T) {
	// A cluster may have the ServiceMonitor CRD alone (charts install it to
	// ship their ServiceMonitors): the Prometheus Operator's API is there.
	inv := build(t, `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: servicemonitors.monitoring.coreos.com}
`)
	crds := Installed(inv, Prometheus)
	if len(crds) != 1 || crds[0].Name != "servicemonitors.monitoring.coreos.com" || crds[0].Impl.Name != "Prometheus" {
		t.Errorf("got %+v, want the ServiceMonitor CRD of Prometheus", crds)
	}
}
