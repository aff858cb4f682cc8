package selfaudit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

var (
	rulesFile     = filepath.Join(chartDir, "files", "plimsoll.rules.yaml")
	dashboardFile = filepath.Join(chartDir, "files", "plimsoll-dashboard.json")
)

// render renders the chart with --set values and returns the one object
// of the given kind, or "" when there is none.
func render(t *testing.T, kind string, set ...string) string {
	t.Helper()
	found := ""
	for _, doc := range documents(t, helmTemplate(t, values{set: set})) {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			t.Fatal(err)
		}
		if tm.Kind == kind {
			if found != "" {
				t.Fatalf("two objects of kind %s", kind)
			}
			found = string(doc)
		}
	}
	return found
}

// object is what these tests read of a rendered object.
type object struct {
	Metadata struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec any               `json:"spec"`
	Data map[string]string `json:"data"`
}

func decode(t *testing.T, doc string) object {
	t.Helper()
	var o object
	if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	return o
}

// TestChartPrometheusRule: the chart's PrometheusRule (test/monitoring tests
// the rules themselves) is off by default; on, its spec is the rules file,
// with the labels and namespace the values give.
func TestChartPrometheusRule(t *testing.T) {
	if got := strings.TrimSpace(render(t, "PrometheusRule")); got != "" {
		t.Errorf("rendered without prometheusRule.enabled:\n%s", got)
	}
	o := decode(t, render(t, "PrometheusRule", "prometheusRule.enabled=true", "prometheusRule.labels.release=kube-prometheus-stack"))
	data, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var want any
	if err := yaml.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, o.Spec); diff != "" {
		t.Errorf("spec is not %s (-file +spec):\n%s", rulesFile, diff)
	}
	if o.Metadata.Name != "plimsoll" || o.Metadata.Namespace != "plimsoll" || o.Metadata.Labels["release"] != "kube-prometheus-stack" {
		t.Errorf("got metadata %+v, want plimsoll/plimsoll labelled release: kube-prometheus-stack", o.Metadata)
	}
	o = decode(t, render(t, "PrometheusRule", "prometheusRule.enabled=true", "prometheusRule.namespace=monitoring"))
	if o.Metadata.Namespace != "monitoring" {
		t.Errorf("prometheusRule.namespace=monitoring: got namespace %q", o.Metadata.Namespace)
	}
}

// TestChartGrafanaDashboard: off by default; on, a ConfigMap holding the
// dashboard byte for byte, with the sidecar's label.
func TestChartGrafanaDashboard(t *testing.T) {
	if got := strings.TrimSpace(render(t, "ConfigMap")); got != "" {
		t.Errorf("rendered without grafanaDashboard.enabled:\n%s", got)
	}
	o := decode(t, render(t, "ConfigMap", "grafanaDashboard.enabled=true", "grafanaDashboard.annotations.grafana_folder=Kubernetes"))
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(data), o.Data["plimsoll.json"]); diff != "" {
		t.Errorf("data plimsoll.json is not %s (-file +configmap):\n%s", dashboardFile, diff)
	}
	if o.Metadata.Name != "plimsoll-dashboard" || o.Metadata.Namespace != "plimsoll" || o.Metadata.Labels["grafana_dashboard"] != "1" || o.Metadata.Annotations["grafana_folder"] != "Kubernetes" {
		t.Errorf("got metadata %+v, want plimsoll/plimsoll-dashboard labelled grafana_dashboard: \"1\", annotated grafana_folder: Kubernetes", o.Metadata)
	}
	o = decode(t, render(t, "ConfigMap", "grafanaDashboard.enabled=true", "grafanaDashboard.namespace=monitoring"))
	if o.Metadata.Namespace != "monitoring" {
		t.Errorf("grafanaDashboard.namespace=monitoring: got namespace %q", o.Metadata.Namespace)
	}
}
