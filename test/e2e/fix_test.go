package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
// enforces the Pod Security level plimsoll chooses for them: the
// generated budgets, policies, LimitRange and ResourceQuota are accepted,
// and every other object is accepted or is one the audit of the fixed
// manifests still says the API server refuses (a removed API version,
// which plimsoll fix does not migrate).
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

	refused := refusedByAudit(t, written)
	for name, objs := range map[string][]*unstructured.Unstructured{"--write": readObjects(t, written), "--overlay": fromOverlay} {
		accepted := 0
		for _, o := range objs {
			id := o.GetKind() + "/" + o.GetName()
			_, err := admin.dryRunCreate(t, o, "default")
			generated := o.GetLabels()["app.kubernetes.io/managed-by"] == "plimsoll-fix"
			switch {
			case err == nil:
				accepted++
			case generated:
				t.Errorf("%s: the API server refuses the generated %s: %v", name, id, err)
			case !refused[id]:
				t.Errorf("%s: the API server refuses %s, and the audit of the fixed manifests does not say it would: %v", name, id, err)
			default:
				t.Logf("%s: %s refused, as the audit says: %v", name, id, err)
			}
		}
		if accepted < len(objs)/2 {
			t.Errorf("%s: only %d of %d objects accepted", name, accepted, len(objs))
		}
		t.Logf("%s: %d of %d objects accepted by a server-side dry run", name, accepted, len(objs))
	}
}

// refusedByAudit are the objects, as Kind/name, that the audit of paths
// says the API server or admission refuses.
func refusedByAudit(t *testing.T, paths ...string) map[string]bool {
	t.Helper()
	r := auditJSON(t, 0, append([]string{"audit"}, paths...)...)
	out := map[string]bool{}
	for _, res := range r.Results {
		if res.Status == "fail" && (res.Check == "api-removed" || res.Check == "api-server-accepts" || strings.HasPrefix(res.Check, "pod-security-admits")) {
			out[res.Object.Kind+"/"+res.Object.Name] = true
		}
	}
	return out
}
