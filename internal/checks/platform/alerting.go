package platform

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// alertingChecks judge whether the failures that matter raise alerts, and
// whether the alerts reach someone: Prometheus rules loaded by an
// evaluator, and Alertmanager receivers.
func alertingChecks() []*check.Check {
	return []*check.Check{
		{
			ID:            "monitoring-alert-rules",
			Title:         "Alerting rules cover the failures production clusters alert on",
			Layer:         check.ClusterServices,
			Severity:      check.High,
			Kinds:         clusterKinds,
			Reads:         monitoringReads(keyPrometheus, keyThanosRuler, keyPrometheusRule, "Namespace"),
			Rationale:     "A Prometheus without the right rules watches silently: the checklist's critical alerts are node down, pods in CrashLoopBackOff, disk pressure and API server errors, and the outages it recounts are an expired certificate and overcommitted node memory, with backups that fail unnoticed close behind. Only a PrometheusRule that a Prometheus (or Thanos Ruler) loads through its spec.ruleSelector and spec.ruleNamespaceSelector alerts at all. The topics are the parameter alertTopics, by default: " + describeTopics(check.DefaultAlertTopics()) + ".",
			Remediation:   "Install alerting rules for each topic named (kube-prometheus ships KubeNodeNotReady, KubePodCrashLooping, NodeFilesystemSpaceFillingUp, KubeMemoryOvercommit, KubeAPIErrorBudgetBurn and KubeClientCertificateExpiration; cert-manager's mixin CertManagerCertExpirySoon; the Velero chart VeleroBackupFailures) in PrometheusRules your Prometheus selects, or set the parameter alertTopics to the topics you require.",
			ChecklistItem: checklist.Alerting,
			Requires:      check.Cluster,
			Run:           alertRulesRun,
		},
		{
			ID:            "monitoring-alertmanager-receiver",
			Title:         "Alertmanager sends alerts to a receiver that is not empty",
			Layer:         check.ClusterServices,
			Severity:      check.High,
			Kinds:         clusterKinds,
			Reads:         monitoringReads(keyAlertmanager, keyAlertmanagerConfig, keyPrometheus, "Namespace"),
			Rationale:     "A receiver with no email, Slack, PagerDuty, webhook or other configuration drops the alerts routed to it: kube-prometheus's default configuration routes every alert to such receivers, so the stack looks complete and tells no one. plimsoll never reads Secrets, where Alertmanager's configuration file usually lives; it judges the AlertmanagerConfig objects an Alertmanager uses.",
			Remediation:   "Give the Alertmanager a receiver with at least one integration (slackConfigs, pagerdutyConfigs, emailConfigs, webhookConfigs...) in an AlertmanagerConfig it uses (spec.alertmanagerConfiguration or spec.alertmanagerConfigSelector), and route alerts to it.",
			ChecklistItem: checklist.AlertReceivers,
			Requires:      check.Cluster,
			Run:           receiverRun,
		},
	}
}

// alertRule is one alerting rule of a PrometheusRule.
type alertRule struct {
	rule        *inventory.Object
	alert, expr string
}

func (a alertRule) String() string {
	return fmt.Sprintf("PrometheusRule %s/%s alert %s", a.rule.Namespace, a.rule.Name, a.alert)
}

// alertRules returns the alerting rules (not the recording rules) of a
// PrometheusRule, in order.
func alertRules(pr *inventory.Object) []alertRule {
	var out []alertRule
	groups, _ := pr.Field("spec", "groups").([]any)
	for _, g := range groups {
		gm, _ := g.(map[string]any)
		rules, _ := gm["rules"].([]any)
		for _, r := range rules {
			rm, _ := r.(map[string]any)
			alert, _ := rm["alert"].(string)
			if alert == "" {
				continue
			}
			out = append(out, alertRule{rule: pr, alert: alert, expr: fmt.Sprint(rm["expr"])})
		}
	}
	return out
}

// alertRulesRun judges whether the loaded alerting rules cover each topic
// of the parameter alertTopics.
func alertRulesRun(o *inventory.Object, c *check.Context) []check.Finding {
	inv := c.Inventory
	if hosted := hostedOnly(inv); len(hosted) > 0 {
		return []check.Finding{check.NotAssessedf("alerting is done by the hosted agent %s", describeRunning(hosted))}
	}
	rules := inv.OfKind(keyPrometheusRule)
	evaluators := append(append([]*inventory.Object{}, inv.OfKind(keyPrometheus)...), inv.OfKind(keyThanosRuler)...)
	if len(rules) == 0 && len(evaluators) == 0 {
		if ms := platform.Find(inv, platform.Prometheus); len(ms) > 0 {
			return []check.Finding{check.NotAssessedf("%s is not run by the Prometheus Operator (there is no Prometheus or PrometheusRule object): its alerting rules are in its configuration files, which plimsoll does not read", platform.Describe(ms))}
		}
	}
	if len(c.Params.AlertTopics) == 0 {
		return []check.Finding{check.NotAssessedf("the parameter alertTopics lists no topic")}
	}
	var loaded, unloaded []alertRule
	for _, pr := range rules {
		if len(evaluators) == 0 || loadedBy(inv, pr, evaluators) {
			loaded = append(loaded, alertRules(pr)...)
		} else {
			unloaded = append(unloaded, alertRules(pr)...)
		}
	}
	var evidence, fails []check.Finding
	for i, topic := range c.Params.AlertTopics {
		m, err := topic.Compile()
		if err != nil {
			return []check.Finding{check.NotAssessedf("parameters.alertTopics[%d]: %v", i, err)}
		}
		if r, ok := firstCovering(m, loaded); ok {
			evidence = append(evidence, check.Passf("%s: %s", topic.Name, r))
			continue
		}
		if r, ok := firstCovering(m, unloaded); ok {
			fails = append(fails, check.Failf("", "no loaded alerting rule covers %s: %s would, but nothing loads that PrometheusRule (labels: %s): %s", topic.Name, r, labelsOrNone(r.rule.Labels), describeSelections(evaluators)))
			continue
		}
		fails = append(fails, check.Failf("", "no alerting rule covers %s: looked for %s in %s", topic.Name, describeTopic(topic), describeRuleCount(loaded, rules, evaluators)))
	}
	if len(fails) > 0 {
		return fails
	}
	return evidence
}

// loadedBy reports whether a Prometheus or ThanosRuler selects the
// PrometheusRule.
func loadedBy(inv *inventory.Inventory, pr *inventory.Object, evaluators []*inventory.Object) bool {
	for _, ev := range evaluators {
		if ruleSelection(ev).selects(inv, pr) {
			return true
		}
	}
	return false
}

func ruleSelection(ev *inventory.Object) selection {
	return selection{owner: ev, field: "ruleSelector", nsField: "ruleNamespaceSelector", objectsSelected: "PrometheusRules"}
}

func describeSelections(evaluators []*inventory.Object) string {
	parts := make([]string, len(evaluators))
	for i, ev := range evaluators {
		parts[i] = ruleSelection(ev).describe()
	}
	return strings.Join(parts, "; ")
}

func labelsOrNone(l map[string]string) string {
	if len(l) == 0 {
		return "none"
	}
	return labels.Set(l).String()
}

func firstCovering(m *check.AlertMatcher, rules []alertRule) (alertRule, bool) {
	for _, r := range rules {
		if m.Match(r.alert, r.expr) {
			return r, true
		}
	}
	return alertRule{}, false
}

// describeTopic says what a topic's patterns look for.
func describeTopic(t check.AlertTopic) string {
	return topicPatterns(t, func(p string) string { return p })
}

// describeTopics lists topics with their patterns, for the docs: patterns
// are code there.
func describeTopics(topics []check.AlertTopic) string {
	parts := make([]string, len(topics))
	for i, t := range topics {
		parts[i] = t.Name + " (" + topicPatterns(t, func(p string) string { return "`" + p + "`" }) + ")"
	}
	return strings.Join(parts, "; ")
}

func topicPatterns(t check.AlertTopic, quote func(string) string) string {
	join := func(ps []string) string {
		q := make([]string, len(ps))
		for i, p := range ps {
			q[i] = quote(p)
		}
		return strings.Join(q, " or ")
	}
	var parts []string
	if len(t.AlertNames) > 0 {
		parts = append(parts, "alert names matching "+join(t.AlertNames))
	}
	if len(t.Expressions) > 0 {
		parts = append(parts, "expressions matching "+join(t.Expressions))
	}
	return strings.Join(parts, ", or ")
}

// describeRuleCount says which rules were searched.
func describeRuleCount(loaded []alertRule, rules, evaluators []*inventory.Object) string {
	switch {
	case len(rules) == 0:
		return "no PrometheusRule object: there are none in the cluster"
	case len(evaluators) == 0:
		return fmt.Sprintf("%s of %d PrometheusRule objects", alertRuleCount(len(loaded)), len(rules))
	}
	return fmt.Sprintf("%s of the PrometheusRules loaded by %s", alertRuleCount(len(loaded)), describeObjects(evaluators))
}

func alertRuleCount(n int) string {
	if n == 1 {
		return "the one alerting rule"
	}
	return fmt.Sprintf("the %d alerting rules", n)
}

func describeObjects(objs []*inventory.Object) string {
	parts := make([]string, len(objs))
	for i, o := range objs {
		parts[i] = o.ID()
	}
	return strings.Join(parts, ", ")
}

// receiverRun judges whether each Alertmanager the Prometheus Operator runs
// uses a receiver with an integration, from the AlertmanagerConfig objects
// it uses: plimsoll never reads the Secret that usually holds the rest of
// its configuration.
func receiverRun(o *inventory.Object, c *check.Context) []check.Finding {
	inv := c.Inventory
	ams := inv.OfKind(keyAlertmanager)
	if len(ams) == 0 {
		if ms := platform.Find(inv, platform.Alertmanager); len(ms) > 0 {
			return []check.Finding{check.NotAssessedf("%s is not run by the Prometheus Operator (there is no Alertmanager object): its receivers are in its configuration file, which plimsoll does not read", platform.Describe(ms))}
		}
		if hosted := hostedOnly(inv); len(hosted) > 0 {
			return []check.Finding{check.NotAssessedf("alerting is done by the hosted agent %s", describeRunning(hosted))}
		}
		return []check.Finding{check.Failf("", "no Alertmanager found, so no alert reaches a receiver: looked for %s", findComponent(inv, platform.Alertmanager, keyAlertmanager).lookedFor())}
	}
	var evidence, fails, unassessed []check.Finding
	for _, am := range ams {
		switch f := judgeAlertmanager(inv, am); f.Outcome {
		case check.Evidence:
			evidence = append(evidence, f)
		case check.Unassessable:
			unassessed = append(unassessed, f)
		default:
			fails = append(fails, f)
		}
	}
	switch {
	case len(fails) > 0:
		return fails
	case len(evidence) > 0:
		return evidence
	}
	return unassessed
}

// amConfig is an AlertmanagerConfig an Alertmanager uses, and the field
// that makes it use it.
type amConfig struct {
	amc *inventory.Object
	via string
	// scoped: the operator restricts its routes to alerts of its namespace.
	scoped bool
}

func judgeAlertmanager(inv *inventory.Inventory, am *inventory.Object) check.Finding {
	id := am.ID()
	var used []amConfig
	global := am.FieldString("spec", "alertmanagerConfiguration", "name")
	if global != "" {
		g := inv.Get(keyAlertmanagerConfig, am.Namespace, global)
		if g == nil {
			return check.Failf("", "%s: spec.alertmanagerConfiguration.name is %q, but there is no AlertmanagerConfig %s/%s: the operator cannot configure it", id, global, am.Namespace, global)
		}
		used = append(used, amConfig{g, "spec.alertmanagerConfiguration", false})
	}
	sel := selection{owner: am, field: "alertmanagerConfigSelector", nsField: "alertmanagerConfigNamespaceSelector", objectsSelected: "AlertmanagerConfigs"}
	strategy := am.FieldString("spec", "alertmanagerConfigMatcherStrategy", "type")
	for _, amc := range inv.OfKind(keyAlertmanagerConfig) {
		if (global != "" && amc.Namespace == am.Namespace && amc.Name == global) || !sel.selects(inv, amc) {
			continue
		}
		scoped := strategy != "None" && !(strategy == "OnNamespaceExceptForAlertmanagerNamespace" && amc.Namespace == am.Namespace)
		used = append(used, amConfig{amc, "spec.alertmanagerConfigSelector", scoped})
	}
	var empty []string
	for _, u := range used {
		var emptyHere []string
		for _, r := range receiversOf(u.amc) {
			where := fmt.Sprintf("receiver %s of AlertmanagerConfig %s/%s", r.name, u.amc.Namespace, u.amc.Name)
			if len(r.integrations) == 0 {
				emptyHere = append(emptyHere, r.name)
				continue
			}
			scope := ""
			if u.scoped {
				scope = fmt.Sprintf("; the operator routes to it only alerts labelled namespace=%s", u.amc.Namespace)
			}
			return check.Passf("%s uses %s (%s), which has %s%s", id, where, u.via, strings.Join(r.integrations, ", "), scope)
		}
		if len(emptyHere) > 0 {
			empty = append(empty, fmt.Sprintf("receivers %s of AlertmanagerConfig %s/%s", strings.Join(emptyHere, ", "), u.amc.Namespace, u.amc.Name))
		}
	}
	emptyNote := "they define no receiver"
	if len(empty) > 0 {
		emptyNote = "every receiver in them is empty (no *Configs): " + strings.Join(empty, "; ")
	}
	if global != "" {
		return check.Failf("", "%s takes its whole configuration from AlertmanagerConfig objects (spec.alertmanagerConfiguration), and %s: alerts routed there reach no one", id, emptyNote)
	}
	secret := am.FieldString("spec", "configSecret")
	if secret == "" {
		secret = "alertmanager-" + am.Name
	}
	msg := fmt.Sprintf("%s: the configuration is in Secret %s, which plimsoll does not read", id, secret)
	if len(used) > 0 {
		msg += "; of the AlertmanagerConfigs it selects, " + emptyNote
	}
	return check.NotAssessedf("%s", msg)
}

// receiver is one receiver of an AlertmanagerConfig and the integration
// fields it fills (slackConfigs, webhookConfigs...).
type receiver struct {
	name         string
	integrations []string
}

func receiversOf(amc *inventory.Object) []receiver {
	list, _ := amc.Field("spec", "receivers").([]any)
	var out []receiver
	for _, item := range list {
		m, _ := item.(map[string]any)
		r := receiver{}
		r.name, _ = m["name"].(string)
		for k, v := range m {
			if l, ok := v.([]any); ok && strings.HasSuffix(k, "Configs") && len(l) > 0 {
				r.integrations = append(r.integrations, k)
			}
		}
		sort.Strings(r.integrations)
		out = append(out, r)
	}
	return out
}
