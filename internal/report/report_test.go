package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
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
	{"sarif", sarifOptions, "report.sarif"},
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

	for _, tc := range []struct {
		name string
		r    *Report
		opts Options
	}{
		{"partial", Build(testAudit(t, 1), testInput), Options{}},
		{"partial, under a root", Build(testAudit(t, 1), testInput), sarifOptions},
		{"clean", Build(testAudit(t, 1), Input{Tool: "plimsoll"}), Options{}},
	} {
		out := render(t, tc.r, "sarif", tc.opts)
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(inst); err != nil {
			t.Errorf("%s: SARIF output is not valid SARIF 2.1.0: %v", tc.name, err)
		}
	}
}

// sarifOptions are the options of the sarif golden: a repository at
// /srv/repo, audited from its deploy/ folder.
var sarifOptions = Options{SARIFRoot: filepath.FromSlash("/srv/repo"), Dir: filepath.FromSlash("/srv/repo/deploy")}

func TestSARIFContent(t *testing.T) {
	r := Build(testAudit(t, 1), testInput)
	run := decodeSARIF(t, render(t, r, "sarif", sarifOptions)).Runs[0]
	if got, want := len(run.Tool.Driver.Rules), len(r.Checks); got != want {
		t.Errorf("got %d rules, want %d (every enabled check)", got, want)
	}
	if got, want := len(run.Results), r.Summary.Fail+r.Summary.Exempted; got != want {
		t.Errorf("got %d results, want %d (the failures and the exempted)", got, want)
	}
	inv := run.Invocations[0]
	if inv.ExecutionSuccessful {
		t.Errorf("got executionSuccessful true for a partial run, want false")
	}
	// One check error, one input error, one skipped input.
	var notes []string
	for _, n := range inv.ToolExecutionNotifications {
		where := ""
		if len(n.Locations) > 0 {
			where = " at " + n.Locations[0].PhysicalLocation.ArtifactLocation.URI
		}
		notes = append(notes, n.Level+where+": "+n.Message.Text)
	}
	wantNotes := []string{
		"error at deploy/app.yaml: check demo-panics on Deployment staging/boom: check failed: index out of range",
		"error at deploy/broken.yaml: input could not be read: did not find expected key",
		"note: input not read: charts/db: a Helm chart; render it with --helm charts/db",
	}
	if diff := cmp.Diff(wantNotes, notes); diff != "" {
		t.Errorf("notifications (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]sarifArtifact{"ROOT": {URI: "file:///srv/repo/"}}, run.OriginalURIBaseIDs); diff != "" {
		t.Errorf("originalUriBaseIds (-want +got):\n%s", diff)
	}

	// Each result is at its object's file and line under the root, or,
	// for an object no file holds (standard input, the Namespace staging
	// that no input declares), at a path that names it; every result names
	// its object, has the level of its severity, and its fingerprint. The
	// failures come first, most severe first and otherwise in the report's
	// order, then the exempted, suppressed with the reason.
	var got []string
	for _, res := range run.Results {
		if len(res.Locations) != 1 {
			t.Fatalf("%s: got %d locations, want 1", res.RuleID, len(res.Locations))
		}
		l := res.Locations[0]
		p := l.PhysicalLocation
		where := p.ArtifactLocation.URI
		if b := p.ArtifactLocation.URIBaseID; b != "" {
			where = b + ":" + where
		}
		if p.Region != nil {
			where += fmt.Sprintf(":%d", p.Region.StartLine)
		}
		got = append(got, res.RuleID+" "+l.LogicalLocations[0].FullyQualifiedName+" "+where)
		if res.Level != sarifLevel(r.check(res.RuleID).Severity) {
			t.Errorf("%s: got level %s for severity %s", res.RuleID, res.Level, r.check(res.RuleID).Severity)
		}
		if fp := res.PartialFingerprints["plimsoll/v1"]; !strings.HasPrefix(fp, "1:") || len(fp) != 34 {
			t.Errorf("%s: got fingerprint %q, want 1: and 32 hex digits", res.RuleID, fp)
		}
		for _, sup := range res.Suppressions {
			got[len(got)-1] += fmt.Sprintf(", suppressed %s %s: %s", sup.Kind, sup.Status, sup.Justification)
		}
	}
	want := []string{
		"demo-replicas Deployment piped stdin/Deployment/piped",
		"demo-replicas Deployment prod/web ROOT:deploy/app.yaml:7",
		"demo-labels Namespace staging undeclared/Namespace/staging",
		"demo-labels Namespace staging undeclared/Namespace/staging",
		"demo-labels Deployment prod/legacy ROOT:deploy/app.yaml:34",
		"demo-labels Deployment prod/web ROOT:deploy/app.yaml:7",
		"demo-labels Deployment prod/web ROOT:deploy/app.yaml:7",
		"demo-replicas Deployment prod/legacy ROOT:deploy/app.yaml:34, suppressed inSource accepted: retired next quarter, one replica is enough until then",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	exempted := run.Results[len(run.Results)-1]
	if got, want := exempted.Message.Text, "Deployment prod/legacy: exempted by annotation plimsoll.dev/ignore: retired next quarter, one replica is enough until then"; got != want {
		t.Errorf("exempted: got message %q, want %q", got, want)
	}
	// Its fingerprint is that of the check's finding on the object at no
	// field, and no failure's.
	legacy := Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "prod", Name: "legacy"}
	if got, want := exempted.PartialFingerprints["plimsoll/v1"], fingerprint("demo-replicas", legacy, ""); got != want {
		t.Errorf("exempted: got fingerprint %q, want %q", got, want)
	}
	for _, res := range run.Results[:len(run.Results)-1] {
		if res.PartialFingerprints["plimsoll/v1"] == exempted.PartialFingerprints["plimsoll/v1"] {
			t.Errorf("%s on %s has the exempted result's fingerprint", res.RuleID, res.Properties.Object)
		}
	}
}

// Code scanning rejects a run of more than 25,000 results: the log holds
// that many, the failures most severe first, then the exempted results,
// and a warning says how many were left out and where they all are.
func TestSARIFCap(t *testing.T) {
	r := Build(testAudit(t, 1), testInput)
	var fail, exempted Result
	for _, res := range r.Results {
		switch {
		case res.Status == "fail":
			fail = res
		case res.Exempted:
			exempted = res
		}
	}
	r.Results = nil
	add := func(n int, res Result, severity string) {
		res.Severity = severity
		for range n {
			r.Results = append(r.Results, res)
		}
	}
	// Low failures first in the report, so that the most severe are
	// kept by their severity, not their place.
	add(MaxSARIFResults-3, fail, "low")
	add(4, exempted, "high")
	add(3, fail, "medium")
	add(2, fail, "critical")

	// Only what the test reads is decoded: 25,000 results are a lot.
	type capRun struct {
		Invocations []sarifInvocation
		Results     []struct {
			RuleID       string
			Properties   struct{ Object, Severity string }
			Suppressions []sarifSuppression
		}
	}
	decode := func() capRun {
		var log struct{ Runs []capRun }
		if err := json.Unmarshal(render(t, r, "sarif", Options{}), &log); err != nil {
			t.Fatal(err)
		}
		return log.Runs[0]
	}
	run := decode()
	if got := len(run.Results); got != MaxSARIFResults {
		t.Fatalf("got %d results, want %d", got, MaxSARIFResults)
	}
	for i, res := range run.Results {
		want := "low"
		switch {
		case i < 2:
			want = "critical"
		case i < 5:
			want = "medium"
		}
		if got := res.Properties.Severity; got != want || len(res.Suppressions) > 0 {
			t.Fatalf("result %d: got a %s failure (suppressed: %v), want %s: the two critical, the three medium, then low, and no exempted", i, got, res.Suppressions, want)
		}
	}
	notes := run.Invocations[0].ToolExecutionNotifications
	last := notes[len(notes)-1]
	want := "6 results left out: code scanning takes at most 25000 in a run, so the log holds the failures, most severe first, then the exempted results; " +
		"left out are 2 of the 25002 failures and 4 of the 4 exempted results. The JSON report (plimsoll audit -o json) lists them all."
	if last.Level != "warning" || last.Message.Text != want {
		t.Errorf("got last notification %s %q, want warning %q", last.Level, last.Message.Text, want)
	}

	// As many as the cap: all of them, the exempted last, and no warning.
	r.Results = r.Results[:MaxSARIFResults] // the low failures and three exempted
	run = decode()
	if got := len(run.Results); got != MaxSARIFResults {
		t.Fatalf("at the cap: got %d results, want %d", got, MaxSARIFResults)
	}
	for _, res := range run.Results[MaxSARIFResults-3:] {
		if len(res.Suppressions) != 1 {
			t.Errorf("at the cap: got %s %s last, want the exempted", res.RuleID, res.Properties.Object)
		}
	}
	for _, n := range run.Invocations[0].ToolExecutionNotifications {
		if strings.Contains(n.Message.Text, "left out") {
			t.Errorf("at the cap: got notification %q", n.Message.Text)
		}
	}
}

// An exemption is a suppression: an annotation's is in the source, the
// configuration's external; both accepted, justified by the reason given
// (and the configuration's expiry).
func TestSARIFSuppression(t *testing.T) {
	for msg, want := range map[string]sarifSuppression{
		"exempted by annotation plimsoll.dev/ignore: retired next quarter":                                    {"inSource", "accepted", "retired next quarter"},
		"exempted by annotation plimsoll.dev/ignore: no reason given (plimsoll.dev/ignore-reason is not set)": {"inSource", "accepted", "no reason given (plimsoll.dev/ignore-reason is not set)"},
		"exempted by configuration: scheduled for deletion (until 2099-12-31)":                                {"external", "accepted", "scheduled for deletion (until 2099-12-31)"},
		"exempted by configuration: waiting for the platform team":                                            {"external", "accepted", "waiting for the platform team"},
	} {
		if got := suppressionOf(Result{Status: "skip", Exempted: true, Message: msg}); got != want {
			t.Errorf("%q: got %+v, want %+v", msg, got, want)
		}
	}
}

// A file is named relative to the root when it is under it, with the
// uriBaseId ROOT, and by an absolute file URI when it is not; without a
// root, as the report names it. An object no file holds is named by where
// it came from, its kind, namespace and name.
func TestSARIFLocations(t *testing.T) {
	root := filepath.FromSlash("/srv/repo")
	for _, tc := range []struct {
		root, dir, file string
		want            sarifArtifact
	}{
		{root, root, "app.yaml", sarifArtifact{URI: "app.yaml", URIBaseID: "ROOT"}},
		{root, "", "k8s/app.yaml", sarifArtifact{URI: "k8s/app.yaml", URIBaseID: "ROOT"}},
		{root, filepath.FromSlash("/srv/repo/deploy"), "../charts/web/templates/a b.yaml", sarifArtifact{URI: "charts/web/templates/a%20b.yaml", URIBaseID: "ROOT"}},
		{root, root, filepath.FromSlash("/srv/repo/k8s/app.yaml"), sarifArtifact{URI: "k8s/app.yaml", URIBaseID: "ROOT"}},
		{root, root, "../other/app.yaml", sarifArtifact{URI: "file:///srv/other/app.yaml"}},
		{root, root, filepath.FromSlash("/srv/repository/app.yaml"), sarifArtifact{URI: "file:///srv/repository/app.yaml"}},
		{root, filepath.FromSlash("/tmp"), "app.yaml", sarifArtifact{URI: "file:///tmp/app.yaml"}},
		{"", "", "k8s/app.yaml", sarifArtifact{URI: "k8s/app.yaml"}},
	} {
		l := newSARIFLocator(Options{SARIFRoot: tc.root, Dir: tc.dir})
		if got := l.artifact(tc.file); got != tc.want {
			t.Errorf("root %q, dir %q: artifact(%q): got %+v, want %+v", tc.root, tc.dir, tc.file, got, tc.want)
		}
	}

	for _, tc := range []struct {
		object Object
		source Source
		want   string
	}{
		{Object{Kind: "Deployment", Namespace: "shop", Name: "web"}, Source{File: "-", Line: 3}, "stdin/Deployment/shop/web"},
		{Object{Kind: "ClusterRole", Name: "system:aggregate-to-view"}, Source{Origin: "cluster"}, "cluster/ClusterRole/system:aggregate-to-view"},
		{Object{Kind: "Pod", Namespace: "shop", Name: "web-0"}, Source{Origin: "snapshot prod.json.gz"}, "cluster/Pod/shop/web-0"},
		{Object{Kind: "Namespace", Name: "shop"}, Source{Origin: "helm chart ./chart"}, "undeclared/Namespace/shop"},
	} {
		loc := newSARIFLocator(Options{SARIFRoot: root}).object(Result{Object: &tc.object, Source: &tc.source})
		if got := loc.PhysicalLocation.ArtifactLocation; got != (sarifArtifact{URI: tc.want}) || loc.PhysicalLocation.Region != nil {
			t.Errorf("%s from %+v: got %+v, region %v; want %s and no region", tc.object.ID(), tc.source, got, loc.PhysicalLocation.Region, tc.want)
		}
		if l := loc.LogicalLocations; len(l) != 1 || l[0].FullyQualifiedName != tc.object.ID() || l[0].Name != tc.object.Name {
			t.Errorf("%s: got logical locations %+v, want one naming the object", tc.object.ID(), l)
		}
	}
}

// Every rule carries what code scanning ranks, filters and links an alert
// by: a security-severity in the band of the check's severity in force, the
// layer and the checklist item's category as tags, the check's section of
// docs/checks.md, and help that says why, how to fix it and which item.
func TestSARIFRules(t *testing.T) {
	r := Build(testAudit(t, 1), testInput)
	log := decodeSARIF(t, render(t, r, "sarif", Options{}))
	driver := log.Runs[0].Tool.Driver
	if driver.Name != "plimsoll" || driver.Version != "0.0.0-test" || driver.SemanticVersion != "0.0.0-test" {
		t.Errorf("got driver %q version %q semanticVersion %q, want plimsoll 0.0.0-test 0.0.0-test", driver.Name, driver.Version, driver.SemanticVersion)
	}
	// GitHub's bands: critical from 9.0, high from 7.0, medium from 4.0,
	// low from 0.1.
	bands := map[string][2]float64{"critical": {9.0, 10.0}, "high": {7.0, 8.9}, "medium": {4.0, 6.9}, "low": {0.1, 3.9}}
	if got, want := len(driver.Rules), len(r.Checks); got != want {
		t.Fatalf("got %d rules, want %d (every enabled check)", got, want)
	}
	for i, rule := range driver.Rules {
		c := r.Checks[i]
		if rule.ID != c.ID || rule.ShortDescription.Text != c.Title || rule.FullDescription.Text != c.Rationale {
			t.Errorf("rule %d: got %s %q %q, want %s %q %q", i, rule.ID, rule.ShortDescription.Text, rule.FullDescription.Text, c.ID, c.Title, c.Rationale)
		}
		if want := "https://github.com/plimsoll/plimsoll/blob/main/docs/checks.md#" + c.ID; rule.HelpURI != want {
			t.Errorf("%s: got helpUri %q, want %q", c.ID, rule.HelpURI, want)
		}
		for _, part := range []string{c.Rationale, c.Remediation, c.ChecklistItem} {
			if !strings.Contains(rule.Help.Text, part) || !strings.Contains(rule.Help.Markdown, part) {
				t.Errorf("%s: help does not say %q:\ntext: %s\nmarkdown: %s", c.ID, part, rule.Help.Text, rule.Help.Markdown)
			}
		}
		if !strings.Contains(rule.Help.Markdown, "]("+rule.HelpURI+")") {
			t.Errorf("%s: the help's markdown does not link to %s: %s", c.ID, rule.HelpURI, rule.Help.Markdown)
		}
		p := rule.Properties
		if p.Layer != c.Layer || p.Severity != c.Severity || p.ChecklistItem != c.ChecklistItem || rule.DefaultConfiguration.Level != sarifLevel(c.Severity) {
			t.Errorf("%s: got properties %+v and level %s, want the check's layer, severity %s, item and level", c.ID, p, rule.DefaultConfiguration.Level, c.Severity)
		}
		score, err := strconv.ParseFloat(p.SecuritySeverity, 64)
		if band := bands[c.Severity]; err != nil || score < band[0] || score > band[1] {
			t.Errorf("%s: got security-severity %q for %s, want a number in %v", c.ID, p.SecuritySeverity, c.Severity, band)
		}
		if diff := cmp.Diff([]string{c.Layer}, p.Tags); diff != "" { // the fixtures' items have no category
			t.Errorf("%s: tags (-want +got):\n%s", c.ID, diff)
		}
	}

	// The severity in force is the rule's, not the check's default.
	r.Checks[0].Severity = "critical"
	if got := decodeSARIF(t, render(t, r, "sarif", Options{})).Runs[0].Tool.Driver.Rules[0]; got.Properties.SecuritySeverity != "9.5" || got.DefaultConfiguration.Level != "error" {
		t.Errorf("a check configured critical: got security-severity %q, level %s; want 9.5, error", got.Properties.SecuritySeverity, got.DefaultConfiguration.Level)
	}
	r.Checks[0].Severity = "info"
	if got := decodeSARIF(t, render(t, r, "sarif", Options{})).Runs[0].Tool.Driver.Rules[0]; got.Properties.SecuritySeverity != "" || got.DefaultConfiguration.Level != "note" {
		t.Errorf("a check configured info: got security-severity %q, level %s; want none, note", got.Properties.SecuritySeverity, got.DefaultConfiguration.Level)
	}
}

// Tags name the layer, "security" for the security layer, and the heading
// of the checklist item, inside a checklist's summary where the item is
// one of its lines; a heading that is the layer is not said twice.
func TestSARIFRuleTags(t *testing.T) {
	for _, tc := range []struct {
		layer, item string
		want        []string
	}{
		{"infrastructure", checklist.HAControlPlane, []string{"infrastructure", "Highly available control plane"}},
		{"cluster-services", checklist.Backup, []string{"cluster-services", "Backup"}},
		{"security", checklist.DefenseInDepth, []string{"security"}},
		{"security", checklist.DefaultDeny, []string{"security", "NetworkPolicies"}},
		{"cluster-services", checklist.AlertReceivers, []string{"cluster-services", "kube-prometheus-stack"}},
		{"workloads", checklist.ImageProvenance, []string{"workloads", "Build Pipeline"}},
		{"workloads", "an item without a heading", []string{"workloads"}},
	} {
		if diff := cmp.Diff(tc.want, ruleTags(Check{Layer: tc.layer, ChecklistItem: tc.item})); diff != "" {
			t.Errorf("%s, %q: tags (-want +got):\n%s", tc.layer, tc.item, diff)
		}
	}
}

// The driver's semanticVersion is its version when that is one: code
// scanning reads it instead of version.
func TestSARIFSemanticVersion(t *testing.T) {
	for v, want := range map[string]string{
		"v1.2.3":                       "1.2.3",
		"v1.2.3 (commit 0123456789ab)": "1.2.3",
		"v0.0.0-20260102150405-0123456789ab (commit 0123456789ab-dirty)": "0.0.0-20260102150405-0123456789ab",
		"dev":                       "",
		"dev (commit 0123456789ab)": "",
		"":                          "",
		"1.2":                       "",
	} {
		if got := semanticVersion(v); got != want {
			t.Errorf("semanticVersion(%q): got %q, want %q", v, got, want)
		}
	}
}

// decodeSARIF reads a SARIF log the sarif writer wrote.
func decodeSARIF(t *testing.T, b []byte) sarifLog {
	t.Helper()
	var log sarifLog
	if err := json.Unmarshal(b, &log); err != nil {
		t.Fatalf("SARIF output does not parse: %v", err)
	}
	if len(log.Runs) != 1 {
		t.Fatalf("got %d runs, want 1", len(log.Runs))
	}
	return log
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
