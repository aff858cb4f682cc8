package manifest

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

func TestLoadHelm(t *testing.T) {
	tests := []struct {
		name        string
		chart       string
		opts        HelmOptions
		wantErrors  []string
		wantObjects []string // "Source ID"
		// What the values gave the Deployment and the Service (0: no Service).
		wantReplicas int32
		wantImage    string
		wantPort     int32
	}{
		{
			name:  "chart defaults",
			chart: "testdata/helm/web",
			wantObjects: []string{
				"testdata/helm/web/crds/widget.yaml:1 (helm chart testdata/helm/web) CustomResourceDefinition widgets.example.com",
				"testdata/helm/web/templates/deployment.yaml:1 (helm chart testdata/helm/web) Deployment default/release-name-web",
			},
			wantReplicas: 1,
			wantImage:    "nginx:1.27",
		},
		{
			name:  "values file, --set, --set-string and release",
			chart: "testdata/helm/web",
			opts: HelmOptions{
				ValueFiles:   []string{"testdata/helm/prod-values.yaml"},
				Values:       []string{"service.port=9090"},
				StringValues: []string{"image=nginx:1.28"},
				ReleaseName:  "shop",
				Namespace:    "prod",
			},
			wantObjects: []string{
				"testdata/helm/web/crds/widget.yaml:1 (helm chart testdata/helm/web) CustomResourceDefinition widgets.example.com",
				"testdata/helm/web/templates/deployment.yaml:1 (helm chart testdata/helm/web) Deployment prod/shop-web",
				// The line is the rendered template's, here the same as the
				// template's: {{- if }} keeps its line.
				"testdata/helm/web/templates/service.yaml:2 (helm chart testdata/helm/web) Service prod/shop-web",
			},
			wantReplicas: 3,
			wantImage:    "nginx:1.28",
			wantPort:     9090,
		},
		{
			name:       "template error",
			chart:      "testdata/helm/broken",
			wantErrors: []string{"testdata/helm/broken: render: execution error at (broken/templates/configmap.yaml:4:26): name is required"},
		},
		{
			name:        "rendered YAML with an error beside a good document",
			chart:       "testdata/helm/badyaml",
			wantErrors:  []string{`testdata/helm/badyaml/templates/configmaps.yaml:10: duplicate key "name" (first at line 9)`},
			wantObjects: []string{"testdata/helm/badyaml/templates/configmaps.yaml:1 (helm chart testdata/helm/badyaml) ConfigMap first"},
		},
		{
			name:         "a version the API never served beside one it did",
			chart:        "testdata/helm/unserved",
			wantErrors:   []string{`testdata/helm/unserved/templates/workloads.yaml:2: Deployment release-name-new: no matches for kind "Deployment" in version "apps/v1beta9"; the API serves Deployment as apps/v1`},
			wantObjects:  []string{"testdata/helm/unserved/templates/workloads.yaml:7 (helm chart testdata/helm/unserved) Deployment release-name-old"},
			wantReplicas: 1,
			wantImage:    "nginx:1.27",
		},
		{
			name:       "missing values file",
			chart:      "testdata/helm/web",
			opts:       HelmOptions{ValueFiles: []string{"testdata/helm/missing-values.yaml"}},
			wantErrors: []string{"testdata/helm/web: values: open testdata/helm/missing-values.yaml: no such file or directory"},
		},
		{
			name:       "missing chart",
			chart:      "testdata/helm/missing",
			wantErrors: []string{"testdata/helm/missing: load chart: stat testdata/helm/missing: no such file or directory"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := LoadHelm(tc.chart, tc.opts)
			if diff := cmp.Diff(tc.wantErrors, errorTexts(res)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			var got []string
			var replicas, port int32
			var image string
			for _, o := range res.Objects {
				got = append(got, fmt.Sprintf("%s %s", o.Source, o.ID()))
				switch typed := o.Typed.(type) {
				case *appsv1.Deployment:
					replicas, _ = o.Replicas()
					image = typed.Spec.Template.Spec.Containers[0].Image
				case *corev1.Service:
					port = typed.Spec.Ports[0].Port
				}
			}
			if diff := cmp.Diff(tc.wantObjects, got); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
			if replicas != tc.wantReplicas || image != tc.wantImage || port != tc.wantPort {
				t.Errorf("got replicas %d, image %q, service port %d; want %d, %q, %d",
					replicas, image, port, tc.wantReplicas, tc.wantImage, tc.wantPort)
			}
		})
	}
}

// A template is named by its path under the chart as given, whatever the
// chart's name: Helm names it under the name, which need not be the
// directory's, and a dashboard could not find that file.
func TestTemplatePath(t *testing.T) {
	for _, tc := range []struct{ chart, name, want string }{
		{"testdata/helm/web", "web/templates/deployment.yaml", "testdata/helm/web/templates/deployment.yaml"},
		{"charts/plimsoll", "shop/templates/svc.yaml", "charts/plimsoll/templates/svc.yaml"},
		{"./chart/", "shop/crds/widget.yaml", "chart/crds/widget.yaml"},
		{"/srv/chart", "shop/charts/db/templates/sts.yaml", "/srv/chart/charts/db/templates/sts.yaml"},
		{"dist/shop-1.0.0.tgz", "shop/templates/svc.yaml", "dist/shop-1.0.0.tgz/templates/svc.yaml"},
	} {
		if got := templatePath(tc.chart, tc.name); got != filepath.FromSlash(tc.want) {
			t.Errorf("templatePath(%q, %q): got %q, want %q", tc.chart, tc.name, got, tc.want)
		}
	}
}
