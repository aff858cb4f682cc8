package overlay

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/internal/fix"
	"github.com/plimsoll/plimsoll/internal/manifest"
	"github.com/plimsoll/plimsoll/internal/pipeline"
)

// readRefs reads paths as plimsoll fix reads its inputs, and names each
// object and its file.
func readRefs(t *testing.T, paths ...string) []fix.Ref {
	t.Helper()
	in, err := pipeline.Read(context.Background(), pipeline.Source{Paths: paths, MaxFileSize: manifest.DefaultMaxFileSize})
	if err != nil {
		t.Fatal(err)
	}
	var refs []fix.Ref
	for _, o := range in.Objects {
		refs = append(refs, fix.RefOf(o))
	}
	return refs
}

// Given what plimsoll read, Write reads again only the files of the
// objects it patches, and writes the overlay it writes without.
func TestWriteReadsPatchedFilesAlone(t *testing.T) {
	root := t.TempDir()
	base := copyExample(t, "not-ready", filepath.Join(root, "not-ready"))
	read := readRefs(t, base)
	patches := notReadyPatches()
	patched := map[string]bool{}
	for i, p := range patches {
		for _, r := range read {
			if r.Kind == p.Target.Kind && r.Namespace == p.Target.Namespace && r.Name == p.Target.Name {
				patches[i].Target.File = r.File
				patched[r.File] = true
			}
		}
		if patches[i].Target.File == "" {
			t.Fatalf("no file read holds %s %s", p.Target.Kind, p.Target.Name)
		}
	}
	without := Options{Base: base, Dir: filepath.Join(root, "without"), Patches: patches, Objects: notReadyObjects(), InitBase: true}
	if _, err := Write(without); err != nil {
		t.Fatal(err)
	}
	// A file that holds no patched object is not read again: garbage
	// written into it after plimsoll read it goes unnoticed.
	var untouched string
	for _, r := range read {
		if !patched[r.File] {
			untouched = r.File
		}
	}
	if untouched == "" {
		t.Fatal("every file holds a patched object; the test needs one that does not")
	}
	with := Options{Base: base, Dir: filepath.Join(root, "with"), Patches: patches, Objects: notReadyObjects(), Read: read}
	if err := os.WriteFile(untouched, []byte("not: [yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(with); err != nil {
		t.Fatalf("with what plimsoll read: %v", err)
	}
	for _, name := range []string{"kustomization.yaml", "patch-deployment-default-web.yaml", "pdb-default-api.yaml"} {
		a, _ := os.ReadFile(filepath.Join(without.Dir, name))
		b, _ := os.ReadFile(filepath.Join(with.Dir, name))
		if diff := cmp.Diff(string(a), string(b)); diff != "" {
			t.Errorf("%s differs with what plimsoll read (-without +with):\n%s", name, diff)
		}
	}

	// What plimsoll read of a patched file must be what Kustomize reads: an
	// object beside a patched one, named otherwise, is found out when the
	// file is read for the patch.
	target := map[[2]string]bool{}
	for _, p := range patches {
		target[[2]string{p.Target.Kind, p.Target.Name}] = true
	}
	wrong := append([]fix.Ref(nil), read...)
	renamed := false
	for i, r := range wrong {
		if patched[r.File] && !target[[2]string{r.Kind, r.Name}] {
			wrong[i].Name += "-other"
			renamed = true
			break
		}
	}
	if !renamed {
		t.Fatal("no patched file holds an object besides those patched; the test needs one")
	}
	_, err := Write(Options{Base: base, Dir: filepath.Join(root, "wrong"), Patches: patches, Objects: notReadyObjects(), Read: wrong})
	if err == nil || !strings.Contains(err.Error(), "read its objects differently") {
		t.Errorf("with a wrong reading of a patched file: got %v, want an error that says so", err)
	}
}

// Write indexes a base from plimsoll's reading of its files: on every file
// of the shared corpus, plimsoll names the objects Kustomize reads, in its
// order.
func TestPlimsollNamesObjectsAsKustomize(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "..", "shared", "corpus", "*", "*.yaml"))
	if len(files) < 100 {
		t.Fatalf("found %d corpus files beside the repository, want the shared corpus", len(files))
	}
	in, err := pipeline.Read(context.Background(), pipeline.Source{Paths: files, MaxFileSize: manifest.DefaultMaxFileSize})
	if err != nil {
		t.Fatal(err)
	}
	byFile := map[string][]objectID{}
	for _, o := range in.Objects {
		byFile[o.Source.File] = append(byFile[o.Source.File], objectID{o.APIVersion, o.Kind, o.Namespace, o.Name})
	}
	refused := map[string]bool{} // plimsoll fix writes nothing then
	for _, e := range in.Errors {
		refused[e.File] = true
	}
	compared := 0
	for _, f := range files {
		objs, err := readFile(".", f)
		if err != nil || refused[f] {
			continue // Kustomize or plimsoll refuses it
		}
		var want []objectID
		for _, o := range objs {
			want = append(want, o.id)
		}
		if diff := cmp.Diff(want, byFile[f], cmp.AllowUnexported(objectID{})); diff != "" {
			t.Errorf("%s: plimsoll names its objects otherwise (-kustomize +plimsoll):\n%s", f, diff)
		}
		compared += len(objs)
	}
	t.Logf("%d files, %d objects named alike", len(files), compared)
}
