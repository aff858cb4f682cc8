package cli

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/internal/cluster"
)

// TestNamespaceScopedAuditLeavesWholeClusterChecks audits a snapshot of
// one namespace: checks of the whole cluster would see only its workloads
// and find no Prometheus, so they are not assessed, with the reason, and
// give no result on the cluster.
func TestNamespaceScopedAuditLeavesWholeClusterChecks(t *testing.T) {
	snap := filepath.Join(t.TempDir(), "shop.json")
	h := cluster.Header{
		Created: time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC), Context: "prod", ServerVersion: "v1.36.3", Namespace: "shop",
		Types: []cluster.Type{{Key: "Deployment", Group: "apps", Version: "v1", Resource: "deployments", Namespaced: true}},
	}
	items := []map[string]any{{
		"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "web", "namespace": "shop"},
		"spec": map[string]any{"selector": map[string]any{"matchLabels": map[string]any{"app": "web"}}, "template": map[string]any{
			"metadata": map[string]any{"labels": map[string]any{"app": "web"}},
			"spec":     map[string]any{"containers": []any{map[string]any{"name": "web", "image": "nginx:1.27"}}},
		}},
	}}
	if err := cluster.WriteSnapshot(snap, h, items); err != nil {
		t.Fatal(err)
	}
	r := decodeReport(t, run(t, "audit", "--snapshot", snap, "-o", "json"))
	for _, res := range r.Results {
		if res.Object.Kind == "Cluster" {
			t.Errorf("got a result on the cluster: %+v", res)
		}
	}
	found := false
	for _, c := range r.Checks {
		if c.ID == "monitoring-prometheus" {
			found = true
			if c.Assessed || !strings.Contains(c.Reason, "limited to namespace shop") {
				t.Errorf("monitoring-prometheus: got assessed %v, reason %q; want not assessed, limited to namespace shop", c.Assessed, c.Reason)
			}
		}
	}
	if !found {
		t.Error("monitoring-prometheus is not in the report")
	}
}

// TestProductionSnapshot audits the snapshot of examples/production (the
// e2e test keeps it in step with the cluster it was taken of): the
// platform is all there, so the infrastructure and cluster-services layers
// score 100, and each check of the cluster as a whole passes with its
// evidence, or says why it cannot judge.
func TestProductionSnapshot(t *testing.T) {
	out := run(t, "audit", "--snapshot", filepath.Join("..", "..", "examples", "production", "snapshot.json.gz"), "-o", "json")
	r := decodeReport(t, out)
	if r.Partial || len(r.InputErrors) > 0 {
		t.Fatalf("got a partial audit: %+v", r.InputErrors)
	}
	for _, l := range r.Score.Layers {
		if (l.Layer == "infrastructure" || l.Layer == "cluster-services") && (l.Score == nil || *l.Score != 100) {
			t.Errorf("layer %s: got %v, want 100", l.Layer, l.Score)
		}
	}
	clusterChecks := 0
	for _, res := range r.Results {
		if res.Object.Kind != "Cluster" {
			continue
		}
		clusterChecks++
		if res.Status == "fail" || res.Message == "" {
			t.Errorf("%s: got %s %q, want a pass with evidence", res.Check, res.Status, res.Message)
		}
	}
	if clusterChecks < 30 {
		t.Errorf("got %d results on the cluster, want every check of the platform", clusterChecks)
	}
}
