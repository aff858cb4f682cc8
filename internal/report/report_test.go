package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/config"
	"github.com/plimsoll/plimsoll/internal/golden"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/manifest"
	"github.com/plimsoll/plimsoll/internal/platform"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const appYAML = `apiVersion: v1
kind: Namespace
metadata:
  name: prod
  labels: {team: payments, owner: alice}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: web:1.0}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: prod
  labels: {team: payments, owner: alice}
spec:
  replicas: 3
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: api, image: api:1.0}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: legacy
  namespace: prod
  labels: {team: payments}
  annotations:
    plimsoll.dev/ignore: demo-replicas
    plimsoll.dev/ignore-reason: retired next quarter, one replica is enough until then
spec:
  replicas: 1
  selector: {matchLabels: {app: legacy}}
  template:
    metadata: {labels: {app: legacy}}
    spec:
      containers: [{name: legacy, image: legacy:0.9}]
---
apiVersion: v1
kind: Service
metadata:
  name: external-db
  namespace: prod
spec:
  type: ExternalName
  externalName: db.example.com
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: boom
  namespace: staging
  labels: {team: qa, owner: bob}
spec:
  replicas: 2
  selector: {matchLabels: {app: boom}}
  template:
    metadata: {labels: {app: boom}}
    spec:
      containers: [{name: boom, image: boom:1.0}]
`

// stdinYAML is read as standard input: an object with no file to point at.
const stdinYAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: piped
  labels: {team: infra, owner: carol}
spec:
  replicas: 1
  selector: {matchLabels: {app: piped}}
  template:
    metadata: {labels: {app: piped}}
    spec:
      containers: [{name: piped, image: piped:1.0}]
`

const configYAML = `exemptions:
- checks: [demo-labels]
  namespaces: [legacy-*]
  labels: {tier: batch}
  reason: batch jobs are labelled by the scheduler
  expires: "2025-06-30"
`

// testChecks are fake checks with known outcomes: failures (one with two
// findings on one object), a skip by applicability, an exemption by
// annotation, an error from a panic, and a check that manifests cannot
// assess.
func testChecks() []*check.Check {
	return []*check.Check{
		{
			ID: "demo-replicas", Title: "Deployments run more than one replica", Layer: check.Workloads,
			Severity: check.High, Kinds: []string{"Deployment"}, ChecklistItem: "workloads/replicas",
			Rationale:   "A single replica is a single point of failure: one node drain is an outage.",
			Remediation: "Set spec.replicas to 2 or more, or add a HorizontalPodAutoscaler with minReplicas of 2.",
			Run: func(o *inventory.Object, _ *check.Context) []check.Finding {
				d := o.Typed.(*appsv1.Deployment)
				if d.Spec.Replicas != nil && *d.Spec.Replicas < 2 {
					return []check.Finding{check.Failf("spec.replicas", "replicas is %d, want at least 2", *d.Spec.Replicas)}
				}
				return nil
			},
		},
		{
			ID: "demo-labels", Title: "Objects name their owner", Layer: check.Governance,
			Severity: check.Medium, Kinds: []string{"Deployment", "Service", "Namespace"}, ChecklistItem: "governance/ownership",
			Rationale:   "Cost reports and the on-call rota find an object's owner through its labels.",
			Remediation: "Set the team and owner labels.",
			Applies: func(o *inventory.Object, _ *check.Context) (bool, string) {
				if s, ok := o.Typed.(*corev1.Service); ok && len(s.Spec.Selector) == 0 {
					return false, "a Service without a selector runs nothing"
				}
				return true, ""
			},
			Run: func(o *inventory.Object, _ *check.Context) []check.Finding {
				var out []check.Finding
				for _, k := range []string{"team", "owner"} {
					if _, ok := o.Labels[k]; !ok {
						out = append(out, check.Failf("metadata.labels", "label %s is <none>; cost reports attribute this %s to nobody and the on-call rota cannot tell who owns it", k, o.Kind))
					}
				}
				return out
			},
		},
		{
			ID: "demo-panics", Title: "A check with a bug", Layer: check.Security,
			Severity: check.Low, Kinds: []string{"Deployment"}, ChecklistItem: "security/demo",
			Rationale:   "Tests what happens when a check panics.",
			Remediation: "Nothing to do.",
			Run: func(o *inventory.Object, _ *check.Context) []check.Finding {
				if o.Name == "boom" {
					panic("index out of range")
				}
				return nil
			},
		},
		{
			ID: "demo-nodes", Title: "Nodes spread over zones", Layer: check.Infrastructure,
			Severity: check.Critical, Kinds: []string{"Node"}, ChecklistItem: "infrastructure/zones",
			Requires:    check.Cluster,
			Rationale:   "A zone outage takes down every node in it.",
			Remediation: "Run nodes in three zones.",
			Run:         func(*inventory.Object, *check.Context) []check.Finding { return nil },
		},
	}
}

var testInput = Input{
	Tool:    "plimsoll",
	Version: "0.0.0-test",
	Sources: []string{"app.yaml", "-"},
	Errors:  []InputError{{File: "broken.yaml", Line: 7, Message: "did not find expected key"}},
	Skipped: []string{"charts/db: a Helm chart; render it with --helm charts/db"},
}

// testAudit audits the fixtures above with workers goroutines.
func testAudit(t *testing.T, workers int) *audit.Audit {
	t.Helper()
	reg, err := check.NewRegistry(testChecks())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Decode(strings.NewReader(configYAML), reg)
	if err != nil {
		t.Fatal(err)
	}
	app := manifest.Parse("app.yaml", []byte(appYAML), inventory.Source{File: "app.yaml"})
	stdin := manifest.Parse("-", []byte(stdinYAML), inventory.Source{File: "-"})
	for _, e := range append(app.Errors, stdin.Errors...) {
		t.Fatalf("fixture: %v", e)
	}
	inv := platform.Inventory(inventory.FromManifests, append(app.Objects, stdin.Objects...))
	return audit.Run(inv, audit.Options{
		Registry: reg,
		Config:   cfg,
		Now:      time.Date(2026, 1, 2, 9, 30, 15, 0, time.UTC),
		Workers:  workers,
	})
}

func render(t *testing.T, r *Report, format string, opts Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, format, r, opts); err != nil {
		t.Fatalf("write %s: %v", format, err)
	}
	return buf.Bytes()
}

var goldens = []struct {
	format string
	opts   Options
	file   string
}{
	{"text", Options{}, "report.txt"},
	{"text", Options{Color: true}, "report-color.txt"},
	{"json", Options{}, "report.json"},
	{"yaml", Options{}, "report.yaml"},
	{"sarif", Options{}, "report.sarif"},
	{"junit", Options{}, "report.junit.xml"},
	{"markdown", Options{}, "report.md"},
	{"html", Options{}, "report.html"},
	{"github", Options{}, "report.github.txt"},
}

func TestGolden(t *testing.T) {
	r := Build(testAudit(t, 1), testInput)
	for _, g := range goldens {
		t.Run(g.file, func(t *testing.T) {
			golden.Check(t, filepath.Join("testdata", g.file+".golden"), render(t, r, g.format, g.opts), *update)
		})
	}
}

// TestFixtureOutcomes guards the golden files: the fixtures give the
// outcomes they were written for.
func TestFixtureOutcomes(t *testing.T) {
	r := Build(testAudit(t, 1), testInput)
	got := r.Summary
	want := Summary{
		Objects: 8, Pass: 10, Fail: 7, Skip: 2, Error: 1, Exempted: 1,
		Failures: SeverityCounts{High: 2, Medium: 5},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if !r.Partial || len(r.ExpiredExemptions) != 1 || r.Score.Coverage.Assessed != 3 {
		t.Errorf("got partial %v, %d expired exemptions, %d checks assessed; want true, 1, 3",
			r.Partial, len(r.ExpiredExemptions), r.Score.Coverage.Assessed)
	}
}

// TestDeterministic builds the report twice, with different parallelism,
// and wants the same bytes in every format.
func TestDeterministic(t *testing.T) {
	a := Build(testAudit(t, 1), testInput)
	b := Build(testAudit(t, 4), testInput)
	for _, f := range Formats() {
		for _, color := range []bool{false, true} {
			x, y := render(t, a, f, Options{Color: color}), render(t, b, f, Options{Color: color})
			if !bytes.Equal(x, y) {
				t.Errorf("%s (colour %v): two builds differ:\n%s", f, color, cmp.Diff(string(x), string(y)))
			}
		}
	}
}

// TestJSONRoundTrip checks the promise that writers need only the Report:
// a report read back from JSON renders the same in every format.
func TestJSONRoundTrip(t *testing.T) {
	r := Build(testAudit(t, 1), testInput)
	var back Report
	if err := json.Unmarshal(render(t, r, "json", Options{}), &back); err != nil {
		t.Fatal(err)
	}
	for _, f := range Formats() {
		if diff := cmp.Diff(string(render(t, r, f, Options{})), string(render(t, &back, f, Options{}))); diff != "" {
			t.Errorf("%s: report read back from JSON renders differently (-built +read):\n%s", f, diff)
		}
	}
}

func TestSARIFSchema(t *testing.T) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	f, err := os.Open(filepath.Join("testdata", "sarif-schema-2.1.0.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	const url = "https://plimsoll.dev/test/sarif-schema-2.1.0.json"
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile(url)
	if err != nil {
		t.Fatal(err)
	}

	for name, r := range map[string]*Report{
		"partial": Build(testAudit(t, 1), testInput),
		"clean":   Build(testAudit(t, 1), Input{Tool: "plimsoll"}),
	} {
		out := render(t, r, "sarif", Options{})
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(inst); err != nil {
			t.Errorf("%s: SARIF output is not valid SARIF 2.1.0: %v", name, err)
		}
	}
}

func TestSARIFContent(t *testing.T) {
	r := Build(testAudit(t, 1), testInput)
	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct{ Rules []struct{ ID string } }
			}
			Invocations []struct {
				ExecutionSuccessful        bool
				ToolExecutionNotifications []struct{ Level string }
			}
			Results []struct {
				RuleID    string
				Level     string
				Locations []struct {
					PhysicalLocation *struct {
						ArtifactLocation struct{ URI string }
						Region           *struct{ StartLine int }
					}
				}
			}
		}
	}
	if err := json.Unmarshal(render(t, r, "sarif", Options{}), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	if got, want := len(run.Tool.Driver.Rules), len(r.Checks); got != want {
		t.Errorf("got %d rules, want %d (every enabled check)", got, want)
	}
	if got, want := len(run.Results), r.Summary.Fail; got != want {
		t.Errorf("got %d results, want %d (the failures)", got, want)
	}
	inv := run.Invocations[0]
	if inv.ExecutionSuccessful {
		t.Errorf("got executionSuccessful true for a partial run, want false")
	}
	// One input error, one check error, one skipped input.
	if got := len(inv.ToolExecutionNotifications); got != 3 {
		t.Errorf("got %d notifications, want 3", got)
	}
	// Standard input has no file to point at, and neither has the
	// Namespace staging, which no input declares.
	var unlocated, located int
	for _, res := range run.Results {
		if res.Level != sarifLevel(r.check(res.RuleID).Severity) {
			t.Errorf("%s: got level %s for severity %s", res.RuleID, res.Level, r.check(res.RuleID).Severity)
		}
		switch p := res.Locations[0].PhysicalLocation; {
		case p == nil:
			unlocated++
		case p.ArtifactLocation.URI == "app.yaml" && p.Region != nil && p.Region.StartLine > 0:
			located++
		default:
			t.Errorf("%s: unexpected physical location %+v", res.RuleID, *p)
		}
	}
	if unlocated != 3 || located != len(run.Results)-3 {
		t.Errorf("got %d results without a file (from stdin and on the implied Namespace) and %d located in app.yaml, want 3 and %d", unlocated, located, len(run.Results)-3)
	}
}

func TestSARIFURI(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"app.yaml", "app.yaml"},
		{"deploy/my app.yaml", "deploy/my%20app.yaml"},
		{"/srv/app.yaml", "file:///srv/app.yaml"},
		{"chart/templates/a#b.yaml", "chart/templates/a%23b.yaml"},
	} {
		if got := sarifURI(tc.file); got != tc.want {
			t.Errorf("sarifURI(%q): got %q, want %q", tc.file, got, tc.want)
		}
	}
}

func TestJUnit(t *testing.T) {
	r := Build(testAudit(t, 1), testInput)
	var got junitSuites
	if err := xml.Unmarshal(render(t, r, "junit", Options{}), &got); err != nil {
		t.Fatalf("JUnit output does not parse: %v", err)
	}
	var tests, failures, errors, skipped int
	for _, s := range got.Suites {
		var sf, se, ss int
		for _, c := range s.Cases {
			switch {
			case c.Failure != nil:
				sf++
			case c.Error != nil:
				se++
			case c.Skipped != nil:
				ss++
			}
		}
		if s.Tests != len(s.Cases) || s.Failures != sf || s.Errors != se || s.Skipped != ss {
			t.Errorf("suite %s: got totals %d/%d/%d/%d, want %d/%d/%d/%d (tests/failures/errors/skipped)",
				s.Name, s.Tests, s.Failures, s.Errors, s.Skipped, len(s.Cases), sf, se, ss)
		}
		tests, failures, errors, skipped = tests+s.Tests, failures+s.Failures, errors+s.Errors, skipped+s.Skipped
	}
	if got.Tests != tests || got.Failures != failures || got.Errors != errors || got.Skipped != skipped {
		t.Errorf("testsuites: got totals %d/%d/%d/%d, want the suites' sum %d/%d/%d/%d",
			got.Tests, got.Failures, got.Errors, got.Skipped, tests, failures, errors, skipped)
	}

	// Failures count objects, as the checks' tallies do, plus the verdict
	// when it is not-ready; errors are the check error plus the input
	// error; skips are the skipped results plus the check that could not be
	// assessed, plus the verdict when it is incomplete.
	if got.Suites[0].Name != "verdict" {
		t.Errorf("got first suite %q, want the verdict", got.Suites[0].Name)
	}
	var wantFail, wantErr, wantSkip int
	switch r.Score.Verdict.Status {
	case "not-ready":
		wantFail++
	case "incomplete":
		wantSkip++
	}
	for _, c := range r.Checks {
		wantFail += c.Fail
		wantErr += c.Error
		wantSkip += c.Skip
		if !c.Assessed {
			wantSkip++
		}
	}
	wantErr += len(r.InputErrors)
	if failures != wantFail || errors != wantErr || skipped != wantSkip {
		t.Errorf("got %d failures, %d errors, %d skipped; want %d, %d, %d", failures, errors, skipped, wantFail, wantErr, wantSkip)
	}
}

func TestMarkdownCap(t *testing.T) {
	r := Build(testAudit(t, 1), Input{Tool: "plimsoll"})
	fail := r.Results[0]
	for i := range r.Results {
		if r.Results[i].Status == "fail" {
			fail = r.Results[i]
			break
		}
	}
	r.Summary.Fail = maxMarkdownRows + 7
	r.Results = nil
	for i := 0; i < r.Summary.Fail; i++ {
		f := fail
		f.Object.Name = fmt.Sprintf("web-%03d", i)
		r.Results = append(r.Results, f)
	}
	out := string(render(t, r, "markdown", Options{}))
	if got := strings.Count(out, "| "+fail.Severity+" |"); got != maxMarkdownRows {
		t.Errorf("got %d failure rows, want %d", got, maxMarkdownRows)
	}
	if !strings.Contains(out, "_and 7 more_") {
		t.Errorf("got no \"and 7 more\" line in:\n%s", out)
	}
}

// The text report fits the terminal's width (80 columns when it is not
// known), and its last line sums it up; --quiet is that line alone.
func TestTextWidth(t *testing.T) {
	r := Build(testAudit(t, 1), testInput)
	for _, width := range []int{0, 80, 120} {
		out := render(t, r, "text", Options{Width: width})
		want := width
		if want == 0 {
			want = DefaultWidth
		}
		for i, line := range strings.Split(string(out), "\n") {
			if len(line) > want {
				t.Errorf("width %d: line %d is %d columns, want at most %d: %q", width, i+1, len(line), want, line)
			}
		}
		if want != DefaultWidth { // report.txt.golden is the default's
			golden.Check(t, filepath.Join("testdata", fmt.Sprintf("report-%d.txt.golden", want)), out, *update)
		}
	}
	quiet := render(t, r, "text", Options{Quiet: true, Gate: "failed: score 33.3 is below 80.0 (--min-score)"})
	golden.Check(t, filepath.Join("testdata", "report-quiet.txt.golden"), quiet, *update)
	if lines := strings.Count(string(quiet), "\n"); lines > 3 {
		t.Errorf("--quiet wrote %d lines, want the gates and the summary:\n%s", lines, quiet)
	}
}

func TestFormats(t *testing.T) {
	want := []string{"text", "json", "yaml", "sarif", "junit", "markdown", "html", "github"}
	if diff := cmp.Diff(want, Formats()); diff != "" {
		t.Errorf("formats (-want +got):\n%s", diff)
	}
	if err := Write(&bytes.Buffer{}, "pdf", &Report{}, Options{}); err == nil {
		t.Errorf("got no error for an unknown format, want one")
	}
}

func TestClusterNamedInTextAndJSON(t *testing.T) {
	in := Input{Version: "v1", Sources: []string{"cluster prod"}, Cluster: &Cluster{Server: "https://10.1.2.3:6443", Version: "v1.36.3", Context: "prod", Namespace: "shop", Nodes: 6, Zones: []string{"a", "b", "c"}}}
	r := Build(testAudit(t, 1), in)
	text := string(render(t, r, "text", Options{}))
	if !strings.Contains(text, "API server https://10.1.2.3:6443, Kubernetes v1.36.3, 6 nodes in 3 zones, namespace shop") {
		t.Errorf("text report does not name the cluster:\n%s", text[:min(len(text), 400)])
	}
	var back Report
	if err := json.Unmarshal(render(t, r, "json", Options{}), &back); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(in.Cluster, back.Cluster); d != "" {
		t.Errorf("JSON cluster (-want +got):\n%s", d)
	}
}

// TestJSONManyResults writes more results than one encoding chunk holds:
// read back, they are all there, in order, one per line.
func TestJSONManyResults(t *testing.T) {
	r := Build(testAudit(t, 1), testInput)
	base := r.Results[0]
	r.Results = nil
	for i := range 2000 {
		res := base
		res.Message = fmt.Sprintf("finding %d", i)
		r.Results = append(r.Results, res)
	}
	out := render(t, r, "json", Options{})
	var back Report
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r.Results, back.Results); diff != "" {
		t.Errorf("results read back (-written +read):\n%s", diff)
	}
	if got := bytes.Count(out, []byte(`{"check":`)); got != 2000 || bytes.Count(out, []byte("\n    {\"check\":")) != 2000 {
		t.Errorf("got %d results, want 2000, each on a line of its own", got)
	}
}

// A workflow command ends at the end of its line: a message or a file name
// with a newline, a colon or a comma is escaped as the runner unescapes it,
// and cannot start a command of its own.
func TestGitHubEscapes(t *testing.T) {
	got := githubCommand("error", "a,b:c.yaml", 3, "t: x, y", "line one\n::error::injected 100%")
	want := "::error file=a%2Cb%3Ac.yaml,line=3,title=t%3A x%2C y::line one%0A::error::injected 100%25\n"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if strings.Count(got, "\n") != 1 {
		t.Errorf("the command spans more than one line: %q", got)
	}
}
