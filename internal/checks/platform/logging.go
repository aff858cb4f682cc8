package platform

import (
	"fmt"
	"strings"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// loggingChecks judge whether logs leave the nodes: a shipper on every node
// whose logs matter, and a backend that keeps them.
func loggingChecks() []*check.Check {
	return []*check.Check{
		{
			ID:            "logging-shipper",
			Title:         "A log shipper runs a ready pod on every node",
			Layer:         check.ClusterServices,
			Severity:      check.High,
			Kinds:         clusterKinds,
			Reads:         monitoringReads("Node", "Pod"),
			Rationale:     "Container logs live on the node that ran the container and are gone when the pod is evicted or the node is replaced, which is when they are needed. A shipper DaemonSet (Promtail, Alloy, Fluent Bit, Fluentd, Vector, Filebeat, the OpenTelemetry Collector) sends them to a central store; a node without a ready shipper pod loses its logs. A Datadog agent counts only when its pod template turns log collection on (DD_LOGS_ENABLED=true).",
			Remediation:   "Run a log shipper as a DaemonSet whose tolerations admit every node (or enable log collection in the hosted agent), and find out why the nodes named have no ready pod of it.",
			ChecklistItem: checklist.Logging,
			Requires:      check.Cluster,
			Run:           shipperRun,
		},
		{
			ID:            "logging-backend",
			Title:         "Logs are stored in a central log backend",
			Layer:         check.ClusterServices,
			Severity:      check.Low,
			Kinds:         clusterKinds,
			Reads:         monitoringReads(),
			Rationale:     "Shipped logs are useful only where they can be searched across pods and nodes, after the pods are gone: Loki, Elasticsearch or OpenSearch in the cluster, or a hosted service. A shipper with no backend in the cluster must send its logs outside it, which plimsoll cannot see, so it asks rather than fails.",
			Remediation:   "Run a log backend (Loki, Elasticsearch, OpenSearch) with ready replicas, or have the shippers send to a hosted log service.",
			ChecklistItem: checklist.CentralLogs,
			Requires:      check.Cluster,
			Run:           backendRun,
		},
	}
}

// logShippers returns the log shipper DaemonSets, the hosted agents that
// collect logs (as subjects whose description says how it shows), and
// the hosted agents that could but do not.
func logShippers(inv *inventory.Inventory) (shippers []platform.Match, hosted []subject, notLogging []string) {
	shippers = platform.Find(inv, platform.LogShipper)
	for _, m := range platform.Find(inv, platform.HostedMonitoring) {
		if m.Impl.LogsEnv == "" {
			continue
		}
		if how, ok := platform.CollectsLogs(m); ok {
			hosted = append(hosted, subject{fmt.Sprintf("%s, which collects logs (%s),", m, how), m.Workload})
		} else {
			notLogging = append(notLogging, fmt.Sprintf("%s does not collect logs: its pod template does not set %s", m, m.Impl.LogsEnv))
		}
	}
	return shippers, hosted, notLogging
}

// implNames lists the implementations of a component: "Loki, Elasticsearch
// or OpenSearch".
func implNames(c platform.Component) string {
	var names []string
	for _, impl := range platform.Implementations {
		if impl.Component == c {
			names = append(names, impl.Name)
		}
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// hostedLogAgents says which implementations count as log shippers when
// their pod template switches logs on.
func hostedLogAgents() string {
	var parts []string
	for _, impl := range platform.Implementations {
		if impl.LogsEnv != "" {
			parts = append(parts, impl.Name+" whose pod template sets "+impl.LogsEnv)
		}
	}
	return strings.Join(parts, ", ")
}

func shipperRun(o *inventory.Object, c *check.Context) []check.Finding {
	inv := c.Inventory
	shippers, hosted, notLogging := logShippers(inv)
	all := append(subjects(shippers), hosted...)
	if len(all) == 0 {
		msg := fmt.Sprintf("no log shipper found: looked for DaemonSets of %s, and for a %s", platform.SignalsOf(platform.LogShipper), hostedLogAgents())
		if len(notLogging) > 0 {
			msg += "; " + strings.Join(notLogging, "; ")
		}
		return []check.Finding{check.Failf("", "%s", msg)}
	}
	return coverage(inv, all)
}

func backendRun(o *inventory.Object, c *check.Context) []check.Finding {
	inv := c.Inventory
	backends := findComponent(inv, platform.LogBackend, "")
	shippers, hosted, _ := logShippers(inv)
	var evidence []check.Finding
	if len(backends.running) > 0 {
		evidence = append(evidence, check.Passf("%s", strings.Join(backends.running, "; ")))
	}
	for _, h := range hosted {
		evidence = append(evidence, check.Passf("logs go to the hosted service of %s", strings.TrimSuffix(h.desc, ",")))
	}
	switch {
	case len(evidence) > 0:
		return evidence
	case len(backends.down) > 0:
		return []check.Finding{check.Failf("", "no log backend has a ready replica: %s", strings.Join(backends.down, "; "))}
	case len(shippers) > 0:
		names := make([]string, len(shippers))
		for i, m := range shippers {
			names[i] = m.Impl.Name + " " + m.Workload.ID()
		}
		return []check.Finding{check.NotAssessedf("no log backend runs in the cluster; %s must ship logs outside it: confirm where they go", strings.Join(names, " and "))}
	}
	return []check.Finding{check.Failf("", "no logging at all: no log backend (%s) and no log shipper (%s DaemonSets, or a %s); logging-shipper says what identifies each",
		implNames(platform.LogBackend), implNames(platform.LogShipper), hostedLogAgents())}
}
