package platform

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/checks/say"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// The Prometheus Operator's kinds these checks read.
const (
	keyPrometheus         = "Prometheus.monitoring.coreos.com"
	keyAlertmanager       = "Alertmanager.monitoring.coreos.com"
	keyAlertmanagerConfig = "AlertmanagerConfig.monitoring.coreos.com"
	keyPrometheusRule     = "PrometheusRule.monitoring.coreos.com"
	keyThanosRuler        = "ThanosRuler.monitoring.coreos.com"
	keyServiceMonitor     = "ServiceMonitor.monitoring.coreos.com"
	keyPodMonitor         = "PodMonitor.monitoring.coreos.com"
)

// monitoringReads are the kinds a check of a platform component reads:
// the workload kinds recognition looks at, and the extra kinds given.
func monitoringReads(extra ...string) []string {
	return append(append([]string{}, platform.Reads...), extra...)
}

// monitoringChecks judge whether a cluster is watched: Prometheus and its
// companions, node and object metrics, and the application namespaces'
// monitors (alerting.go and logging.go hold the rest). A hosted agent (Datadog, New Relic,
// Dynatrace) counts as monitoring; the checks of Prometheus's companions
// then say they cannot judge what the agent does, rather than fail.
func monitoringChecks() []*check.Check {
	return []*check.Check{
		{
			ID:            "monitoring-prometheus",
			Title:         "Prometheus, or a hosted monitoring agent, collects the cluster's metrics",
			Layer:         check.ClusterServices,
			Severity:      check.High,
			Kinds:         clusterKinds,
			Reads:         monitoringReads(keyPrometheus),
			Rationale:     "Without a metrics system nobody sees a failure coming: the checklists' examples are a certificate that expired and a node whose memory was overcommitted, both visible in metrics days before the outage. Prometheus (or a hosted agent such as Datadog or New Relic) is what every alert, dashboard and autoscaler on custom metrics depends on.",
			Remediation:   "Install a monitoring stack (kube-prometheus-stack, or the Prometheus Operator with a Prometheus object), or a hosted monitoring agent, and make sure its pods become ready.",
			ChecklistItem: checklist.Monitoring,
			Requires:      check.Cluster,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				p := findComponent(c.Inventory, platform.Prometheus, keyPrometheus)
				if fs := p.verdict("Prometheus"); fs != nil {
					return fs
				}
				if hosted := hostedOnly(c.Inventory); len(hosted) > 0 {
					return []check.Finding{check.Passf("no Prometheus, but a hosted monitoring agent collects metrics: %s", describeRunning(hosted))}
				}
				return []check.Finding{check.Failf("", "no Prometheus found and no hosted monitoring agent runs: looked for %s, and for the DaemonSet of a hosted agent (%s)",
					p.lookedFor(), implNames(platform.HostedMonitoring))}
			},
		},
		{
			ID:            "monitoring-alertmanager",
			Title:         "An Alertmanager runs to deliver alerts",
			Layer:         check.ClusterServices,
			Severity:      check.High,
			Kinds:         clusterKinds,
			Reads:         monitoringReads(keyAlertmanager, keyPrometheus),
			Rationale:     "Prometheus evaluates alerting rules but sends the alerts only to an Alertmanager, which groups, silences and routes them to people. Without one, every alert fires into the void and the cluster's problems are found by its users.",
			Remediation:   "Run an Alertmanager (the Alertmanager object of the Prometheus Operator, as kube-prometheus-stack does) and point Prometheus's spec.alerting at it.",
			ChecklistItem: checklist.Alertmanager,
			Requires:      check.Cluster,
			Run:           companionRun(platform.Alertmanager, keyAlertmanager, "Alertmanager", "alerting is done by the hosted agent"),
		},
		{
			ID:            "monitoring-grafana",
			Title:         "Grafana runs to show the metrics",
			Layer:         check.ClusterServices,
			Severity:      check.Low,
			Kinds:         clusterKinds,
			Reads:         monitoringReads(keyPrometheus),
			Rationale:     "Dashboards are how an operator sees what the metrics say during an incident and reviews capacity before one; the checklist asks for dashboards deployed and reviewed. Prometheus's own page answers one query at a time.",
			Remediation:   "Run Grafana (kube-prometheus-stack installs it with dashboards for nodes, pods, the API server and etcd) with Prometheus as its data source.",
			ChecklistItem: checklist.Monitoring,
			Requires:      check.Cluster,
			Run:           companionRun(platform.Grafana, "", "Grafana", "dashboards are those of the hosted agent"),
		},
		{
			ID:            "monitoring-kube-state-metrics",
			Title:         "kube-state-metrics runs to export the state of objects",
			Layer:         check.ClusterServices,
			Severity:      check.Medium,
			Kinds:         clusterKinds,
			Reads:         monitoringReads(keyPrometheus),
			Rationale:     "kube-state-metrics turns the API's objects into metrics: pods crash-looping, nodes not ready, Deployments short of replicas, Jobs failed. Most of the alerts kube-prometheus ships (KubePodCrashLooping, KubeNodeNotReady) query it, and without it they never fire.",
			Remediation:   "Run kube-state-metrics (kube-prometheus-stack installs it) and have Prometheus scrape it.",
			ChecklistItem: checklist.KubeStateMetrics,
			Requires:      check.Cluster,
			Run:           companionRun(platform.KubeStateMetrics, "", "kube-state-metrics", "object state is collected by the hosted agent"),
		},
		{
			ID:            "monitoring-node-exporter",
			Title:         "node-exporter runs a ready pod on every node",
			Layer:         check.ClusterServices,
			Severity:      check.Medium,
			Kinds:         clusterKinds,
			Reads:         monitoringReads("Node", "Pod", keyPrometheus),
			Rationale:     "node-exporter reports each node's CPU, memory, disk and network; a node without it is invisible, and a disk filling up there raises no alert. It runs as a DaemonSet, so a missing pod means one node in particular is unwatched. With a hosted agent and no Prometheus, the agent's DaemonSet is judged the same way, since it collects the host metrics instead.",
			Remediation:   "Run node-exporter as a DaemonSet (kube-prometheus-stack does) whose tolerations admit every node, and find out why the nodes named have no ready pod of it (kubectl -n <namespace> get pods -o wide).",
			ChecklistItem: checklist.InfrastructureObservability,
			Requires:      check.Cluster,
			Run:           monitoringNodeExporterRun,
		},
		{
			ID:            "namespace-monitors",
			Title:         "Application namespaces are scraped by a ServiceMonitor or PodMonitor",
			Layer:         check.ClusterServices,
			Severity:      check.Medium,
			Kinds:         []string{"Namespace"},
			Reads:         append(append([]string{}, appNamespaceReads...), platform.CRDKey, keyPrometheus, keyServiceMonitor, keyPodMonitor),
			Rationale:     "Where the Prometheus Operator runs, an application's metrics are collected only if a ServiceMonitor or PodMonitor selects its pods: without one, the applications' error rates and latencies are not watched although the cluster's are, and their outages are found by users.",
			Remediation:   "Add a ServiceMonitor (or PodMonitor) for the application's metrics port in its namespace, or widen a shared one's spec.namespaceSelector (matchNames or any: true) to include it.",
			ChecklistItem: checklist.ApplicationObservability,
			Requires:      check.Cluster,
			// A monitor in another namespace may select it.
			AllNamespaces: true,
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				if ok, why := appNamespace(o, c); !ok {
					return false, why
				}
				if operatorInstalled(c.Inventory) {
					return true, ""
				}
				return false, "the Prometheus Operator is not installed (no CustomResourceDefinition of monitoring.coreos.com and no Prometheus object): nothing would read a ServiceMonitor"
			},
			Run: namespaceMonitorsRun,
		},
	}
}

// monitoringNodeExporterRun is monitoring-node-exporter's Run.
func monitoringNodeExporterRun(o *inventory.Object, c *check.Context) []check.Finding {
	inv := c.Inventory
	if ms := platform.Find(inv, platform.NodeExporter); len(ms) > 0 {
		return coverage(inv, subjects(ms))
	}
	if hosted := hostedOnly(inv); len(hosted) > 0 {
		ss := subjects(hosted)
		for i := range ss {
			ss[i].desc += ", the hosted agent that collects host metrics in place of node-exporter,"
		}
		return coverage(inv, ss)
	}
	return []check.Finding{check.Failf("", "no node-exporter DaemonSet found: looked for %s", platform.SignalsOf(platform.NodeExporter))}
}

// found is what recognition found of a component: descriptions of what
// runs, with its ready count, and of what has no ready replica.
type found struct {
	component platform.Component
	crKey     string
	running   []string
	down      []string
}

// findComponent finds a component's workloads and, for one an operator
// runs (crKey), its custom resources whose workloads were not recognised,
// judged by their status.availableReplicas.
func findComponent(inv *inventory.Inventory, comp platform.Component, crKey string) found {
	f := found{component: comp, crKey: crKey}
	ms := platform.Find(inv, comp)
	up, down := platform.Running(ms)
	for _, m := range up {
		ready, desired := platform.Ready(m.Workload)
		f.running = append(f.running, fmt.Sprintf("%s has %d of %d replicas ready", m, ready, desired))
	}
	f.down = down
	if crKey == "" {
		return f
	}
	recognised := map[*inventory.Object]bool{}
	for _, m := range ms {
		recognised[m.Workload] = true
	}
	for _, cr := range inv.OfKind(crKey) {
		if ownsAny(inv, cr, recognised) {
			continue
		}
		avail := number(cr.Field("status", "availableReplicas"))
		desc := fmt.Sprintf("%s %s/%s has status.availableReplicas %d", cr.Kind, cr.Namespace, cr.Name, avail)
		if avail > 0 {
			f.running = append(f.running, desc)
			continue
		}
		if cond, ok := conditionOf(cr, "Available"); ok {
			desc += " (" + cond.describe() + ")"
		}
		f.down = append(f.down, desc)
	}
	return f
}

// ownsAny reports whether an operator's resource controls one of the
// workloads (the Prometheus Operator runs a StatefulSet per Prometheus).
func ownsAny(inv *inventory.Inventory, cr *inventory.Object, workloads map[*inventory.Object]bool) bool {
	for _, sts := range inv.OwnedBy(cr, "StatefulSet") {
		if workloads[sts] {
			return true
		}
	}
	return false
}

// verdict is the findings when something of the component was found:
// evidence of what runs, or a failure naming what has no ready replica.
// It is nil when nothing was found.
func (f found) verdict(what string) []check.Finding {
	if len(f.running) > 0 {
		return []check.Finding{check.Passf("%s", strings.Join(f.running, "; "))}
	}
	if len(f.down) > 0 {
		return []check.Finding{check.Failf("", "no %s has a ready replica: %s", what, strings.Join(f.down, "; "))}
	}
	return nil
}

// lookedFor says what was searched for the component.
func (f found) lookedFor() string {
	s := "workloads of " + platform.SignalsOf(f.component)
	if f.crKey != "" {
		kind, _, _ := strings.Cut(f.crKey, ".")
		s = kind + " objects (" + f.crKey + ") and " + s
	}
	return s
}

// companionRun is the Run of a check that a companion of Prometheus
// (Alertmanager, Grafana, kube-state-metrics) runs. Where a hosted agent
// monitors the cluster and no Prometheus runs, the companion is not
// expected: the check is not assessed, saying what the agent does instead.
func companionRun(comp platform.Component, crKey, what, hostedDoes string) func(*inventory.Object, *check.Context) []check.Finding {
	return func(o *inventory.Object, c *check.Context) []check.Finding {
		f := findComponent(c.Inventory, comp, crKey)
		if fs := f.verdict(what); fs != nil {
			return fs
		}
		if hosted := hostedOnly(c.Inventory); len(hosted) > 0 {
			return []check.Finding{check.NotAssessedf("%s %s", hostedDoes, describeRunning(hosted))}
		}
		return []check.Finding{check.Failf("", "no %s found: looked for %s", what, f.lookedFor())}
	}
}

// hostedOnly returns the hosted monitoring agents that run, when no
// Prometheus (workload or Prometheus object) is in the cluster: the agent
// then plays the monitoring stack's part.
func hostedOnly(inv *inventory.Inventory) []platform.Match {
	if len(platform.Find(inv, platform.Prometheus)) > 0 || len(inv.OfKind(keyPrometheus)) > 0 {
		return nil
	}
	running, _ := platform.Running(platform.Find(inv, platform.HostedMonitoring))
	return running
}

// describeRunning names matches with their ready counts.
func describeRunning(ms []platform.Match) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		ready, desired := platform.Ready(m.Workload)
		parts[i] = fmt.Sprintf("%s, %d of %d ready", m, ready, desired)
	}
	return strings.Join(parts, "; ")
}

// subject is a DaemonSet that must cover every node, and how findings
// introduce it.
type subject struct {
	desc string
	ds   *inventory.Object
}

// subjects describes matches as coverage subjects.
func subjects(ms []platform.Match) []subject {
	out := make([]subject, len(ms))
	for i, m := range ms {
		out[i] = subject{m.String(), m.Workload}
	}
	return out
}

// coverage judges whether each node agent has a ready pod on every node
// whose logs and metrics matter (platform.Gaps), naming the nodes it
// misses grouped by why.
func coverage(inv *inventory.Inventory, ss []subject) []check.Finding {
	var out []check.Finding
	for _, s := range ss {
		gaps, nodes := platform.Gaps(inv, s.ds)
		switch {
		case nodes == 0:
			out = append(out, check.NotAssessedf("%s: no Node is visible, so which nodes it covers is not known", s.desc))
		case len(gaps) > 0:
			out = append(out, check.Failf("", "%s has no ready pod on %d of the %d nodes: %s", s.desc, len(gaps), nodes, describeGaps(gaps)))
		default:
			out = append(out, check.Passf("%s has a ready pod on each of the %d nodes", s.desc, nodes))
		}
	}
	return out
}

// describeGaps names the nodes missed, grouped by why, in the order the
// reasons first appear: "cp-1 and cp-2 (taint ...:NoSchedule not
// tolerated); worker-a (no ready pod)".
func describeGaps(gaps []platform.Gap) string {
	var whys []string
	byWhy := map[string][]string{}
	for _, g := range gaps {
		if _, seen := byWhy[g.Why]; !seen {
			whys = append(whys, g.Why)
		}
		byWhy[g.Why] = append(byWhy[g.Why], g.Node)
	}
	parts := make([]string, len(whys))
	for i, why := range whys {
		parts[i] = fmt.Sprintf("%s (%s)", say.ListUpTo(byWhy[why], ", ", listedNodes), why)
	}
	return strings.Join(parts, "; ")
}

// selection is how a Prometheus Operator resource picks other objects: a
// label selector on them (nil selects none, {} all) and one on their
// namespaces (nil means the resource's own namespace, {} every namespace).
type selection struct {
	owner          *inventory.Object
	field, nsField string
	// objectsSelected names what is selected, "PrometheusRules", for
	// descriptions.
	objectsSelected string
}

// selects reports whether the owner picks the target object.
func (s selection) selects(inv *inventory.Inventory, target *inventory.Object) bool {
	sel, ok := labelSelectorOf(s.owner.Field("spec", s.field))
	if !ok || !sel.Matches(labels.Set(target.Labels)) {
		return false
	}
	raw := s.owner.Field("spec", s.nsField)
	if raw == nil {
		return target.Namespace == s.owner.Namespace
	}
	nsSel, ok := labelSelectorOf(raw)
	nsLabels, _ := inv.NamespaceLabels(target.Namespace)
	return ok && nsSel.Matches(nsLabels)
}

// describe says what the owner selects, naming its fields: "Prometheus
// monitoring/k8s loads PrometheusRules labelled release=kps
// (spec.ruleSelector) from every namespace (spec.ruleNamespaceSelector {})".
func (s selection) describe() string {
	who := s.owner.Kind + " " + s.owner.Namespace + "/" + s.owner.Name
	raw := s.owner.Field("spec", s.field)
	if raw == nil {
		return fmt.Sprintf("%s has no spec.%s, so it selects no %s", who, s.field, s.objectsSelected)
	}
	what := fmt.Sprintf("%s labelled %s (spec.%s)", s.objectsSelected, formatSelector(raw), s.field)
	if sel, ok := labelSelectorOf(raw); ok && sel.Empty() {
		what = fmt.Sprintf("every %s (spec.%s {})", strings.TrimSuffix(s.objectsSelected, "s"), s.field)
	}
	where := "from its own namespace " + s.owner.Namespace
	if nsRaw := s.owner.Field("spec", s.nsField); nsRaw != nil {
		where = fmt.Sprintf("from the namespaces labelled %s (spec.%s)", formatSelector(nsRaw), s.nsField)
		if sel, ok := labelSelectorOf(nsRaw); ok && sel.Empty() {
			where = fmt.Sprintf("from every namespace (spec.%s {})", s.nsField)
		}
	}
	return fmt.Sprintf("%s selects %s %s", who, what, where)
}

// labelSelectorOf reads a label selector from a custom resource's content.
// A selector that is absent or malformed selects nothing.
func labelSelectorOf(v any) (labels.Selector, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	var ls metav1.LabelSelector
	if err := k8sruntime.DefaultUnstructuredConverter.FromUnstructured(m, &ls); err != nil {
		return nil, false
	}
	sel, err := metav1.LabelSelectorAsSelector(&ls)
	return sel, err == nil
}

// formatSelector writes a selector as kubectl does.
func formatSelector(v any) string {
	if sel, ok := labelSelectorOf(v); ok {
		return sel.String()
	}
	return "(malformed)"
}

// operatorInstalled reports whether the Prometheus Operator's resources
// exist: one of its CRDs, or a Prometheus object.
func operatorInstalled(inv *inventory.Inventory) bool {
	for _, crd := range platform.Installed(inv, platform.Prometheus) {
		if strings.HasSuffix(crd.Name, ".monitoring.coreos.com") {
			return true
		}
	}
	return len(inv.OfKind(keyPrometheus)) > 0
}

// namespaceMonitorsRun looks for the ServiceMonitors and PodMonitors that
// watch a namespace: those in it that do not point elsewhere, and those
// elsewhere whose spec.namespaceSelector names it or says any.
func namespaceMonitorsRun(o *inventory.Object, c *check.Context) []check.Finding {
	var watching, elsewhere []string
	for _, key := range []string{keyServiceMonitor, keyPodMonitor} {
		for _, m := range c.Inventory.OfKind(key) {
			how, ok := monitorWatches(m, o.Name)
			switch {
			case ok:
				watching = append(watching, strings.TrimSpace(m.ID()+" "+how))
			case m.Namespace == o.Name:
				elsewhere = append(elsewhere, fmt.Sprintf("%s watches only namespaces %s (spec.namespaceSelector.matchNames)", m.ID(), strings.Join(matchNames(m), ", ")))
			}
		}
	}
	if len(watching) > 0 {
		return []check.Finding{check.Passf("namespace %s is watched by %s", o.Name, say.List(watching, ", "))}
	}
	msg := fmt.Sprintf("no ServiceMonitor or PodMonitor watches namespace %s: none is in it, and none elsewhere selects it (spec.namespaceSelector any: true, or matchNames including %s)", o.Name, o.Name)
	if len(elsewhere) > 0 {
		msg += "; " + strings.Join(elsewhere, "; ")
	}
	return []check.Finding{check.Failf("", "%s", msg)}
}

// monitorWatches reports whether a ServiceMonitor or PodMonitor looks for
// targets in a namespace, and says why when it is not its own.
func monitorWatches(m *inventory.Object, ns string) (string, bool) {
	if any, _ := m.Field("spec", "namespaceSelector", "any").(bool); any {
		return "(spec.namespaceSelector.any is true)", true
	}
	names := matchNames(m)
	if len(names) == 0 {
		return "", m.Namespace == ns
	}
	for _, n := range names {
		if n == ns {
			if m.Namespace == ns {
				return "", true
			}
			return "(spec.namespaceSelector.matchNames includes " + ns + ")", true
		}
	}
	return "", false
}

func matchNames(m *inventory.Object) []string {
	list, _ := m.Field("spec", "namespaceSelector", "matchNames").([]any)
	var out []string
	for _, v := range list {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
