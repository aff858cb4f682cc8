package overlay

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	yaml "go.yaml.in/yaml/v3"
)

// readResources reads every file of the shared corpus of real manifests
// (anchors, Lists, CRDs and all) as Kustomize's resource factory does.
func TestReadResourcesAsKustomize(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "..", "shared", "corpus", "*", "*.yaml"))
	if len(files) < 100 {
		t.Fatalf("found %d corpus files beside the repository, want the shared corpus", len(files))
	}
	files = append(files, writeTemp(t, "anchors.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: &l {app: x}}\ndata: {k: v}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, labels: *l}\n"),
		writeTemp(t, "list.yaml", "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}\n"))
	read := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, wantErr := resourceFactory.SliceFromBytes(data)
		got, gotErr := readResources(data)
		if (wantErr == nil) != (gotErr == nil) {
			t.Errorf("%s: error %v, Kustomize's %v", f, gotErr, wantErr)
			continue
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d objects, Kustomize reads %d", f, len(got), len(want))
			continue
		}
		for i := range got {
			g, _ := got[i].Map()
			w, _ := want[i].Map()
			if diff := cmp.Diff(w, g); diff != "" {
				t.Errorf("%s: object %d differs from Kustomize's (-kustomize +got):\n%s", f, i, diff)
			}
		}
		read += len(got)
	}
	t.Logf("%d files, %d objects read alike", len(files), read)
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// A Secret the overlay would not build as intended is named, and its
// values are not shown.
func TestIntendedHidesSecretValues(t *testing.T) {
	res, err := resourceFactory.FromBytes([]byte("apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: hunter2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	id := objectID{"v1", "Secret", "", "db"}
	err = intended(res, map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "db"}, "stringData": map[string]any{"password": "other"}}, id)
	if err == nil || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "other") {
		t.Errorf("got %v, want an error without the values", err)
	}
}

// toNode writes the scalars it writes itself as yaml.v3 writes them.
func TestToNodeScalarsAsYAML(t *testing.T) {
	for _, v := range []any{"web", "a.b/c_d-1", "yes", "Yes", "ON", "off", "y", "N", "true", "False", "null", "Null", "~", "",
		"1:20", "12", "1e3", "0x1F", ".inf", "inf", "NaN", "-x", "x y", "a: b", "line\nbreak", "é", true, false, 0, -3, int64(1 << 40)} {
		want := &yaml.Node{}
		if err := want.Encode(v); err != nil {
			t.Fatal(err)
		}
		got, err := toNode(v)
		if err != nil {
			t.Fatal(err)
		}
		g, _ := yaml.Marshal(got)
		w, _ := yaml.Marshal(want)
		if string(g) != string(w) {
			t.Errorf("%#v: written %q, yaml.v3 writes %q", v, g, w)
		}
	}
}
