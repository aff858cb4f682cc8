package cli

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/internal/baseline"
	"github.com/plimsoll/plimsoll/internal/report"
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

// newFindings are the failures of r new since its baseline, as "check on
// object", sorted.
func newFindings(r *report.Report) []string {
	var out []string
	for _, res := range r.Results {
		if res.Status == "fail" && res.BaselineState == baseline.New {
			out = append(out, res.Check+" on "+res.Object.ID())
		}
	}
	sort.Strings(out)
	return out
}

// gitCmd runs git in dir, as nobody's configuration would have it.
func gitCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=plimsoll test", "-c", "user.email=test@plimsoll.dev", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// filesUnder lists the files under dir, relative to it.
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The test: in a git repository, a change that adds a defect (the
// worker's image goes to latest), moves a file (web), reformats another
// (api) and deletes the budget makes exactly two findings new: the
// defect, and web's lost budget. The base is given either as the JSON
// report of an audit of its checkout, or as the commit itself
// (--baseline-ref HEAD~1), which is read without changing the repository.
func TestBaselineInGitRepository(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where --baseline-ref checks out the commit
	repo := t.TempDir()
	k8s := filepath.Join(repo, "k8s")
	write(t, k8s, "web.yaml", baselineWeb)
	write(t, k8s, "pdb.yaml", baselinePDB)
	write(t, k8s, "api.yaml", baselineAPI)
	write(t, k8s, "worker.yaml", strings.Replace(baselineWorker, "worker:latest", "worker:2.1", 1))
	write(t, repo, "kustomization.yaml", "resources: [k8s/web.yaml, k8s/pdb.yaml, k8s/api.yaml, k8s/worker.yaml]\n")
	gitCmd(t, repo, "init", "-q")
	gitCmd(t, repo, "add", "-A")
	gitCmd(t, repo, "commit", "-q", "-m", "base")

	before := run(t, "audit", k8s, "-o", "json")
	wantCode(t, before, ExitOK)
	baseJSON := write(t, t.TempDir(), "base.json", before.out)
	baseScore := decodeReport(t, before).Score.Overall

	if err := os.MkdirAll(filepath.Join(k8s, "apps"), 0o755); err != nil {
		t.Fatal(err)
	}
	gitCmd(t, repo, "mv", "k8s/web.yaml", "k8s/apps/web.yaml")
	gitCmd(t, repo, "rm", "-q", "k8s/pdb.yaml")
	write(t, k8s, "api.yaml", baselineAPIReformatted)
	write(t, k8s, "worker.yaml", baselineWorker)
	write(t, repo, "kustomization.yaml", "resources: [k8s/apps/web.yaml, k8s/api.yaml, k8s/worker.yaml]\n")
	gitCmd(t, repo, "commit", "-q", "-a", "-m", "head: move web, reformat api, worker on latest, no budget")
	dotGit := filesUnder(t, filepath.Join(repo, ".git"))

	want := []string{"image-tag-latest on Deployment shop/worker", "pdb-coverage on Deployment shop/web"}
	states := map[string]map[string]string{}
	// The same with Kustomize: its directory is mapped onto the commit too.
	for _, flags := range [][]string{{k8s, "--baseline", baseJSON}, {k8s, "--baseline-ref", "HEAD~1"}, {"--kustomize", repo, "--baseline-ref", "HEAD~1"}} {
		name := strings.Join(flags[len(flags)-2:], " ")
		if flags[0] == "--kustomize" {
			name = "--kustomize " + name
		}
		o := run(t, append([]string{"audit", "-o", "json", "--fail-on-new", "info"}, flags...)...)
		wantCode(t, o, ExitGate)
		r := decodeReport(t, o)
		b := r.Baseline
		if b == nil || !b.Comparable {
			t.Fatalf("%s: got baseline %+v, want a comparable one", name, b)
		}
		if diff := cmp.Diff(want, newFindings(r)); diff != "" {
			t.Errorf("%s: new findings (-want +got):\n%s", name, diff)
		}
		if b.Unchanged == 0 || b.Suppressed != b.Unchanged+b.Updated || b.Suppressed != r.Summary.Fail-len(want) || len(b.Absent) != 0 {
			t.Errorf("%s: got %d failures, %+v; want every failure but the new ones suppressed, none fixed", name, r.Summary.Fail, *b)
		}
		if b.Score == nil || *b.Score != *baseScore {
			t.Errorf("%s: baseline score %v, want the base's", name, b.Score)
		}
		states[name] = map[string]string{}
		for _, res := range r.Results {
			if res.Status == "fail" {
				states[name][res.Fingerprint] = res.BaselineState
			}
		}
	}
	for _, name := range []string{"--baseline-ref HEAD~1", "--kustomize --baseline-ref HEAD~1"} {
		if diff := cmp.Diff(states["--baseline "+baseJSON], states[name]); diff != "" {
			t.Errorf("the base's report and %s disagree (-report +commit):\n%s", name, diff)
		}
	}

	// The text names the commit and marks the new findings.
	o := run(t, "audit", k8s, "--baseline-ref", "HEAD~1")
	wantCode(t, o, ExitOK)
	head := strings.TrimSpace(gitCmd(t, repo, "rev-parse", "HEAD~1"))
	for _, w := range []string{"BASELINE  HEAD~1 (commit " + head[:12] + ")", "NEW image-tag-latest  Deployment shop/worker", "NEW pdb-coverage  Deployment shop/web"} {
		if !strings.Contains(o.out, w) {
			t.Errorf("text output lacks %q:\n%s", w, o.out)
		}
	}

	// A directory the change adds was not there: everything in it is new.
	added := run(t, "audit", filepath.Join(k8s, "apps"), "-o", "json", "--baseline-ref", "HEAD~1")
	wantCode(t, added, ExitOK)
	if r := decodeReport(t, added); !r.Baseline.Comparable || r.Baseline.New != r.Summary.Fail || r.Summary.Fail == 0 {
		t.Errorf("a directory new since the commit: %d failures, %+v; want all new", r.Summary.Fail, *r.Baseline)
	}

	// The repository is as it was: no file in .git added or removed (no
	// worktree recorded, no index written), a clean work tree, and no
	// checkout left behind.
	if diff := cmp.Diff(dotGit, filesUnder(t, filepath.Join(repo, ".git"))); diff != "" {
		t.Errorf("files in .git changed (-before +after):\n%s", diff)
	}
	if st := gitCmd(t, repo, "status", "--porcelain"); st != "" {
		t.Errorf("git status: %s, want a clean work tree", st)
	}
	if left := filesUnder(t, tmp); len(left) > 0 {
		t.Errorf("left in the temporary directory: %v", left)
	}

	notRepo := t.TempDir()
	write(t, notRepo, "web.yaml", baselineWeb)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"audit", k8s, "--baseline-ref", "no-such-branch"}, `--baseline-ref: "no-such-branch" names no commit of the repository at ` + repo},
		{[]string{"audit", k8s, "--baseline-ref", "--help"}, `"--help" is not a git commit, branch or tag`},
		{[]string{"audit", notRepo, "--baseline-ref", "main"}, "--baseline-ref: " + notRepo + " is not in a git work tree"},
		{[]string{"audit", k8s, "--baseline-ref", "HEAD~1", "--baseline", baseJSON}, "--baseline and --baseline-ref exclude each other"},
		{[]string{"audit", "-", "--baseline-ref", "HEAD~1"}, "--baseline-ref cannot read standard input"},
		{[]string{"audit", "--snapshot", baseJSON, "--baseline-ref", "HEAD~1"}, "a snapshot has no commit"},
		{[]string{"audit", "--baseline-ref", "HEAD~1"}, "a cluster has no commit"},
	} {
		o := run(t, tc.args...)
		wantCode(t, o, ExitPartial)
		if !strings.Contains(o.errOut, tc.want) {
			t.Errorf("%v: %s, want %q", tc.args, o.errOut, tc.want)
		}
	}
	if left := filesUnder(t, tmp); len(left) > 0 {
		t.Errorf("left in the temporary directory after errors: %v", left)
	}
}

// A reviewed baseline file, through its life: written from an audit,
// given reasons, owners and expiry dates, gating on new findings alone
// until an entry expires, pruned of what was fixed (and nothing else),
// rewritten keeping what people wrote. Every write is whole: no temporary
// file is left, and a refused write leaves the file as it was.
func TestBaselineFile(t *testing.T) {
	dir := t.TempDir()
	k8s := filepath.Join(dir, "k8s")
	write(t, k8s, "web.yaml", baselineWeb)
	write(t, k8s, "pdb.yaml", baselinePDB)
	write(t, k8s, "worker.yaml", baselineWorker)
	file := filepath.Join(dir, baseline.DefaultFile)

	o := run(t, "baseline", "write", k8s, "-o", file)
	wantCode(t, o, ExitOK)
	all := decodeReport(t, run(t, "audit", k8s, "-o", "json"))
	f, err := baseline.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Entries) != all.Summary.Fail || f.Score == nil || f.Mode != "manifests" || len(f.Checks) != len(all.Checks) {
		t.Fatalf("wrote %d entries, score %v, mode %q, %d checks; want the audit's %d failures, its score, manifests, its %d checks",
			len(f.Entries), f.Score, f.Mode, len(f.Checks), all.Summary.Fail, len(all.Checks))
	}
	if want := "plimsoll: wrote " + file + ": " + strconv.Itoa(len(f.Entries)) + " entries, 0 with a reason, owner or expiry date\n"; o.errOut != want {
		t.Errorf("stderr %q, want %q", o.errOut, want)
	}

	// Every failure is accepted: the gate passes, and every failure is
	// counted as suppressed.
	o = run(t, "audit", k8s, "--baseline", file, "--fail-on-new", "info", "-o", "json")
	wantCode(t, o, ExitOK)
	if b := decodeReport(t, o).Baseline; b.New != 0 || b.Suppressed != all.Summary.Fail || len(b.Expired) != 0 {
		t.Errorf("against its own baseline: %+v, want nothing new and all %d suppressed", *b, all.Summary.Fail)
	}

	// Reviewers accept the worker's failures until far ahead, but its
	// image on latest only until a day long past.
	var latest baseline.Entry
	for i := range f.Entries {
		e := &f.Entries[i]
		if e.Object.Name == "worker" {
			e.Reason, e.Owner, e.Expires = "the worker is being replaced", "alice", "2999-12-31"
		}
		if e.Check == "image-tag-latest" {
			e.Expires = "2020-01-01"
			latest = *e
		}
	}
	if latest.Fingerprint == "" {
		t.Fatal("fixture: no image-tag-latest entry")
	}
	if err := baseline.WriteFile(file, f); err != nil {
		t.Fatal(err)
	}
	reviewed, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}

	// The expired entry suppresses nothing: its failure is new and fails
	// the gate, and every format names the entry.
	o = run(t, "audit", k8s, "--baseline", file, "--fail-on-new", "high", "-o", "json")
	wantCode(t, o, ExitGate)
	r := decodeReport(t, o)
	if diff := cmp.Diff([]string{"image-tag-latest on Deployment shop/worker"}, newFindings(r)); diff != "" {
		t.Errorf("new findings (-want +got):\n%s", diff)
	}
	b := r.Baseline
	if b.Suppressed != all.Summary.Fail-1 || len(b.Expired) != 1 || b.Expired[0].Expires != "2020-01-01" || b.Expired[0].Owner != "alice" {
		t.Errorf("got %+v, want all but one suppressed and the latest entry expired", *b)
	}
	text := run(t, "audit", k8s, "--baseline", file, "--fail-on-new", "high")
	wantCode(t, text, ExitGate)
	for _, w := range []string{
		"expired entries (their failures count as new again): 1",
		"image-tag-latest on Deployment shop/worker, until 2020-01-01, owner alice",
		"NEW image-tag-latest  Deployment shop/worker",
		strconv.Itoa(b.Suppressed) + " suppressed by the baseline",
	} {
		if !strings.Contains(text.out, w) {
			t.Errorf("text lacks %q:\n%s", w, text.out)
		}
	}

	// Nothing is fixed: prune removes nothing and leaves the file alone.
	o = run(t, "baseline", "prune", "--baseline", file, k8s)
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.errOut, "removed nothing from "+file) {
		t.Errorf("prune with nothing fixed: %s", o.errOut)
	}
	wantUnchanged(t, file, reviewed)

	// The change: the worker's image is pinned (fixed), the budget goes
	// (a new failure).
	write(t, k8s, "worker.yaml", strings.Replace(baselineWorker, "worker:latest", "worker:2.1", 1))
	if err := os.Remove(filepath.Join(k8s, "pdb.yaml")); err != nil {
		t.Fatal(err)
	}
	// Refused: another check set, or an input that cannot be read, would
	// take failures for fixed ones.
	cfg := write(t, dir, "off.yaml", "checks:\n  disable: [pdb-coverage]\n")
	o = run(t, "baseline", "prune", "--baseline", file, k8s, "--config", cfg)
	wantCode(t, o, ExitPartial)
	if !strings.Contains(o.errOut, "the run cannot be compared with it (the runs ran different checks") {
		t.Errorf("prune of another check set: %s", o.errOut)
	}
	broken := write(t, dir, "broken/x.yaml", "kind: [\n")
	for _, args := range [][]string{
		{"baseline", "prune", "--baseline", file, k8s, broken},
		{"baseline", "write", k8s, broken, "-o", file},
	} {
		o := run(t, args...)
		wantCode(t, o, ExitPartial)
		if !strings.Contains(o.errOut, "1 input(s) could not be read: fix them first") {
			t.Errorf("%v: %s", args, o.errOut)
		}
	}
	wantUnchanged(t, file, reviewed)

	o = run(t, "baseline", "prune", "--baseline", file, k8s)
	wantCode(t, o, ExitOK)
	if want := "plimsoll: removed 1 entries whose failures are fixed from " + file + ", " + strconv.Itoa(len(f.Entries)-1) + " left:\n  image-tag-latest on Deployment shop/worker\n"; o.errOut != want {
		t.Errorf("prune said %q, want %q", o.errOut, want)
	}
	pruned, err := baseline.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.DeleteFunc(append([]baseline.Entry{}, f.Entries...), func(e baseline.Entry) bool { return e.Fingerprint == latest.Fingerprint })
	if diff := cmp.Diff(want, pruned.Entries); diff != "" {
		t.Errorf("pruned entries (-want +got): only the fixed one removed, the budget's new failure not added:\n%s", diff)
	}

	// Rewritten: the new failure gets an entry, and the worker's keep
	// their reason, owner and expiry.
	o = run(t, "baseline", "write", k8s, "-o", file)
	wantCode(t, o, ExitOK)
	rewritten, err := baseline.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var pdb, worker, reasons int
	for _, e := range rewritten.Entries {
		switch {
		case e.Check == "pdb-coverage" && e.Object.Name == "web":
			pdb++
		case e.Object.Name == "worker":
			worker++
			if e.Reason == "the worker is being replaced" && e.Owner == "alice" && e.Expires == "2999-12-31" {
				reasons++
			}
		}
	}
	if pdb != 1 || worker == 0 || reasons != worker {
		t.Errorf("rewritten: %d pdb-coverage entries for web, %d of the worker's %d entries kept their reason; want 1, all", pdb, reasons, worker)
	}
	if !strings.Contains(o.errOut, strconv.Itoa(worker)+" with a reason, owner or expiry date") {
		t.Errorf("write said %q", o.errOut)
	}

	// A report where the file should be is not overwritten.
	reportFile := write(t, dir, "main.json", auditJSON(t, k8s))
	o = run(t, "baseline", "write", k8s, "-o", reportFile)
	wantCode(t, o, ExitPartial)
	if !strings.Contains(o.errOut, "a JSON report, not a baseline file") || !strings.Contains(o.errOut, "it is left as it is") {
		t.Errorf("write over a report: %s", o.errOut)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"baseline", "write", k8s}, "-o FILE is required"},
		{[]string{"baseline", "prune", k8s}, "--baseline FILE is required"},
		{[]string{"baseline", "prune", "--baseline", reportFile, k8s}, "a JSON report, not a baseline file"},
	} {
		o := run(t, tc.args...)
		wantCode(t, o, ExitPartial)
		if !strings.Contains(o.errOut, tc.want) {
			t.Errorf("%v: %s, want %q", tc.args, o.errOut, tc.want)
		}
	}

	// Every write went through a temporary file renamed into place.
	if diff := cmp.Diff([]string{baseline.DefaultFile, "broken/x.yaml", "k8s/web.yaml", "k8s/worker.yaml", "main.json", "off.yaml"}, filesUnder(t, dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}

func auditJSON(t *testing.T, dir string) string {
	t.Helper()
	o := run(t, "audit", dir, "-o", "json")
	wantCode(t, o, ExitOK)
	return o.out
}

func wantUnchanged(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s changed (-before +after):\n%s", path, diff)
	}
}

// A baseline knows each failure by its fingerprint, so no two failures of
// the bundled examples may share one. The Pod Security controls a pod
// violates all fail at its spec, and once did.
func TestFingerprintsDistinct(t *testing.T) {
	o := run(t, "audit", filepath.Join("..", "..", "examples"), "-o", "json")
	wantCode(t, o, ExitOK)
	r := decodeReport(t, o)
	seen := map[string]report.Result{}
	pss := 0
	for _, res := range r.Results {
		if res.Status != "fail" {
			continue
		}
		if strings.HasPrefix(res.Check, "pss-") {
			pss++
		}
		if was, dup := seen[res.Fingerprint]; dup {
			t.Errorf("%s on %s (%s) and %s on %s (%s) share fingerprint %s", was.Check, was.Object.ID(), was.Message, res.Check, res.Object.ID(), res.Message, res.Fingerprint)
		}
		seen[res.Fingerprint] = res
	}
	if pss < 10 {
		t.Errorf("only %d Pod Security failures in the examples: the test no longer shows what it is for", pss)
	}
}
