package check

import (
	"errors"
	"fmt"
	"regexp"
)

// AlertTopic is a failure that some alerting rule must cover, for
// monitoring-alert-rules. A rule covers it when its alert name matches one
// of AlertNames or its expression matches one of Expressions.
type AlertTopic struct {
	// Name names the topic in findings: "node not ready".
	Name string `yaml:"name" json:"name"`
	// AlertNames are regular expressions (RE2 syntax) searched for in an
	// alert's name, without regard to case: a plain word such as
	// "CrashLoop" matches every alert whose name contains it.
	AlertNames []string `yaml:"alertNames" json:"alertNames"`
	// Expressions are regular expressions searched for in an alert's
	// PromQL expression, case included: a plain metric name matches every
	// alert that uses the metric.
	Expressions []string `yaml:"expressions" json:"expressions"`
}

// DefaultAlertTopics are the failures production clusters alert on, each
// with the alert names and expressions of the rules that kube-prometheus
// (kubernetes-monitoring-rules, node-exporter-rules), the cert-manager
// mixin and the Velero chart ship for it.
func DefaultAlertTopics() []AlertTopic {
	return []AlertTopic{
		{
			Name:        "node not ready",
			AlertNames:  []string{"NodeNotReady"},
			Expressions: []string{`kube_node_status_condition\{[^}]*condition=~?"Ready"`},
		},
		{
			Name:        "pods crash-looping",
			AlertNames:  []string{"CrashLoop"},
			Expressions: []string{"CrashLoopBackOff", "kube_pod_container_status_restarts_total"},
		},
		{
			Name:        "disk pressure",
			AlertNames:  []string{"DiskPressure", "NodeFilesystemSpaceFillingUp", "NodeFilesystemAlmostOutOfSpace"},
			Expressions: []string{`condition=~?"DiskPressure"`, "node_filesystem_avail_bytes"},
		},
		{
			Name:        "memory pressure",
			AlertNames:  []string{"MemoryPressure", "MemoryOvercommit", "NodeMemoryHighUtilization"},
			Expressions: []string{`condition=~?"MemoryPressure"`, "node_memory_MemAvailable_bytes"},
		},
		{
			Name:        "API server errors",
			AlertNames:  []string{"KubeAPIErrorBudgetBurn", "KubeAPIErrorsHigh", "APIServerErrors"},
			Expressions: []string{`apiserver_request_total\{[^}]*code=~?"5`, `apiserver_request:burnrate`},
		},
		{
			Name:       "certificate expiry",
			AlertNames: []string{"Cert(ificate)?Expir"},
			Expressions: []string{
				"certmanager_certificate_expiration_timestamp_seconds",
				"apiserver_client_certificate_expiration_seconds",
				"probe_ssl_earliest_cert_expiry",
				"x509_cert_not_after",
			},
		},
		{
			Name:        "backup failure",
			AlertNames:  []string{"Backup.*Fail"},
			Expressions: []string{"velero_backup_failure_total", "velero_backup_partial_failure_total", "velero_backup_last_status"},
		},
	}
}

// AlertMatcher is an AlertTopic's patterns, compiled.
type AlertMatcher struct {
	names, exprs []*regexp.Regexp
}

// Compile compiles a topic's patterns. It fails on a topic without a name
// or without a pattern, and on a pattern that is not a regular expression,
// naming the field.
func (t AlertTopic) Compile() (*AlertMatcher, error) {
	if t.Name == "" {
		return nil, errors.New("name is required")
	}
	if len(t.AlertNames)+len(t.Expressions) == 0 {
		return nil, fmt.Errorf("topic %q: alertNames or expressions is required", t.Name)
	}
	m := &AlertMatcher{}
	for i, p := range t.AlertNames {
		if _, err := regexp.Compile(p); err != nil {
			return nil, fmt.Errorf("topic %q: alertNames[%d] %q: %w", t.Name, i, p, err)
		}
		m.names = append(m.names, regexp.MustCompile("(?i)"+p))
	}
	for i, p := range t.Expressions {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("topic %q: expressions[%d] %q: %w", t.Name, i, p, err)
		}
		m.exprs = append(m.exprs, re)
	}
	return m, nil
}

// Match reports whether an alerting rule covers the topic.
func (m *AlertMatcher) Match(alert, expr string) bool {
	for _, re := range m.names {
		if re.MatchString(alert) {
			return true
		}
	}
	for _, re := range m.exprs {
		if re.MatchString(expr) {
			return true
		}
	}
	return false
}
