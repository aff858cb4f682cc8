package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	"github.com/plimsoll/plimsoll/internal/cli"
	"github.com/plimsoll/plimsoll/internal/report"
	"github.com/plimsoll/plimsoll/test/controlplane"
)

// The platform scenarios of the cluster-services issue, each on a control
// plane of its own (their nodes and CRDs are cluster-wide): a bare cluster,
// a production-like one, a managed one and one whose only CNI is Flannel.

// exampleTime is the time the status timestamps in examples/production are
// written relative to; the scenarios move them to the present.
var exampleTime = time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)

// kubeletVersion is what the test control plane's kwok nodes report.
const kubeletVersion = "v1.36.3"

// platformScenario is one cluster to build and audit.
type platformScenario struct {
	nodes []controlplane.Node
	// crds installs the upstream CRDs of ../shared/fixtures/crds.
	crds bool
	// paths are manifests to apply, relative to the repository root.
	paths []string
	// drop leaves out objects of these kinds from paths.
	drop map[string]bool
}

// build starts a control plane, creates the scenario in it and waits until
// its workloads are ready. It returns the admin client and the control
// plane, which the test's cleanup stops.
func (s platformScenario) build(t *testing.T) (*controlplane.ControlPlane, *client) {
	t.Helper()
	// About 70 s on an idle two-core machine, most of it installing the
	// CRDs; a loaded one has taken three times as long.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cp, err := controlplane.Start(ctx, controlplane.Options{Users: []controlplane.User{{Name: "reader"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cp.Stop)
	if err := cp.AddNodes(ctx, s.nodes...); err != nil {
		t.Fatal(err)
	}
	admin := newClient(t, cp.RESTConfig("admin"))
	if s.crds {
		crds, err := controlplane.CRDFixtures()
		if err == nil {
			err = cp.InstallCRDs(ctx, crds)
		}
		if err != nil {
			t.Fatal(err)
		}
		admin.mapper.(meta.ResettableRESTMapper).Reset()
	}
	var objs []*unstructured.Unstructured
	for _, o := range readObjects(t, s.paths...) {
		if !s.drop[o.GetKind()] {
			objs = append(objs, o)
		}
	}
	shiftTimes(objs, time.Since(exampleTime).Truncate(time.Second))
	admin.ownMirrorPods(t, objs)
	admin.applyWithStatus(t, objs)
	admin.runCronJobs(t, objs)
	admin.scaleToHPAMinimum(t, objs)
	admin.waitReady(t)
	return cp, admin
}

// mirrorAnnotation marks the pods a kubelet creates for its static pods.
const mirrorAnnotation = "kubernetes.io/config.mirror"

// ownMirrorPods makes each static (mirror) pod owned by its Node, as the
// kubelet that creates it does.
func (c *client) ownMirrorPods(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() != "Pod" || o.GetAnnotations()[mirrorAnnotation] == "" {
			continue
		}
		nodeName, _, _ := unstructured.NestedString(o.Object, "spec", "nodeName")
		node, err := c.kube.CoreV1().Nodes().Get(context.Background(), nodeName, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("mirror pod %s: %v", o.GetName(), err)
		}
		yes := true
		o.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID, Controller: &yes}})
	}
}

// scaleToHPAMinimum scales each HorizontalPodAutoscaler's Deployment up to
// its minReplicas, as the HPA controller would; the test clusters run
// without it (see controlplane.startControllers), and a workload that
// leaves its replicas to an HPA would otherwise run one pod.
func (c *client) scaleToHPAMinimum(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	for _, o := range objs {
		if o.GetKind() != "HorizontalPodAutoscaler" {
			continue
		}
		target, _, _ := unstructured.NestedString(o.Object, "spec", "scaleTargetRef", "name")
		kind, _, _ := unstructured.NestedString(o.Object, "spec", "scaleTargetRef", "kind")
		value, _, _ := unstructured.NestedFieldNoCopy(o.Object, "spec", "minReplicas")
		var minReplicas int64
		switch v := value.(type) { // numbers decode as int64 or float64
		case int64:
			minReplicas = v
		case float64:
			minReplicas = int64(v)
		}
		if kind != "Deployment" || minReplicas == 0 {
			continue
		}
		deployments := c.kube.AppsV1().Deployments(o.GetNamespace())
		scale, err := deployments.GetScale(ctx, target, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue // an HPA of nothing: its controller would scale nothing either
		}
		if err != nil {
			t.Fatalf("scale of Deployment %s/%s: %v", o.GetNamespace(), target, err)
		}
		if int64(scale.Spec.Replicas) >= minReplicas {
			continue
		}
		scale.Spec.Replicas = int32(minReplicas)
		if _, err := deployments.UpdateScale(ctx, target, scale, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("scale Deployment %s/%s to %d: %v", o.GetNamespace(), target, minReplicas, err)
		}
	}
}

// runCronJobs starts a Job of each CronJob, as the CronJob controller does
// at a schedule the test does not wait for, and waits for them to finish.
func (c *client) runCronJobs(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	for _, o := range objs {
		if o.GetKind() != "CronJob" {
			continue
		}
		cron, err := c.kube.BatchV1().CronJobs(o.GetNamespace()).Get(ctx, o.GetName(), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		yes := true
		job := &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{
				Name: cron.Name + "-manual", Namespace: cron.Namespace, Labels: cron.Spec.JobTemplate.Labels,
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: cron.Name, UID: cron.UID, Controller: &yes}},
			},
			Spec: cron.Spec.JobTemplate.Spec,
		}
		if _, err := c.kube.BatchV1().Jobs(cron.Namespace).Create(ctx, job, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "job "+job.Name+" complete", 2*time.Minute, func() (bool, error) {
			got, err := c.kube.BatchV1().Jobs(job.Namespace).Get(ctx, job.Name, metav1.GetOptions{})
			return err == nil && got.Status.Succeeded > 0 && got.Status.CompletionTime != nil, err
		})
	}
}

// applyWithStatus applies objects, then the status of each custom resource
// that has one, as its controller would have written it. Built-in objects
// get their status from the test control plane's controllers and kwok.
func (c *client) applyWithStatus(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	status := map[*unstructured.Unstructured]any{}
	for _, o := range objs {
		if st, ok := o.Object["status"]; ok && isCustom(o) {
			status[o] = st
		}
	}
	applied := c.apply(t, objs)
	for i, o := range objs {
		st, ok := status[o]
		if !ok {
			continue
		}
		got := applied[i]
		mapping, err := c.mapper.RESTMapping(got.GroupVersionKind().GroupKind(), got.GroupVersionKind().Version)
		if err != nil {
			t.Fatal(err)
		}
		patch := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": got.GetAPIVersion(), "kind": got.GetKind(),
			"metadata": map[string]any{"name": got.GetName(), "namespace": got.GetNamespace()},
			"status":   st,
		}}
		r := c.dyn.Resource(mapping.Resource).Namespace(got.GetNamespace())
		_, err = r.ApplyStatus(context.Background(), got.GetName(), patch, metav1.ApplyOptions{FieldManager: "e2e-status", Force: true})
		if apierrors.IsNotFound(err) {
			// No status subresource (Velero's Backups): the status was
			// applied with the object.
			continue
		}
		if err != nil {
			t.Fatalf("apply status of %s %s/%s: %v", got.GetKind(), got.GetNamespace(), got.GetName(), err)
		}
	}
}

// isCustom reports whether an object is a custom resource: its group is
// not one Kubernetes serves itself.
func isCustom(o *unstructured.Unstructured) bool {
	g := o.GroupVersionKind().Group
	return strings.Contains(g, ".") && !strings.HasSuffix(g, ".k8s.io")
}

// shiftTimes moves every RFC 3339 timestamp under the objects' status by d,
// so that "completed an hour before the example was written" stays an hour
// ago whenever the test runs.
func shiftTimes(objs []*unstructured.Unstructured, d time.Duration) {
	var shift func(v any) any
	shift = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				x[k] = shift(e)
			}
		case []any:
			for i, e := range x {
				x[i] = shift(e)
			}
		case string:
			if ts, err := time.Parse(time.RFC3339, x); err == nil {
				return ts.Add(d).UTC().Format(time.RFC3339)
			}
		}
		return v
	}
	for _, o := range objs {
		if st, ok := o.Object["status"]; ok {
			o.Object["status"] = shift(st)
		}
	}
}

// waitReady waits until every Deployment, StatefulSet and DaemonSet has
// all its replicas ready, but StatefulSets that claim volumes: the test
// cluster has no storage provisioner.
func (c *client) waitReady(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	waitFor(t, "workloads ready", 3*time.Minute, func() (bool, error) {
		var waiting []string
		deps, err := c.kube.AppsV1().Deployments("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, d := range deps.Items {
			if want := ptr.Deref(d.Spec.Replicas, 1); d.Status.ReadyReplicas != want {
				waiting = append(waiting, fmt.Sprintf("Deployment %s/%s %d/%d", d.Namespace, d.Name, d.Status.ReadyReplicas, want))
			}
		}
		sts, err := c.kube.AppsV1().StatefulSets("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, s := range sts.Items {
			if want := ptr.Deref(s.Spec.Replicas, 1); len(s.Spec.VolumeClaimTemplates) == 0 && s.Status.ReadyReplicas != want {
				waiting = append(waiting, fmt.Sprintf("StatefulSet %s/%s %d/%d", s.Namespace, s.Name, s.Status.ReadyReplicas, want))
			}
		}
		dss, err := c.kube.AppsV1().DaemonSets("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, d := range dss.Items {
			if d.Status.DesiredNumberScheduled == 0 || d.Status.NumberReady != d.Status.DesiredNumberScheduled {
				waiting = append(waiting, fmt.Sprintf("DaemonSet %s/%s %d/%d", d.Namespace, d.Name, d.Status.NumberReady, d.Status.DesiredNumberScheduled))
			}
		}
		if len(waiting) > 0 {
			return false, fmt.Errorf("not ready: %s", strings.Join(waiting, ", "))
		}
		return true, nil
	})
}

// auditNow audits a live cluster as of the present (the other e2e tests
// use a fixed clock), so that the shifted example timestamps are recent.
func auditNow(t *testing.T, kubeconfig string) *report.Report {
	t.Helper()
	return auditJSONWith(t, cli.Streams{Now: time.Now}, 0, "audit", "--kubeconfig", kubeconfig)
}

// resultsByCheck returns the results by check ID.
func resultsByCheck(r *report.Report) map[string][]report.Result {
	out := map[string][]report.Result{}
	for _, res := range r.Results {
		out[res.Check] = append(out[res.Check], res)
	}
	return out
}

// platformNodes are three tainted control-plane nodes and three workers in
// three zones.
func platformNodes() []controlplane.Node {
	var nodes []controlplane.Node
	noSchedule := []corev1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}}
	for i, zone := range []string{"zone-a", "zone-b", "zone-c"} {
		nodes = append(nodes,
			controlplane.Node{Name: "cp-" + string(rune('1'+i)), Zone: zone, Role: "control-plane", Taints: noSchedule, Kubelet: kubeletVersion},
			controlplane.Node{Name: "worker-" + zone[len(zone)-1:], Zone: zone, Role: "worker", Kubelet: kubeletVersion})
	}
	return nodes
}

// platformChecks are the checks of the cluster as a whole, from the
// registry: those judged on the cluster object.
func platformChecks(r *report.Report) []string {
	var ids []string
	seen := map[string]bool{}
	for _, res := range r.Results {
		if res.Object.Kind == "Cluster" && !seen[res.Check] {
			seen[res.Check] = true
			ids = append(ids, res.Check)
		}
	}
	sort.Strings(ids)
	return ids
}

// TestPlatformBare: workloads only (the shop as it often first reaches
// production), no platform. Every area fails with evidence, and nothing
// about the platform passes but the Kubernetes version. Cluster DNS, which
// the test control plane does not run, is not assessed: plimsoll does not
// call a DNS it cannot recognise missing.
func TestPlatformBare(t *testing.T) {
	cp, _ := platformScenario{
		nodes: []controlplane.Node{
			{Name: "cp-1", Zone: "zone-a", Role: "control-plane", Kubelet: kubeletVersion},
			{Name: "worker-a", Zone: "zone-a", Role: "worker", Kubelet: kubeletVersion},
			{Name: "worker-b", Zone: "zone-a", Role: "worker", Kubelet: kubeletVersion},
		},
		paths: []string{filepath.Join(repoRoot, "examples", "not-ready")},
	}.build(t)
	r := auditNow(t, cp.Kubeconfig("admin"))
	byCheck := resultsByCheck(r)
	for _, id := range bareFailures {
		res := byCheck[id]
		if len(res) == 0 {
			t.Errorf("%s: no result on a bare cluster", id)
		}
		for _, x := range res {
			if x.Status != "fail" || x.Message == "" {
				t.Errorf("%s on a bare cluster: got %s %q, want a failure with evidence", id, x.Status, x.Message)
				continue
			}
			t.Logf("%s: %s", id, x.Message)
		}
	}
	if dns := byCheck["dns-ha"]; len(dns) != 1 || !strings.HasPrefix(dns[0].Message, "not assessed: ") {
		t.Errorf("dns-ha: got %+v, want not assessed", dns)
	}
	for _, id := range platformChecks(r) {
		for _, res := range byCheck[id] {
			if res.Status == "pass" && id != "kubernetes-version-supported" {
				t.Errorf("%s passed on a bare cluster: %s", id, res.Message)
			}
		}
	}
}

// bareFailures are a check per area of the platform.
var bareFailures = []string{
	"monitoring-prometheus", "monitoring-alertmanager", "monitoring-node-exporter", "logging-shipper",
	"backup-velero", "backup-etcd", "cert-manager-ready", "secrets-manager", "ingress-controller",
	"policy-enforcement", "gitops-installed", "image-scanning", "node-autoscaler", "metrics-server",
	"control-plane-ha", "nodes-workers-ha", "storage-default-class",
}

// TestPlatformProductionLike: examples/ready and examples/production in a
// cluster with three control-plane nodes and three workers in three zones.
// Every check of the infrastructure and cluster-services layers passes
// (with evidence) or applies to nothing.
func TestPlatformProductionLike(t *testing.T) {
	cp, admin := platformScenario{
		nodes: platformNodes(),
		crds:  true,
		paths: []string{filepath.Join(repoRoot, "examples", "ready"), filepath.Join(repoRoot, "examples", "production")},
	}.build(t)
	r := auditNow(t, cp.Kubeconfig("admin"))
	// The documented read-only role reads every platform resource.
	admin.bind(t, "reader", "", readerRole(t).Rules)
	asReader := auditNow(t, cp.Kubeconfig("reader"))
	if asReader.Partial || len(asReader.InputErrors) > 0 {
		t.Errorf("as the reader: got a partial audit: %+v", asReader.InputErrors)
	}
	if got, want := platformOutcomes(asReader), platformOutcomes(r); !slices.Equal(got, want) {
		t.Errorf("as the reader, the platform audits differently than as admin:\nreader: %v\nadmin:  %v", got, want)
	}
	for _, res := range r.Results {
		layer := res.Layer
		if layer != "infrastructure" && layer != "cluster-services" && res.Object.Kind != "Cluster" {
			continue
		}
		switch res.Status {
		case "fail", "error":
			t.Errorf("%s on %s %s/%s: %s %s", res.Check, res.Object.Kind, res.Object.Namespace, res.Object.Name, res.Status, res.Message)
		case "pass":
			if res.Object.Kind == "Cluster" && res.Message == "" {
				t.Errorf("%s passed with no evidence", res.Check)
			}
		}
	}
	for _, l := range r.Score.Layers {
		if (l.Layer == "infrastructure" || l.Layer == "cluster-services") && (l.Score == nil || *l.Score != 100) {
			t.Errorf("layer %s: got score %v (%s), want 100", l.Layer, l.Score, l.Reason)
		}
	}
	// The committed snapshot of this cluster audits the same.
	snap := filepath.Join(repoRoot, "examples", "production", "snapshot.json.gz")
	if os.Getenv("PLIMSOLL_UPDATE_SNAPSHOT") != "" {
		if p := run(t, "snapshot", "--kubeconfig", cp.Kubeconfig("admin"), "-o", snap); p.code != 0 {
			t.Fatalf("snapshot: exit %d: %s", p.code, p.errOut)
		}
	}
	fromSnapshot := auditJSON(t, 0, "audit", "--snapshot", snap)
	if got, want := platformOutcomes(fromSnapshot), platformOutcomes(r); !slices.Equal(got, want) {
		t.Errorf("the committed snapshot (%s) audits differently from the cluster it was taken of; refresh it with PLIMSOLL_UPDATE_SNAPSHOT=1 go test ./test/e2e -run TestPlatformProductionLike\nsnapshot: %v\ncluster:  %v", snap, got, want)
	}
	// What serve exports of such a cluster: docs/fleet.md quotes it.
	checkSeries(t, cp)
}

// platformOutcomes lists check, object and status of the results in the
// infrastructure and cluster-services layers.
func platformOutcomes(r *report.Report) []string {
	var out []string
	for _, res := range r.Results {
		if res.Layer == "infrastructure" || res.Layer == "cluster-services" || res.Object.Kind == "Cluster" {
			out = append(out, res.Check+" "+res.Object.Kind+" "+res.Object.Namespace+"/"+res.Object.Name+" "+res.Status)
		}
	}
	sort.Strings(out)
	return out
}

// TestPlatformManaged: nodes labelled as EKS's are, and no control-plane
// node. What the provider hides is not assessed (provider-managed), never
// failed, and the infrastructure score is not penalised for it.
func TestPlatformManaged(t *testing.T) {
	var nodes []controlplane.Node
	for i, zone := range []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"} {
		nodes = append(nodes, controlplane.Node{
			Name: "ip-10-0-" + string(rune('1'+i)) + "-10.eu-west-1.compute.internal", Zone: zone, Kubelet: kubeletVersion,
			Labels: map[string]string{"eks.amazonaws.com/nodegroup": "general", "eks.amazonaws.com/capacityType": "ON_DEMAND"},
		})
	}
	cp, _ := platformScenario{
		nodes: nodes,
		crds:  true,
		paths: []string{filepath.Join(repoRoot, "examples", "ready"), filepath.Join(repoRoot, "examples", "production")},
		drop:  map[string]bool{"Pod": true, "CronJob": true}, // no static control-plane pods, no etcd backup job
	}.build(t)
	r := auditNow(t, cp.Kubeconfig("admin"))
	byCheck := resultsByCheck(r)
	for _, id := range managedHidden {
		res := byCheck[id]
		if len(res) == 0 {
			t.Errorf("%s: no result", id)
			continue
		}
		for _, x := range res {
			if x.Status != "skip" || !strings.Contains(x.Message, "managed") || !strings.Contains(x.Message, "Amazon EKS") {
				t.Errorf("%s on %s: got %s %q, want not assessed (managed by Amazon EKS)", id, x.Object.Name, x.Status, x.Message)
			}
		}
	}
	notAssessed := map[string]string{}
	for _, na := range r.Score.Coverage.NotAssessed {
		notAssessed[na.Check] = na.Reason
	}
	for _, id := range managedHidden {
		if !strings.Contains(notAssessed[id], "managed") {
			t.Errorf("%s: coverage says %q, want it not assessed as managed", id, notAssessed[id])
		}
	}
	for _, l := range r.Score.Layers {
		if (l.Layer == "infrastructure" || l.Layer == "cluster-services") && (l.Score == nil || *l.Score != 100) {
			t.Errorf("%s: got score %v, want 100: what the provider hides must not count", l.Layer, l.Score)
		}
	}
}

// managedHidden are the checks a managed control plane hides.
var managedHidden = []string{"control-plane-ha", "backup-etcd", "apiserver-audit-logging", "apiserver-oidc"}

// TestPlatformFlannelOnly: Flannel is the only CNI, so the shop's
// NetworkPolicies are accepted and never enforced: a critical finding.
func TestPlatformFlannelOnly(t *testing.T) {
	var nodes []controlplane.Node
	for _, zone := range []string{"a", "b", "c"} {
		nodes = append(nodes, controlplane.Node{Name: "worker-" + zone, Zone: "zone-" + zone, Kubelet: kubeletVersion})
	}
	cp, _ := platformScenario{
		nodes: nodes,
		paths: []string{filepath.Join(repoRoot, "examples", "ready"), filepath.Join(repoRoot, "test", "e2e", "testdata", "flannel.yaml")},
	}.build(t)
	r := auditNow(t, cp.Kubeconfig("admin"))
	res := resultsByCheck(r)["cni-enforces-networkpolicy"]
	if len(res) != 1 || res[0].Status != "fail" || res[0].Severity != "critical" ||
		!strings.Contains(res[0].Message, "Flannel DaemonSet kube-flannel/kube-flannel-ds") || !strings.Contains(res[0].Message, "decorative") {
		t.Fatalf("got %+v, want one critical failure naming the Flannel DaemonSet and the decorative NetworkPolicies", res)
	}
	t.Log(res[0].Message)
}
