package policyreport

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/plimsoll/plimsoll/internal/golden"
	"github.com/plimsoll/plimsoll/internal/report"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// auditTime is when the test audits ran.
var auditTime = time.Date(2026, 11, 21, 12, 0, 0, 500, time.UTC)

func ptr(f float64) *float64 { return &f }

// smallReport is an audit of a small cluster: a namespace with a
// Deployment that fails and passes checks, the Namespace's own results, a
// ClusterRole, and the cluster as a whole.
func smallReport() *report.Report {
	web := &report.Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	db := &report.Object{APIVersion: "apps/v1", Kind: "StatefulSet", Namespace: "shop", Name: "db"}
	shop := &report.Object{APIVersion: "v1", Kind: "Namespace", Name: "shop"}
	svc := &report.Object{APIVersion: "v1", Kind: "Service", Namespace: "shop", Name: "web"}
	role := &report.Object{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole", Name: "shop-api"}
	cluster := &report.Object{APIVersion: "plimsoll.dev/v1alpha1", Kind: "Cluster", Name: "cluster"}
	check := func(id, layer, severity, title, remediation string) report.Check {
		return report.Check{ID: id, Layer: layer, Severity: severity, Title: title, Remediation: remediation, ChecklistItem: "seed of " + id, Rationale: "why " + id}
	}
	return &report.Report{
		APIVersion: report.APIVersion, Kind: report.Kind, Mode: "cluster",
		Cluster: &report.Cluster{Server: "https://127.0.0.1:6443", Version: "v1.36.3"},
		Checks: []report.Check{
			check("container-readiness-probe", "workloads", "high", "Serving containers have a readiness probe", "Add a readinessProbe to each serving container."),
			check("monitoring-prometheus", "cluster-services", "high", "Prometheus, or a hosted monitoring agent, collects the cluster's metrics", "Install Prometheus."),
			check("namespace-default-deny-ingress", "security", "high", "Application namespaces deny ingress by default", "Add a default-deny NetworkPolicy."),
			check("namespace-resourcequota", "governance", "medium", "Application namespaces have a ResourceQuota", "Add a ResourceQuota."),
			check("rbac-secrets-read", "security", "high", "ClusterRoles do not grant reading Secrets", "Grant get on named Secrets only."),
			check("service-type-exposed", "security", "info", "Services exposed outside the cluster are deliberate", "Use a ClusterIP Service behind an Ingress."),
			check("workload-min-replicas", "workloads", "high", "Deployments and StatefulSets run enough replicas", "Run at least two replicas."),
			check("chaos-tooling", "cluster-services", "info", "A chaos engineering tool is installed", "Install Chaos Mesh or Litmus."),
		},
		// As report.Build sorts them: by object (namespace, kind, name),
		// then check.
		Results: []report.Result{
			{Check: "chaos-tooling", Layer: "cluster-services", Severity: "info", Status: "fail", Object: cluster, Message: "no chaos engineering tool runs"},
			{Check: "monitoring-prometheus", Layer: "cluster-services", Severity: "high", Status: "pass", Object: cluster, Message: "Prometheus monitoring/k8s runs 2 ready replicas"},
			{Check: "rbac-secrets-read", Layer: "security", Severity: "high", Status: "fail", Object: role, Message: `rules[0] grants get on secrets`, Path: "rules[0]"},
			{Check: "namespace-default-deny-ingress", Layer: "security", Severity: "high", Status: "fail", Object: shop, Message: "no NetworkPolicy in shop denies ingress by default"},
			{Check: "namespace-resourcequota", Layer: "governance", Severity: "medium", Status: "skip", Object: shop, Message: "exempted: quotas come with the next platform release", Exempted: true},
			{Check: "container-readiness-probe", Layer: "workloads", Severity: "high", Status: "fail", Object: web, Message: `container "web" has no readinessProbe`, Path: "spec.template.spec.containers[0]"},
			{Check: "workload-min-replicas", Layer: "workloads", Severity: "high", Status: "pass", Object: web},
			{Check: "service-type-exposed", Layer: "security", Severity: "info", Status: "fail", Object: svc, Message: "Service shop/web is of type LoadBalancer", Path: "spec.type"},
			{Check: "container-readiness-probe", Layer: "workloads", Severity: "high", Status: "error", Object: db, Message: "cannot read spec.template: not an object"},
		},
		Score: report.Score{
			Overall: ptr(42.5),
			Namespaces: []report.NamespaceScore{
				{Namespace: "", Score: ptr(37.5), Passed: 1, Failed: 1},
				{Namespace: "shop", Score: ptr(50), Passed: 1, Failed: 2},
			},
		},
	}
}

// encode writes objects as a YAML stream, as golden files hold them.
func encode(t *testing.T, objs []*unstructured.Unstructured) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, o := range objs {
		data, err := yaml.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		buf.WriteString("---\n")
		buf.Write(data)
	}
	return buf.Bytes()
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), got, *update)
}

// TestBuildGolden checks both formats of the small audit against golden
// files: PolicyReports with the defaults (passes left out), OpenReports
// with passes listed.
func TestBuildGolden(t *testing.T) {
	checkGolden(t, "policyreports.golden.yaml", encode(t, Build(smallReport(), auditTime, Options{})))
	checkGolden(t, "openreports.golden.yaml", encode(t, Build(smallReport(), auditTime, Options{OpenReports: true, IncludePasses: true})))
}

// reportsByName indexes Build's output by "Kind namespace/name".
func reportsByName(objs []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
	out := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		out[o.GetKind()+" "+o.GetNamespace()+"/"+o.GetName()] = o
	}
	return out
}

func results(t *testing.T, o *unstructured.Unstructured) []map[string]any {
	t.Helper()
	list, _, err := unstructured.NestedSlice(o.Object, "results")
	if err != nil {
		t.Fatal(err)
	}
	out := make([]map[string]any, len(list))
	for i, x := range list {
		out[i] = x.(map[string]any)
	}
	return out
}

func summaryOf(t *testing.T, o *unstructured.Unstructured) map[string]int64 {
	t.Helper()
	m, _, err := unstructured.NestedMap(o.Object, "summary")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for k, v := range m {
		out[k] = v.(int64)
	}
	return out
}

// TestBuildSplitsClusterAndNamespaces checks where each result goes: the
// cluster report holds the cluster-scoped objects and the cluster itself
// (with no resource), each namespace's report its objects and the
// Namespace's own results.
func TestBuildSplitsClusterAndNamespaces(t *testing.T) {
	objs := Build(smallReport(), auditTime, Options{IncludePasses: true})
	byName := reportsByName(objs)
	var names []string
	for _, o := range objs {
		names = append(names, o.GetKind()+" "+o.GetNamespace()+"/"+o.GetName())
	}
	if want := []string{"ClusterPolicyReport /plimsoll", "PolicyReport shop/plimsoll"}; !cmp.Equal(names, want) {
		t.Fatalf("got reports %v, want %v", names, want)
	}
	subjects := func(o *unstructured.Unstructured) []string {
		var out []string
		for _, r := range results(t, o) {
			subject := "(none)"
			if res, ok := r["resources"].([]any); ok {
				ref := res[0].(map[string]any)
				subject = fmt.Sprintf("%s %s %v/%s", ref["apiVersion"], ref["kind"], ref["namespace"], ref["name"])
			}
			out = append(out, r["policy"].(string)+" on "+subject)
		}
		return out
	}
	wantCluster := []string{
		"rbac-secrets-read on rbac.authorization.k8s.io/v1 ClusterRole <nil>/shop-api",
		"chaos-tooling on (none)",
		"monitoring-prometheus on (none)",
	}
	if diff := cmp.Diff(wantCluster, subjects(byName["ClusterPolicyReport /plimsoll"])); diff != "" {
		t.Errorf("cluster report results (-want +got):\n%s", diff)
	}
	wantShop := []string{
		"namespace-default-deny-ingress on v1 Namespace <nil>/shop",
		"container-readiness-probe on apps/v1 Deployment shop/web",
		"service-type-exposed on v1 Service shop/web",
		"container-readiness-probe on apps/v1 StatefulSet shop/db",
		"namespace-resourcequota on v1 Namespace <nil>/shop",
		"workload-min-replicas on apps/v1 Deployment shop/web",
	}
	if diff := cmp.Diff(wantShop, subjects(byName["PolicyReport shop/plimsoll"])); diff != "" {
		t.Errorf("shop report results (-want +got):\n%s", diff)
	}
	for name, o := range byName {
		if got := o.GetLabels()[ManagedByLabel]; got != ManagedBy {
			t.Errorf("%s: got label %s=%q, want %q", name, ManagedByLabel, got, ManagedBy)
		}
	}
	if got := byName["PolicyReport shop/plimsoll"].GetAnnotations()[ScoreAnnotation]; got != "50" {
		t.Errorf("shop score annotation: got %q, want 50", got)
	}
	ann := byName["ClusterPolicyReport /plimsoll"].GetAnnotations()
	if ann[ScoreAnnotation] != "37.5" || ann[OverallScoreAnnotation] != "42.5" {
		t.Errorf("cluster report annotations: got %v, want score 37.5 and overall 42.5", ann)
	}
}

// TestBuildMapsStatusAndSeverity checks how plimsoll's status and severity
// become the CRDs' result, severity and scored.
func TestBuildMapsStatusAndSeverity(t *testing.T) {
	for _, tc := range []struct {
		status, severity     string
		result, wantSeverity string
		scored               bool
	}{
		{"fail", "critical", "fail", "critical", true},
		{"fail", "high", "fail", "high", true},
		{"fail", "medium", "fail", "medium", true},
		{"fail", "low", "fail", "low", true},
		{"fail", "info", "warn", "info", false}, // info is never scored
		{"pass", "high", "pass", "high", true},
		{"pass", "info", "pass", "info", false},
		{"skip", "high", "skip", "high", false},
		{"error", "medium", "error", "medium", false},
		{"fail", "severity(9)", "fail", "", true}, // an unknown severity is left out
		{"unknown", "low", "error", "low", false},
	} {
		t.Run(tc.status+"-"+tc.severity, func(t *testing.T) {
			r := &report.Report{Results: []report.Result{{
				Check: "c", Layer: "workloads", Severity: tc.severity, Status: tc.status,
				Object: &report.Object{APIVersion: "v1", Kind: "Pod", Namespace: "ns", Name: "p"},
			}}}
			objs := Build(r, auditTime, Options{IncludePasses: true})
			if len(objs) != 1 {
				t.Fatalf("got %d reports, want 1", len(objs))
			}
			res := results(t, objs[0])
			if len(res) != 1 {
				t.Fatalf("got %d results, want 1", len(res))
			}
			sev, _ := res[0]["severity"].(string)
			scored, _ := res[0]["scored"].(bool)
			if res[0]["result"] != tc.result || sev != tc.wantSeverity || scored != tc.scored {
				t.Errorf("got result %v, severity %q, scored %v; want %s, %q, %v", res[0]["result"], sev, scored, tc.result, tc.wantSeverity, tc.scored)
			}
			sum := summaryOf(t, objs[0])
			if sum[tc.result] != 1 {
				t.Errorf("got summary %v, want one %s", sum, tc.result)
			}
		})
	}
}

// manyResults makes a report of one namespace with n results of every
// status and severity, in the order report.Build sorts them.
func manyResults(n int) *report.Report {
	statuses := []string{"pass", "fail", "skip", "pass", "error", "pass"}
	sevs := []string{"low", "critical", "info", "medium", "high"}
	r := &report.Report{}
	for i := range n {
		r.Results = append(r.Results, report.Result{
			Check: fmt.Sprintf("check-%02d", i%7), Layer: "workloads",
			Severity: sevs[i%len(sevs)], Status: statuses[i%len(statuses)],
			Object:  &report.Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "big", Name: fmt.Sprintf("app-%05d", i)},
			Message: fmt.Sprintf("finding %d", i),
		})
	}
	return r
}

// TestBuildTruncates caps a report: it keeps the most important results
// (failures by severity, then warnings, errors, skips), says how many it
// kept of how many, and still counts every result in its summary.
func TestBuildTruncates(t *testing.T) {
	r := manyResults(4321)
	var want struct{ pass, fail, warn, error, skip int64 }
	for _, res := range r.Results {
		switch crdResult(res.Status, res.Severity) {
		case "pass":
			want.pass++
		case "fail":
			want.fail++
		case "warn":
			want.warn++
		case "error":
			want.error++
		case "skip":
			want.skip++
		}
	}
	for _, tc := range []struct {
		name   string
		o      Options
		kept   int
		listed int64 // the results eligible before the cap
	}{
		{"default cap, passes left out", Options{}, 1000, want.fail + want.warn + want.error + want.skip},
		{"cap of 50 with passes", Options{MaxResults: 50, IncludePasses: true}, 50, 4321},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := Build(r, auditTime, tc.o)
			if len(objs) != 1 {
				t.Fatalf("got %d reports, want 1", len(objs))
			}
			o := objs[0]
			res := results(t, o)
			if len(res) != tc.kept {
				t.Fatalf("got %d results, want %d", len(res), tc.kept)
			}
			if got, want := o.GetAnnotations()[TruncatedAnnotation], fmt.Sprintf("kept %d of %d", tc.kept, tc.listed); got != want {
				t.Errorf("got annotation %s=%q, want %q", TruncatedAnnotation, got, want)
			}
			wantSummary := map[string]int64{"pass": want.pass, "fail": want.fail, "warn": want.warn, "error": want.error, "skip": want.skip}
			if diff := cmp.Diff(wantSummary, summaryOf(t, o)); diff != "" {
				t.Errorf("summary counts every result (-want +got):\n%s", diff)
			}
			// Most important first: no kept result ranks below one of the
			// same report that was left out, and the kept ones are in order.
			last := res[len(res)-1]
			for i := 1; i < len(res); i++ {
				a, b := rankOf(res[i-1]), rankOf(res[i])
				if a[0] > b[0] || (a[0] == b[0] && a[1] > b[1]) {
					t.Fatalf("result %d (%v) comes after a less important one (%v)", i, res[i], res[i-1])
				}
			}
			kept := map[string]bool{}
			for _, x := range res {
				kept[x["message"].(string)] = true
			}
			lastRank := rankOf(last)
			for _, x := range r.Results {
				if kept[x.Message] || (x.Status == "pass" && !tc.o.IncludePasses) {
					continue
				}
				rr := [2]int{rank(resultOrder, crdResult(x.Status, x.Severity)), rank(severities, x.Severity)}
				if rr[0] < lastRank[0] || (rr[0] == lastRank[0] && rr[1] < lastRank[1]) {
					t.Fatalf("left out %q (%s %s) but kept a less important result %v", x.Message, x.Status, x.Severity, last)
				}
			}
		})
	}

	// Under the cap, nothing is cut and nothing says so.
	o := Build(manyResults(20), auditTime, Options{IncludePasses: true})[0]
	if _, ok := o.GetAnnotations()[TruncatedAnnotation]; ok || len(results(t, o)) != 20 {
		t.Errorf("got %d results and annotations %v, want all 20 and no %s", len(results(t, o)), o.GetAnnotations(), TruncatedAnnotation)
	}
}

func rankOf(res map[string]any) [2]int {
	return [2]int{rank(resultOrder, res["result"].(string)), rank(severities, res["severity"].(string))}
}

// TestBuildBoundsBytes checks the size bound: results with long messages
// are cut before the report nears etcd's request limit, whatever the cap.
func TestBuildBoundsBytes(t *testing.T) {
	r := manyResults(3000)
	for i := range r.Results {
		r.Results[i].Status = "fail"
		r.Results[i].Message = fmt.Sprintf("finding %d: %s", i, strings.Repeat("x", 2000))
	}
	o := Build(r, auditTime, Options{MaxResults: 3000})[0]
	data, err := json.Marshal(o.Object)
	if err != nil {
		t.Fatal(err)
	}
	n := len(results(t, o))
	if n == 0 || n >= 3000 {
		t.Errorf("got %d results, want some but not all", n)
	}
	if len(data) > maxResultBytes+64<<10 {
		t.Errorf("got a report of %d bytes, want at most about %d", len(data), maxResultBytes)
	}
	if got, want := o.GetAnnotations()[TruncatedAnnotation], fmt.Sprintf("kept %d of 3000", n); got != want {
		t.Errorf("got annotation %q, want %q", got, want)
	}
}

// TestBuildIsDeterministic builds the same audit twice, and once with its
// results shuffled: the output is byte for byte the same.
func TestBuildIsDeterministic(t *testing.T) {
	for _, o := range []Options{{}, {IncludePasses: true, MaxResults: 100}, {OpenReports: true}} {
		want := encode(t, Build(manyResults(500), auditTime, o))
		if got := encode(t, Build(manyResults(500), auditTime, o)); !bytes.Equal(got, want) {
			t.Errorf("%+v: two builds differ", o)
		}
		r := manyResults(500)
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(r.Results), func(i, j int) { r.Results[i], r.Results[j] = r.Results[j], r.Results[i] })
		if got := encode(t, Build(r, auditTime, o)); !bytes.Equal(got, want) {
			t.Errorf("%+v: shuffled results give another output", o)
		}
	}
}

// TestBuildTimestamps checks that every result carries the audit time.
func TestBuildTimestamps(t *testing.T) {
	for _, o := range Build(smallReport(), auditTime, Options{IncludePasses: true}) {
		for _, res := range results(t, o) {
			ts := res["timestamp"].(map[string]any)
			if ts["seconds"] != auditTime.Unix() || ts["nanos"] != int64(auditTime.Nanosecond()) {
				t.Errorf("%s: got timestamp %v, want %d s %d ns", res["policy"], ts, auditTime.Unix(), auditTime.Nanosecond())
			}
		}
	}
}

// BenchmarkBuild builds the reports of a large audit: 200 namespaces of
// 500 results each, passes left out and capped as by default.
func BenchmarkBuild(b *testing.B) {
	r := &report.Report{}
	for ns := range 200 {
		for _, res := range manyResults(500).Results {
			o := *res.Object
			o.Namespace = fmt.Sprintf("ns-%03d", ns)
			res.Object = &o
			r.Results = append(r.Results, res)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		Build(r, auditTime, Options{})
	}
}
