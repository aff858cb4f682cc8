// Package selfaudit holds plimsoll's own installation files to plimsoll's
// standard. deploy/ (the Kustomize base) and charts/plimsoll (the Helm
// chart) must pass every check plimsoll runs on manifests with a score of
// 100, install the same objects, grant plimsoll serve what it needs and no
// more, agree on what plimsoll may read, and be objects the API server
// accepts field for field; krew/plimsoll.yaml must fill in to the Plugin
// manifest krew expects.
package selfaudit

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/internal/cli"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/manifest"
	"github.com/plimsoll/plimsoll/internal/report"
)

var (
	deployDir = filepath.Join("..", "..", "deploy")
	chartDir  = filepath.Join("..", "..", "charts", "plimsoll")
)

// release is the release name the chart is rendered with; like
// `helm install plimsoll`, it gives the names deploy/ uses.
const release = "plimsoll"

// installation is one way of installing plimsoll.
type installation struct {
	name string
	// args are what `plimsoll audit` reads it with.
	args []string
	// load reads its objects as plimsoll audit does.
	load func() manifest.Result
	// yaml returns the stream it applies, as kustomize build or helm
	// template would print it.
	yaml func(*testing.T) []byte
	// chart says it is the Helm chart.
	chart bool
	parts
}

// parts are the optional objects an installation includes.
type parts struct {
	// serviceMonitor: the ServiceMonitor.
	serviceMonitor bool
	// config: the ConfigMap of plimsoll's configuration.
	config bool
	// tests: the helm test pod, and its NetworkPolicy.
	tests bool
	// monitoring: the alerts' PrometheusRule and the Grafana dashboard's
	// ConfigMap.
	monitoring bool
	// webhook: the admission webhook, its Service and configuration, the
	// RBAC for its Events, and its certificate: a Secret Helm makes, or
	// with certManager, cert-manager's Issuer and Certificate.
	webhook, certManager bool
}

// values are the values a chart is rendered with: values files (-f), then
// --set.
type values struct {
	files, set []string
}

func chartInstallation(name string, p parts, v values) installation {
	args := []string{"--helm", chartDir, "--release-name", release}
	for _, f := range v.files {
		args = append(args, "-f", f)
	}
	for _, s := range v.set {
		args = append(args, "--set", s)
	}
	return installation{
		name: name,
		args: args,
		load: func() manifest.Result {
			return manifest.LoadHelm(chartDir, manifest.HelmOptions{ReleaseName: release, ValueFiles: v.files, Values: v.set})
		},
		yaml:  func(t *testing.T) []byte { return helmTemplate(t, v) },
		chart: true,
		parts: p,
	}
}

// webhookOverlay is deploy/ with its webhook Component, as an overlay
// outside deploy/ adds it.
var webhookOverlay = filepath.Join("testdata", "webhook-overlay")

// everyPart is a values file that turns every optional part of the chart on.
var everyPart, _ = filepath.Abs(filepath.Join("testdata", "every-part.yaml"))

func installations() []installation {
	return []installation{
		{
			name:  "kustomize build deploy",
			args:  []string{"--kustomize", deployDir},
			load:  func() manifest.Result { return manifest.LoadKustomize(deployDir) },
			yaml:  func(t *testing.T) []byte { return kustomizeBuild(t, deployDir) },
			parts: parts{serviceMonitor: true, config: true},
		},
		{
			name:  "kustomize build deploy with the webhook component",
			args:  []string{"--kustomize", webhookOverlay},
			load:  func() manifest.Result { return manifest.LoadKustomize(webhookOverlay) },
			yaml:  func(t *testing.T) []byte { return kustomizeBuild(t, webhookOverlay) },
			parts: parts{serviceMonitor: true, config: true, webhook: true, certManager: true},
		},
		{
			// deploy/'s files as they are, without Kustomize, as
			// `plimsoll audit deploy/` reads them: deploy/monitoring's
			// too, which the base leaves to a Kustomization of its own.
			name: "directory deploy",
			args: []string{deployDir},
			load: func() manifest.Result {
				return manifest.Load(context.Background(), []string{deployDir}, manifest.Options{})
			},
			yaml:  deployFiles,
			parts: parts{serviceMonitor: true, config: true, monitoring: true, webhook: true, certManager: true},
		},
		chartInstallation("chart", parts{tests: true}, values{}),
		chartInstallation("chart with ServiceMonitor", parts{serviceMonitor: true, tests: true}, values{set: []string{"serviceMonitor.enabled=true"}}),
		chartInstallation("chart for a fleet", parts{tests: true}, values{set: []string{"clusterName=eu-west-1"}}),
		chartInstallation("chart with dashboard and alerts", parts{serviceMonitor: true, tests: true, monitoring: true}, values{set: []string{
			"serviceMonitor.enabled=true", "prometheusRule.enabled=true", "grafanaDashboard.enabled=true", "clusterName=eu-west-1"}}),
		chartInstallation("chart with narrowed network access", parts{tests: true}, values{set: []string{
			"networkPolicy.apiServer.cidrs={10.0.0.0/28}",
			"networkPolicy.ingressFrom[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=monitoring",
		}}),
		chartInstallation("chart with the webhook", parts{tests: true, webhook: true}, values{set: []string{"webhook.enabled=true", "webhook.denyOn=high"}}),
		chartInstallation("chart with every part on", parts{serviceMonitor: true, config: true, tests: true, monitoring: true, webhook: true, certManager: true}, values{files: []string{everyPart}}),
	}
}

// objects loads an installation's objects, failing on any input error.
func (in installation) objects(t *testing.T) []*inventory.Object {
	t.Helper()
	res := in.load()
	for _, e := range res.Errors {
		t.Errorf("%s: %v", in.name, e)
	}
	if len(res.Objects) == 0 {
		t.Fatalf("%s: no objects", in.name)
	}
	return res.Objects
}

// configs are the configurations plimsoll audits its installation with:
// the defaults, and one that also turns on the checks that need settings.
var configs = []struct {
	name, text string
}{
	{"default configuration", ""},
	{"optional checks", `checks:
  enable: [recommended-labels]
parameters:
  allowedRegistries: [ghcr.io/plimsoll]
`},
}

// audit runs `plimsoll audit ARGS -o json` in-process, in a working
// directory holding config as .plimsoll.yaml (none when empty), and returns
// the exit code, the report and stderr.
func audit(t *testing.T, config string, args ...string) (int, *report.Report, string) {
	t.Helper()
	dir := t.TempDir()
	if config != "" {
		if err := os.WriteFile(filepath.Join(dir, ".plimsoll.yaml"), []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out, errOut bytes.Buffer
	code := cli.Main(context.Background(), append(append([]string{"audit"}, args...), "-o", "json"), cli.Streams{
		In:     strings.NewReader(""),
		Out:    &out,
		Err:    &errOut,
		Getenv: func(string) string { return "" },
		Dir:    dir,
	})
	var rep report.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("plimsoll audit %s: the report is not JSON: %v\nstderr:\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return code, &rep, errOut.String()
}

// TestSelfAudit is plimsoll's own installation audited by plimsoll: no
// failure, a score of 100, every input read. A failure here is fixed in
// the manifests, not by weakening a check.
func TestSelfAudit(t *testing.T) {
	for _, in := range installations() {
		for _, cfg := range configs {
			t.Run(in.name+"/"+cfg.name, func(t *testing.T) {
				code, rep, stderr := audit(t, cfg.text, in.args...)
				if code != cli.ExitOK {
					t.Errorf("got exit %d, want %d; stderr:\n%s", code, cli.ExitOK, stderr)
				}
				if rep.Partial || len(rep.InputErrors) > 0 {
					t.Errorf("got partial %v and input errors %+v, want every input read", rep.Partial, rep.InputErrors)
				}
				if rep.Summary.Fail != 0 || rep.Summary.Error != 0 {
					t.Errorf("got %d fail and %d error results, want none:", rep.Summary.Fail, rep.Summary.Error)
					for _, r := range rep.Results {
						if r.Status == "fail" || r.Status == "error" {
							t.Logf("  %s %s %s (%s): %s", r.Status, r.Check, r.Object.ID(), r.Source.Where(), r.Message)
						}
					}
				}
				if rep.Score.Overall == nil || *rep.Score.Overall != 100 {
					t.Errorf("got overall score %s, want 100", score(rep.Score.Overall))
				}
				// Every layer manifests can show was judged: a score of
				// 100 over nothing would prove nothing.
				for _, l := range rep.Score.Layers {
					switch l.Layer {
					case "workloads", "security", "governance", "upgrade":
						if l.Score == nil || *l.Score != 100 {
							t.Errorf("layer %s: got score %s, want 100", l.Layer, score(l.Score))
						}
					}
				}
				if got, want := rep.Summary.Objects, len(in.objects(t)); got != want {
					t.Errorf("got %d objects audited, want %d", got, want)
				}
			})
		}
	}
}

// score formats a score, which is nil when nothing was assessed.
func score(s *float64) string {
	if s == nil {
		return "none (not assessed)"
	}
	return strconv.FormatFloat(*s, 'f', -1, 64)
}

// installed are the objects every installation holds, by ID.
var installed = []string{
	"ClusterRole plimsoll-reader",
	"ClusterRole plimsoll-reports",
	"ClusterRoleBinding plimsoll-reader",
	"ClusterRoleBinding plimsoll-reports",
	"Deployment plimsoll/plimsoll",
	"LimitRange plimsoll/plimsoll",
	"Namespace plimsoll",
	"NetworkPolicy plimsoll/default-deny",
	"NetworkPolicy plimsoll/plimsoll",
	"PodDisruptionBudget plimsoll/plimsoll",
	"ResourceQuota plimsoll/plimsoll",
	"Role plimsoll/plimsoll-leader-election",
	"RoleBinding plimsoll/plimsoll-leader-election",
	"Service plimsoll/plimsoll",
	"ServiceAccount plimsoll/plimsoll",
}

// TestInstallationsAgree: the Kustomize base, its files read without
// Kustomize, and the chart install the same objects under the same names,
// and the optional parts each includes.
func TestInstallationsAgree(t *testing.T) {
	for _, in := range installations() {
		t.Run(in.name, func(t *testing.T) {
			want := append([]string{}, installed...)
			if in.serviceMonitor {
				want = append(want, "ServiceMonitor plimsoll/plimsoll")
			}
			if in.config {
				want = append(want, "ConfigMap plimsoll/plimsoll-config")
			}
			if in.tests {
				// Helm test hooks: helm install leaves them for helm test.
				want = append(want, "Pod plimsoll/plimsoll-test")
				if slices.Contains(want, "NetworkPolicy plimsoll/plimsoll") {
					want = append(want, "NetworkPolicy plimsoll/plimsoll-test")
				}
			}
			if in.monitoring {
				want = append(want, "ConfigMap plimsoll/plimsoll-dashboard", "PrometheusRule plimsoll/plimsoll")
			}
			if in.webhook {
				want = append(want, "Service plimsoll/plimsoll-webhook", "ValidatingWebhookConfiguration plimsoll",
					"ClusterRole plimsoll-events", "ClusterRoleBinding plimsoll-events")
				if in.certManager {
					want = append(want, "Issuer plimsoll/plimsoll-webhook", "Certificate plimsoll/plimsoll-webhook")
				} else {
					want = append(want, "Secret plimsoll/plimsoll-webhook-tls")
				}
			}
			sort.Strings(want)
			var got []string
			for _, o := range in.objects(t) {
				got = append(got, o.ID())
			}
			sort.Strings(got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
		})
	}
}

// TestChartClusterName: the chart's clusterName reaches serve as
// --cluster-name, the flag that labels every metric with the cluster.
func TestChartClusterName(t *testing.T) {
	rendered := string(helmTemplate(t, values{set: []string{"clusterName=eu-west-1"}}))
	if !strings.Contains(rendered, "- --cluster-name\n            - \"eu-west-1\"\n") {
		t.Errorf("the chart does not pass clusterName to serve:\n%s", rendered)
	}
	if strings.Contains(string(helmTemplate(t, values{})), "--cluster-name") {
		t.Error("the chart passes --cluster-name without clusterName")
	}
}
