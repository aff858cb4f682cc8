package selfaudit

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"sigs.k8s.io/yaml"

	"github.com/plimsoll/plimsoll/internal/checks"
	"github.com/plimsoll/plimsoll/internal/config"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/manifest"
)

// chartObjects renders the chart with v as plimsoll audit --helm does and
// returns its objects by ID.
func chartObjects(t *testing.T, v values) map[string]*inventory.Object {
	t.Helper()
	res := manifest.LoadHelm(chartDir, manifest.HelmOptions{ReleaseName: release, ValueFiles: v.files, Values: v.set})
	for _, e := range res.Errors {
		t.Fatalf("render with %+v: %v", v, e)
	}
	byID := map[string]*inventory.Object{}
	for _, o := range res.Objects {
		byID[o.ID()] = o
	}
	return byID
}

// TestChartValuesSchema: values.schema.json accepts the defaults and the
// values that turn every part on, and Helm refuses, before rendering,
// values of the wrong type or shape, naming the value.
func TestChartValuesSchema(t *testing.T) {
	for _, v := range []values{{}, {files: []string{everyPart}}, {set: []string{"podDisruptionBudget.maxUnavailable=50%"}}} {
		if _, err := renderChart(v); err != nil {
			t.Errorf("values %+v: got %v, want them accepted", v, err)
		}
	}
	for _, c := range []struct {
		set, want string
	}{
		{"replicas=two", "at '/replicas': got string, want integer"},
		{"serviceMonitor.enabled=yes", "at '/serviceMonitor/enabled': got string, want boolean"},
		{"config.checks.disable={pod-probes}", "at '/config': got object, want string"},
		{"image.digest=sha256:abc", "/image/digest"},
		{"service.prot=8080", "/service"},
		{"podDisruptionBudget.maxUnavailable=0", "/podDisruptionBudget/maxUnavailable"},
		{"tests.resources.limit.cpu=1", "/tests/resources"},
	} {
		t.Run(c.set, func(t *testing.T) {
			_, err := renderChart(values{set: []string{c.set}})
			if err == nil || !strings.Contains(err.Error(), "values don't meet the specifications of the schema") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want the schema to refuse it at %q", err, c.want)
			}
		})
	}
}

// TestChartValuesDocumented: every value values.schema.json knows has a
// description, so that the schema and values.yaml document the same values.
func TestChartValuesDocumented(t *testing.T) {
	var schema map[string]any
	readYAML(t, filepath.Join(chartDir, "values.schema.json"), &schema)
	var vals map[string]any
	readYAML(t, filepath.Join(chartDir, "values.yaml"), &vals)
	props, _ := schema["properties"].(map[string]any)
	for key := range vals {
		p, ok := props[key].(map[string]any)
		if !ok {
			t.Errorf("values.yaml has %s, which values.schema.json does not describe", key)
			continue
		}
		if d, _ := p["description"].(string); d == "" {
			t.Errorf("values.schema.json has no description of %s", key)
		}
	}
	for key := range props {
		if _, ok := vals[key]; !ok {
			t.Errorf("values.schema.json describes %s, which values.yaml lacks", key)
		}
	}
}

// TestChartOptionalParts: the chart renders with each optional part on
// and off, and holds exactly the objects of the parts that are on.
func TestChartOptionalParts(t *testing.T) {
	const (
		configMap    = "ConfigMap plimsoll/plimsoll-config"
		monitor      = "ServiceMonitor plimsoll/plimsoll"
		policy       = "NetworkPolicy plimsoll/plimsoll"
		defaultDeny  = "NetworkPolicy plimsoll/default-deny"
		testPod      = "Pod plimsoll/plimsoll-test"
		testPolicy   = "NetworkPolicy plimsoll/plimsoll-test"
		namespace    = "Namespace plimsoll"
		pdb          = "PodDisruptionBudget plimsoll/plimsoll"
		inReleaseNS  = "Deployment default/plimsoll"
		deployment   = "Deployment plimsoll/plimsoll"
		releaseNSPod = "Pod default/plimsoll-test"
		webhook      = "ValidatingWebhookConfiguration plimsoll"
		webhookSvc   = "Service plimsoll/plimsoll-webhook"
		events       = "ClusterRole plimsoll-events"
		helmCert     = "Secret plimsoll/plimsoll-webhook-tls"
		certificate  = "Certificate plimsoll/plimsoll-webhook"
		issuer       = "Issuer plimsoll/plimsoll-webhook"
	)
	for _, c := range []struct {
		name          string
		set           []string
		files         []string
		with, without []string
	}{
		{"defaults", nil, nil, []string{deployment, pdb, namespace, policy, defaultDeny, testPod, testPolicy},
			[]string{configMap, monitor, webhook, webhookSvc, events, helmCert, certificate, issuer}},
		{"every part on", nil, []string{everyPart}, []string{configMap, monitor, policy, defaultDeny, testPod, testPolicy, pdb, webhook, webhookSvc, events, certificate, issuer}, []string{helmCert}},
		{"webhook", []string{"webhook.enabled=true"}, nil, []string{webhook, webhookSvc, events, helmCert}, []string{certificate, issuer}},
		{"webhook with cert-manager", []string{"webhook.enabled=true", "webhook.certManager.enabled=true"}, nil, []string{webhook, webhookSvc, events, certificate, issuer}, []string{helmCert}},
		{"webhook with an issuer of yours", []string{"webhook.enabled=true", "webhook.certManager.enabled=true", "webhook.certManager.issuerRef.name=ca", "webhook.certManager.issuerRef.kind=ClusterIssuer"}, nil,
			[]string{webhook, certificate}, []string{issuer, helmCert}},
		{"config", []string{"config=checks: {}"}, nil, []string{configMap}, nil},
		{"serviceMonitor", []string{"serviceMonitor.enabled=true"}, nil, []string{monitor}, nil},
		{"no networkPolicy", []string{"networkPolicy.enabled=false"}, nil, []string{testPod}, []string{policy, defaultDeny, testPolicy}},
		{"no helm test", []string{"tests.enabled=false"}, nil, []string{policy}, []string{testPod, testPolicy}},
		{"every part off", []string{"networkPolicy.enabled=false", "tests.enabled=false", "namespace.create=false", "namespace.name="}, nil,
			[]string{inReleaseNS, "PodDisruptionBudget default/plimsoll"}, []string{namespace, configMap, monitor, releaseNSPod, "NetworkPolicy default/plimsoll"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			objs := chartObjects(t, values{files: c.files, set: c.set})
			for _, id := range c.with {
				if objs[id] == nil {
					t.Errorf("no %s", id)
				}
			}
			for _, id := range c.without {
				if objs[id] != nil {
					t.Errorf("got %s, want none", id)
				}
			}
		})
	}
}

// TestChartConfig: a config given to the chart reaches serve as the
// mounted file --config names, unchanged; without one serve gets no
// --config; and a config that is not a mapping of .plimsoll.yaml's keys
// stops helm install.
func TestChartConfig(t *testing.T) {
	const text = "# a comment\nchecks:\n  disable: [pod-probes]\n"
	objs := chartObjects(t, values{set: []string{"config=" + text}})
	if got := configFile(t, helmTemplate(t, values{set: []string{"config=" + text}})); got != text {
		t.Errorf("got plimsoll.yaml %q in the ConfigMap, want %q", got, text)
	}
	spec := objs["Deployment plimsoll/plimsoll"].Typed.(*appsv1.Deployment).Spec.Template.Spec
	wantMounted(t, spec, "plimsoll-config")

	spec = chartObjects(t, values{})["Deployment plimsoll/plimsoll"].Typed.(*appsv1.Deployment).Spec.Template.Spec
	if slices.Contains(spec.Containers[0].Args, "--config") || len(spec.Volumes) > 0 {
		t.Errorf("without config: got args %q and volumes %+v, want no --config and no volume", spec.Containers[0].Args, spec.Volumes)
	}

	for _, c := range []struct{ config, want string }{
		{"- checks", "config must be a YAML mapping"},
		{"just words", "config must be a YAML mapping"},
		{"chekcs: {}", `config has the key "chekcs"`},
	} {
		if _, err := renderChart(values{set: []string{"config=" + c.config}}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("config %q: got %v, want %q", c.config, err, c.want)
		}
	}
}

// wantMounted checks that serve is started with --config on the file of
// the ConfigMap name, mounted as a directory (a subPath mount is never
// updated, so serve would never see a change).
func wantMounted(t *testing.T, spec corev1.PodSpec, name string) {
	t.Helper()
	c := spec.Containers[0]
	if i := slices.Index(c.Args, "--config"); i < 0 || i+1 >= len(c.Args) || c.Args[i+1] != "/etc/plimsoll/plimsoll.yaml" {
		t.Errorf("got args %q, want --config /etc/plimsoll/plimsoll.yaml", c.Args)
	}
	if len(spec.Volumes) != 1 || spec.Volumes[0].ConfigMap == nil || spec.Volumes[0].ConfigMap.Name != name {
		t.Errorf("got volumes %+v, want the ConfigMap %s", spec.Volumes, name)
	}
	if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != "/etc/plimsoll" || c.VolumeMounts[0].SubPath != "" {
		t.Errorf("got mounts %+v, want the ConfigMap's directory at /etc/plimsoll", c.VolumeMounts)
	}
}

// TestDeployConfig: deploy/'s ConfigMap holds a configuration that loads
// as serve loads it, kustomize build keeps it unchanged, and the
// Deployment mounts it for --config.
func TestDeployConfig(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(deployDir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := configFile(t, data)
	file := filepath.Join(t.TempDir(), "plimsoll.yaml")
	if err := os.WriteFile(file, []byte(want), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(file, checks.Registry()); err != nil {
		t.Errorf("deploy/config.yaml's plimsoll.yaml does not load: %v", err)
	}
	var spec corev1.PodSpec
	for _, o := range manifest.LoadKustomize(deployDir).Objects {
		if o.ID() == "Deployment plimsoll/plimsoll" {
			spec = o.Typed.(*appsv1.Deployment).Spec.Template.Spec
		}
	}
	if got := configFile(t, kustomizeBuild(t, deployDir)); got != want {
		t.Errorf("got plimsoll.yaml %q in the built ConfigMap, want deploy/config.yaml's %q", got, want)
	}
	wantMounted(t, spec, "plimsoll-config")
}

// configFile returns the plimsoll.yaml of the ConfigMap plimsoll-config
// in a rendered stream. The inventory does not keep a ConfigMap's values.
func configFile(t *testing.T, stream []byte) string {
	t.Helper()
	for _, doc := range documents(t, stream) {
		var cm corev1.ConfigMap
		if err := yaml.Unmarshal(doc, &cm); err != nil {
			t.Fatal(err)
		}
		if cm.Kind == "ConfigMap" && cm.Name == "plimsoll-config" {
			return cm.Data["plimsoll.yaml"]
		}
	}
	t.Fatal("no ConfigMap plimsoll-config")
	return ""
}

// readYAML decodes a YAML (or JSON) file into v.
func readYAML(t *testing.T, file string, v any) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// TestDeployWebhook: deploy/webhook, added to deploy/ as a Component,
// turns the webhook on in serve, lets the API server reach it, and
// registers it as the chart does, with cert-manager's certificate.
func TestDeployWebhook(t *testing.T) {
	res := manifest.LoadKustomize(webhookOverlay)
	for _, e := range res.Errors {
		t.Fatal(e)
	}
	objs := map[string]*inventory.Object{}
	for _, o := range res.Objects {
		objs[o.ID()] = o
	}
	vwc := wantWebhook(t, objs, "none")
	if got := vwc.Metadata.Annotations["cert-manager.io/inject-ca-from"]; got != "plimsoll/plimsoll-webhook" {
		t.Errorf("got inject-ca-from %q, want plimsoll/plimsoll-webhook", got)
	}
	var ports []string
	for _, r := range objs["NetworkPolicy plimsoll/plimsoll"].Typed.(*networkingv1.NetworkPolicy).Spec.Ingress {
		for _, p := range r.Ports {
			ports = append(ports, p.Port.String())
		}
	}
	if !slices.Contains(ports, "8443") || !slices.Contains(ports, "8080") {
		t.Errorf("the NetworkPolicy lets in ports %q, want 8080 and 8443", ports)
	}
}

// TestChartWebhookIngress: the webhook's port is open to every source,
// or with webhook.ingressFrom to those peers alone.
func TestChartWebhookIngress(t *testing.T) {
	for _, c := range []struct {
		set  []string
		from string
	}{
		{[]string{"webhook.enabled=true"}, ""},
		{[]string{"webhook.enabled=true", "webhook.ingressFrom[0].ipBlock.cidr=10.0.0.0/28"}, "10.0.0.0/28"},
	} {
		policy := chartObjects(t, values{set: c.set})["NetworkPolicy plimsoll/plimsoll"].Typed.(*networkingv1.NetworkPolicy)
		var found bool
		for _, r := range policy.Spec.Ingress {
			if len(r.Ports) != 1 || r.Ports[0].Port.String() != "8443" {
				continue
			}
			found = true
			var from string
			if len(r.From) == 1 && r.From[0].IPBlock != nil {
				from = r.From[0].IPBlock.CIDR
			}
			if from != c.from || (c.from == "" && len(r.From) > 0) {
				t.Errorf("%q: port 8443 is open to %+v, want %q (empty: every source)", c.set, r.From, c.from)
			}
		}
		if !found {
			t.Errorf("%q: no ingress rule for port 8443", c.set)
		}
	}
}

// TestChartWebhook: with webhook.enabled, serve runs with --webhook on the
// certificate the chart mounts, and the webhook configuration is fail-open,
// bounded in time, free of side effects on dry runs, calls the Service's
// /validate with the CA that signed the serving certificate (Helm's, or
// cert-manager's through its injector), and leaves kube-system and
// plimsoll's own namespace alone.
func TestChartWebhook(t *testing.T) {
	for _, c := range []struct {
		name        string
		set         []string
		certManager bool
	}{
		{"certificate from Helm", []string{"webhook.enabled=true", "webhook.denyOn=high"}, false},
		{"certificate from cert-manager", []string{"webhook.enabled=true", "webhook.denyOn=high", "webhook.certManager.enabled=true"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			// One render: Helm makes a new CA at each.
			rendered := helmTemplate(t, values{set: c.set})
			objs := renderedObjects(t, rendered)
			vwc := wantWebhook(t, objs, "high")
			w := vwc.Webhooks[0]
			inject := vwc.Metadata.Annotations["cert-manager.io/inject-ca-from"]
			if c.certManager {
				if inject != "plimsoll/plimsoll-webhook" || w.ClientConfig.CABundle != "" {
					t.Errorf("got inject-ca-from %q and a caBundle of %d bytes, want plimsoll/plimsoll-webhook and none", inject, len(w.ClientConfig.CABundle))
				}
				return
			}
			// plimsoll's own loader never keeps a Secret's data; the
			// rendered YAML has it.
			var secret corev1.Secret
			for _, doc := range strings.Split(string(rendered), "\n---\n") {
				if strings.Contains(doc, "kind: Secret\n") && strings.Contains(doc, "name: plimsoll-webhook-tls\n") {
					if err := yaml.Unmarshal([]byte(doc), &secret); err != nil {
						t.Fatal(err)
					}
				}
			}
			if inject != "" || w.ClientConfig.CABundle == "" || w.ClientConfig.CABundle != base64.StdEncoding.EncodeToString(secret.Data["ca.crt"]) {
				t.Errorf("the caBundle is not the CA of the Secret Helm made")
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(secret.Data["ca.crt"]) {
				t.Fatal("ca.crt holds no certificate")
			}
			pair, err := tls.X509KeyPair(secret.Data["tls.crt"], secret.Data["tls.key"])
			if err != nil {
				t.Fatal(err)
			}
			leaf, err := x509.ParseCertificate(pair.Certificate[0])
			if err != nil {
				t.Fatal(err)
			}
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "plimsoll-webhook.plimsoll.svc"}); err != nil {
				t.Errorf("the serving certificate does not verify as the API server checks it: %v", err)
			}
		})
	}
}

// renderedObjects reads rendered YAML as plimsoll audit - does, by ID.
func renderedObjects(t *testing.T, rendered []byte) map[string]*inventory.Object {
	t.Helper()
	file := filepath.Join(t.TempDir(), "chart.yaml")
	if err := os.WriteFile(file, rendered, 0o600); err != nil {
		t.Fatal(err)
	}
	res := manifest.Load(context.Background(), []string{file}, manifest.Options{})
	for _, e := range res.Errors {
		t.Fatal(e)
	}
	byID := map[string]*inventory.Object{}
	for _, o := range res.Objects {
		byID[o.ID()] = o
	}
	return byID
}

// asJSON decodes an object's content into v.
func asJSON(t *testing.T, o *inventory.Object, v any) {
	t.Helper()
	if o == nil {
		t.Fatal("no such object")
	}
	data, err := json.Marshal(o.Content)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}

// webhookConfiguration is what the tests read of a
// ValidatingWebhookConfiguration.
type webhookConfiguration struct {
	Metadata struct {
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Webhooks []struct {
		AdmissionReviewVersions []string `json:"admissionReviewVersions"`
		SideEffects             string   `json:"sideEffects"`
		FailurePolicy           string   `json:"failurePolicy"`
		TimeoutSeconds          int      `json:"timeoutSeconds"`
		ClientConfig            struct {
			CABundle string `json:"caBundle"`
			Service  struct {
				Name, Namespace, Path string
			} `json:"service"`
		} `json:"clientConfig"`
		MatchConditions []struct{ Expression string } `json:"matchConditions"`
	} `json:"webhooks"`
}

// wantWebhook checks an installation's webhook: serve runs with --webhook
// (denying at denyOn) on the certificate mounted from plimsoll-webhook-tls,
// and the configuration is fail-open, bounded in time, free of side effects
// on dry runs, calls the Service's /validate, and leaves kube-system and
// plimsoll's own namespace alone. It returns the configuration.
func wantWebhook(t *testing.T, objs map[string]*inventory.Object, denyOn string) webhookConfiguration {
	t.Helper()
	spec := objs["Deployment plimsoll/plimsoll"].Typed.(*appsv1.Deployment).Spec.Template.Spec
	args := strings.Join(spec.Containers[0].Args, " ")
	if !strings.Contains(args, "--webhook --webhook-listen :8443 --webhook-cert-dir /run/plimsoll/webhook-tls --deny-on "+denyOn) {
		t.Errorf("serve's args %q lack the webhook's", args)
	}
	var mounted bool
	for _, m := range spec.Containers[0].VolumeMounts {
		for _, v := range spec.Volumes {
			if v.Name == m.Name && m.MountPath == "/run/plimsoll/webhook-tls" && v.Secret != nil && v.Secret.SecretName == "plimsoll-webhook-tls" {
				mounted = true
			}
		}
	}
	if !mounted {
		t.Errorf("the Secret plimsoll-webhook-tls is not mounted at /run/plimsoll/webhook-tls: %+v", spec.Volumes)
	}

	var vwc webhookConfiguration
	asJSON(t, objs["ValidatingWebhookConfiguration plimsoll"], &vwc)
	if len(vwc.Webhooks) != 1 {
		t.Fatalf("got %d webhooks, want 1", len(vwc.Webhooks))
	}
	w := vwc.Webhooks[0]
	if w.FailurePolicy != "Ignore" || w.SideEffects != "NoneOnDryRun" || w.TimeoutSeconds < 1 || w.TimeoutSeconds > 5 ||
		!slices.Equal(w.AdmissionReviewVersions, []string{"v1"}) {
		t.Errorf("got failurePolicy %s, sideEffects %s, timeoutSeconds %d, versions %q; want Ignore, NoneOnDryRun, at most 5, [v1]",
			w.FailurePolicy, w.SideEffects, w.TimeoutSeconds, w.AdmissionReviewVersions)
	}
	if s := w.ClientConfig.Service; s.Name != "plimsoll-webhook" || s.Namespace != "plimsoll" || s.Path != "/validate" {
		t.Errorf("got clientConfig.service %+v", s)
	}
	var conditions []string
	for _, m := range w.MatchConditions {
		conditions = append(conditions, m.Expression)
	}
	for _, want := range []string{`request.namespace != "kube-system"`, `request.namespace != "plimsoll"`} {
		if !slices.Contains(conditions, want) {
			t.Errorf("matchConditions %q lack %s", conditions, want)
		}
	}
	return vwc
}
