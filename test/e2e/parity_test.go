package e2e

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks"
	"github.com/plimsoll/plimsoll/internal/report"
)

// finding is a result without its provenance: what parity compares.
type finding struct {
	Check, Object, Status, Message, Path string
}

func (f finding) String() string {
	return fmt.Sprintf("%s %s on %s: %s %s", f.Status, f.Check, f.Object, f.Message, f.Path)
}

// findings are a report's results on the given objects (all when nil),
// without the checks that only a cluster can assess or only manifests can,
// sorted.
func findings(r *report.Report, on map[string]bool) []finding {
	reg := checks.Registry()
	var out []finding
	for _, res := range r.Results {
		c := reg.Get(res.Check)
		if c == nil || c.Requires != check.Manifests {
			continue
		}
		id := res.Object.Kind + " " + res.Object.Namespace + "/" + res.Object.Name
		if on != nil && !on[id] {
			continue
		}
		out = append(out, finding{res.Check, id, res.Status, res.Message, res.Path})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// TestParityWithManifests applies examples/ to the cluster and audits it
// live: every finding on those objects must be the one the files give.
// Only the runtime checks (which manifests cannot assess), the checks of
// how manifests are written (which a cluster cannot show) and provenance
// may differ.
func TestParityWithManifests(t *testing.T) {
	cp := testCluster(t)
	admin := newClient(t, cp.RESTConfig("admin"))
	examples := filepath.Join(repoRoot, "examples")
	applied := admin.apply(t, readObjects(t, examples))
	admin.waitRolledOut(t, "shop", "default")

	on := map[string]bool{}
	for _, o := range applied {
		on[o.GetKind()+" "+o.GetNamespace()+"/"+o.GetName()] = true
	}
	files := auditJSON(t, 0, "audit", examples)
	live := auditJSON(t, 0, "audit", "--kubeconfig", cp.Kubeconfig("admin"))
	if live.Mode != "cluster" || live.Cluster == nil || !strings.HasPrefix(live.Cluster.Version, "v1.") {
		t.Errorf("got mode %q, cluster %+v; want a cluster audit that names the server version", live.Mode, live.Cluster)
	}
	want, got := findings(files, on), findings(live, on)
	if len(want) < 100 {
		t.Fatalf("got %d findings from the files, want the examples' hundreds", len(want))
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("live findings differ from the files' (-files +live):\n%s", d)
	}
}
