package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/internal/checks"
	"github.com/plimsoll/plimsoll/internal/golden"
	"github.com/plimsoll/plimsoll/internal/report"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testNow is the clock of every invocation: a report carries the time of
// its audit, and the same run must give the same bytes.
var testNow = time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)

// invocation is how a test runs plimsoll; the zero value is a plain run with
// no terminal, an empty environment, a fresh working directory and the
// clock stopped at testNow.
type invocation struct {
	stdin string
	tty   bool
	env   map[string]string
	dir   string
	name  string // what plimsoll was run as; empty like a test binary
}

type outcome struct {
	code        int
	out, errOut string
}

func (inv invocation) run(t *testing.T, args ...string) outcome {
	t.Helper()
	var out, errOut bytes.Buffer
	dir := inv.dir
	if dir == "" {
		dir = t.TempDir()
	}
	s := Streams{
		In:            strings.NewReader(inv.stdin),
		Out:           &out,
		Err:           &errOut,
		OutIsTerminal: inv.tty,
		Getenv:        func(k string) string { return inv.env[k] },
		Dir:           dir,
		Now:           func() time.Time { return testNow },
		Name:          inv.name,
	}
	code := Main(context.Background(), args, s)
	return outcome{code, out.String(), errOut.String()}
}

func run(t *testing.T, args ...string) outcome {
	t.Helper()
	return invocation{}.run(t, args...)
}

func wantCode(t *testing.T, got outcome, want int) {
	t.Helper()
	if got.code != want {
		t.Fatalf("got exit %d, want %d\nstdout:\n%s\nstderr:\n%s", got.code, want, got.out, got.errOut)
	}
}

func decodeReport(t *testing.T, o outcome) *report.Report {
	t.Helper()
	var r report.Report
	if err := json.Unmarshal([]byte(o.out), &r); err != nil {
		t.Fatalf("stdout is not a JSON report: %v\n%s\nstderr:\n%s", err, o.out, o.errOut)
	}
	return &r
}

// results returns the report's results for a check, as "status object".
func results(r *report.Report, checkID string) []string {
	var out []string
	for _, res := range r.Results {
		if res.Check == checkID {
			out = append(out, res.Status+" "+res.Object.ID())
		}
	}
	return out
}

func write(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// webDeployment has no probes, no resources and an unpinned image, so it
// fails several checks, some of them high.
const webDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: registry.example.com/web:latest
`

func TestVersion(t *testing.T) {
	o := run(t, "version")
	wantCode(t, o, ExitOK)
	if !strings.HasPrefix(o.out, "plimsoll "+Version+" (go") || !strings.HasSuffix(o.out, "\n") {
		t.Errorf("got %q, want a line like %q", o.out, "plimsoll dev (go1.x, os/arch)")
	}
	if o.errOut != "" {
		t.Errorf("got stderr %q, want none", o.errOut)
	}
	if flag := run(t, "--version"); flag.out != o.out || flag.code != ExitOK {
		t.Errorf("--version printed %q (exit %d), want what version prints, %q", flag.out, flag.code, o.out)
	}
}

// A binary built in a checkout says its commit, from the build information
// the Go toolchain stamps; no -ldflags are needed.
func TestVersionFromBuildInfo(t *testing.T) {
	root, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Fatalf("the test needs the repository's git checkout: %v", err)
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "plimsoll")
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, "./cmd/plimsoll")
	build.Dir = strings.TrimSpace(string(root))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "commit " + string(head[:12]); !strings.Contains(string(out), want) {
		t.Errorf("got %q, want it to name %s", out, want)
	}
	if strings.HasPrefix(string(out), "plimsoll dev ") {
		t.Errorf("got %q, want the version the toolchain stamped, not dev", out)
	}
}

func TestKubectlPluginHelp(t *testing.T) {
	tests := []struct {
		test string
		name string // what plimsoll was run as
		want string // how its help names it
	}{
		{"unnamed", "", "plimsoll"},
		{"plimsoll", "plimsoll", "plimsoll"},
		{"kubectl plugin", "kubectl-plimsoll", "kubectl plimsoll"},
		{"kubectl plugin on Windows", "kubectl-plimsoll.exe", "kubectl plimsoll"},
		{"another name", "kubectl-plimsoll-old", "plimsoll"},
	}
	for _, tt := range tests {
		t.Run(tt.test, func(t *testing.T) {
			in := invocation{name: tt.name}
			o := in.run(t, "--help")
			wantCode(t, o, ExitOK)
			for _, want := range []string{
				"Usage:\n  " + tt.want + " [command]\n",
				`Use "` + tt.want + ` [command] --help" for more information about a command.`,
			} {
				if !strings.Contains(o.out, want) {
					t.Errorf("plimsoll --help run as %q: got:\n%s\nwant it to contain %q", tt.name, o.out, want)
				}
			}

			o = in.run(t, "audit", "--help")
			wantCode(t, o, ExitOK)
			for _, want := range []string{
				"Usage:\n  " + tt.want + " audit [PATH...] [flags]\n",
				"\n  " + tt.want + " audit --kustomize ./overlays/prod\n",
				"| " + tt.want + " audit -\n",
			} {
				if !strings.Contains(o.out, want) {
					t.Errorf("audit --help run as %q: got:\n%s\nwant it to contain %q", tt.name, o.out, want)
				}
			}
			if tt.want == "plimsoll" && strings.Contains(o.out, "kubectl plimsoll") {
				t.Errorf("audit --help run as %q: got:\n%s\nwant no mention of kubectl plimsoll", tt.name, o.out)
			}
		})
	}
}

func TestChecksList(t *testing.T) {
	o := run(t, "checks")
	wantCode(t, o, ExitOK)
	lines := strings.Split(strings.TrimSuffix(o.out, "\n"), "\n")
	all := checks.Registry().All()
	if got, want := len(lines), 1+len(all); got != want {
		t.Fatalf("got %d lines, want a header and one row per check (%d)", got, want)
	}
	for _, id := range []string{"pdb-coverage", "container-readiness-probe", "rbac-wildcard"} {
		if got, want := fixColumn(id), map[string]string{"pdb-coverage": "yes", "container-readiness-probe": "suggest", "rbac-wildcard": "-"}[id]; got != want {
			t.Errorf("%s: FIX %q, want %q", id, got, want)
		}
	}
	if f := strings.Fields(lines[0]); !cmp.Equal(f, []string{"ID", "LAYER", "SEVERITY", "FIX", "EXPORT", "TITLE"}) {
		t.Errorf("got header %q, want ID LAYER SEVERITY FIX EXPORT TITLE", lines[0])
	}
	for i, c := range all {
		f := strings.Fields(lines[i+1])
		exported := "-"
		if c.Admission != "" {
			exported = "vap"
		}
		if len(f) < 6 || f[0] != c.ID || f[1] != string(c.Layer) || f[2] != c.Severity.String() || f[3] != fixColumn(c.ID) || f[4] != exported {
			t.Errorf("row %d: got %q, want %s %s %s, whether plimsoll fix fixes it and %s ...", i+1, lines[i+1], c.ID, c.Layer, c.Severity, exported)
		}
		if c.Optional && !strings.HasSuffix(lines[i+1], "(optional)") {
			t.Errorf("row %d: got %q, want optional check marked (optional)", i+1, lines[i+1])
		}
	}
}

func TestChecksJSON(t *testing.T) {
	o := run(t, "checks", "-o", "json")
	wantCode(t, o, ExitOK)
	var rows []struct {
		ID, Title, Layer, Severity, Rationale, Remediation, ChecklistItem string
		Kinds                                                             []string
		Exportable                                                        bool
	}
	if err := json.Unmarshal([]byte(o.out), &rows); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, o.out)
	}
	all := checks.Registry().All()
	if len(rows) != len(all) {
		t.Fatalf("got %d checks, want %d", len(rows), len(all))
	}
	for i, c := range all {
		r := rows[i]
		if r.ID != c.ID || r.Layer != string(c.Layer) || r.Severity != c.Severity.String() ||
			r.Rationale != c.Rationale || r.Remediation != c.Remediation || !cmp.Equal(r.Kinds, c.Kinds) ||
			r.Exportable != (c.Admission != "") {
			t.Errorf("check %d: got %+v, want the registry's %s", i, r, c.ID)
		}
	}

	wantCode(t, run(t, "checks", "-o", "yaml"), ExitPartial)
}

func TestChecksExplain(t *testing.T) {
	c := checks.Registry().Get("container-readiness-probe")
	if c == nil {
		t.Fatal("container-readiness-probe is not in the registry")
	}
	o := run(t, "checks", "explain", "container-readiness-probe")
	wantCode(t, o, ExitOK)
	for _, want := range []string{
		"container-readiness-probe: " + c.Title,
		"Why it matters:\n  " + c.Rationale,
		"How to fix:\n  " + c.Remediation,
		"An example that passes:\n  " + strings.SplitN(c.Example, "\n", 2)[0],
		"plimsoll export vap:\n  no: it reads other objects (Service)",
	} {
		if !strings.Contains(o.out, want) {
			t.Errorf("got:\n%s\nwant it to contain %q", o.out, want)
		}
	}
	// The labelled facts line up.
	for _, label := range []string{"Layer:      " + string(c.Layer), "Severity:   " + c.Severity.String(), "Applies to: ", "Checklist:  " + c.ChecklistItem} {
		if !strings.Contains(o.out, "\n"+label) {
			t.Errorf("got:\n%s\nwant a line starting %q", o.out, label)
		}
	}
	// The example is indented as a whole, so it can be copied out.
	example := o.out[strings.Index(o.out, "An example that passes:\n")+len("An example that passes:\n"):]
	for _, l := range strings.Split(strings.TrimSuffix(example, "\n"), "\n") {
		if !strings.HasPrefix(l, "  ") {
			t.Errorf("example line %q: want it indented by two spaces", l)
		}
	}

	o = run(t, "checks", "explain", "container-readyness-probe")
	wantCode(t, o, ExitPartial)
	if !strings.Contains(o.errOut, `unknown check "container-readyness-probe"`) {
		t.Errorf("got stderr %q, want it to name the unknown check", o.errOut)
	}
	if o.out != "" {
		t.Errorf("got stdout %q, want none", o.out)
	}
}

func TestAuditPartialInput(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "good.yaml", webDeployment)
	bad := write(t, dir, "bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\ndata: {}\n")
	o := run(t, "audit", dir, "-o", "json")
	wantCode(t, o, ExitPartial)

	r := decodeReport(t, o)
	if !r.Partial {
		t.Error("got partial false, want true")
	}
	if len(r.InputErrors) != 1 || r.InputErrors[0].File != bad || r.InputErrors[0].Line == 0 {
		t.Errorf("got input errors %+v, want one for %s with a line", r.InputErrors, bad)
	}
	if got := results(r, "image-tag-latest"); !cmp.Equal(got, []string{"fail Deployment shop/web"}) {
		t.Errorf("got image-tag-latest results %v, want the good file's Deployment audited", got)
	}
	if !strings.Contains(o.errOut, bad+":") || !strings.Contains(o.errOut, "partial run") {
		t.Errorf("got stderr %q, want it to name %s:LINE and say the run is partial", o.errOut, bad)
	}
	if len(r.InputErrors) == 1 {
		where := bad + ":" + strconv.Itoa(r.InputErrors[0].Line)
		if !strings.Contains(o.errOut, where) {
			t.Errorf("got stderr %q, want it to contain %q", o.errOut, where)
		}
	}
}

func TestAuditUsageErrors(t *testing.T) {
	dir := t.TempDir()
	file := write(t, dir, "web.yaml", webDeployment)
	emptyKubeconfig := write(t, dir, "kubeconfig", "")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"nothing to audit", []string{"audit", "--kubeconfig", emptyKubeconfig}, "nothing to audit"},
		{"snapshot and paths", []string{"audit", file, "--snapshot", file}, "--snapshot audits a snapshot alone"},
		{"not a snapshot", []string{"audit", "--snapshot", file}, "not a plimsoll snapshot"},
		{"-n with -A", []string{"audit", "--kubeconfig", emptyKubeconfig, "-n", "shop", "-A"}, "exclude each other"},
		{"unknown output", []string{"audit", file, "-o", "html5"}, `--output "html5"`},
		{"unknown fail-on", []string{"audit", file, "--fail-on", "urgent"}, `unknown severity "urgent"`},
		{"bad kubernetes version", []string{"audit", file, "--kubernetes-version", "latest"}, "--kubernetes-version"},
		{"unknown flag", []string{"audit", file, "--fail-onn", "high"}, "fail-onn"},
		{"missing file", []string{"audit", filepath.Join(dir, "missing.yaml")}, "missing.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := run(t, tt.args...)
			wantCode(t, o, ExitPartial)
			if !strings.Contains(o.errOut, tt.want) {
				t.Errorf("got stderr %q, want it to contain %q", o.errOut, tt.want)
			}
		})
	}
}

func TestAuditGates(t *testing.T) {
	dir := t.TempDir()
	file := write(t, dir, "web.yaml", webDeployment)

	r := decodeReport(t, run(t, "audit", file, "-o", "json"))
	if r.Summary.Failures.High == 0 {
		t.Fatalf("got no high failures in %+v, want the fixture to have some", r.Summary)
	}
	if r.Summary.Failures.Critical != 0 {
		t.Fatalf("got %d critical failures, want none for the --fail-on critical case", r.Summary.Failures.Critical)
	}

	o := run(t, "audit", file, "--fail-on", "high")
	wantCode(t, o, ExitGate)
	if !strings.Contains(o.errOut, "--fail-on") {
		t.Errorf("got stderr %q, want it to name the gate", o.errOut)
	}
	wantCode(t, run(t, "audit", file, "--fail-on", "critical"), ExitOK)
	wantCode(t, run(t, "audit", file), ExitOK)

	o = run(t, "audit", file, "--min-score", "100")
	wantCode(t, o, ExitGate)
	if !strings.Contains(o.errOut, "--min-score") {
		t.Errorf("got stderr %q, want it to name the gate", o.errOut)
	}
}

// Footguns are errors, before anything is read: Helm's flags without
// --helm (kubectl's -f is a file to plimsoll's users), a minimum score no
// score can be below or reach, and inputs that hold no object at all.
func TestAuditFootguns(t *testing.T) {
	dir := t.TempDir()
	file := write(t, dir, "web.yaml", webDeployment)
	empty := t.TempDir()
	write(t, empty, "README.md", "not a manifest\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"audit", "-f", file}, "to audit a file, give its path as an argument"},
		{[]string{"audit", file, "--values", file}, "-f/--values is a Helm values file, read with --helm CHART"},
		{[]string{"audit", file, "--set", "a=b"}, "--set is a Helm setting, read with --helm CHART"},
		{[]string{"audit", file, "--set-string", "a=b"}, "--set-string is a Helm setting"},
		{[]string{"fix", file, "-f", file}, "-f/--values is a Helm values file"},
		{[]string{"audit", file, "--min-score", "101"}, "--min-score 101: a score is from 0 to 100"},
		{[]string{"audit", file, "--min-score", "-1"}, "--min-score -1: a score is from 0 to 100"},
		{[]string{"audit", empty}, "nothing to audit: no Kubernetes object in " + empty},
		{[]string{"fix", empty}, "nothing to audit: no Kubernetes object in " + empty},
	} {
		o := run(t, tc.args...)
		wantCode(t, o, ExitPartial)
		if !strings.Contains(o.errOut, tc.want) || o.out != "" {
			t.Errorf("%v: got stdout %q, stderr %q; want only an error saying %q", tc.args, o.out, o.errOut, tc.want)
		}
	}
}

func TestAuditMinScoreZero(t *testing.T) {
	// Only image-tag-latest runs, and it fails: the score is 0, which is not
	// below a minimum of 0.
	dir := t.TempDir()
	var disable []string
	for _, c := range checks.Registry().All() {
		if c.ID != "image-tag-latest" && !c.Optional {
			disable = append(disable, c.ID)
		}
	}
	write(t, dir, ".plimsoll.yaml", "checks:\n  disable: ["+strings.Join(disable, ", ")+"]\n")
	file := write(t, dir, "web.yaml", webDeployment)
	in := invocation{dir: dir}

	r := decodeReport(t, in.run(t, "audit", file, "-o", "json"))
	if r.Score.Overall == nil || *r.Score.Overall != 0 {
		t.Fatalf("got overall score %v, want 0 with everything failing", r.Score.Overall)
	}
	wantCode(t, in.run(t, "audit", file, "--min-score", "0"), ExitOK)
	wantCode(t, in.run(t, "audit", file, "--min-score", "0.1"), ExitGate)
}

func TestAuditStdin(t *testing.T) {
	o := invocation{stdin: webDeployment}.run(t, "audit", "-", "-o", "json")
	wantCode(t, o, ExitOK)
	r := decodeReport(t, o)
	if !cmp.Equal(r.Sources, []string{"-"}) {
		t.Errorf("got sources %q, want [-]", r.Sources)
	}
	var found bool
	for _, res := range r.Results {
		if res.Object.ID() == "Deployment shop/web" {
			found = true
			if res.Source.File != "-" || res.Source.Line != 1 {
				t.Errorf("got source %+v, want -:1", res.Source)
			}
		}
	}
	if !found {
		t.Error("got no results for the Deployment read from standard input")
	}

	// A malformed document on stdin is reported as (stdin), with its line.
	o = invocation{stdin: "apiVersion: v1\nkind: [\n"}.run(t, "audit", "-")
	wantCode(t, o, ExitPartial)
	if !strings.Contains(o.errOut, "(stdin):3:") {
		t.Errorf("got stderr %q, want the stdin error with a line", o.errOut)
	}
}

func TestAuditConfig(t *testing.T) {
	dir := t.TempDir()
	file := write(t, dir, "web.yaml", webDeployment)

	t.Run("unknown key", func(t *testing.T) {
		cfg := write(t, dir, "bad-config.yaml", "checks:\n  disable: [image-tag-latest]\n  severty:\n    naked-pod: low\n")
		o := run(t, "audit", file, "--config", cfg)
		wantCode(t, o, ExitPartial)
		for _, want := range []string{cfg, "severty", "line 3"} {
			if !strings.Contains(o.errOut, want) {
				t.Errorf("got stderr %q, want it to contain %q", o.errOut, want)
			}
		}
		if o.out != "" {
			t.Errorf("got a report on stdout, want none when the configuration is unusable")
		}
	})

	t.Run("missing file", func(t *testing.T) {
		wantCode(t, run(t, "audit", file, "--config", filepath.Join(dir, "nope.yaml")), ExitPartial)
	})

	t.Run("discovered upward from the working directory", func(t *testing.T) {
		root := t.TempDir()
		write(t, root, ".plimsoll.yaml", "checks:\n  disable: [image-tag-latest]\n")
		nested := filepath.Join(root, "deploy", "prod")
		if err := os.MkdirAll(nested, 0o755); err != nil {
			t.Fatal(err)
		}
		r := decodeReport(t, invocation{dir: nested}.run(t, "audit", file, "-o", "json"))
		if got := results(r, "image-tag-latest"); len(got) != 0 {
			t.Errorf("got image-tag-latest results %v, want none: the discovered config disables it", got)
		}
		if !contains(r.DisabledChecks, "image-tag-latest") {
			t.Errorf("got disabled checks %v, want image-tag-latest among them", r.DisabledChecks)
		}

		// Without the file the check runs.
		r = decodeReport(t, run(t, "audit", file, "-o", "json"))
		if got := results(r, "image-tag-latest"); len(got) != 1 {
			t.Errorf("without config: got image-tag-latest results %v, want one", got)
		}
	})

	t.Run("explicit file wins over the discovered one", func(t *testing.T) {
		root := t.TempDir()
		write(t, root, ".plimsoll.yaml", "checks:\n  disable: [image-tag-latest]\n")
		other := write(t, t.TempDir(), "other.yaml", "checks:\n  severity: {image-tag-latest: critical}\n")
		r := decodeReport(t, invocation{dir: root}.run(t, "audit", file, "-o", "json", "--config", other))
		if got := results(r, "image-tag-latest"); len(got) != 1 {
			t.Fatalf("got image-tag-latest results %v, want one", got)
		}
		if r.Summary.Failures.Critical == 0 {
			t.Errorf("got no critical failure, want the --config severity override applied")
		}
	})
}

func TestAuditNoAnnotationExemptions(t *testing.T) {
	dir := t.TempDir()
	file := write(t, dir, "web.yaml", strings.Replace(webDeployment, "  namespace: shop\n",
		"  namespace: shop\n  annotations:\n    plimsoll.dev/ignore: image-tag-latest\n    plimsoll.dev/ignore-reason: pinned by the deploy pipeline\n", 1))

	r := decodeReport(t, run(t, "audit", file, "-o", "json"))
	var exempted bool
	for _, res := range r.Results {
		if res.Check == "image-tag-latest" {
			exempted = res.Status == "skip" && res.Exempted && strings.Contains(res.Message, "pinned by the deploy pipeline")
		}
	}
	if !exempted {
		t.Errorf("got image-tag-latest results %v, want an exempted skip with the reason", results(r, "image-tag-latest"))
	}

	r = decodeReport(t, run(t, "audit", file, "-o", "json", "--no-annotation-exemptions"))
	if got := results(r, "image-tag-latest"); !cmp.Equal(got, []string{"fail Deployment shop/web"}) {
		t.Errorf("with --no-annotation-exemptions: got %v, want the check to fail", got)
	}
}

func TestAuditKubernetesVersion(t *testing.T) {
	dir := t.TempDir()
	file := write(t, dir, "old.yaml", strings.Replace(webDeployment, "apps/v1", "apps/v1beta1", 1))

	r := decodeReport(t, run(t, "audit", file, "-o", "json"))
	if got := results(r, "api-removed"); !cmp.Equal(got, []string{"fail Deployment shop/web"}) {
		t.Errorf("default version: got api-removed %v, want a failure (apps/v1beta1 was removed in 1.16)", got)
	}

	r = decodeReport(t, run(t, "audit", file, "-o", "json", "--kubernetes-version", "1.15"))
	if got := results(r, "api-removed"); !cmp.Equal(got, []string{"pass Deployment shop/web"}) {
		t.Errorf("--kubernetes-version 1.15: got api-removed %v, want a pass (still served in 1.15)", got)
	}
	// Deprecated since 1.8, though: the other upgrade check says so.
	if got := results(r, "api-deprecated"); !cmp.Equal(got, []string{"fail Deployment shop/web"}) {
		t.Errorf("--kubernetes-version 1.15: got api-deprecated %v, want a failure", got)
	}
}

func TestAuditHelm(t *testing.T) {
	chart := filepath.Join("testdata", "chart")
	r := decodeReport(t, run(t, "audit", "--helm", chart, "-o", "json"))
	if got := results(r, "workload-min-replicas"); !cmp.Equal(got, []string{"pass Deployment default/release-name-shop"}) {
		t.Errorf("chart defaults: got workload-min-replicas %v, want a pass (3 replicas)", got)
	}
	if !cmp.Equal(r.Sources, []string{"helm chart " + chart}) {
		t.Errorf("got sources %q, want the chart", r.Sources)
	}

	o := run(t, "audit", "--helm", chart, "--set", "replicas=1", "--release-name", "prod", "-n", "shop", "-o", "json")
	wantCode(t, o, ExitOK)
	r = decodeReport(t, o)
	if got := results(r, "workload-min-replicas"); !cmp.Equal(got, []string{"fail Deployment shop/prod-shop"}) {
		t.Errorf("--set replicas=1: got workload-min-replicas %v, want a failure", got)
	}
	for _, res := range r.Results {
		if res.Object.Name == "prod-shop" && (res.Source.File != filepath.Join(chart, "templates", "deployment.yaml") || res.Source.Origin != "helm chart "+chart) {
			t.Fatalf("got source %+v, want the chart template and the chart as origin", res.Source)
		}
	}

	o = run(t, "audit", "--helm", filepath.Join("testdata", "no-such-chart"))
	wantCode(t, o, ExitPartial)
	if !strings.Contains(o.errOut, "no-such-chart") {
		t.Errorf("got stderr %q, want it to name the chart", o.errOut)
	}
}

func TestAuditKustomize(t *testing.T) {
	dir := filepath.Join("testdata", "kustomize")
	o := run(t, "audit", "--kustomize", dir, "-o", "json")
	wantCode(t, o, ExitOK)
	r := decodeReport(t, o)
	if got := results(r, "image-tag-latest"); !cmp.Equal(got, []string{"fail Deployment shop/prod-web"}) {
		t.Errorf("got image-tag-latest %v, want the built Deployment (prefix and namespace applied) to fail", got)
	}
	for _, res := range r.Results {
		if res.Object.Name == "prod-web" && res.Source.File != filepath.Join(dir, "deployment.yaml") {
			t.Fatalf("got source %+v, want the file that declared the Deployment", res.Source)
		}
	}
}

func TestAuditColor(t *testing.T) {
	dir := t.TempDir()
	file := write(t, dir, "web.yaml", webDeployment)
	const esc = "\x1b["
	tests := []struct {
		name  string
		inv   invocation
		args  []string
		color bool
	}{
		{"terminal", invocation{tty: true}, nil, true},
		{"not a terminal", invocation{}, nil, false},
		{"terminal with NO_COLOR", invocation{tty: true, env: map[string]string{"NO_COLOR": "1"}}, nil, false},
		{"terminal, json", invocation{tty: true}, []string{"-o", "json"}, false},
		{"terminal, markdown", invocation{tty: true}, []string{"-o", "markdown"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.inv.run(t, append([]string{"audit", file}, tt.args...)...)
			wantCode(t, o, ExitOK)
			if got := strings.Contains(o.out, esc); got != tt.color {
				t.Errorf("got ANSI escapes %v, want %v", got, tt.color)
			}
		})
	}
}

func TestAuditDeterministic(t *testing.T) {
	// Several files in several namespaces, so loading and checking run in
	// parallel, plus an exemption and an input error.
	dir := t.TempDir()
	write(t, dir, "a/web.yaml", webDeployment)
	write(t, dir, "b/api.yaml", strings.NewReplacer("name: web", "name: api", "namespace: shop", "namespace: api").Replace(webDeployment))
	small, err := os.ReadFile(filepath.Join("testdata", "small.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, "c/small.yaml", string(small))
	write(t, dir, "d/broken.yaml", "kind: [\n")
	// The same working directory for every run: sarif names files relative
	// to it.
	inv := invocation{dir: dir}
	for _, format := range report.Formats() {
		t.Run(format, func(t *testing.T) {
			first := inv.run(t, "audit", dir, "-o", format)
			wantCode(t, first, ExitPartial)
			for i := 0; i < 3; i++ {
				again := inv.run(t, "audit", dir, "-o", format)
				if again.out != first.out {
					t.Fatalf("run %d differs from the first:\n%s", i+2, cmp.Diff(first.out, again.out))
				}
			}
		})
	}
}

func TestAuditTextGolden(t *testing.T) {
	// A relative path keeps the golden file independent of the checkout.
	o := run(t, "audit", filepath.Join("testdata", "small.yaml"))
	wantCode(t, o, ExitOK)
	golden.Check(t, filepath.Join("testdata", "small.golden"), []byte(o.out), *update)
}

func TestAuditConfigExemptions(t *testing.T) {
	// Dates far from testNow keep the test independent of the clock.
	dir := t.TempDir()
	write(t, dir, ".plimsoll.yaml", `exemptions:
  - checks: [image-tag-latest]
    namespaces: [sh*]
    reason: the deploy pipeline pins the digest
    expires: "2999-12-31"
  - checks: [workload-min-replicas]
    names: [web]
    reason: a single replica was fine once
    expires: "2000-01-01"
`)
	file := write(t, dir, "web.yaml", webDeployment)
	r := decodeReport(t, invocation{dir: dir}.run(t, "audit", file, "-o", "json"))
	for _, res := range r.Results {
		switch res.Check {
		case "image-tag-latest":
			if want := "exempted by configuration: the deploy pipeline pins the digest (until 2999-12-31)"; res.Status != "skip" || !res.Exempted || res.Message != want {
				t.Errorf("image-tag-latest: got %s %q, want an exempted skip %q", res.Status, res.Message, want)
			}
		case "workload-min-replicas":
			if res.Status != "fail" {
				t.Errorf("workload-min-replicas: got %s, want fail: its exemption expired", res.Status)
			}
		}
	}
	if len(r.ExpiredExemptions) != 1 || r.ExpiredExemptions[0].Expires != "2000-01-01" {
		t.Errorf("got expired exemptions %+v, want the one that ended 2000-01-01", r.ExpiredExemptions)
	}
	if r.Summary.Exempted != 1 {
		t.Errorf("got %d exempted, want 1", r.Summary.Exempted)
	}
}

func TestAuditTextPointsAtARealFlag(t *testing.T) {
	// More exemptions than the text report lists: it points at the JSON
	// report for the rest, and the flag it names must exist.
	dir := t.TempDir()
	var b strings.Builder
	for i := 0; i < 25; i++ {
		b.WriteString("---\n" + strings.Replace(strings.Replace(webDeployment, "name: web\n", "name: web-"+strconv.Itoa(i)+"\n", 1),
			"  namespace: shop\n", "  namespace: shop\n  annotations: {plimsoll.dev/ignore: image-tag-latest, plimsoll.dev/ignore-reason: test}\n", 1))
	}
	file := write(t, dir, "many.yaml", b.String())
	o := run(t, "audit", file)
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.out, "and 5 more (see -o json)") {
		t.Fatalf("got:\n%s\nwant the exemption list cut at 20 with a pointer to -o json", o.out)
	}
	wantCode(t, run(t, "audit", file, "-o", "json"), ExitOK)
}

// An annotation that exempts a check that does not exist (a typo) is an
// error on its object, which is still audited: the run is partial.
func TestAuditUnknownIgnoredCheck(t *testing.T) {
	web := strings.Replace(webDeployment, "metadata:\n", "metadata:\n  annotations: {plimsoll.dev/ignore: \"recommended-lables, image-tag-latest\"}\n", 1)
	file := write(t, t.TempDir(), "web.yaml", web)
	o := run(t, "audit", file, "-o", "json")
	wantCode(t, o, ExitPartial)
	r := decodeReport(t, o)
	if len(r.InputErrors) != 1 || !strings.Contains(r.InputErrors[0].Message, `names check "recommended-lables", which does not exist`) || r.InputErrors[0].Line != 1 {
		t.Errorf("input errors %+v, want one naming the unknown check at the object's line", r.InputErrors)
	}
	exempted := false
	for _, res := range r.Results {
		exempted = exempted || res.Check == "image-tag-latest" && res.Exempted
	}
	if !exempted {
		t.Errorf("the annotated Deployment was not audited, its known check exempted")
	}
}
