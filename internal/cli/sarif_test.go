package cli

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sarifRun is what the tests read of a SARIF log's run.
type sarifRun struct {
	Tool struct {
		Driver struct{ Name, Version, SemanticVersion string }
	}
	OriginalURIBaseIDs map[string]struct{ URI string } `json:"originalUriBaseIds"`
	Results            []struct {
		RuleID       string `json:"ruleId"`
		Suppressions []struct {
			Kind          string `json:"kind"`
			Status        string `json:"status"`
			Justification string `json:"justification"`
		} `json:"suppressions"`
		Locations []struct {
			PhysicalLocation struct {
				ArtifactLocation struct {
					URI       string `json:"uri"`
					URIBaseID string `json:"uriBaseId"`
				} `json:"artifactLocation"`
			} `json:"physicalLocation"`
		} `json:"locations"`
	} `json:"results"`
}

func decodeSARIFRun(t *testing.T, o outcome) sarifRun {
	t.Helper()
	var log struct{ Runs []sarifRun }
	if err := json.Unmarshal([]byte(o.out), &log); err != nil || len(log.Runs) != 1 {
		t.Fatalf("stdout is not a SARIF log of one run (%v):\n%s\nstderr:\n%s", err, o.out, o.errOut)
	}
	return log.Runs[0]
}

// files are the distinct places a run's results are at: the URI, after
// the root's ID and a colon when it is relative to the root.
func (r sarifRun) files() []string {
	seen := map[string]bool{}
	var out []string
	for _, res := range r.Results {
		a := res.Locations[0].PhysicalLocation.ArtifactLocation
		f := a.URI
		if a.URIBaseID != "" {
			f = a.URIBaseID + ":" + f
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}

// fileURI is the file URI of an absolute path.
func fileURI(p string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(p)}).String()
}

// sarifRepo makes a git checkout's top (a directory holding .git) with
// k8s/app.yaml and a chart whose directory, charts/web, is not its name,
// shop; and, outside it, other/app.yaml. It returns the checkout and the
// file outside it.
func sarifRepo(t *testing.T) (repo, outside string) {
	t.Helper()
	tmp := t.TempDir()
	repo = filepath.Join(tmp, "repo")
	if err := os.MkdirAll(filepath.Join(repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(repo, "charts", "web"), os.DirFS(filepath.Join(testdata, "chart"))); err != nil {
		t.Fatal(err)
	}
	app, err := os.ReadFile(filepath.Join(testdata, "small.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, repo, filepath.Join("k8s", "app.yaml"), string(app))
	return repo, write(t, tmp, filepath.Join("other", "app.yaml"), string(app))
}

// Run from a folder of a git checkout, the SARIF log names files relative
// to the checkout's top, as code scanning reads them, and says where that
// was; a file outside it keeps an absolute file URI; a Helm template is
// named by its path in the chart's directory; an object from standard
// input by a path that names it.
func TestAuditSARIFRoot(t *testing.T) {
	repo, outside := sarifRepo(t)
	k8s := filepath.Join(repo, "k8s")
	t.Chdir(k8s) // relative paths are the working directory's
	inv := invocation{dir: k8s, stdin: "apiVersion: v1\nkind: Pod\nmetadata: {name: piped, namespace: shop}\nspec: {containers: [{name: c, image: nginx:1.27}]}\n"}

	o := inv.run(t, "audit", "app.yaml", outside, "-", "--helm", filepath.Join("..", "charts", "web"), "-o", "sarif")
	wantCode(t, o, ExitOK)
	run := decodeSARIFRun(t, o)
	if d := run.Tool.Driver; d.Name != "plimsoll" || d.Version != reportVersion() || d.Version == "" {
		t.Errorf("got driver %q version %q, want plimsoll %q, the version every report carries", d.Name, d.Version, reportVersion())
	}
	if got, want := run.OriginalURIBaseIDs["ROOT"].URI, fileURI(repo)+"/"; got != want {
		t.Errorf("got the root at %q, want the checkout's top %q", got, want)
	}
	want := []string{
		"ROOT:charts/web/templates/deployment.yaml",
		"ROOT:k8s/app.yaml",
		fileURI(outside),
		"stdin/Pod/shop/piped",
		// The Namespaces the objects are in, which no input declares.
		"undeclared/Namespace/default",
		"undeclared/Namespace/shop",
	}
	sort.Strings(want)
	if diff := cmp.Diff(want, run.files()); diff != "" {
		t.Errorf("files of the results (-want +got):\n%s", diff)
	}

	// --sarif-root names another root, relative to the working directory.
	o = inv.run(t, "audit", "app.yaml", "--helm", filepath.Join("..", "charts", "web"), "-o", "sarif", "--sarif-root", ".")
	wantCode(t, o, ExitOK)
	run = decodeSARIFRun(t, o)
	if got, want := run.OriginalURIBaseIDs["ROOT"].URI, fileURI(k8s)+"/"; got != want {
		t.Errorf("--sarif-root .: got the root at %q, want %q", got, want)
	}
	want = []string{"ROOT:app.yaml", fileURI(filepath.Join(repo, "charts", "web", "templates", "deployment.yaml")), "undeclared/Namespace/default", "undeclared/Namespace/shop"}
	sort.Strings(want)
	if diff := cmp.Diff(want, run.files()); diff != "" {
		t.Errorf("--sarif-root .: files of the results (-want +got):\n%s", diff)
	}
}

// Outside a git checkout, files are named relative to the working
// directory.
func TestAuditSARIFRootOutsideGit(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(testdata, "chart"))); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	o := invocation{dir: dir}.run(t, "audit", "--helm", ".", "-o", "sarif")
	wantCode(t, o, ExitOK)
	run := decodeSARIFRun(t, o)
	if got, want := run.OriginalURIBaseIDs["ROOT"].URI, fileURI(dir)+"/"; got != want {
		t.Errorf("got the root at %q, want the working directory %q", got, want)
	}
	if diff := cmp.Diff([]string{"ROOT:templates/deployment.yaml", "undeclared/Namespace/default"}, run.files()); diff != "" {
		t.Errorf("files of the results (-want +got):\n%s", diff)
	}
}

// --sarif-root is refused before anything is read when nothing would read
// it, or when it is no directory.
func TestAuditSARIFRootRefused(t *testing.T) {
	file := filepath.Join(testdata, "small.yaml")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-o", "json", "--sarif-root", "."}, "with -o json nothing reads it"},
		{[]string{"--sarif-root", "."}, "with -o text nothing reads it"},
		{[]string{"-o", "sarif", "--sarif-root", filepath.Join(testdata, "no-such-dir")}, "no-such-dir: no such file or directory"},
		{[]string{"-o", "sarif", "--sarif-root", file}, "not a directory"},
	} {
		o := run(t, append([]string{"audit", file}, tc.args...)...)
		wantCode(t, o, ExitPartial)
		if o.out != "" || !strings.Contains(o.errOut, tc.want) {
			t.Errorf("%v: got stdout %q, stderr %q; want no report and %q", tc.args, o.out, o.errOut, tc.want)
		}
	}
}

// Exempted results are in the log, suppressed: by the configuration,
// externally, with its reason and expiry; by an annotation, in the source,
// with its reason. Code scanning closes their alerts.
func TestAuditSARIFExemptions(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, ".plimsoll.yaml", `exemptions:
  - checks: [image-tag-latest]
    namespaces: [shop]
    reason: the deploy pipeline pins the digest
    expires: "2999-12-31"
`)
	write(t, dir, "web.yaml", strings.Replace(webDeployment, "  namespace: shop\n",
		"  namespace: shop\n  annotations:\n    plimsoll.dev/ignore: workload-min-replicas\n    plimsoll.dev/ignore-reason: a batch worker, one is enough\n", 1))
	t.Chdir(dir)
	o := invocation{dir: dir}.run(t, "audit", "web.yaml", "-o", "sarif")
	wantCode(t, o, ExitOK)
	var got []string
	for _, res := range decodeSARIFRun(t, o).Results {
		for _, s := range res.Suppressions {
			got = append(got, res.RuleID+": "+s.Kind+" "+s.Status+": "+s.Justification)
		}
	}
	want := []string{
		"image-tag-latest: external accepted: the deploy pipeline pins the digest (until 2999-12-31)",
		"workload-min-replicas: inSource accepted: a batch worker, one is enough",
	}
	sort.Strings(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("suppressed results (-want +got):\n%s", diff)
	}
}
