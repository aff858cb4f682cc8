package checks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/cluster"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/pipeline"
)

// TestScoreIgnoresWellConfiguredWorkloads is the headline's property: on
// the production example's cluster without its monitoring stack, adding a
// thousand well-configured Deployments (the shop's web and api, each with
// its ReplicaSet, Ready pods, Service, endpoints, PodDisruptionBudget and
// NetworkPolicies, in 500 namespaces like shop) moves the overall score by
// less than one point, and the verdict stays not-ready, naming the missing
// monitoring.
func TestScoreIgnoresWellConfiguredWorkloads(t *testing.T) {
	snapshot := filepath.Join("..", "..", "examples", "production", "snapshot.json.gz")
	// The shop's objects, as the snapshot holds them, but for its
	// database (a StatefulSet whose pod is not Ready: not well configured),
	// and so for the api's egress rule to it, which would allow traffic to
	// nothing.
	var shop []map[string]any
	if _, err := cluster.ReadSnapshot(snapshot, func(item map[string]any) error {
		meta := item["metadata"].(map[string]any)
		if meta["namespace"] == "shop" && !strings.Contains(fmt.Sprint(meta["name"]), "db") && item["kind"] != "Ingress" && item["kind"] != "Certificate" ||
			item["kind"] == "Namespace" && meta["name"] == "shop" {
			if item["kind"] == "NetworkPolicy" {
				withoutEgressTo(item, "db")
			}
			shop = append(shop, item)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	audited := func(copies int) *audit.Audit {
		in, err := pipeline.Read(context.Background(), pipeline.Source{Snapshot: snapshot})
		if err != nil {
			t.Fatal(err)
		}
		in.Objects = slices.DeleteFunc(in.Objects, func(o *inventory.Object) bool {
			return o.Namespace == "monitoring" || o.Kind == "Namespace" && o.Name == "monitoring" ||
				strings.HasPrefix(o.APIVersion, "monitoring.coreos.com/") || strings.HasSuffix(o.Name, ".monitoring.coreos.com")
		})
		// A thousand more Deployments need room: the nodes grow to hold
		// them, as a cluster that runs them would, so that a drill finds
		// their replacements a place.
		for _, o := range in.Objects {
			if n, ok := o.Typed.(*corev1.Node); ok {
				for r, q := range map[corev1.ResourceName]string{corev1.ResourcePods: "5000", corev1.ResourceCPU: "1000", corev1.ResourceMemory: "4Ti"} {
					n.Status.Allocatable[r] = resource.MustParse(q)
				}
			}
		}
		for i := range copies {
			for _, item := range shop {
				o, err := inventory.New(renamespace(t, item, fmt.Sprintf("shop-%d", i)), inventory.Source{Origin: "copy"})
				if err != nil {
					t.Fatal(err)
				}
				in.Objects = append(in.Objects, o)
			}
		}
		return pipeline.Audit(in, pipeline.Options{Registry: Registry()})
	}
	before, after := audited(0), audited(500)
	deployments := 0
	for _, r := range after.Results {
		if !strings.HasPrefix(r.Object.ScoreNamespace, "shop-") {
			continue
		}
		if r.Status == audit.Fail || r.Status == audit.Error {
			t.Fatalf("a copy is not well configured: %s %s on %s: %s", r.Check.ID, r.Status, r.Object.ID(), r.Message)
		}
		if r.Object.Kind == "Deployment" && r.Check.ID == "pdb-coverage" {
			deployments++
		}
	}
	if deployments != 1000 {
		t.Fatalf("got %d Deployments added, want 1000", deployments)
	}
	b, a := *before.Score.Overall, *after.Score.Overall
	if d := a - b; d <= -1 || d >= 1 {
		t.Errorf("got overall %.1f before and %.1f after adding 1000 well-configured Deployments, want them within one point", b, a)
	}
	for _, s := range []audit.Score{before.Score, after.Score} {
		if v := s.Verdict(false); v != audit.NotReady {
			t.Errorf("got verdict %s, want not-ready", v)
		}
		if !slices.ContainsFunc(s.Blockers, func(b audit.Blocker) bool { return b.Check.ID == "monitoring-prometheus" }) {
			t.Errorf("got blockers %v, want monitoring-prometheus among them", blockerIDs(s.Blockers))
		}
	}
	t.Logf("overall %.1f before, %.1f after; blockers %v", b, a, blockerIDs(after.Score.Blockers))
}

// renamespace copies an object of the shop into another namespace, with
// UIDs of its own: every string "shop" (its namespace, a binding's subject's
// namespace, the Namespace's name) becomes ns.
func renamespace(t *testing.T, item map[string]any, ns string) map[string]any {
	t.Helper()
	b, err := json.Marshal(item)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.ReplaceAll(b, []byte(`"shop"`), []byte(strconv.Quote(ns)))
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	meta := out["metadata"].(map[string]any)
	if uid, ok := meta["uid"].(string); ok {
		meta["uid"] = uid + "-" + ns
	}
	refs, _ := meta["ownerReferences"].([]any)
	for _, r := range refs {
		ref := r.(map[string]any)
		ref["uid"] = fmt.Sprint(ref["uid"]) + "-" + ns
	}
	return out
}

// withoutEgressTo drops from a NetworkPolicy the egress rules to the pods
// labelled app: app.
func withoutEgressTo(policy map[string]any, app string) {
	spec := policy["spec"].(map[string]any)
	rules, _ := spec["egress"].([]any)
	spec["egress"] = slices.DeleteFunc(rules, func(r any) bool {
		return strings.Contains(fmt.Sprint(r.(map[string]any)["to"]), "app:"+app)
	})
}

func blockerIDs(bs []audit.Blocker) []string {
	var ids []string
	for _, b := range bs {
		ids = append(ids, b.Check.ID)
	}
	return ids
}
