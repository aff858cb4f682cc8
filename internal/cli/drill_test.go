package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/internal/drill"
	"github.com/plimsoll/plimsoll/internal/golden"
)

var productionSnapshot = filepath.Join("..", "..", "examples", "production", "snapshot.json.gz")

func decodeDrill(t *testing.T, o outcome) *drill.Report {
	t.Helper()
	var r drill.Report
	if err := json.Unmarshal([]byte(o.out), &r); err != nil {
		t.Fatalf("stdout is not a DrillReport: %v\n%s\nstderr:\n%s", err, o.out, o.errOut)
	}
	return &r
}

// The worked example of the README: an upgrade of the production-like
// cluster serializes, blocks on the ledger's budget, and leaves outages.
func TestDrillUpgradeOfTheProductionSnapshot(t *testing.T) {
	o := run(t, "drill", "upgrade", "--snapshot", productionSnapshot, "--max-age", "87600h", "-o", "json")
	wantCode(t, o, 0)
	r := decodeDrill(t, o)
	if r.Kind != "DrillReport" || r.APIVersion != drill.APIVersion || len(r.Nodes) != 6 {
		t.Fatalf("got %s %s with %d nodes", r.APIVersion, r.Kind, len(r.Nodes))
	}
	verdicts := map[string]string{}
	for _, n := range r.Nodes {
		verdicts[n.Name] = n.Verdict
	}
	if verdicts["worker-a"] != drill.Serializes || verdicts["worker-c"] != drill.Blocks || verdicts["cp-1"] != drill.Drains {
		t.Errorf("node verdicts %v", verdicts)
	}
	for _, w := range r.Workloads {
		if w.Name == "ledger" && w.Verdict != drill.Blocks {
			t.Errorf("ledger: %s (%s)", w.Verdict, w.Reason)
		}
	}
	// The same snapshot, stale by default: nothing in it passes.
	r = decodeDrill(t, run(t, "drill", "upgrade", "--snapshot", productionSnapshot, "-o", "json"))
	for _, w := range r.Workloads {
		if w.Verdict == drill.Unaffected {
			t.Errorf("%s is unaffected in a stale snapshot", w.ID())
		}
	}
}

func TestDrillFormats(t *testing.T) {
	for _, format := range []string{"text", "markdown", "html"} {
		o := run(t, "drill", "zone", "zone-a", "--snapshot", productionSnapshot, "--max-age", "87600h", "-o", format)
		wantCode(t, o, 0)
		golden.Check(t, filepath.Join("testdata", "drill-zone."+format+".golden"), []byte(o.out), *update)
	}
}

func TestDrillGates(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"zone", "zone-a", "--fail-on", "outage"}, ExitGate, "reach outage (--fail-on)"},
		{[]string{"drain", "worker-c", "--fail-on", "blocked"}, ExitGate, "reach blocked"},
		{[]string{"zone", "zone-a", "--nodes-deleted", "--fail-on", "outage"}, ExitGate, "reach outage"},
		{[]string{"zone", "zone-x"}, ExitPartial, `no node is in zone "zone-x" (the nodes' zones: zone-a, zone-b, zone-c)`},
		{[]string{"drain", "worker-z"}, ExitPartial, `node "worker-z" not found`},
		{[]string{"nodes"}, ExitPartial, "give a label selector (-l)"},
		{[]string{"nodes", "-l", "!!"}, ExitPartial, "selector"},
		{[]string{"upgrade", "--max-unavailable", "0"}, ExitPartial, "--max-unavailable must be at least 1"},
		{[]string{"zone", "zone-a", "-n", "shop"}, ExitPartial, "a drill reads every namespace"},
		{[]string{"zone", "zone-a", "--fail-on", "bad"}, ExitPartial, "want outage, blocked or degraded"},
		{[]string{"zone", "zone-a", "-o", "yaml"}, ExitPartial, "want one of text, json, markdown, html"},
	} {
		o := run(t, append(append([]string{"drill"}, tc.args...), "--snapshot", productionSnapshot, "--max-age", "87600h")...)
		if o.code != tc.code || !strings.Contains(o.errOut, tc.err) {
			t.Errorf("drill %v: exit %d, stderr %q; want exit %d and %q", tc.args, o.code, o.errOut, tc.code, tc.err)
		}
	}
}

// Without a cluster or a snapshot there is no placement to drill.
func TestDrillNeedsACluster(t *testing.T) {
	o := invocation{env: map[string]string{"KUBECONFIG": filepath.Join(t.TempDir(), "none")}}.run(t, "drill", "zone", "a")
	if o.code != ExitPartial || !strings.Contains(o.errOut, "no kubeconfig") {
		t.Errorf("exit %d, stderr %q", o.code, o.errOut)
	}
}
