package e2e

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/internal/check"
)

// everything keeps every result, runtime checks included.
func everything(*check.Check, string) bool { return true }

// TestSnapshotAuditsLikeLive takes a snapshot, audits it offline, and
// requires the same results, scores and coverage as the live audit.
func TestSnapshotAuditsLikeLive(t *testing.T) {
	cp := testCluster(t)
	admin := newClient(t, cp.RESTConfig("admin"))
	admin.apply(t, readObjects(t, shopExamples...))
	admin.waitRolledOut(t, "shop", "default")

	path := filepath.Join(t.TempDir(), "prod.json.gz")
	if p := run(t, "snapshot", "--kubeconfig", cp.Kubeconfig("admin"), "-o", path); p.code != 0 {
		t.Fatalf("snapshot: exit %d\n%s", p.code, p.errOut)
	}
	offline := auditJSON(t, 0, "audit", "--snapshot", path)
	live := auditJSON(t, 0, "audit", "--kubeconfig", cp.Kubeconfig("admin"))

	if len(live.Results) == 0 {
		t.Fatal("live audit has no results")
	}
	if d := cmp.Diff(findings(live, everything), findings(offline, everything)); d != "" {
		t.Errorf("snapshot results differ from live (-live +snapshot):\n%s", d)
	}
	if d := cmp.Diff(live.Score, offline.Score); d != "" {
		t.Errorf("snapshot score differs from live (-live +snapshot):\n%s", d)
	}
	if d := cmp.Diff(live.Cluster, offline.Cluster); d != "" {
		t.Errorf("snapshot cluster differs from live (-live +snapshot):\n%s", d)
	}

	// The snapshot holds no Secret and no ConfigMap value: the examples'
	// ConfigMap, and every service account token the cluster made.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("snapshot is not gzipped: %v", err)
	}
	raw, _ := io.ReadAll(gz)
	for _, leak := range []string{`"kind":"Secret"`, `"data":`, `"managedFields"`, "last-applied-configuration"} {
		if strings.Contains(string(raw), leak) {
			t.Errorf("snapshot contains %s", leak)
		}
	}
}
