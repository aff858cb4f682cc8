package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	psaapi "k8s.io/pod-security-admission/api"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/plimsoll/plimsoll/internal/fix"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/manifest"
	"github.com/plimsoll/plimsoll/internal/platform"
	"github.com/plimsoll/plimsoll/test/controlplane"
)

// TestFixedManifestsAreAccepted writes the fixes of examples/not-ready in
// place and as an overlay, and creates every object of both with a
// server-side dry run in the namespace their workloads run in, which
// enforces the Pod Security level plimsoll chooses for them: every object
// is accepted, the generated budgets, policies, LimitRange and
// ResourceQuota and the objects moved off removed API versions among them.
func TestFixedManifestsAreAccepted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cp, err := controlplane.Start(ctx, controlplane.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cp.Stop)
	admin := newClient(t, cp.RESTConfig("admin"))

	dir := t.TempDir()
	written := filepath.Join(dir, "shop")
	if err := os.CopyFS(written, os.DirFS(filepath.Join(repoRoot, "examples", "not-ready"))); err != nil {
		t.Fatal(err)
	}
	overlayBase := filepath.Join(dir, "base")
	if err := os.CopyFS(overlayBase, os.DirFS(filepath.Join(repoRoot, "examples", "not-ready"))); err != nil {
		t.Fatal(err)
	}
	if p := run(t, "fix", written, "--write"); p.code != 0 {
		t.Fatalf("fix --write: exit %d: %s", p.code, p.errOut)
	}
	overlay := filepath.Join(dir, "fixes")
	if p := run(t, "fix", overlayBase, "--overlay", overlay, "--init-base"); p.code != 0 {
		t.Fatalf("fix --overlay: exit %d: %s", p.code, p.errOut)
	}
	built, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), overlay)
	if err != nil {
		t.Fatalf("the overlay does not build: %v", err)
	}
	var fromOverlay []*unstructured.Unstructured
	for _, r := range built.Resources() {
		m, err := r.Map()
		if err != nil {
			t.Fatal(err)
		}
		fromOverlay = append(fromOverlay, &unstructured.Unstructured{Object: m})
	}

	// The namespace enforces the level plimsoll would choose for the fixed
	// workloads.
	loaded := manifest.Load(ctx, []string{written}, manifest.Options{})
	level := fix.StrictestLevel(platform.Inventory(inventory.FromManifests, loaded.Objects), "default")
	patch := fmt.Sprintf(`{"metadata":{"labels":{%q:%q,%q:"latest"}}}`, psaapi.EnforceLevelLabel, level, psaapi.EnforceVersionLabel)
	if _, err := admin.kube.CoreV1().Namespaces().Patch(ctx, "default", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Logf("namespace default enforces Pod Security level %s", level)

	for name, objs := range map[string][]*unstructured.Unstructured{"--write": readObjects(t, written), "--overlay": fromOverlay} {
		for _, o := range objs {
			if _, err := admin.dryRunCreate(t, o, "default"); err != nil {
				t.Errorf("%s: the API server refuses %s %s (%s): %v", name, o.GetKind(), o.GetName(), o.GetAPIVersion(), err)
			}
		}
		if len(objs) < 30 {
			t.Errorf("%s: %d objects, want the 30 and more of the fixed example", name, len(objs))
		}
		t.Logf("%s: %d objects accepted by a server-side dry run", name, len(objs))
	}
}
