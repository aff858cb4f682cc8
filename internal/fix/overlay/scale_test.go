package overlay

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
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
