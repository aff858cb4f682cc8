package audit

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/config"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/manifest"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// The fake checks read what to do from an annotation on the object, so each
// test states its scenario in the manifest itself:
//
//	test.plimsoll.dev/<check-id>: fail | fail2 | evidence | unassessable | panic | na
//
// fail gives one finding, fail2 two, evidence passes with a message,
// unassessable says the object cannot be judged, panic makes the check panic
// and na makes Applies say no. Without the annotation the check passes.
const behaviour = "test.plimsoll.dev/"

type spec struct {
	id       string
	layer    check.Layer
	sev      check.Severity
	kinds    []string
	requires check.Requirement
	optional bool
}

func fakeCheck(s spec) *check.Check {
	kinds := s.kinds
	if kinds == nil {
		kinds = []string{"Deployment"}
	}
	return &check.Check{
		ID: s.id, Title: "Fake " + s.id, Layer: s.layer, Severity: s.sev, Kinds: kinds,
		Rationale: "A fake check for engine tests.", Remediation: "Do what the test says.",
		ChecklistItem: "test", Requires: s.requires, Optional: s.optional,
		Applies: func(o *inventory.Object, _ *check.Context) (bool, string) {
			if o.Annotations[behaviour+s.id] == "na" {
				return false, "the test says so"
			}
			return true, ""
		},
		Run: func(o *inventory.Object, _ *check.Context) []check.Finding {
			switch o.Annotations[behaviour+s.id] {
			case "fail":
				return []check.Finding{check.Failf("spec.replicas", "%s fails on %s", s.id, o.Name)}
			case "fail2":
				return []check.Finding{
					check.Failf("spec.a", "%s first finding", s.id),
					check.Failf("spec.b", "%s second finding", s.id),
				}
			case "evidence":
				return []check.Finding{check.Passf("%s saw %s", s.id, o.Name)}
			case "unassessable":
				return []check.Finding{check.NotAssessedf("provider-managed"), check.Passf("ignored evidence")}
			case "panic":
				var m map[string]int
				m["boom"]++ // a nil map write: a genuine runtime panic
			}
			return nil
		},
	}
}

func registry(t *testing.T, specs ...spec) *check.Registry {
	t.Helper()
	var cs []*check.Check
	for _, s := range specs {
		cs = append(cs, fakeCheck(s))
	}
	reg, err := check.NewRegistry(cs)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func inv(t *testing.T, mode inventory.Mode, text string) *inventory.Inventory {
	t.Helper()
	res := manifest.Parse("test.yaml", []byte(text), inventory.Source{File: "test.yaml"})
	if len(res.Errors) > 0 {
		t.Fatalf("parse: %v", res.Errors)
	}
	return platform.Inventory(mode, res.Objects)
}

func cfg(t *testing.T, reg *check.Registry, text string) *config.Config {
	t.Helper()
	c, err := config.Decode(strings.NewReader(text), reg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// deployment writes a Deployment manifest with the given annotations.
func deployment(ns, name string, annotations ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\n", name)
	if ns != "" {
		fmt.Fprintf(&b, "  namespace: %s\n", ns)
	}
	if len(annotations) > 0 {
		b.WriteString("  annotations:\n")
		for i := 0; i < len(annotations); i += 2 {
			fmt.Fprintf(&b, "    %s: %q\n", annotations[i], annotations[i+1])
		}
	}
	b.WriteString("spec:\n  selector: {matchLabels: {app: x}}\n  template:\n    metadata: {labels: {app: x}}\n    spec:\n      containers: [{name: app, image: example/app:1.0}]\n")
	return b.String()
}

var now = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

// row is a result reduced to what a test compares.
type row struct {
	Object, Check, Status, Message string
	Exempted                       bool
}

func rows(a *Audit) []row {
	var out []row
	for _, r := range a.Results {
		out = append(out, row{r.Object.ID(), r.Check.ID, r.Status.String(), r.Message, r.Exempted})
	}
	return out
}

func TestResultsSortedByObjectThenCheck(t *testing.T) {
	// Registered and written out of order on purpose.
	reg := registry(t,
		spec{id: "zeta", layer: check.Workloads, sev: check.Low, kinds: []string{"Deployment", "StatefulSet"}},
		spec{id: "alpha", layer: check.Workloads, sev: check.Low, kinds: []string{"Deployment", "StatefulSet"}},
		spec{id: "mid", layer: check.Workloads, sev: check.Low, kinds: []string{"Deployment"}},
	)
	i := inv(t, inventory.FromManifests, deployment("b", "web")+deployment("a", "web")+`---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: a}
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: example/db:1.0}]
`+deployment("a", "api"))
	a := Run(i, Options{Registry: reg, Now: now})
	var got []string
	for _, r := range a.Results {
		got = append(got, r.Object.ID()+" "+r.Check.ID)
	}
	want := []string{
		"Deployment a/api alpha", "Deployment a/api mid", "Deployment a/api zeta",
		"Deployment a/web alpha", "Deployment a/web mid", "Deployment a/web zeta",
		"StatefulSet a/db alpha", "StatefulSet a/db zeta",
		"Deployment b/web alpha", "Deployment b/web mid", "Deployment b/web zeta",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("result order (-want +got):\n%s", diff)
	}
	var ids []string
	for _, st := range a.Checks {
		ids = append(ids, st.Check.ID)
	}
	if diff := cmp.Diff([]string{"alpha", "mid", "zeta"}, ids); diff != "" {
		t.Errorf("check order (-want +got):\n%s", diff)
	}
	// Two implied Namespaces (a, b) besides the four workloads.
	if a.Objects != 6 {
		t.Errorf("got Objects %d, want 6", a.Objects)
	}
}

func TestOutcomes(t *testing.T) {
	reg := registry(t,
		spec{id: "alpha", layer: check.Workloads, sev: check.High},
		spec{id: "boom", layer: check.Workloads, sev: check.High},
	)
	i := inv(t, inventory.FromManifests,
		deployment("shop", "a-panics", behaviour+"boom", "panic")+
			deployment("shop", "b-fine")+
			deployment("shop", "c-fails-twice", behaviour+"alpha", "fail2")+
			deployment("shop", "d-not-applicable", behaviour+"alpha", "na"))
	a := Run(i, Options{Registry: reg, Now: now})

	got := rows(a)
	// The panic message is the runtime's; check its prefix and drop it.
	for k := range got {
		if got[k].Status == "error" {
			if !strings.HasPrefix(got[k].Message, "check failed: ") || !strings.Contains(got[k].Message, "nil map") {
				t.Errorf("error result message: got %q, want the recovered panic after %q", got[k].Message, "check failed: ")
			}
			got[k].Message = "<panic>"
		}
	}
	want := []row{
		{"Deployment shop/a-panics", "alpha", "pass", "", false},
		{"Deployment shop/a-panics", "boom", "error", "<panic>", false},
		{"Deployment shop/b-fine", "alpha", "pass", "", false},
		{"Deployment shop/b-fine", "boom", "pass", "", false},
		{"Deployment shop/c-fails-twice", "alpha", "fail", "alpha first finding", false},
		{"Deployment shop/c-fails-twice", "alpha", "fail", "alpha second finding", false},
		{"Deployment shop/c-fails-twice", "boom", "pass", "", false},
		{"Deployment shop/d-not-applicable", "alpha", "skip", "not applicable: the test says so", false},
		{"Deployment shop/d-not-applicable", "boom", "pass", "", false},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	for _, r := range a.Results {
		if r.Status == Fail && r.Path == "" {
			t.Errorf("%s on %s: got a failure without a path, want the finding's path", r.Check.ID, r.Object.ID())
		}
	}

	// Two findings on one object count as one failed object.
	want2 := map[string][4]int{"alpha": {2, 1, 1, 0}, "boom": {3, 0, 0, 1}}
	for _, st := range a.Checks {
		got := [4]int{st.Pass, st.Fail, st.Skip, st.Error}
		if got != want2[st.Check.ID] {
			t.Errorf("%s counts pass/fail/skip/error: got %v, want %v", st.Check.ID, got, want2[st.Check.ID])
		}
	}
}

func TestConfigExemptions(t *testing.T) {
	reg := registry(t,
		spec{id: "alpha", layer: check.Workloads, sev: check.High},
		spec{id: "beta", layer: check.Workloads, sev: check.Medium},
	)
	c := cfg(t, reg, `
exemptions:
  - checks: [alpha]
    names: [legacy-*]
    reason: scheduled for deletion
    expires: "2099-12-31"
  - checks: [beta]
    namespaces: [shop]
    reason: waiting for the platform team
  - checks: [alpha, beta]
    names: [web]
    reason: the old deadline
    expires: "2026-06-14"
`)
	i := inv(t, inventory.FromManifests,
		deployment("shop", "legacy-api", behaviour+"alpha", "fail")+
			deployment("shop", "web", behaviour+"alpha", "fail")+
			deployment("other", "web", behaviour+"beta", "fail"))
	a := Run(i, Options{Registry: reg, Config: c, Now: now})
	want := []row{
		{"Deployment other/web", "alpha", "pass", "", false},
		// The expired exemption no longer covers other/web: beta applies again.
		{"Deployment other/web", "beta", "fail", "beta fails on web", false},
		{"Deployment shop/legacy-api", "alpha", "skip", "exempted by configuration: scheduled for deletion (until 2099-12-31)", true},
		{"Deployment shop/legacy-api", "beta", "skip", "exempted by configuration: waiting for the platform team", true},
		{"Deployment shop/web", "alpha", "fail", "alpha fails on web", false},
		{"Deployment shop/web", "beta", "skip", "exempted by configuration: waiting for the platform team", true},
	}
	if diff := cmp.Diff(want, rows(a)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if len(a.ExpiredExemptions) != 1 || a.ExpiredExemptions[0].Reason != "the old deadline" {
		t.Errorf("got expired exemptions %+v, want only the one that ended 2026-06-14", a.ExpiredExemptions)
	}

	// On its expiry day the exemption still applies.
	onTheDay := time.Date(2026, 6, 14, 18, 0, 0, 0, time.UTC)
	a = Run(i, Options{Registry: reg, Config: c, Now: onTheDay})
	if len(a.ExpiredExemptions) != 0 {
		t.Errorf("on the expiry day: got expired exemptions %+v, want none", a.ExpiredExemptions)
	}
	for _, r := range a.Results {
		if r.Object.Name == "web" && !r.Exempted {
			t.Errorf("on the expiry day: got %s on %s %s, want it exempted", r.Check.ID, r.Object.ID(), r.Status)
		}
	}
}

func TestAnnotationExemptions(t *testing.T) {
	reg := registry(t,
		spec{id: "alpha", layer: check.Workloads, sev: check.High},
		spec{id: "beta", layer: check.Workloads, sev: check.Medium},
		spec{id: "gamma", layer: check.Workloads, sev: check.Low},
	)
	i := inv(t, inventory.FromManifests,
		deployment("shop", "listed",
			IgnoreAnnotation, "alpha, beta", IgnoreReasonAnnotation, " vendor chart, fixed upstream in 2.0 ",
			behaviour+"alpha", "fail", behaviour+"gamma", "fail")+
			deployment("shop", "no-reason", IgnoreAnnotation, "gamma")+
			deployment("shop", "star", IgnoreAnnotation, "*", IgnoreReasonAnnotation, "load test"))
	const by = "exempted by annotation plimsoll.dev/ignore: "

	t.Run("honoured", func(t *testing.T) {
		a := Run(i, Options{Registry: reg, Now: now})
		want := []row{
			{"Deployment shop/listed", "alpha", "skip", by + "vendor chart, fixed upstream in 2.0", true},
			{"Deployment shop/listed", "beta", "skip", by + "vendor chart, fixed upstream in 2.0", true},
			{"Deployment shop/listed", "gamma", "fail", "gamma fails on listed", false},
			{"Deployment shop/no-reason", "alpha", "pass", "", false},
			{"Deployment shop/no-reason", "beta", "pass", "", false},
			{"Deployment shop/no-reason", "gamma", "skip", by + "no reason given (plimsoll.dev/ignore-reason is not set)", true},
			{"Deployment shop/star", "alpha", "skip", by + "load test", true},
			{"Deployment shop/star", "beta", "skip", by + "load test", true},
			{"Deployment shop/star", "gamma", "skip", by + "load test", true},
		}
		if diff := cmp.Diff(want, rows(a)); diff != "" {
			t.Errorf("results (-want +got):\n%s", diff)
		}
	})

	t.Run("switched off", func(t *testing.T) {
		a := Run(i, Options{Registry: reg, Now: now, NoAnnotationExemptions: true})
		for _, r := range a.Results {
			if r.Status == Skip {
				t.Errorf("%s on %s: got skip %q, want annotations ignored", r.Check.ID, r.Object.ID(), r.Message)
			}
		}
		if n := len(a.Results); n != 9 {
			t.Errorf("got %d results, want 9", n)
		}
	})
}

func TestClusterOnlyCheck(t *testing.T) {
	reg := registry(t,
		spec{id: "alpha", layer: check.Workloads, sev: check.High},
		spec{id: "live", layer: check.Workloads, sev: check.Critical, requires: check.Cluster, kinds: []string{"Deployment"}},
		spec{id: "sec", layer: check.Security, sev: check.Medium},
	)
	text := deployment("shop", "web", behaviour+"live", "fail")

	a := Run(inv(t, inventory.FromManifests, text), Options{Registry: reg, Now: now})
	for _, r := range a.Results {
		if r.Check.ID == "live" {
			t.Errorf("got a %s result for a cluster-only check in manifest mode, want none", r.Status)
		}
	}
	var live *CheckState
	for _, st := range a.Checks {
		if st.Check.ID == "live" {
			live = st
		}
	}
	if live == nil || live.Assessed || live.Reason != "needs a live cluster or a snapshot; manifests cannot show it" {
		t.Fatalf("got check state %+v, want live listed as not assessed, with the reason", live)
	}
	if n := len(a.Score.Coverage.NotAssessed); n != 1 || a.Score.Coverage.NotAssessed[0].Check.ID != "live" {
		t.Errorf("got %d not-assessed checks in coverage, want just live", n)
	}
	// The critical failure it would have found is not in the score: alpha
	// and sec pass.
	if a.Score.Overall == nil || *a.Score.Overall != 100 {
		t.Errorf("got overall score %v, want 100 (cluster-only check left out)", fmtScore(a.Score.Overall))
	}
	// Workloads: 1 of 2 assessed; security: 1 of 1; four layers with none.
	// (0 + 0 + 1 + 0.5 + 0 + 0) / 6 = 25%.
	if got := a.Score.Coverage.Percent; got != 25 {
		t.Errorf("got coverage %v%%, want 25%%", got)
	}
	if a.Score.Coverage.Checks != 3 || a.Score.Coverage.Assessed != 2 {
		t.Errorf("got coverage checks/assessed %d/%d, want 3/2", a.Score.Coverage.Checks, a.Score.Coverage.Assessed)
	}

	// From a cluster, the same check is assessed.
	a = Run(inv(t, inventory.FromCluster, text), Options{Registry: reg, Now: now})
	if len(a.Score.Coverage.NotAssessed) != 0 {
		t.Errorf("cluster mode: got not-assessed %d checks, want none", len(a.Score.Coverage.NotAssessed))
	}
	// The critical check fails in the workloads layer, beside a passing
	// high one: (6 + 0) / (6 + 10) = 37.5; security passes: 100. The
	// overall score is their mean, 68.75.
	if a.Score.Overall == nil || *a.Score.Overall != 68.7 {
		t.Errorf("cluster mode: got overall %s, want 68.7", fmtScore(a.Score.Overall))
	}

	// A kind the cluster refused to list makes every check that needs it
	// not assessed: here both check Deployments.
	why := "cannot list deployments.apps (forbidden)"
	a = Run(inv(t, inventory.FromCluster, text), Options{Registry: reg, Now: now, Unreadable: map[string]string{"Deployment": why, "Secret": "never read"}})
	if n := len(a.Score.Coverage.NotAssessed); n != 3 || a.Score.Coverage.NotAssessed[0].Reason != why {
		t.Errorf("got not-assessed %+v, want every check, with the refusal as reason", a.Score.Coverage.NotAssessed)
	}
	for _, r := range a.Results {
		t.Errorf("got result %s %s for a check that was not assessed", r.Check.ID, r.Status)
	}
}

func TestControlledObjectsJudgedThroughController(t *testing.T) {
	reg := registry(t, spec{id: "pods", layer: check.Workloads, sev: check.High, kinds: []string{"Pod"}})
	i := inv(t, inventory.FromManifests, `
apiVersion: v1
kind: Pod
metadata:
  name: web-7d4b9-x2k1p
  namespace: shop
  ownerReferences:
    - {apiVersion: apps/v1, kind: ReplicaSet, name: web-7d4b9, uid: "1", controller: true}
spec:
  containers: [{name: web, image: example/web:1.0}]
---
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: shop}
spec:
  containers: [{name: sh, image: example/debug:1.0}]
`)
	a := Run(i, Options{Registry: reg, Now: now})
	want := []row{{"Pod shop/debug", "pods", "pass", "", false}}
	if diff := cmp.Diff(want, rows(a)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}

func TestDisabledAndOptionalChecks(t *testing.T) {
	reg := registry(t,
		spec{id: "alpha", layer: check.Workloads, sev: check.High},
		spec{id: "beta", layer: check.Workloads, sev: check.High},
		spec{id: "extra", layer: check.Workloads, sev: check.Low, optional: true},
	)
	i := inv(t, inventory.FromManifests, deployment("shop", "web"))
	ids := func(a *Audit) (enabled, disabled []string) {
		for _, st := range a.Checks {
			enabled = append(enabled, st.Check.ID)
		}
		for _, c := range a.Disabled {
			disabled = append(disabled, c.ID)
		}
		return
	}

	en, dis := ids(Run(i, Options{Registry: reg, Now: now}))
	if !cmp.Equal(en, []string{"alpha", "beta"}) || !cmp.Equal(dis, []string{"extra"}) {
		t.Errorf("default: got enabled %v, disabled %v; want [alpha beta], [extra]", en, dis)
	}
	c := cfg(t, reg, "checks:\n  enable: [extra]\n  disable: [beta]\n  severity: {alpha: low}\n")
	a := Run(i, Options{Registry: reg, Config: c, Now: now})
	en, dis = ids(a)
	if !cmp.Equal(en, []string{"alpha", "extra"}) || !cmp.Equal(dis, []string{"beta"}) {
		t.Errorf("configured: got enabled %v, disabled %v; want [alpha extra], [beta]", en, dis)
	}
	for _, r := range a.Results {
		if r.Check.ID == "alpha" && r.Severity != check.Low {
			t.Errorf("got alpha result at severity %s, want the configured low", r.Severity)
		}
	}
}

func fmtScore(s *float64) string {
	if s == nil {
		return "nil"
	}
	return fmt.Sprint(*s)
}

func TestScores(t *testing.T) {
	reg := registry(t,
		spec{id: "high", layer: check.Workloads, sev: check.High},
		spec{id: "medium", layer: check.Workloads, sev: check.Medium},
		spec{id: "low", layer: check.Security, sev: check.Low},
		spec{id: "note", layer: check.Security, sev: check.Info},
		spec{id: "ns-label", layer: check.Governance, sev: check.Medium, kinds: []string{"Namespace"}},
		spec{id: "upgrade-only-jobs", layer: check.Upgrade, sev: check.High, kinds: []string{"Job"}},
	)
	i := inv(t, inventory.FromManifests,
		// a/web: high passes (6), medium fails (3), low passes (1), info
		// fails (0). Two findings from medium still count its weight once.
		deployment("a", "web", behaviour+"medium", "fail2", behaviour+"note", "fail")+
			// b/api: everything passes, but low is exempted and note skipped:
			// neither counts.
			deployment("b", "api", IgnoreAnnotation, "low", IgnoreReasonAnnotation, "test", behaviour+"note", "na")+
			// c/broken: high errors, which is left out of the score.
			deployment("c", "broken", behaviour+"high", "panic", behaviour+"medium", "fail"))
	a := Run(i, Options{Registry: reg, Now: now})
	s := a.Score

	// Weights: high 6, medium 3, low 1, info 0. Namespaces a, b, c are
	// implied and cluster-scoped, so ns-label judges three objects in "".
	// A check is met when none of the objects it assessed fails it:
	//
	// high:     a and b pass, c errors (left out): met
	// medium:   b passes, a and c fail: not met
	// low:      a and c pass, b exempted: met
	// note:     weighs nothing
	// ns-label: met
	// layers:   security 100, workloads 6/(6+3) = 66.6, governance 100
	// overall:  the mean of the three layers: 88.88 -> 88.8
	if got := fmtScore(s.Overall); got != "88.8" {
		t.Errorf("overall: got %s, want 88.8 (the mean of 100, 66.6 and 100, rounded down)", got)
	}

	type layer struct {
		Score            string
		Reason           string
		Checks, Assessed int
	}
	var gotLayers []layer
	for _, l := range s.Layers {
		gotLayers = append(gotLayers, layer{fmtScore(l.Score), l.Reason, l.Checks, l.Assessed})
	}
	wantLayers := []layer{
		{"nil", NotAssessedLayerReason, 0, 0}, // infrastructure
		{"nil", NotAssessedLayerReason, 0, 0}, // cluster-services
		// security: low 1/1 (a) + 1/1 (c); note weighs nothing.
		{"100", "", 2, 2},
		// workloads: high is met and weighs 6, medium is not and weighs 3
		{"66.6", "", 2, 2},
		{"100", "", 1, 1}, // governance
		{"nil", "nothing in the inputs for its checks to judge", 1, 1}, // upgrade: no Jobs
	}
	if diff := cmp.Diff(wantLayers, gotLayers); diff != "" {
		t.Errorf("layers (-want +got):\n%s", diff)
	}

	type nsScore struct {
		NS, Score      string
		Passed, Failed int
	}
	var gotNS []nsScore
	for _, n := range s.Namespaces {
		gotNS = append(gotNS, nsScore{n.Namespace, fmtScore(n.Score), n.Passed, n.Failed})
	}
	wantNS := []nsScore{
		// A Namespace's own results count in that namespace: each of a, b
		// and c also has its Namespace object's medium governance pass (3).
		// a: high, low, medium pass; medium, note fail: (6+1+3)/(6+3+1+3) = 76.9
		{"a", "76.9", 3, 2},
		// b: high, medium, medium pass: 12/12
		{"b", "100", 3, 0},
		// c: low, medium pass, medium fails, note passes: (1+3)/(1+3+3) = 57.1
		{"c", "57.1", 3, 1},
	}
	if diff := cmp.Diff(wantNS, gotNS); diff != "" {
		t.Errorf("namespaces (-want +got):\n%s", diff)
	}

	// Six layers, enabled checks assessed in four of them:
	// (0 + 0 + 1 + 1 + 1 + 1) / 6 = 66.66 -> 66.6
	if got := s.Coverage.Percent; got != 66.6 {
		t.Errorf("coverage: got %v, want 66.6", got)
	}
}

func TestScoreOneHighPassOneMediumFail(t *testing.T) {
	reg := registry(t,
		spec{id: "high", layer: check.Workloads, sev: check.High},
		spec{id: "medium", layer: check.Workloads, sev: check.Medium},
	)
	a := Run(inv(t, inventory.FromManifests, deployment("shop", "web", behaviour+"medium", "fail")), Options{Registry: reg, Now: now})
	// 6 / (6 + 3) = 66.66..., rounded down to one decimal.
	if got := fmtScore(a.Score.Overall); got != "66.6" {
		t.Errorf("got %s, want 66.6", got)
	}
}

func TestScoreWhenNothingAssessed(t *testing.T) {
	reg := registry(t, spec{id: "high", layer: check.Workloads, sev: check.High})

	t.Run("no objects", func(t *testing.T) {
		a := Run(inventory.Build(inventory.FromManifests, nil), Options{Registry: reg, Now: now})
		if a.Score.Overall != nil {
			t.Errorf("got overall %v, want nil", *a.Score.Overall)
		}
		for _, l := range a.Score.Layers {
			if l.Score != nil || l.Reason == "" {
				t.Errorf("layer %s: got score %s, reason %q; want no score and a reason", l.Layer, fmtScore(l.Score), l.Reason)
			}
		}
		if len(a.Score.Namespaces) != 0 {
			t.Errorf("got namespace scores %+v, want none", a.Score.Namespaces)
		}
	})

	t.Run("every result skipped", func(t *testing.T) {
		a := Run(inv(t, inventory.FromManifests, deployment("shop", "web", behaviour+"high", "na")), Options{Registry: reg, Now: now})
		if a.Score.Overall != nil {
			t.Errorf("got overall %v, want nil", *a.Score.Overall)
		}
	})

	t.Run("only info checks", func(t *testing.T) {
		reg := registry(t, spec{id: "note", layer: check.Workloads, sev: check.Info})
		a := Run(inv(t, inventory.FromManifests, deployment("shop", "web", behaviour+"note", "fail")), Options{Registry: reg, Now: now})
		if a.Score.Overall != nil {
			t.Errorf("got overall %v, want nil: info findings carry no weight", *a.Score.Overall)
		}
		// A layer without a score always says why (the report schema omits
		// the reason only when there is a score).
		for _, l := range a.Score.Layers {
			if l.Score == nil && l.Reason == "" {
				t.Errorf("layer %s: got no score and no reason, want a reason", l.Layer)
			}
		}
		if got := a.Score.Layers[3].Reason; got != InfoOnlyLayerReason {
			t.Errorf("workloads layer: got reason %q, want %q", got, InfoOnlyLayerReason)
		}
	})
}

func TestDeterministicAcrossWorkers(t *testing.T) {
	reg := registry(t,
		spec{id: "alpha", layer: check.Workloads, sev: check.High},
		spec{id: "beta", layer: check.Security, sev: check.Medium},
		spec{id: "gamma", layer: check.Governance, sev: check.Low, kinds: []string{"Deployment", "Namespace"}},
	)
	// More objects than one work chunk, in several namespaces, with a mix
	// of outcomes.
	var b strings.Builder
	outcomes := []string{"", "fail", "fail2", "na", "panic"}
	for n := 0; n < 700; n++ {
		b.WriteString(deployment(fmt.Sprintf("ns-%d", n%7), fmt.Sprintf("web-%03d", n),
			behaviour+"alpha", outcomes[n%5], behaviour+"beta", outcomes[(n/5)%5], behaviour+"gamma", outcomes[(n/25)%5]))
	}
	i := inv(t, inventory.FromManifests, b.String())
	one := Run(i, Options{Registry: reg, Now: now, Workers: 1})
	four := Run(i, Options{Registry: reg, Now: now, Workers: 4})
	if len(one.Results) < 2000 {
		t.Fatalf("got %d results, want a large audit", len(one.Results))
	}
	if diff := cmp.Diff(rows(one), rows(four)); diff != "" {
		t.Errorf("Workers 1 vs 4 results (-1 +4):\n%s", diff)
	}
	if diff := cmp.Diff(one.Score, four.Score, cmp.Comparer(func(x, y *CheckState) bool { return x.Check.ID == y.Check.ID }), cmp.Comparer(func(x, y *check.Check) bool { return x.ID == y.ID })); diff != "" {
		t.Errorf("Workers 1 vs 4 score (-1 +4):\n%s", diff)
	}
}

// TestFailuresOnly: an audit that keeps only its failures counts and
// scores every result as a full one does, over many chunks of work, with
// checks not assessed on some objects and passes, skips and errors among
// the rest.
func TestFailuresOnly(t *testing.T) {
	reg := registry(t,
		spec{id: "alpha", layer: check.Workloads, sev: check.High},
		spec{id: "beta", layer: check.Security, sev: check.Medium},
		spec{id: "gamma", layer: check.Governance, sev: check.Low, kinds: []string{"Deployment", "Namespace"}},
		spec{id: "delta", layer: check.Security, sev: check.Critical},
	)
	var b strings.Builder
	outcomes := []string{"", "fail", "fail2", "na", "panic", "evidence", "unassessable"}
	for n := 0; n < 900; n++ {
		b.WriteString(deployment(fmt.Sprintf("ns-%d", n%7), fmt.Sprintf("web-%03d", n),
			behaviour+"alpha", outcomes[n%7], behaviour+"beta", outcomes[(n/7)%7], behaviour+"gamma", outcomes[(n/49)%7],
			behaviour+"delta", "unassessable"))
	}
	i := inv(t, inventory.FromManifests, b.String())
	full := Run(i, Options{Registry: reg, Now: now})
	fails := Run(i, Options{Registry: reg, Now: now, FailuresOnly: true})
	var want []row
	for _, r := range rows(full) {
		if r.Status == "fail" {
			want = append(want, r)
		}
	}
	if len(want) < 500 || len(want) == len(full.Results) {
		t.Fatalf("got %d failures of %d results, want many failures among other results", len(want), len(full.Results))
	}
	if diff := cmp.Diff(want, rows(fails)); diff != "" {
		t.Errorf("failures (-full audit +FailuresOnly):\n%s", diff)
	}
	byID := cmp.Comparer(func(x, y *check.Check) bool { return x.ID == y.ID })
	if diff := cmp.Diff(full.Checks, fails.Checks, byID); diff != "" {
		t.Errorf("check states (-full +FailuresOnly):\n%s", diff)
	}
	if diff := cmp.Diff(full.Score, fails.Score, byID, cmp.Comparer(func(x, y *CheckState) bool { return x.Check.ID == y.Check.ID })); diff != "" {
		t.Errorf("score (-full +FailuresOnly):\n%s", diff)
	}
	if full.Score.Overall == nil || len(full.Score.Coverage.NotAssessed) != 1 || len(full.Score.Blockers) == 0 {
		t.Errorf("got score %+v, want an overall score, one check not assessed and blockers", full.Score)
	}
}

func TestDeclaredChecksNotAssessedOnACluster(t *testing.T) {
	reg := registry(t, spec{id: "written", layer: check.Upgrade, sev: check.High, requires: check.Declared, kinds: []string{"Deployment"}})
	text := deployment("shop", "web", behaviour+"written", "fail")
	if a := Run(inv(t, inventory.FromManifests, text), Options{Registry: reg, Now: now}); len(a.Score.Coverage.NotAssessed) != 0 || a.Checks[0].Fail != 1 {
		t.Errorf("manifests: got state %+v, want the check assessed and failed", a.Checks[0])
	}
	a := Run(inv(t, inventory.FromCluster, text), Options{Registry: reg, Now: now})
	if st := a.Checks[0]; st.Assessed || st.Reason != DeclaredOnlyReason || len(a.Results) != 0 {
		t.Errorf("cluster: got state %+v and %d results, want not assessed, no results", st, len(a.Results))
	}
}

// TestEvidenceAndUnassessable: evidence is a pass with a message; a check
// whose every result is unassessable is not assessed, with the reason, and
// leaves the score alone; one judged object makes it assessed again.
func TestEvidenceAndUnassessable(t *testing.T) {
	reg := registry(t,
		spec{id: "seen", layer: check.Infrastructure, sev: check.High},
		spec{id: "hidden", layer: check.Infrastructure, sev: check.High},
	)
	text := deployment("shop", "a", behaviour+"seen", "evidence") + deployment("shop", "b", behaviour+"hidden", "unassessable")
	a := Run(inv(t, inventory.FromCluster, text), Options{Registry: reg, Now: now})
	var got []string
	for _, r := range a.Results {
		got = append(got, fmt.Sprintf("%s %s %s %v %q", r.Check.ID, r.Object.Name, r.Status, r.Unassessed, r.Message))
	}
	want := []string{
		`hidden a pass false ""`,
		`seen a pass false "seen saw a"`,
		`hidden b skip true "not assessed: provider-managed"`,
		`seen b pass false ""`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	// hidden judged a, so it is assessed.
	if len(a.Score.Coverage.NotAssessed) != 0 {
		t.Errorf("got not assessed %v, want none", a.Score.Coverage.NotAssessed)
	}

	a = Run(inv(t, inventory.FromCluster, deployment("shop", "b", behaviour+"hidden", "unassessable")), Options{Registry: reg, Now: now})
	if n := len(a.Score.Coverage.NotAssessed); n != 1 || a.Score.Coverage.NotAssessed[0].Check.ID != "hidden" || a.Score.Coverage.NotAssessed[0].Reason != "provider-managed" {
		t.Fatalf("got not assessed %+v, want hidden, provider-managed", a.Score.Coverage.NotAssessed)
	}
	if a.Score.Overall == nil || *a.Score.Overall != 100 {
		t.Errorf("got overall %s, want 100: the unassessed check is left out", fmtScore(a.Score.Overall))
	}
}

// TestNamespaceLimitedRead: a read limited to one namespace cannot show
// what other namespaces hold, so checks that look across the cluster are
// not assessed, and the others are.
func TestNamespaceLimitedRead(t *testing.T) {
	reg := registry(t,
		spec{id: "local", layer: check.Workloads, sev: check.High},
		spec{id: "whole", layer: check.ClusterServices, sev: check.High, kinds: []string{inventory.ClusterKey}},
	)
	a := Run(inv(t, inventory.FromCluster, deployment("shop", "web")), Options{Registry: reg, Now: now, Namespace: "shop"})
	na := a.Score.Coverage.NotAssessed
	if len(na) != 1 || na[0].Check.ID != "whole" || na[0].Reason != "looks across the whole cluster; the read was limited to namespace shop" {
		t.Errorf("got not assessed %+v, want whole only", na)
	}
}

// TestScoreIgnoresObjectCount holds the headline to checklist items: a
// thousand passing Deployments beside one that fails leave every score
// where it was, and the failing high check stays a blocker.
func TestScoreIgnoresObjectCount(t *testing.T) {
	reg := registry(t,
		spec{id: "high", layer: check.Workloads, sev: check.High},
		spec{id: "low", layer: check.Security, sev: check.Low},
	)
	base := deployment("shop", "bad", behaviour+"high", "fail") + deployment("shop", "good")
	var many strings.Builder
	many.WriteString(base)
	for i := range 1000 {
		many.WriteString(deployment("shop", fmt.Sprintf("good-%d", i)))
	}
	small := Run(inv(t, inventory.FromManifests, base), Options{Registry: reg, Now: now}).Score
	large := Run(inv(t, inventory.FromManifests, many.String()), Options{Registry: reg, Now: now}).Score
	for _, s := range []Score{small, large} {
		if got := fmtScore(s.Overall); got != "50" {
			t.Errorf("overall: got %s, want 50 (workloads 0, security 100)", got)
		}
		if got := fmtScore(s.Namespaces[0].Score); got != "14.2" {
			t.Errorf("namespace shop: got %s, want 14.2 (low met, 1 of 7)", got)
		}
		if len(s.Blockers) != 1 || s.Blockers[0].Check.ID != "high" {
			t.Errorf("got blockers %+v, want high", s.Blockers)
		}
	}
	if small.Blockers[0].Objects != 1 || large.Blockers[0].Objects != 1 {
		t.Errorf("got blockers failing on %d and %d objects, want 1", small.Blockers[0].Objects, large.Blockers[0].Objects)
	}
}

func TestVerdict(t *testing.T) {
	reg := registry(t,
		spec{id: "critical", layer: check.Workloads, sev: check.Critical},
		spec{id: "medium", layer: check.Security, sev: check.Medium},
		spec{id: "live", layer: check.Infrastructure, sev: check.Low, requires: check.Cluster, kinds: []string{"Deployment"}},
	)
	tests := []struct {
		name    string
		mode    inventory.Mode
		text    string
		partial bool
		want    Verdict
	}{
		{"a high or critical check fails", inventory.FromCluster, deployment("shop", "web", behaviour+"critical", "fail"), false, NotReady},
		// A medium failure lowers the score but stops nothing.
		{"only a medium check fails", inventory.FromCluster, deployment("shop", "web", behaviour+"medium", "fail"), false, Ready},
		{"nothing fails, every layer with checks assessed", inventory.FromCluster, deployment("shop", "web"), false, Ready},
		{"nothing fails, but an input was not read", inventory.FromCluster, deployment("shop", "web"), true, Incomplete},
		{"nothing fails, but manifests cannot show infrastructure", inventory.FromManifests, deployment("shop", "web"), false, Incomplete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Run(inv(t, tt.mode, tt.text), Options{Registry: reg, Now: now})
			if got := a.Score.Verdict(tt.partial); got != tt.want {
				t.Errorf("got %s, want %s (blockers %+v, layers %+v)", got, tt.want, a.Score.Blockers, a.Score.Layers)
			}
		})
	}
}

// TestCustomResourceKind: a check of inventory.CustomResourceKey judges
// every custom resource, and nothing of Kubernetes' own groups, even a kind
// plimsoll does not decode; an object's results stay in check ID order
// when a check names its kind too.
func TestCustomResourceKind(t *testing.T) {
	reg := registry(t,
		spec{id: "b-every", layer: check.Workloads, sev: check.High, kinds: []string{inventory.CustomResourceKey}},
		spec{id: "a-widget", layer: check.Workloads, sev: check.High, kinds: []string{"Widget.example.com"}},
		spec{id: "c-both", layer: check.Workloads, sev: check.High, kinds: []string{"Widget.example.com", inventory.CustomResourceKey}},
	)
	text := "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: shop}\n---\n" +
		"apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g, namespace: shop}\n---\n" +
		"apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: high}\nvalue: 1000\n---\n" +
		"apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\n" +
		deployment("shop", "web")
	a := Run(inv(t, inventory.FromManifests, text), Options{Registry: reg, Now: now})
	var got []string
	for _, r := range a.Results {
		got = append(got, r.Object.Kind+" "+r.Check.ID)
	}
	want := []string{"Gadget b-every", "Gadget c-both", "Widget a-widget", "Widget b-every", "Widget c-both"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}

// An exemption that exempts nothing, though a check it names ran, is
// reported: a typo in a name, or an object that is gone. One whose checks
// did not run (disabled, or not assessed) is not.
func TestUnusedExemptions(t *testing.T) {
	reg := registry(t,
		spec{id: "alpha", layer: check.Workloads, sev: check.High},
		spec{id: "beta", layer: check.Workloads, sev: check.Medium},
	)
	c := cfg(t, reg, `
checks:
  disable: [beta]
exemptions:
  - checks: [alpha]
    names: [web]
    reason: used
  - checks: [alpha]
    names: [wbe]
    reason: a typo
  - checks: [beta]
    names: [nothing]
    reason: its check is off
`)
	i := inv(t, inventory.FromManifests, deployment("shop", "web", behaviour+"alpha", "fail"))
	a := Run(i, Options{Registry: reg, Config: c, Now: now})
	var got []string
	for _, e := range a.UnusedExemptions {
		got = append(got, e.Reason)
	}
	if diff := cmp.Diff([]string{"a typo"}, got); diff != "" {
		t.Errorf("unused exemptions (-want +got):\n%s", diff)
	}
}
