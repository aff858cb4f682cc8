package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/plimsoll/plimsoll/internal/golden"
)

// notReadyCopy copies examples/not-ready into a new directory, makes it the
// working directory, and returns its name there.
func notReadyCopy(t *testing.T) string {
	t.Helper()
	src, err := filepath.Abs(filepath.Join("..", "..", "examples", "not-ready"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "shop"), os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	return "shop"
}

// score audits paths and returns the overall score as text.
func score(t *testing.T, args ...string) string {
	t.Helper()
	r := decodeReport(t, run(t, append(append([]string{"audit"}, args...), "-o", "json")...))
	if r.Score.Overall == nil {
		return "none"
	}
	return fmt.Sprintf("%.1f", *r.Score.Overall)
}

// testdata is the absolute path of this package's testdata, as the fix
// tests change the working directory.
var testdata = func() string {
	p, err := filepath.Abs("testdata")
	if err != nil {
		panic(err)
	}
	return p
}()

// The default prints a diff and the summary, and changes nothing.
func TestFixDiff(t *testing.T) {
	dir := notReadyCopy(t)
	before, _ := os.ReadFile(filepath.Join(dir, "api.yaml"))
	o := run(t, "fix", dir)
	wantCode(t, o, ExitOK)
	golden.Check(t, filepath.Join(testdata, "fix-not-ready.diff.golden"), []byte(o.out), *update)
	golden.Check(t, filepath.Join(testdata, "fix-not-ready.summary.golden"), []byte(o.errOut), *update)
	if after, _ := os.ReadFile(filepath.Join(dir, "api.yaml")); string(after) != string(before) {
		t.Error("the diff mode changed a file")
	}
}

// --write makes the proven changes in place: the audit of the result is
// what the proof said, and a second run finds nothing more to do.
func TestFixWrite(t *testing.T) {
	dir := notReadyCopy(t)
	o := run(t, "fix", dir, "--write")
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.out, "SCORE      10.0 -> 65.0") {
		t.Fatalf("summary: %s", o.out)
	}
	if got := score(t, dir); got != "65.0" {
		t.Errorf("the written files audit at %s, want the 65.0 the proof gave", got)
	}
	again := run(t, "fix", dir)
	wantCode(t, again, ExitOK)
	if again.out != "" || !strings.Contains(again.errOut, "FIXED      0 finding(s) with 0 change(s)") {
		t.Errorf("a second run still changes something:\n%s\n%s", again.out, again.errOut)
	}
}

// --overlay over a plain directory is refused unless --init-base writes
// the base's kustomization; the overlay then builds with Kustomize's
// default load restrictions and audits as the proof said.
func TestFixOverlay(t *testing.T) {
	dir := notReadyCopy(t)
	o := run(t, "fix", dir, "--overlay", "fixes")
	if o.code != ExitPartial || !strings.Contains(o.errOut, "--init-base") {
		t.Fatalf("a plain base: exit %d, %s", o.code, o.errOut)
	}
	if _, err := os.Stat("fixes"); !os.IsNotExist(err) {
		t.Fatalf("a refused overlay left %s behind", "fixes")
	}
	o = run(t, "fix", dir, "--overlay", "fixes", "--init-base")
	wantCode(t, o, ExitOK)
	kust, err := os.ReadFile(filepath.Join("fixes", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join(testdata, "fix-not-ready.kustomization.golden"), kust, *update)
	built, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), "fixes")
	if err != nil {
		t.Fatalf("the overlay does not build: %v", err)
	}
	proven := provenScore(o)
	if got := score(t, writeBuild(t, built)); !strings.HasSuffix(proven, "-> "+got) {
		t.Errorf("the overlay's build audits at %s; the proof said %s", got, proven)
	}
	o = run(t, "fix", dir, "--overlay", "fixes")
	if o.code != ExitPartial || !strings.Contains(o.errOut, "exist") {
		t.Errorf("an overlay directory that exists: exit %d, %s", o.code, o.errOut)
	}
}

// provenScore is the "before -> after" of a fix summary's SCORE line.
func provenScore(o outcome) string {
	_, proven, _ := strings.Cut(o.out, "SCORE ")
	proven, _, _ = strings.Cut(proven, "\n")
	return strings.TrimSpace(proven)
}

// writeBuild writes what Kustomize built to built.yaml, for an audit, and
// returns its name.
func writeBuild(t *testing.T, built resmap.ResMap) string {
	t.Helper()
	out, err := built.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("built.yaml", out, 0o644); err != nil {
		t.Fatal(err)
	}
	return "built.yaml"
}

// Bad input: nothing is half-written.
func TestFixRefuses(t *testing.T) {
	dir := notReadyCopy(t)
	api := filepath.Join(dir, "api.yaml")
	web, _ := os.ReadFile(filepath.Join(dir, "web.yaml"))
	if err := os.Chmod(api, 0o444); err != nil {
		t.Fatal(err)
	}
	o := run(t, "fix", dir, "--write")
	if os.Geteuid() == 0 {
		// The system lets root write a read-only file, as it lets root's
		// editor: plimsoll asks the system, it does not second-guess it.
		wantCode(t, o, ExitOK)
	} else {
		if o.code != ExitPartial || !strings.Contains(o.errOut, "not writable") {
			t.Errorf("a read-only file: exit %d, %s", o.code, o.errOut)
		}
		if now, _ := os.ReadFile(filepath.Join(dir, "web.yaml")); string(now) != string(web) {
			t.Error("a refused write changed another file")
		}
	}
	// Back to the example as it was, for the refusals below.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(testdata, "..", "..", "..", "examples", "not-ready"))); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"fix", dir, "--write", "--overlay", "x"}, "exclude each other"},
		{[]string{"fix"}, "nothing to fix"},
		{[]string{"fix", dir, "--check", "no-such-check"}, "no such check"},
		{[]string{"fix", dir, "--layer", "nope"}, "want one of"},
		{[]string{"fix", "--kustomize", dir}, "use --overlay"},
	} {
		if o := run(t, tc.args...); o.code != ExitPartial || !strings.Contains(o.errOut, tc.err) {
			t.Errorf("%v: exit %d, %s", tc.args, o.code, o.errOut)
		}
	}
	// A template among the inputs: nothing is fixed on a partial view.
	if err := os.WriteFile(filepath.Join(dir, "tmpl.yaml"), []byte("replicas: {{ .Values.replicas }}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if o := run(t, "fix", dir, "--write"); o.code != ExitPartial || !strings.Contains(o.errOut, "could not be read") {
		t.Errorf("a template: exit %d, %s", o.code, o.errOut)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, "web.yaml")); string(now) != string(web) {
		t.Error("a refused run changed a file")
	}
}

// --snapshot --overlay writes the objects the cluster lacks, alone: an
// overlay with no base that builds exactly them.
func TestFixSnapshotOverlay(t *testing.T) {
	snap, err := filepath.Abs(productionSnapshot)
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	o := run(t, "fix", "--snapshot", snap, "--overlay", "fixes")
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.out, "SCORE      67.0 -> 80.1") {
		t.Errorf("summary:\n%s", o.out)
	}
	built, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), "fixes")
	if err != nil {
		t.Fatalf("the overlay does not build: %v", err)
	}
	kinds := map[string]int{}
	for _, r := range built.Resources() {
		kinds[r.GetKind()]++
		if r.GetLabels()["app.kubernetes.io/managed-by"] != "plimsoll-fix" {
			t.Errorf("%s %s is not an object plimsoll fix made", r.GetKind(), r.GetName())
		}
	}
	if kinds["NetworkPolicy"] == 0 || kinds["LimitRange"] == 0 || kinds["ResourceQuota"] == 0 {
		t.Errorf("built %v, want the namespaces' policies, LimitRanges and quotas", kinds)
	}
}

// --check chooses the findings to fix, but a change that needs another
// check's fix to be safe gets it: two replicas of the database must be
// spread, and are.
func TestFixCheckKeepsFollowUps(t *testing.T) {
	dir := notReadyCopy(t)
	o := run(t, "fix", dir, "--check", "workload-min-replicas")
	wantCode(t, o, ExitOK)
	for _, want := range []string{
		"patch StatefulSet default/db (workload-min-replicas): runs 2 replicas of StatefulSet default/db",
		"patch StatefulSet default/db (workload-spread)",
	} {
		if !strings.Contains(o.errOut, want) {
			t.Errorf("the summary lacks %q:\n%s", want, o.errOut)
		}
	}
	if strings.Contains(o.errOut, "DROPPED") {
		t.Errorf("a change was dropped:\n%s", o.errOut)
	}
}
