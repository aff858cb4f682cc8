package selfaudit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	helmvalues "helm.sh/helm/v4/pkg/cli/values"
	"helm.sh/helm/v4/pkg/engine"
	"helm.sh/helm/v4/pkg/getter"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// serviceMonitor is the part of the Prometheus Operator's ServiceMonitor
// that plimsoll's manifests use. Decoding strictly into it rejects a
// misspelt field, as the API server would with its CRD's schema.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path"`
			Interval      string `json:"interval"`
			ScrapeTimeout string `json:"scrapeTimeout,omitempty"`
			HonorLabels   bool   `json:"honorLabels,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// prometheusRule is the Prometheus Operator's PrometheusRule, as far as
// plimsoll's alerts use it.
type prometheusRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert       string            `json:"alert,omitempty"`
				Record      string            `json:"record,omitempty"`
				Expr        string            `json:"expr"`
				For         string            `json:"for,omitempty"`
				Labels      map[string]string `json:"labels,omitempty"`
				Annotations map[string]string `json:"annotations,omitempty"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

// issuer and certificate are cert-manager's Issuer and Certificate, as far
// as the chart's webhook certificate uses them.
type issuer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		SelfSigned *struct{} `json:"selfSigned,omitempty"`
	} `json:"spec"`
}

type certificate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		SecretName  string   `json:"secretName"`
		DNSNames    []string `json:"dnsNames"`
		Duration    string   `json:"duration,omitempty"`
		RenewBefore string   `json:"renewBefore,omitempty"`
		PrivateKey  struct {
			Algorithm      string `json:"algorithm,omitempty"`
			Size           int    `json:"size,omitempty"`
			RotationPolicy string `json:"rotationPolicy,omitempty"`
		} `json:"privateKey"`
		IssuerRef struct {
			Name  string `json:"name"`
			Kind  string `json:"kind,omitempty"`
			Group string `json:"group,omitempty"`
		} `json:"issuerRef"`
	} `json:"spec"`
}

// TestManifestsDecodeStrictly decodes every object an installation applies
// into its API type, refusing unknown and duplicated fields. plimsoll
// audits what it understands and ignores the rest, so a misspelt field
// (matchLabelKey for matchLabelKeys) would pass the self-audit, yet be
// refused by kubectl's strict field validation, or silently dropped.
func TestManifestsDecodeStrictly(t *testing.T) {
	strict := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()
	for _, in := range installations() {
		t.Run(in.name, func(t *testing.T) {
			docs := documents(t, in.yaml(t))
			if got, want := len(docs), len(in.objects(t)); got != want {
				t.Fatalf("got %d objects rendered, want the %d plimsoll audit reads", got, want)
			}
			for _, doc := range docs {
				var tm metav1.TypeMeta
				if err := yaml.Unmarshal(doc, &tm); err != nil {
					t.Errorf("not an object: %v\n%s", err, doc)
					continue
				}
				_, _, err := strict.Decode(doc, nil, nil)
				if runtime.IsNotRegisteredError(err) {
					switch {
					case tm.Kind == "ServiceMonitor" && tm.APIVersion == "monitoring.coreos.com/v1":
						err = yaml.UnmarshalStrict(doc, &serviceMonitor{})
					case tm.Kind == "PrometheusRule" && tm.APIVersion == "monitoring.coreos.com/v1":
						err = yaml.UnmarshalStrict(doc, &prometheusRule{})
					case tm.Kind == "Issuer" && tm.APIVersion == "cert-manager.io/v1":
						err = yaml.UnmarshalStrict(doc, &issuer{})
					case tm.Kind == "Certificate" && tm.APIVersion == "cert-manager.io/v1":
						err = yaml.UnmarshalStrict(doc, &certificate{})
					default:
						t.Errorf("%s %s: no Go type to check it against; add one to this test", tm.APIVersion, tm.Kind)
						continue
					}
				}
				if err != nil {
					t.Errorf("%s: %v\n%s", tm.Kind, err, doc)
				}
			}
		})
	}
}

// documents splits a YAML stream into its objects.
func documents(t *testing.T, stream []byte) [][]byte {
	t.Helper()
	var docs [][]byte
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(stream)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatal(err)
		}
		var obj map[string]any
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		if len(obj) > 0 { // not a document of comments only
			docs = append(docs, doc)
		}
	}
}

// kustomizeBuild builds dir as `kustomize build DIR` would.
func kustomizeBuild(t *testing.T, dir string) []byte {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// deployFiles returns deploy/'s files as they are, in name order, without
// the Kustomization.
func deployFiles(t *testing.T) []byte {
	t.Helper()
	var out bytes.Buffer
	err := filepath.WalkDir(deployDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".yaml" || d.Name() == "kustomization.yaml" {
			return err
		}
		data, err := os.ReadFile(p)
		out.WriteString("\n---\n")
		out.Write(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// helmTemplate renders the chart as `helm template plimsoll charts/plimsoll
// --set ...` would, its templates in name order.
func helmTemplate(t *testing.T, v values) []byte {
	t.Helper()
	out, err := renderChart(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// renderChart renders the chart as helmTemplate does, and returns what
// helm template would refuse with: values the chart's values.schema.json
// rejects, or a template's fail.
func renderChart(v values) ([]byte, error) {
	ch, err := loader.Load(chartDir)
	if err != nil {
		return nil, err
	}
	vals, err := (&helmvalues.Options{ValueFiles: v.files, Values: v.set}).MergeValues(getter.Providers{})
	if err != nil {
		return nil, err
	}
	rv, err := chartutil.ToRenderValues(ch, vals, common.ReleaseOptions{Name: release, Namespace: "default", IsInstall: true}, common.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	files, err := engine.Render(ch, rv)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", chartDir, err)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	var out bytes.Buffer
	for _, name := range names {
		if path.Ext(name) != ".yaml" {
			continue // NOTES.txt, _helpers.tpl
		}
		out.WriteString("\n---\n" + files[name])
	}
	return out.Bytes(), nil
}
