package manifest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Sources name the files and the keys the flags set, never a value.
func TestHelmSources(t *testing.T) {
	opts := HelmOptions{
		ValueFiles:   []string{"prod.yaml", "secrets.yaml"},
		Values:       []string{"db.password=hunter2,replicas=3", "hosts={a,b}"},
		StringValues: []string{"image.tag=1.2"},
	}
	want := []string{"-f prod.yaml", "-f secrets.yaml", "--set db.password", "--set replicas", "--set hosts", "--set-string image.tag"}
	if diff := cmp.Diff(want, opts.Sources()); diff != "" {
		t.Errorf("sources (-want +got):\n%s", diff)
	}
}

// MergedValues merge as Helm does: files in order, then --set, then
// --set-string; the chart's own values are not among them.
func TestHelmMergedValues(t *testing.T) {
	got, err := HelmOptions{
		ValueFiles:   []string{"testdata/helm/prod-values.yaml"},
		Values:       []string{"service.port=9090"},
		StringValues: []string{"replicas=4"},
	}.MergedValues()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"replicas": "4", "service": map[string]any{"enabled": true, "port": int64(9090)}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
}

// RenderHelm returns what LoadHelm reads: the CRDs, marked, then the
// templates that render anything, by name; NOTES.txt is counted, not read.
func TestRenderHelm(t *testing.T) {
	r, err := RenderHelm("testdata/helm/web", HelmOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range r.Files {
		if f.CRD {
			got = append(got, "crd "+f.Name)
			continue
		}
		got = append(got, f.Name)
	}
	if diff := cmp.Diff([]string{"crd web/crds/widget.yaml", "web/templates/deployment.yaml"}, got); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if r.Templates != 3 || r.KubeVersion != "v1.20.0" {
		t.Errorf("got %d templates, kube version %s; want 3 (the Service renders empty) and Helm's v1.20.0 under go test", r.Templates, r.KubeVersion)
	}
}
