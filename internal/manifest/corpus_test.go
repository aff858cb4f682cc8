package manifest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// corpusRefusals are the corpus's documents the API server refuses, each
// with the start of the error plimsoll gives, by file: three archived
// examples whose volume sources carry fields Kubernetes does not have (one
// of them misspelt). Everything else in the corpus reads cleanly.
var corpusRefusals = map[string]string{
	"k8s-examples/_archived__volumes__rbd__rbd.yaml:26":                 `Pod rbd: the API server would refuse it: unknown field "spec.volumes[0].rbd.imagefeatures"`,
	"k8s-examples/_archived__volumes__scaleio__pod.yaml:17":             `Pod pod-0: the API server would refuse it: unknown field "spec.volumes[0].scaleIO.protectionDoamin"`,
	"k8s-examples/_archived__volumes__storageos__storageos-pod.yaml:35": `Pod test-storageos-redis: the API server would refuse it: unknown field "spec.volumes[0].storageos.pool"`,
}

// TestLoadCorpus reads every file of the real-world corpus in shared/corpus.
// The object counts per kind are pinned, so a document that is silently
// dropped (or split, or read twice) fails the test even when no error is
// reported; the documents the API server refuses are pinned too.
func TestLoadCorpus(t *testing.T) {
	corpus := filepath.Join(repoRoot(t), "..", "shared", "corpus")
	if _, err := os.Stat(corpus); err != nil {
		t.Fatalf("the corpus must sit beside the repository (shared/ next to the clone): %v", err)
	}
	res := Load(context.Background(), []string{corpus}, Options{})
	refused := map[string]string{}
	for _, e := range res.Errors {
		rel, _ := filepath.Rel(corpus, e.File)
		refused[fmt.Sprintf("%s:%d", rel, e.Line)] = e.Err.Error()
	}
	for where, want := range corpusRefusals {
		if !strings.HasPrefix(refused[where], want) {
			t.Errorf("%s: got error %q, want one starting %q", where, refused[where], want)
		}
		delete(refused, where)
	}
	for where, e := range refused {
		t.Errorf("%s: got error %s, want none", where, e)
	}
	if len(res.Skipped) != 0 {
		t.Errorf("got skipped %q, want none", res.Skipped)
	}
	if want := 473; res.Files != want {
		t.Errorf("got %d files read, want %d", res.Files, want)
	}
	if want := 1086; len(res.Objects) != want {
		t.Errorf("got %d objects, want %d", len(res.Objects), want)
	}
	got := map[string]int{}
	for _, o := range res.Objects {
		if o.Kind == "" || o.Name == "" {
			t.Errorf("got an object without kind or name at %s", o.Source)
		}
		got[o.KindKey()]++
	}
	want := map[string]int{
		"APIService.apiregistration.k8s.io":                     2,
		"Alertmanager.monitoring.coreos.com":                    1,
		"Application.argoproj.io":                               6,
		"CSIDriver.storage.k8s.io":                              1,
		"Certificate.certmanager.k8s.io":                        1,
		"ClusterFederatedTrustDomain.spire.spiffe.io":           1,
		"ClusterIssuer.certmanager.k8s.io":                      1,
		"ClusterRole":                                           42,
		"ClusterRoleBinding":                                    40,
		"ConfigMap":                                             45,
		"CustomResourceDefinition.apiextensions.k8s.io":         23,
		"DaemonSet":                                             7,
		"Deployment":                                            136,
		"DestinationRule.networking.istio.io":                   13,
		"Endpoints.":                                            2,
		"EnvoyFilter.networking.istio.io":                       3,
		"Gateway.gateway.networking.k8s.io":                     8,
		"Gateway.networking.istio.io":                           9,
		"HTTPRoute.gateway.networking.k8s.io":                   15,
		"HorizontalPodAutoscaler":                               2,
		"Ingress":                                               2,
		"IngressClass":                                          2,
		"InitializerConfiguration.admissionregistration.k8s.io": 1,
		"Job": 6,
		"MutatingWebhookConfiguration.admissionregistration.k8s.io": 1,
		"Namespace":                            9,
		"NetworkPolicy":                        40,
		"PersistentVolume.":                    6,
		"PersistentVolumeClaim":                23,
		"Pod":                                  54,
		"PodDisruptionBudget":                  23,
		"PodMonitor.monitoring.coreos.com":     1,
		"PodSecurityPolicy.policy":             3,
		"Prometheus.monitoring.coreos.com":     1,
		"PrometheusRule.monitoring.coreos.com": 2,
		"ReplicationController":                35,
		"Role":                                 29,
		"RoleBinding":                          31,
		"Secret":                               35,
		"Service":                              221,
		"ServiceAccount":                       92,
		"ServiceEntry.networking.istio.io":     11,
		"ServiceMonitor.monitoring.coreos.com": 17,
		"StatefulSet":                          20,
		"StorageClass":                         23,
		"TCPRoute.gateway.networking.k8s.io":   2,
		"Telemetry.telemetry.istio.io":         2,
		"ValidatingWebhookConfiguration.admissionregistration.k8s.io": 4,
		"VirtualService.networking.istio.io":                          32,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("objects per kind (-want +got):\n%s", diff)
	}
}

// BenchmarkLoadCorpus measures reading and decoding the corpus; hack/bench
// measures the whole command on a corpus twenty times larger.
func BenchmarkLoadCorpus(b *testing.B) {
	corpus := filepath.Join("..", "..", "..", "shared", "corpus")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if res := Load(context.Background(), []string{corpus}, Options{}); len(res.Errors) != len(corpusRefusals) {
			b.Fatalf("got %d errors, want %d: %v", len(res.Errors), len(corpusRefusals), res.Errors)
		}
	}
}
