package e2e

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks"
	"github.com/plimsoll/plimsoll/internal/pipeline"
	"github.com/plimsoll/plimsoll/internal/report"
)

// finding is a result without its provenance: what parity compares.
type finding struct {
	Check, Object, Status, Message, Path string
}

func (f finding) String() string {
	return fmt.Sprintf("%s %s on %s: %s %s", f.Status, f.Check, f.Object, f.Message, f.Path)
}

// findings are a report's results that keep selects, without their
// provenance, sorted. The object is named "Kind namespace/name".
func findings(r *report.Report, keep func(c *check.Check, object string) bool) []finding {
	reg := checks.Registry()
	var out []finding
	for _, res := range r.Results {
		id := res.Object.Kind + " " + res.Object.Namespace + "/" + res.Object.Name
		if keep(reg.Get(res.Check), id) {
			out = append(out, finding{res.Check, id, res.Status, sameWords(res.Message), res.Path})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// missingOnCluster is how a reference check says on a cluster that the
// object it names is missing: there it is a fact, where among manifests
// the same object "is not among the inputs". The one wording that may
// differ by mode.
var missingOnCluster = regexp.MustCompile(`does not exist( in namespace (\S+?))?(:|$)`)

// sameWords words a missing reference as the files do.
func sameWords(msg string) string {
	return missingOnCluster.ReplaceAllStringFunc(msg, func(m string) string {
		sub := missingOnCluster.FindStringSubmatch(m)
		if sub[2] == "" {
			return "is not among the inputs" + sub[3]
		}
		return fmt.Sprintf("is not among the inputs in namespace %q%s", sub[2], sub[3])
	})
}

// TestParityWithManifests applies the shop examples to the cluster and audits it
// live: every finding on those objects must be the one the files give.
// Only the runtime checks (which manifests cannot assess), the checks of
// how manifests are written (which a cluster cannot show) and provenance
// may differ.
func TestParityWithManifests(t *testing.T) {
	cp := testCluster(t)
	admin := newClient(t, cp.RESTConfig("admin"))
	applied := admin.apply(t, readObjects(t, shopExamples...))
	admin.waitRolledOut(t, "shop", "default")

	on := map[string]bool{}
	for _, o := range applied {
		on[o.GetKind()+" "+o.GetNamespace()+"/"+o.GetName()] = true
	}
	files := auditJSON(t, 0, append([]string{"audit"}, shopExamples...)...)
	live := auditJSON(t, 0, "audit", "--kubeconfig", cp.Kubeconfig("admin"))
	if live.Mode != "cluster" || live.Cluster == nil || !strings.HasPrefix(live.Cluster.Version, "v1.") {
		t.Errorf("got mode %q, cluster %+v; want a cluster audit that names the server version", live.Mode, live.Cluster)
	}
	// Checks that manifests and a cluster can both assess, on the objects
	// applied.
	// Checks that need a kind plimsoll never reads from a cluster (Secrets,
	// ConfigMaps) are assessed from files alone.
	both := func(c *check.Check, object string) bool {
		return c.Requires == check.Manifests && !needs(c.ID, slices.Collect(maps.Keys(pipeline.NeverRead))...) && on[object]
	}
	// A result the files cannot assess (a reference to an object that is
	// not among them, which the cluster may show) is not compared.
	unassessed := map[string]bool{}
	for _, res := range files.Results {
		if res.Status == "skip" && strings.HasPrefix(res.Message, "not assessed: ") {
			unassessed[res.Check+" "+res.Object.Kind+" "+res.Object.Namespace+"/"+res.Object.Name] = true
		}
	}
	both = func(both func(*check.Check, string) bool) func(*check.Check, string) bool {
		return func(c *check.Check, object string) bool { return both(c, object) && !unassessed[c.ID+" "+object] }
	}(both)
	want, got := findings(files, both), findings(live, both)
	if len(want) < 100 {
		t.Fatalf("got %d findings from the files, want the examples' hundreds", len(want))
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("live findings differ from the files' (-files +live):\n%s", d)
	}
}
