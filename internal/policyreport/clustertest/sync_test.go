package clustertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/yaml"

	"github.com/plimsoll/plimsoll/internal/cli"
	"github.com/plimsoll/plimsoll/internal/policyreport"
	"github.com/plimsoll/plimsoll/internal/report"
	"github.com/plimsoll/plimsoll/test/controlplane"
)

// The audit times of successive Syncs.
var (
	t1 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	t2 = t1.Add(5 * time.Minute)
	t3 = t2.Add(5 * time.Minute)
	t4 = t3.Add(5 * time.Minute)
)

func object(apiVersion, kind, ns, name string) *report.Object {
	return &report.Object{APIVersion: apiVersion, Kind: kind, Namespace: ns, Name: name}
}

func deployment(ns, name string) *report.Object { return object("apps/v1", "Deployment", ns, name) }

var theCluster = object("plimsoll.dev/v1alpha1", "Cluster", "", "cluster")

func result(o *report.Object, check, status, severity, message string) report.Result {
	return report.Result{Check: check, Layer: "workloads", Severity: severity, Status: status, Object: o, Message: message}
}

// newReport is the report of a whole-cluster audit with these results.
func newReport(results ...report.Result) *report.Report {
	r := &report.Report{
		APIVersion: report.APIVersion, Kind: report.Kind, Mode: "cluster",
		Cluster: &report.Cluster{Server: "https://127.0.0.1"},
		Results: results,
	}
	seen := map[string]bool{}
	for _, res := range results {
		if !seen[res.Check] {
			seen[res.Check] = true
			r.Checks = append(r.Checks, report.Check{ID: res.Check, Layer: res.Layer, Severity: res.Severity, Title: "title of " + res.Check, Remediation: "Fix " + res.Check + "."})
		}
	}
	sort.Slice(r.Checks, func(i, j int) bool { return r.Checks[i].ID < r.Checks[j].ID })
	return r
}

func without(r *report.Report, drop func(report.Result) bool) *report.Report {
	var keep []report.Result
	for _, res := range r.Results {
		if !drop(res) {
			keep = append(keep, res)
		}
	}
	return newReport(keep...)
}

func mustSync(t *testing.T, w *policyreport.Writer, r *report.Report, at time.Time, want policyreport.Stats) {
	t.Helper()
	got, err := w.Sync(t.Context(), r, at)
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	if got != want {
		t.Errorf("sync: got %+v, want %+v", got, want)
	}
}

// managed lists the reports labelled as plimsoll's: "namespace/name", or
// "name" for the cluster report.
func (c *cluster) managed(t *testing.T, o policyreport.Options) []string {
	t.Helper()
	namespaced, cluster := policyreport.PolicyReports, policyreport.ClusterPolicyReports
	if o.OpenReports {
		namespaced, cluster = policyreport.Reports, policyreport.ClusterReports
	}
	var out []string
	for _, gvr := range []schema.GroupVersionResource{cluster, namespaced} {
		list, err := c.dyn.Resource(gvr).List(t.Context(), metav1.ListOptions{LabelSelector: policyreport.ManagedByLabel + "=" + policyreport.ManagedBy})
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range list.Items {
			out = append(out, strings.TrimPrefix(item.GetNamespace()+"/"+item.GetName(), "/"))
		}
	}
	sort.Strings(out)
	return out
}

func (c *cluster) get(t *testing.T, gvr schema.GroupVersionResource, ns, name string) *unstructured.Unstructured {
	t.Helper()
	got, err := c.dyn.Resource(gvr).Namespace(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get %s %s/%s: %v", gvr.Resource, ns, name, err)
	}
	return got
}

// content is what a report says: everything but the server's metadata.
func content(u *unstructured.Unstructured) map[string]any {
	out := map[string]any{}
	for k, v := range u.Object {
		if k != "metadata" {
			out[k] = v
		}
	}
	out["labels"] = u.GetLabels()
	out["annotations"] = u.GetAnnotations()
	return out
}

// checkStored compares the reports in the cluster with want, what Build
// made: the API server kept every field (its schema prunes unknown ones).
func (c *cluster) checkStored(t *testing.T, o policyreport.Options, want []*unstructured.Unstructured) {
	t.Helper()
	namespaced, cluster := policyreport.PolicyReports, policyreport.ClusterPolicyReports
	if o.OpenReports {
		namespaced, cluster = policyreport.Reports, policyreport.ClusterReports
	}
	for _, w := range want {
		gvr := namespaced
		if w.GetNamespace() == "" {
			gvr = cluster
		}
		got := c.get(t, gvr, w.GetNamespace(), w.GetName())
		if diff := cmp.Diff(content(w), content(got)); diff != "" {
			t.Errorf("%s %s/%s in the cluster differs from what Build made (-built +stored):\n%s", w.GetKind(), w.GetNamespace(), w.GetName(), diff)
		}
		var managers []string
		for _, mf := range got.GetManagedFields() {
			managers = append(managers, mf.Manager+" "+string(mf.Operation))
		}
		if !cmp.Equal(managers, []string{"plimsoll Apply"}) {
			t.Errorf("%s %s/%s: got field managers %v, want plimsoll Apply alone", w.GetKind(), w.GetNamespace(), w.GetName(), managers)
		}
	}
}

func resourceVersions(t *testing.T, c *cluster) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, gvr := range []schema.GroupVersionResource{policyreport.ClusterPolicyReports, policyreport.PolicyReports} {
		list, err := c.dyn.Resource(gvr).List(t.Context(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range list.Items {
			out[item.GetNamespace()+"/"+item.GetName()] = item.GetResourceVersion()
		}
	}
	return out
}

func messages(t *testing.T, u *unstructured.Unstructured) []string {
	t.Helper()
	list, _, _ := unstructured.NestedSlice(u.Object, "results")
	var out []string
	for _, x := range list {
		msg, _ := x.(map[string]any)["message"].(string)
		out = append(out, msg)
	}
	return out
}

// TestSync walks a Writer through the life of a cluster: the first audit,
// an unchanged re-audit, a finding fixed, a namespace left with no
// results, a namespace deleted and recreated, a namespace that does not
// exist or is being deleted, and an audit limited to one namespace.
func TestSync(t *testing.T) {
	c := newCluster(t)
	c.installPolicyReportCRDs(t)
	for _, ns := range []string{"sync-a", "sync-b"} {
		c.createNamespace(t, ns)
	}
	w, writes := c.writer(t, controlplane.AdminUser, policyreport.Options{})
	r1 := newReport(
		result(theCluster, "monitoring-prometheus", "fail", "high", "no Prometheus runs"),
		result(object("rbac.authorization.k8s.io/v1", "ClusterRole", "", "wide"), "rbac-wildcard", "fail", "high", "rules[0] grants *"),
		result(object("v1", "Namespace", "", "sync-a"), "namespace-resourcequota", "fail", "medium", "no ResourceQuota"),
		result(deployment("sync-a", "web"), "container-readiness-probe", "fail", "high", `container "web" has no readinessProbe`),
		result(deployment("sync-a", "web"), "workload-min-replicas", "fail", "high", "1 replica"),
		result(deployment("sync-a", "api"), "workload-min-replicas", "pass", "high", ""),
		result(deployment("sync-b", "worker"), "container-cpu-request", "skip", "medium", "exempted"),
	)

	// The first Sync creates the cluster report and one per namespace,
	// as Build makes them.
	mustSync(t, w, r1, t1, policyreport.Stats{Applied: 3})
	if got, want := c.managed(t, policyreport.Options{}), []string{"plimsoll", "sync-a/plimsoll", "sync-b/plimsoll"}; !cmp.Equal(got, want) {
		t.Fatalf("got reports %v, want %v", got, want)
	}
	c.checkStored(t, policyreport.Options{}, policyreport.Build(r1, t1, policyreport.Options{}))

	// Re-auditing with nothing changed writes nothing.
	before := resourceVersions(t, c)
	writes.n.Store(0)
	mustSync(t, w, r1, t2, policyreport.Stats{Unchanged: 3})
	if n := writes.n.Load(); n != 0 {
		t.Errorf("an unchanged Sync made %d write requests, want none", n)
	}
	if diff := cmp.Diff(before, resourceVersions(t, c)); diff != "" {
		t.Errorf("an unchanged Sync changed resource versions:\n%s", diff)
	}

	// Someone else empties a report: the next Sync puts it back, and
	// takes back the fields.
	patch := []byte(`{"results":[],"summary":{"fail":0}}`)
	_, err := c.dyn.Resource(policyreport.PolicyReports).Namespace("sync-a").Patch(t.Context(), policyreport.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "someone"})
	if err != nil {
		t.Fatal(err)
	}
	mustSync(t, w, r1, t2, policyreport.Stats{Applied: 1, Unchanged: 2})
	c.checkStored(t, policyreport.Options{}, policyreport.Build(r1, t1, policyreport.Options{}))

	// A finding fixed: only its report is written, the result is gone,
	// and the results still there keep the time they were found.
	r2 := without(r1, func(res report.Result) bool { return res.Check == "container-readiness-probe" })
	mustSync(t, w, r2, t3, policyreport.Stats{Applied: 1, Unchanged: 2})
	a := c.get(t, policyreport.PolicyReports, "sync-a", policyreport.Name)
	if got, want := messages(t, a), []string{"1 replica", "no ResourceQuota"}; !cmp.Equal(got, want) {
		t.Errorf("got results %q, want %q", got, want)
	}
	wantA := policyreport.Build(r2, t1, policyreport.Options{}) // found at t1, all of them
	c.checkStored(t, policyreport.Options{}, wantA)

	// sync-b has no results any more: its report is pruned.
	r3 := without(r2, func(res report.Result) bool { return res.Object.Namespace == "sync-b" })
	mustSync(t, w, r3, t4, policyreport.Stats{Unchanged: 2, Deleted: 1})
	if got, want := c.managed(t, policyreport.Options{}), []string{"plimsoll", "sync-a/plimsoll"}; !cmp.Equal(got, want) {
		t.Errorf("got reports %v, want %v", got, want)
	}

	// sync-a is deleted, and its report with it; an audit made before
	// the deletion still has its results, but the Writer must not
	// recreate the namespace's report (it cannot: the namespace is gone).
	c.deleteNamespace(t, "sync-a")
	mustSync(t, w, r3, t4, policyreport.Stats{Unchanged: 1, Skipped: 1})
	noA := without(r3, func(res report.Result) bool { return res.Object.Namespace == "sync-a" || res.Object.Name == "sync-a" })
	mustSync(t, w, noA, t4, policyreport.Stats{Unchanged: 1})
	if got, want := c.managed(t, policyreport.Options{}), []string{"plimsoll"}; !cmp.Equal(got, want) {
		t.Errorf("got reports %v, want %v", got, want)
	}
	// Recreated with the same findings, it gets its report back: the
	// Writer forgot what it had applied there.
	c.createNamespace(t, "sync-a")
	mustSync(t, w, r3, t4, policyreport.Stats{Applied: 1, Unchanged: 1})
	c.checkStored(t, policyreport.Options{}, policyreport.Build(r3, t4, policyreport.Options{})[1:])

	// Results for a namespace that does not exist are skipped.
	ghost := newReport(append(append([]report.Result{}, r3.Results...), result(deployment("sync-ghost", "x"), "workload-min-replicas", "fail", "high", "1 replica"))...)
	mustSync(t, w, ghost, t4, policyreport.Stats{Unchanged: 2, Skipped: 1})

	// So are those of a namespace being deleted (held by a finalizer).
	c.createNamespace(t, "sync-held")
	held := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "held", Namespace: "sync-held", Finalizers: []string{"plimsoll.dev/test"}}}
	if _, err := c.kube.CoreV1().ServiceAccounts("sync-held").Create(t.Context(), held, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		patch := []byte(`{"metadata":{"finalizers":null}}`)
		c.kube.CoreV1().ServiceAccounts("sync-held").Patch(context.Background(), "held", "application/merge-patch+json", patch, metav1.PatchOptions{})
	})
	if err := c.kube.CoreV1().Namespaces().Delete(t.Context(), "sync-held", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// Once the namespace controller says only the finalizer holds it, the
	// API server's admission has long seen it terminating.
	err = wait.PollUntilContextTimeout(t.Context(), 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		ns, err := c.kube.CoreV1().Namespaces().Get(ctx, "sync-held", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cond := range ns.Status.Conditions {
			if cond.Type == corev1.NamespaceFinalizersRemaining && cond.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("namespace sync-held not held terminating: %v", err)
	}
	terminating := newReport(append(append([]report.Result{}, r3.Results...), result(deployment("sync-held", "x"), "workload-min-replicas", "fail", "high", "1 replica"))...)
	mustSync(t, w, terminating, t4, policyreport.Stats{Unchanged: 2, Skipped: 1})
	if got, want := c.managed(t, policyreport.Options{}), []string{"plimsoll", "sync-a/plimsoll"}; !cmp.Equal(got, want) {
		t.Errorf("got reports %v, want %v", got, want)
	}

	// An audit limited to sync-b writes sync-b's report and prunes
	// nothing outside sync-b: not sync-a's, not the cluster's.
	c.createNamespace(t, "sync-b2")
	limited := newReport(result(deployment("sync-b2", "worker"), "container-cpu-request", "fail", "medium", "no CPU request"))
	limited.Cluster.Namespace = "sync-b2"
	mustSync(t, w, limited, t4, policyreport.Stats{Applied: 1})
	if got, want := c.managed(t, policyreport.Options{}), []string{"plimsoll", "sync-a/plimsoll", "sync-b2/plimsoll"}; !cmp.Equal(got, want) {
		t.Errorf("got reports %v, want %v", got, want)
	}
}

// TestSyncAfterRestart starts a new Writer, as after a restart or when
// another replica becomes the leader: the reports it finds are applied
// once more but do not change, and their results keep the time they were
// found; from then on an unchanged audit is not written at all.
func TestSyncAfterRestart(t *testing.T) {
	c := newCluster(t)
	c.installPolicyReportCRDs(t)
	c.createNamespace(t, "restart")
	r := newReport(
		result(theCluster, "monitoring-prometheus", "fail", "high", "no Prometheus runs"),
		result(deployment("restart", "web"), "workload-min-replicas", "fail", "high", "1 replica"),
	)
	first, _ := c.writer(t, controlplane.AdminUser, policyreport.Options{})
	if _, err := first.Sync(t.Context(), r, t1); err != nil {
		t.Fatal(err)
	}
	before := resourceVersions(t, c)

	second, _ := c.writer(t, controlplane.AdminUser, policyreport.Options{})
	mustSync(t, second, r, t2, policyreport.Stats{Applied: 2})
	if diff := cmp.Diff(before, resourceVersions(t, c)); diff != "" {
		t.Errorf("applying unchanged reports changed them:\n%s", diff)
	}
	c.checkStored(t, policyreport.Options{}, policyreport.Build(r, t1, policyreport.Options{}))
	mustSync(t, second, r, t3, policyreport.Stats{Unchanged: 2})
}

// TestSyncBounded writes a namespace with far more results than a report
// may hold, some with long messages: the API server takes the report, it
// says it was cut, and its summary counts everything.
func TestSyncBounded(t *testing.T) {
	c := newCluster(t)
	c.installPolicyReportCRDs(t)
	c.createNamespace(t, "bounded")
	var results []report.Result
	for i := range 4321 {
		msg := fmt.Sprintf("finding %d", i)
		if i%3 == 0 {
			msg += ": " + strings.Repeat("long ", 300)
		}
		status := []string{"fail", "pass", "skip"}[i%3]
		results = append(results, result(deployment("bounded", fmt.Sprintf("app-%04d", i)), "workload-min-replicas", status, "high", msg))
	}
	r := newReport(results...)
	w, _ := c.writer(t, controlplane.AdminUser, policyreport.Options{IncludePasses: true})
	mustSync(t, w, r, t1, policyreport.Stats{Applied: 1})
	got := c.get(t, policyreport.PolicyReports, "bounded", policyreport.Name)
	kept := len(messages(t, got))
	if kept == 0 || kept > policyreport.DefaultMaxResults {
		t.Errorf("got %d results, want some and at most %d", kept, policyreport.DefaultMaxResults)
	}
	if got, want := got.GetAnnotations()[policyreport.TruncatedAnnotation], fmt.Sprintf("kept %d of 4321", kept); got != want {
		t.Errorf("got annotation %q, want %q", got, want)
	}
	sum, _, _ := unstructured.NestedMap(got.Object, "summary")
	if want := map[string]any{"pass": int64(1440), "fail": int64(1441), "skip": int64(1440), "warn": int64(0), "error": int64(0)}; !cmp.Equal(sum, want) {
		t.Errorf("got summary %v, want %v", sum, want)
	}
	c.checkStored(t, policyreport.Options{IncludePasses: true}, policyreport.Build(r, t1, policyreport.Options{IncludePasses: true}))
}

// writesRole is the ClusterRole of deploy/rbac/writes.yaml: what plimsoll
// serve may change.
func writesRole(t *testing.T) *rbacv1.ClusterRole {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "rbac", "writes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range bytes.Split(data, []byte("\n---\n")) {
		var role rbacv1.ClusterRole
		if err := yaml.Unmarshal(doc, &role); err != nil {
			t.Fatal(err)
		}
		if role.Kind == "ClusterRole" {
			return &role
		}
	}
	t.Fatal("no ClusterRole in deploy/rbac/writes.yaml")
	return nil
}

// TestSyncWithWritesRole syncs as a user bound to nothing but the report
// rules of deploy/rbac/writes.yaml: they are enough to apply, to list and
// to prune.
func TestSyncWithWritesRole(t *testing.T) {
	c := newCluster(t)
	c.installPolicyReportCRDs(t)
	c.createNamespace(t, "rbac-a")
	c.createNamespace(t, "rbac-b")
	role := writesRole(t)
	role.ObjectMeta = metav1.ObjectMeta{Name: "test-" + writerUser}
	ctx := t.Context()
	if _, err := c.kube.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "test-" + writerUser},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: writerUser}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
	}
	if _, err := c.kube.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Every verb of the rule, on both resources.
	var rules []rbacv1.PolicyRule
	for _, r := range role.Rules {
		for _, res := range r.Resources {
			for _, verb := range r.Verbs {
				rules = append(rules, rbacv1.PolicyRule{APIGroups: r.APIGroups, Resources: []string{res}, Verbs: []string{verb}})
			}
		}
	}
	if err := controlplane.AwaitRBAC(ctx, c.kube, writerUser, nil, "", rules); err != nil {
		t.Fatal(err)
	}

	r := newReport(
		result(theCluster, "monitoring-prometheus", "fail", "high", "no Prometheus runs"),
		result(deployment("rbac-a", "web"), "workload-min-replicas", "fail", "high", "1 replica"),
		result(deployment("rbac-b", "web"), "workload-min-replicas", "fail", "high", "1 replica"),
	)
	w, _ := c.writer(t, writerUser, policyreport.Options{})
	mustSync(t, w, r, t1, policyreport.Stats{Applied: 3})
	c.checkStored(t, policyreport.Options{}, policyreport.Build(r, t1, policyreport.Options{}))
	mustSync(t, w, r, t2, policyreport.Stats{Unchanged: 3})
	// rbac-b is fixed: the user may prune its report.
	r2 := without(r, func(res report.Result) bool { return res.Object.Namespace == "rbac-b" })
	mustSync(t, w, r2, t3, policyreport.Stats{Unchanged: 2, Deleted: 1})
	if got, want := c.managed(t, policyreport.Options{}), []string{"plimsoll", "rbac-a/plimsoll"}; !cmp.Equal(got, want) {
		t.Errorf("got reports %v, want %v", got, want)
	}
}

// TestSyncOpenReports writes OpenReports: a clear error while their CRDs
// are missing, then Reports and ClusterReports as Build makes them.
func TestSyncOpenReports(t *testing.T) {
	c := newCluster(t)
	c.createNamespace(t, "open")
	o := policyreport.Options{OpenReports: true}
	r := newReport(
		result(theCluster, "monitoring-prometheus", "fail", "high", "no Prometheus runs"),
		result(deployment("open", "web"), "workload-min-replicas", "fail", "high", "1 replica"),
		result(deployment("open", "api"), "workload-min-replicas", "pass", "high", ""),
	)
	w, writes := c.writer(t, controlplane.AdminUser, o)
	_, err := w.Sync(t.Context(), r, t1)
	if !errors.Is(err, policyreport.ErrNotInstalled) || !strings.Contains(err.Error(), "openreports.io/v1alpha1") {
		t.Errorf("got error %v, want one that says openreports.io/v1alpha1 is not installed", err)
	}
	if n := writes.n.Load(); n != 0 {
		t.Errorf("made %d write requests without the CRDs, want none", n)
	}

	c.installCRDs(t, filepath.Join("openreports", "reports.openreports.io.yaml"), filepath.Join("openreports", "clusterreports.openreports.io.yaml"))
	// The first requests after a CRD is established may still be refused
	// while discovery catches up; the Writer is retried, as serve would.
	err = wait.PollUntilContextTimeout(t.Context(), 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := w.Sync(ctx, r, t1)
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("sync after installing the CRDs: %v", err)
	}
	if got, want := c.managed(t, o), []string{"open/plimsoll", "plimsoll"}; !cmp.Equal(got, want) {
		t.Errorf("got reports %v, want %v", got, want)
	}
	c.checkStored(t, o, policyreport.Build(r, t1, o))
}

// TestSyncLiveAudit syncs the report of a real audit of the test cluster,
// run in-process as plimsoll audit runs: the API server accepts every
// report plimsoll makes of a real cluster.
func TestSyncLiveAudit(t *testing.T) {
	c := newCluster(t)
	c.installPolicyReportCRDs(t)
	var out, errOut bytes.Buffer
	code := cli.Main(t.Context(), []string{"audit", "--kubeconfig", c.cp.Kubeconfig(controlplane.AdminUser), "-o", "json"}, cli.Streams{
		In: strings.NewReader(""), Out: &out, Err: &errOut, Dir: t.TempDir(),
		Getenv: func(string) string { return "" },
		Now:    func() time.Time { return t1 },
	})
	if code != 0 {
		t.Fatalf("audit: exit %d: %s", code, errOut.String())
	}
	var r report.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	// Namespaces that earlier tests deleted may still be terminating:
	// their reports are skipped, not written.
	namespaces, err := c.kube.CoreV1().Namespaces().List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	active := map[string]bool{"": true}
	for _, ns := range namespaces.Items {
		active[ns.Name] = ns.DeletionTimestamp == nil
	}
	for _, o := range []policyreport.Options{{}, {IncludePasses: true}} {
		w, _ := c.writer(t, controlplane.AdminUser, o)
		st, err := w.Sync(t.Context(), &r, t1)
		if err != nil {
			t.Fatalf("%+v: %v", o, err)
		}
		var want []*unstructured.Unstructured
		for _, u := range policyreport.Build(&r, t1, o) {
			if active[u.GetNamespace()] {
				want = append(want, u)
			}
		}
		if len(want) < 2 {
			t.Fatalf("got %d reports of the live audit, want the cluster's and kube-system's at least", len(want))
		}
		if st.Applied+st.Unchanged != len(want) || st.Skipped != len(policyreport.Build(&r, t1, o))-len(want) {
			t.Errorf("%+v: got %+v, want %d reports written and the rest skipped (namespaces %v)", o, st, len(want), active)
		}
		c.checkStored(t, o, want)
	}
}
