// Package monitoring tests what plimsoll ships for the monitoring stack
// around plimsoll serve: the Prometheus alerting rules
// (charts/plimsoll/files/plimsoll.rules.yaml) and the Grafana dashboard
// (charts/plimsoll/files/plimsoll-dashboard.json), which the chart
// installs as a PrometheusRule and a ConfigMap for Grafana's sidecar, and
// deploy/monitoring holds as the same objects for Kustomize. The rules are
// checked and unit-tested by a real promtool, the dashboard decoded
// strictly into Grafana's dashboard schema, every query parsed by
// promtool, and every metric they name must be one plimsoll serve exports.
package monitoring

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite deploy/monitoring from the chart's files")

var (
	root           = filepath.Join("..", "..")
	rulesFile      = filepath.Join(root, "charts", "plimsoll", "files", "plimsoll.rules.yaml")
	rulesTestFile  = filepath.Join("testdata", "plimsoll.rules.test.yaml")
	dashboardFile  = filepath.Join(root, "charts", "plimsoll", "files", "plimsoll-dashboard.json")
	metricsGolden  = filepath.Join(root, "internal", "serve", "testdata", "metrics.golden")
	readmeFile     = filepath.Join(root, "README.md")
	deployRule     = filepath.Join(root, "deploy", "monitoring", "prometheusrule.yaml")
	deployDash     = filepath.Join(root, "deploy", "monitoring", "grafana-dashboard.yaml")
	promtoolBinEnv = "PLIMSOLL_PROMTOOL_BIN"
)

// promtool returns $PLIMSOLL_PROMTOOL_BIN. It never skips: without promtool
// nothing here proves the rules work, so the test fails and says how to get
// one (a cold build takes minutes, too long to start from inside a test).
func promtool(t *testing.T) string {
	t.Helper()
	bin := os.Getenv(promtoolBinEnv)
	if bin == "" {
		t.Fatalf("%s is not set: build promtool with hack/prometheus-build and run\n  %s=$(./hack/prometheus-build)/promtool go test ./test/monitoring\n(hack/test sets it)", promtoolBinEnv, promtoolBinEnv)
	}
	return bin
}

// runPromtool runs promtool with args and fails the test, with its output,
// unless it exits 0.
func runPromtool(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(promtool(t), args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// ruleFile is a Prometheus rules file.
type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []rule `json:"rules"`
	} `json:"groups"`
}

type rule struct {
	Alert       string            `json:"alert"`
	Record      string            `json:"record"`
	Expr        string            `json:"expr"`
	For         string            `json:"for"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

func readRules(t *testing.T) []rule {
	t.Helper()
	data, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	var rules []rule
	for _, g := range f.Groups {
		rules = append(rules, g.Rules...)
	}
	if len(rules) == 0 {
		t.Fatalf("%s: no rules", rulesFile)
	}
	return rules
}

// TestRulesCheck: promtool accepts the rules file, with every lint fatal.
func TestRulesCheck(t *testing.T) {
	out := runPromtool(t, "check", "rules", "--lint=all", "--lint-fatal", rulesFile)
	if !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool check rules did not say SUCCESS:\n%s", out)
	}
}

// TestRulesUnit runs the alerts' unit tests (testdata/plimsoll.rules.test.yaml)
// with promtool: each alert fires when it should, with its labels and
// texts, and stays quiet when it should.
func TestRulesUnit(t *testing.T) {
	out := runPromtool(t, "test", "rules", rulesTestFile)
	if !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool test rules did not say SUCCESS:\n%s", out)
	}
}

// TestRulesTestedBothWays: the unit tests hold every alert firing at some
// time and quiet at another, so an alert cannot be added untested.
func TestRulesTestedBothWays(t *testing.T) {
	data, err := os.ReadFile(rulesTestFile)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string            `json:"alertname"`
				ExpAlerts []json.RawMessage `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	firing, quiet := map[string]bool{}, map[string]bool{}
	for _, g := range f.Tests {
		for _, c := range g.AlertRuleTest {
			if len(c.ExpAlerts) > 0 {
				firing[c.Alertname] = true
			} else {
				quiet[c.Alertname] = true
			}
		}
	}
	for _, r := range readRules(t) {
		if r.Alert == "" {
			continue
		}
		if !firing[r.Alert] {
			t.Errorf("%s: no unit test in %s where it fires", r.Alert, rulesTestFile)
		}
		if !quiet[r.Alert] {
			t.Errorf("%s: no unit test in %s where it stays quiet", r.Alert, rulesTestFile)
		}
	}
}

// TestRulesSayWhatToDo: every alert has a severity, a summary, a
// description and a runbook link to its own section of the README.
func TestRulesSayWhatToDo(t *testing.T) {
	readme, err := os.ReadFile(readmeFile)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(line, "#") {
			anchors[githubAnchor(strings.TrimLeft(line, "# "))] = true
		}
	}
	const readmeURL = "https://github.com/plimsoll/plimsoll/blob/main/README.md#"
	for _, r := range readRules(t) {
		if r.Alert == "" {
			continue
		}
		if r.Labels["severity"] == "" {
			t.Errorf("%s: no severity label", r.Alert)
		}
		for _, a := range []string{"summary", "description", "runbook_url"} {
			if strings.TrimSpace(r.Annotations[a]) == "" {
				t.Errorf("%s: no %s", r.Alert, a)
			}
		}
		anchor, ok := strings.CutPrefix(r.Annotations["runbook_url"], readmeURL)
		if !ok || anchor != strings.ToLower(r.Alert) || !anchors[anchor] {
			t.Errorf("%s: runbook_url %q, want %s%s, a heading of README.md", r.Alert, r.Annotations["runbook_url"], readmeURL, strings.ToLower(r.Alert))
		}
	}
}

// githubAnchor is the fragment GitHub gives a heading.
func githubAnchor(heading string) string {
	heading = strings.ToLower(strings.TrimSpace(heading))
	var b strings.Builder
	for _, r := range heading {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}

// metricName finds the names of plimsoll's metrics in PromQL. Every metric
// plimsoll exports starts with plimsoll_, and no label value or function
// the rules use does.
var metricName = regexp.MustCompile(`\bplimsoll_[a-z0-9_]+`)

// exported returns the metric names a scrape of plimsoll serve shows, from
// internal/serve's golden scrape (which its tests hold to the registry):
// a histogram's _bucket, _sum and _count series included.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(metricsGolden)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			names[f[2]] = true
			if f[3] == "histogram" {
				for _, s := range []string{"_bucket", "_sum", "_count"} {
					names[f[2]+s] = true
				}
			}
		}
	}
	if len(names) < 10 {
		t.Fatalf("%s: only %d metrics found", metricsGolden, len(names))
	}
	return names
}

// checkMetrics fails for each plimsoll metric expr names that serve does
// not export, and returns how many it names.
func checkMetrics(t *testing.T, what, expr string, names map[string]bool) int {
	t.Helper()
	found := metricName.FindAllString(expr, -1)
	for _, m := range found {
		if !names[m] {
			t.Errorf("%s uses %s, which plimsoll serve does not export (internal/serve/testdata/metrics.golden)", what, m)
		}
	}
	return len(found)
}

// TestRulesUseExportedMetrics: renaming a metric breaks this test, not the
// alerts of every cluster that runs them.
func TestRulesUseExportedMetrics(t *testing.T) {
	names := exported(t)
	for _, r := range readRules(t) {
		if checkMetrics(t, r.Alert+r.Record, r.Expr, names) == 0 {
			t.Errorf("%s%s: uses no plimsoll metric: %s", r.Alert, r.Record, r.Expr)
		}
	}
}

// The objects in deploy/monitoring are the chart's files in the same
// wrappers the chart's templates put them in, written by -update
// (hack/update): one source for the rules and the dashboard.
func TestDeployCopies(t *testing.T) {
	rules, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	dash, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		file string
		want []byte
	}{
		{deployRule, prometheusRuleObject(rules)},
		{deployDash, dashboardConfigMap(dash)},
	} {
		if *update {
			if err := os.WriteFile(c.file, c.want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(c.file)
		if err != nil {
			t.Fatalf("%v (go test ./test/monitoring -update writes it)", err)
		}
		if !bytes.Equal(got, c.want) {
			t.Errorf("%s is not what the chart's files give: run go test ./test/monitoring -update (or hack/update)", c.file)
		}
	}
}

const generated = "# Generated from charts/plimsoll/files/%s by go test ./test/monitoring -update\n# (hack/update): edit that file, not this one.\n"

// labels are deploy/'s labels for its objects.
const labels = `    app.kubernetes.io/name: plimsoll
    app.kubernetes.io/instance: plimsoll
    app.kubernetes.io/part-of: plimsoll
`

func prometheusRuleObject(rules []byte) []byte {
	var b bytes.Buffer
	b.WriteString(strings.Replace(generated, "%s", "plimsoll.rules.yaml", 1))
	b.WriteString("# Needs the Prometheus Operator's CRDs. Its Prometheus must select it\n# (ruleSelector): add the labels it selects by in an overlay.\n")
	b.WriteString("apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: plimsoll\n  namespace: plimsoll\n  labels:\n" + labels + "spec:\n")
	b.WriteString(indent(string(rules), "  "))
	return b.Bytes()
}

func dashboardConfigMap(dash []byte) []byte {
	var b bytes.Buffer
	b.WriteString(strings.Replace(generated, "%s", "plimsoll-dashboard.json", 1))
	b.WriteString("# Grafana's dashboard sidecar loads ConfigMaps labelled grafana_dashboard: \"1\"\n# (in the namespaces it watches).\n")
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plimsoll-dashboard\n  namespace: plimsoll\n  labels:\n" + labels + "    grafana_dashboard: \"1\"\ndata:\n  plimsoll.json: |\n")
	b.WriteString(indent(string(dash), "    "))
	return b.Bytes()
}

// indent prefixes every non-empty line of s.
func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			b.WriteString(prefix)
		}
		b.WriteString(l)
	}
	return b.String()
}
