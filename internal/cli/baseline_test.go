package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/internal/baseline"
)

const baselineWeb = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.0
`

const baselinePDB = `apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: shop}
spec:
  maxUnavailable: 1
  selector: {matchLabels: {app: web}}
`

// The api Deployment before and after a change that only reformats it
// and reorders its containers.
const baselineAPI = `apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
        - name: api
          image: registry.example.com/api:latest
        - name: proxy
          image: registry.example.com/proxy:2.0
`

const baselineAPIReformatted = `# reformatted, containers reordered
apiVersion: apps/v1
kind: Deployment
metadata:
  namespace: shop
  name: api
spec:
  template:
    spec:
      containers:
      - {name: proxy, image: "registry.example.com/proxy:2.0"}
      - {name: api, image: "registry.example.com/api:latest"}
    metadata:
      labels: {app: api}
  selector:
    matchLabels: {app: api}
  replicas: 2
`

const baselineWorker = `apiVersion: apps/v1
kind: Deployment
metadata: {name: worker, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: worker}}
  template:
    metadata: {labels: {app: worker}}
    spec:
      containers:
        - name: worker
          image: registry.example.com/worker:latest
`

// A change that adds a defect (the worker), moves a file (web), reformats
// another (api) and deletes a budget: only the worker's findings and the
// findings web gets for losing its budget are new; moving and
// reformatting make nothing new, and the budget's own findings are gone.
func TestBaselineNewFindingsOnly(t *testing.T) {
	dir := t.TempDir()
	base, head := filepath.Join(dir, "base"), filepath.Join(dir, "head")
	write(t, base, "web.yaml", baselineWeb)
	write(t, base, "pdb.yaml", baselinePDB)
	write(t, base, "api.yaml", baselineAPI)
	write(t, head, "apps/web.yaml", baselineWeb)
	write(t, head, "api.yaml", baselineAPIReformatted)
	write(t, head, "worker.yaml", baselineWorker)

	before := run(t, "audit", base, "-o", "json")
	wantCode(t, before, ExitOK)
	baseJSON := write(t, dir, "base.json", before.out)

	o := run(t, "audit", head, "-o", "json", "--baseline", baseJSON, "--fail-on-new", "high")
	wantCode(t, o, ExitGate)
	if !strings.Contains(o.errOut, "new finding(s) of severity high or above since the baseline (--fail-on-new)") {
		t.Errorf("stderr %q does not say why the gate failed", o.errOut)
	}
	r := decodeReport(t, o)
	if r.Baseline == nil || !r.Baseline.Comparable {
		t.Fatalf("got baseline %+v, want a comparable one", r.Baseline)
	}
	var news []string
	for _, res := range r.Results {
		if res.Status != "fail" {
			continue
		}
		if res.Fingerprint == "" || res.BaselineState == "" {
			t.Errorf("%s on %s: fingerprint %q, state %q", res.Check, res.Object.ID(), res.Fingerprint, res.BaselineState)
		}
		if res.BaselineState == baseline.New {
			news = append(news, res.Check+" on "+res.Object.ID())
			if o := res.Object.Name; o != "worker" && !(o == "web" && strings.HasPrefix(res.Check, "pdb-")) {
				t.Errorf("new: %s on %s (%s), want only the worker's and web's lost budget", res.Check, res.Object.ID(), res.Message)
			}
		}
	}
	if !slices.Contains(news, "pdb-coverage on Deployment shop/web") || !slices.Contains(news, "image-tag-latest on Deployment shop/worker") {
		t.Errorf("new findings %v lack web's pdb-coverage or the worker's image-tag-latest", news)
	}
	t.Logf("new: %v; %+v", news, *r.Baseline)
	if r.Baseline.Unchanged == 0 {
		t.Errorf("nothing unchanged: %+v", r.Baseline)
	}
	for _, f := range r.Baseline.Absent {
		if !strings.HasPrefix(f.Object, "PodDisruptionBudget shop/web") {
			t.Errorf("absent: %+v, want only the deleted budget's findings", f)
		}
	}

	// The same inputs: nothing new, and the gate passes.
	same := run(t, "audit", base, "--baseline", baseJSON, "--fail-on-new", "info")
	wantCode(t, same, ExitOK)
	if !strings.Contains(same.out, "since the baseline: 0 new") || !strings.Contains(same.out, "GATES passed (--fail-on-new info)") {
		t.Errorf("a run against itself:\n%s", same.out)
	}

	// Another check set makes the runs incomparable: the gate fails unless
	// that is allowed.
	cfg := write(t, dir, "off.yaml", "checks:\n  disable: [image-tag-latest]\n")
	inc := run(t, "audit", base, "--config", cfg, "--baseline", baseJSON, "--fail-on-new", "critical")
	wantCode(t, inc, ExitGate)
	if !strings.Contains(inc.errOut, "cannot be compared with its baseline: the runs ran different checks (1 only in the baseline, such as image-tag-latest)") {
		t.Errorf("incomparable: %s", inc.errOut)
	}
	wantCode(t, run(t, "audit", base, "--config", cfg, "--baseline", baseJSON, "--fail-on-new", "critical", "--allow-incomparable"), ExitOK)

	// Footguns.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"audit", base, "--fail-on-new", "high"}, "--fail-on-new needs --baseline"},
		{[]string{"audit", base, "--baseline", filepath.Join(dir, "missing.json")}, "baseline: open"},
		{[]string{"audit", base, "--baseline", cfg}, "not a plimsoll JSON report"},
	} {
		o := run(t, tc.args...)
		wantCode(t, o, ExitPartial)
		if !strings.Contains(o.errOut, tc.want) {
			t.Errorf("%v: %s, want %q", tc.args, o.errOut, tc.want)
		}
	}
	if _, err := os.Stat(baseJSON); err != nil {
		t.Fatal(err)
	}
}
