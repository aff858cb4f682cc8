package overlay

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	yaml "go.yaml.in/yaml/v3"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	v2util "helm.sh/helm/v4/pkg/chart/v2/util"
	"sigs.k8s.io/kustomize/api/types"

	"github.com/plimsoll/plimsoll/internal/fix"
	"github.com/plimsoll/plimsoll/internal/manifest"
)

// copyChart copies testdata/chart/web to root/charts/web.
func copyChart(t *testing.T, root string) string {
	t.Helper()
	dir := filepath.Join(root, "charts", "web")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "chart", "web"))); err != nil {
		t.Fatal(err)
	}
	return dir
}

// chartOptions fix what testdata/chart/web renders as release shop in
// namespace prod: they patch the Deployment and the ConfigMap, which has
// no namespace, and add a budget.
func chartOptions(chart, dir string) ChartOptions {
	return ChartOptions{
		Chart: chart,
		Dir:   dir,
		Helm: manifest.HelmOptions{
			Values:       []string{"replicas=2"},
			StringValues: []string{"image.tag=1.0"},
			ReleaseName:  "shop",
			Namespace:    "prod",
		},
		Patches: []Patch{
			{Target: ref("apps/v1", "Deployment", "prod", "shop-web"), Sets: []fix.Set{
				{Path: path("spec.template.spec.automountServiceAccountToken"), Value: false},
				{Path: path("spec.template.spec.containers", name("web"), "securityContext.allowPrivilegeEscalation"), Value: false},
			}},
			{Target: ref("v1", "ConfigMap", "", "shop-settings"), Sets: []fix.Set{
				{Path: path("data.tier"), Value: "web"},
			}},
		},
		Objects: []Object{{File: "pdb-prod-shop-web.yaml", Comment: "a budget", Content: map[string]any{
			"apiVersion": "policy/v1",
			"kind":       "PodDisruptionBudget",
			"metadata":   map[string]any{"name": "shop-web", "namespace": "prod"},
			"spec":       map[string]any{"maxUnavailable": 1, "selector": map[string]any{"matchLabels": map[string]any{"app": "web"}}},
		}}},
	}
}

// WriteChart writes the chart's generator, the values given and the
// patches and objects, and makes the directories above the overlay.
func TestWriteChart(t *testing.T) {
	root := t.TempDir()
	chart := copyChart(t, root)
	dir := filepath.Join(root, "overlays", "web")
	written, err := WriteChart(chartOptions(chart, dir))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range []string{"kustomization.yaml", "patch-configmap-shop-settings.yaml", "patch-deployment-prod-shop-web.yaml", "pdb-prod-shop-web.yaml", "values.yaml"} {
		want = append(want, filepath.Join(dir, f))
	}
	if diff := cmp.Diff(want, written); diff != "" {
		t.Errorf("written (-want +got):\n%s", diff)
	}
	if entries, _ := os.ReadDir(filepath.Dir(dir)); len(entries) != 1 {
		t.Errorf("%s holds %d entries, want the overlay alone", filepath.Dir(dir), len(entries))
	}

	var k kustomization
	data, err := os.ReadFile(filepath.Join(dir, kustomizationFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		t.Fatal(err)
	}
	wantChart := types.HelmChart{Name: "web", ReleaseName: "shop", Namespace: "prod", ValuesFile: "values.yaml", IncludeCRDs: true, KubeVersion: "v1.20.0"}
	if k.HelmGlobals == nil || k.HelmGlobals.ChartHome != "../../charts" || len(k.HelmCharts) != 1 || !cmp.Equal(k.HelmCharts[0], wantChart) {
		t.Errorf("got helmGlobals %+v, helmCharts %+v; want chartHome ../../charts and %+v", k.HelmGlobals, k.HelmCharts, wantChart)
	}
	if want := []string{"pdb-prod-shop-web.yaml"}; !slices.Equal(k.Resources, want) {
		t.Errorf("got resources %v, want %v", k.Resources, want)
	}

	values, err := os.ReadFile(filepath.Join(dir, valuesFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.ReplaceAll(string(values), "\n# ", " "), "from: --set replicas, --set-string image.tag.") {
		t.Errorf("values.yaml does not say where its values came from:\n%s", values)
	}
	var got map[string]any
	if err := yaml.Unmarshal(values, &got); err != nil {
		t.Fatal(err)
	}
	if want := map[string]any{"replicas": 2, "image": map[string]any{"tag": "1.0"}}; !cmp.Equal(got, want) {
		t.Errorf("values.yaml holds %v, want %v", got, want)
	}
}

// With no values given, values.yaml is empty: Helm applies the chart's own.
func TestWriteChartNoValues(t *testing.T) {
	root := t.TempDir()
	o := chartOptions(copyChart(t, root), filepath.Join(root, "fixes"))
	o.Helm = manifest.HelmOptions{ReleaseName: "shop", Namespace: "prod"}
	o.Patches = o.Patches[1:]
	if _, err := WriteChart(o); err != nil {
		t.Fatal(err)
	}
	values, err := os.ReadFile(filepath.Join(root, "fixes", valuesFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(values), "\n{}\n") || !strings.Contains(string(values), "none; the chart's own values apply") {
		t.Errorf("values.yaml:\n%s", values)
	}
}

// What WriteChart refuses, leaving the files as they were.
func TestWriteChartRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		// edit changes the options, given the directory the chart is in.
		edit func(t *testing.T, o *ChartOptions, root string)
		err  string
	}{
		{"a packaged chart", func(t *testing.T, o *ChartOptions, root string) {
			ch, err := loader.Load(o.Chart)
			if err != nil {
				t.Fatal(err)
			}
			if o.Chart, err = v2util.Save(ch, root); err != nil {
				t.Fatal(err)
			}
		}, "is not a directory: Kustomize's Helm generator renders a chart's directory"},
		{"not a chart", func(t *testing.T, o *ChartOptions, root string) {
			o.Chart = filepath.Join(o.Chart, "templates")
		}, "has no Chart.yaml"},
		{"an overlay that exists", func(t *testing.T, o *ChartOptions, root string) {
			if err := os.Mkdir(o.Dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}, "exists already"},
		{"an overlay inside the chart", func(t *testing.T, o *ChartOptions, root string) {
			o.Dir = filepath.Join(o.Chart, "fixes")
		}, "is inside its base"},
		{"nothing to write", func(t *testing.T, o *ChartOptions, root string) {
			o.Patches, o.Objects = nil, nil
		}, "nothing to write"},
		{"a target the chart does not render", func(t *testing.T, o *ChartOptions, root string) {
			o.Patches[0].Target.Namespace = "default"
		}, "is not among the objects the base builds (it has Deployment prod/shop-web"},
		{"a new object the chart renders", func(t *testing.T, o *ChartOptions, root string) {
			o.Objects[0].Content["kind"], o.Objects[0].Content["apiVersion"] = "ConfigMap", "v1"
			o.Objects[0].Content["metadata"] = map[string]any{"name": "shop-settings"}
		}, "is already among the base's objects"},
		{"a new object in values.yaml", func(t *testing.T, o *ChartOptions, root string) {
			o.Objects[0].File = "values.yaml"
		}, "holds the chart's values"},
		{"values the overlay's values.yaml renders otherwise", func(t *testing.T, o *ChartOptions, root string) {
			o.Helm.Values = []string{"replicas=1000000"}
		}, "the chart renders web/templates/deployment.yaml differently from the overlay's values.yaml"},
		{"a release name Helm refuses", func(t *testing.T, o *ChartOptions, root string) {
			o.Helm.ReleaseName = "Shop_1"
		}, `release name "Shop_1": invalid release name`},
		{"a Kubernetes version the chart refuses", func(t *testing.T, o *ChartOptions, root string) {
			meta := filepath.Join(o.Chart, "Chart.yaml")
			data, err := os.ReadFile(meta)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, meta, string(data)+"kubeVersion: \">=1.99.0-0\"\n")
		}, "chart requires kubeVersion: >=1.99.0-0 which is incompatible with Kubernetes v1.20.0"},
		{"values that do not parse", func(t *testing.T, o *ChartOptions, root string) {
			o.Helm.Values = []string{"replicas"}
		}, "values: failed parsing --set data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			o := chartOptions(copyChart(t, root), filepath.Join(root, "fixes"))
			tc.edit(t, &o, root)
			before := snapshot(t, root)
			written, err := WriteChart(o)
			checkRefused(t, root, before, written, err, tc.err)
		})
	}
}

// checkRefused requires a write to have failed with an error that holds
// want, returned no files, and left the files under root as they were
// before it.
func checkRefused(t *testing.T, root string, before map[string]string, written []string, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got error %v, want one with %q", err, want)
	}
	if written != nil {
		t.Errorf("got files %q with the error", written)
	}
	if diff := cmp.Diff(before, snapshot(t, root)); diff != "" {
		t.Errorf("the refused write left changes behind (-before +after):\n%s", diff)
	}
}
