package pipeline_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	appsv1 "k8s.io/api/apps/v1"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/checks"
	"github.com/plimsoll/plimsoll/internal/cluster"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/manifest"
	"github.com/plimsoll/plimsoll/internal/pipeline"
	"github.com/plimsoll/plimsoll/internal/report"
	"github.com/plimsoll/plimsoll/internal/serve"
)

// webDeployment fails image-tag-latest: its image has no pinned tag.
const webDeployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: "registry.example.com/web:latest"}]}}
`

// tree writes files, named by slash-separated paths, into a new temporary
// directory, and returns the directory.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, text := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(text), Mode: 0o644}
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, fsys); err != nil {
		t.Fatal(err)
	}
	return dir
}

// read reads src, which must not fail.
func read(t *testing.T, src pipeline.Source) *pipeline.Inputs {
	t.Helper()
	in, err := pipeline.Read(context.Background(), src)
	if err != nil {
		t.Fatalf("read %+v: %v", src, err)
	}
	return in
}

// noCluster is a cluster that fails the test if it is reached.
func noCluster(t *testing.T) pipeline.Cluster {
	return pipeline.Cluster{Connect: func() (*pipeline.Connection, error) {
		t.Error("the cluster was reached, but the source names manifests or a snapshot")
		return nil, errors.New("no cluster in this test")
	}}
}

func options() pipeline.Options {
	return pipeline.Options{
		Registry: checks.Registry(),
		Now:      func() time.Time { return time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC) },
		Version:  "v1.2.3",
	}
}

// ids are the objects as "Kind namespace/name".
func ids(objs []*inventory.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.Kind+" "+o.Namespace+"/"+o.Name)
	}
	return out
}

// results are the report's results of a check, as "status namespace/name".
func results(r *report.Report, checkID string) []string {
	var out []string
	for _, res := range r.Results {
		if res.Check == checkID {
			out = append(out, res.Status+" "+res.Object.Namespace+"/"+res.Object.Name)
		}
	}
	return out
}

// TestReadManifestsWithABadFile reads a directory with a file that does not
// parse, and standard input: the bad file is located and reported, the
// rest is read and audited, and the report is partial. The cluster is never
// reached.
func TestReadManifestsWithABadFile(t *testing.T) {
	dir := tree(t, map[string]string{
		"good.yaml": webDeployment,
		"bad.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\ndata: {}\n",
	})
	bad := filepath.Join(dir, "bad.yaml")
	stdin := "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"

	in := read(t, pipeline.Source{Paths: []string{dir, "-"}, Stdin: strings.NewReader(stdin), Cluster: noCluster(t)})
	if in.Mode != inventory.FromManifests {
		t.Errorf("got mode %q, want %q", in.Mode, inventory.FromManifests)
	}
	if len(in.Errors) != 1 || in.Errors[0].File != bad || in.Errors[0].Line != 3 || in.Errors[0].Message == "" {
		t.Errorf("got input errors %+v, want one for %s, line 3, with a message", in.Errors, bad)
	}
	if diff := cmp.Diff([]string{"Deployment shop/web", "Namespace /shop"}, ids(in.Objects)); diff != "" {
		t.Errorf("objects read (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{dir, "-"}, in.Sources); diff != "" {
		t.Errorf("sources (-want +got):\n%s", diff)
	}

	o := options()
	a := pipeline.Audit(in, o)
	if in.Objects != nil {
		t.Errorf("got %d objects left in the inputs after the audit, want none: the audit takes them", len(in.Objects))
	}
	if a.Objects != 2 {
		t.Errorf("got %d objects audited, want 2", a.Objects)
	}
	r := pipeline.Report(a, in, o)
	if !r.Partial || len(r.InputErrors) != 1 || r.InputErrors[0].File != bad {
		t.Errorf("got partial %v with input errors %+v, want a partial report naming %s", r.Partial, r.InputErrors, bad)
	}
	if got := results(r, "image-tag-latest"); !cmp.Equal(got, []string{"fail shop/web"}) {
		t.Errorf("got image-tag-latest results %v, want the good file's Deployment to fail", got)
	}
	if r.Tool.Version != "v1.2.3" || r.Mode != "manifests" {
		t.Errorf("got tool %+v in mode %q, want version v1.2.3 in mode manifests", r.Tool, r.Mode)
	}
	if want := "2026-11-21T08:00:00Z"; r.Time != want {
		t.Errorf("got time %q, want the audit's, from its clock: %q", r.Time, want)
	}
}

// TestReadHelm renders a chart with values and release settings.
func TestReadHelm(t *testing.T) {
	chart := tree(t, map[string]string{
		"Chart.yaml":  "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
		"values.yaml": "replicas: 3\n",
		"templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: "{{ .Release.Name }}-web", namespace: "{{ .Release.Namespace }}"}
spec:
  replicas: {{ .Values.replicas }}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "registry.example.com/web:1.4.2"}]}
`,
	})

	in := read(t, pipeline.Source{
		HelmChart: chart,
		Helm:      manifest.HelmOptions{Values: []string{"replicas=2"}, ReleaseName: "prod", Namespace: "prod"},
		Cluster:   noCluster(t),
	})
	if len(in.Errors) > 0 {
		t.Fatalf("got input errors %+v, want none", in.Errors)
	}
	if diff := cmp.Diff([]string{"Deployment prod/prod-web"}, ids(in.Objects)); diff != "" {
		t.Fatalf("objects rendered (-want +got):\n%s", diff)
	}
	o := in.Objects[0]
	if d, ok := o.Typed.(*appsv1.Deployment); !ok || d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("got %#v, want a Deployment of 2 replicas (--set replicas=2)", o.Typed)
	}
	if want := (inventory.Source{File: filepath.Join(chart, "templates", "deployment.yaml"), Line: 1, Origin: "helm chart " + chart}); o.Source != want {
		t.Errorf("got source %+v, want %+v", o.Source, want)
	}
	if diff := cmp.Diff([]string{"helm chart " + chart}, in.Sources); diff != "" {
		t.Errorf("sources (-want +got):\n%s", diff)
	}

	// A chart that is not there is an input that could not be read, not
	// a failed run.
	missing := filepath.Join(chart, "no-such-chart")
	in = read(t, pipeline.Source{HelmChart: missing, Cluster: noCluster(t)})
	if len(in.Errors) != 1 || in.Errors[0].File != missing {
		t.Errorf("got input errors %+v, want one naming %s", in.Errors, missing)
	}
}

// TestReadKustomize builds a Kustomization; each object keeps the file
// that declared it. Manifests of different kinds are read together, the
// sources in order.
func TestReadKustomize(t *testing.T) {
	dir := tree(t, map[string]string{
		"base/deployment.yaml":    webDeployment,
		"base/kustomization.yaml": "namespace: prod\nnamePrefix: prod-\nresources: [deployment.yaml]\n",
		"namespace.yaml":          "apiVersion: v1\nkind: Namespace\nmetadata: {name: prod}\n",
	})
	base, plain := filepath.Join(dir, "base"), filepath.Join(dir, "namespace.yaml")

	in := read(t, pipeline.Source{Paths: []string{plain}, Kustomize: base, Cluster: noCluster(t)})
	if len(in.Errors) > 0 {
		t.Fatalf("got input errors %+v, want none", in.Errors)
	}
	if diff := cmp.Diff([]string{"Namespace /prod", "Deployment prod/prod-web"}, ids(in.Objects)); diff != "" {
		t.Fatalf("objects read (-want +got):\n%s", diff)
	}
	if got, want := in.Objects[1].Source.File, filepath.Join(base, "deployment.yaml"); got != want {
		t.Errorf("got the Deployment from %q, want the file that declared it, %q", got, want)
	}
	if diff := cmp.Diff([]string{plain, "kustomize build " + base}, in.Sources); diff != "" {
		t.Errorf("sources (-want +got):\n%s", diff)
	}
}

// TestReadSnapshotAlone: a snapshot is audited alone.
func TestReadSnapshotAlone(t *testing.T) {
	_, err := pipeline.Read(context.Background(), pipeline.Source{Snapshot: "prod.json", Paths: []string{"k8s"}, Cluster: noCluster(t)})
	if want := "--snapshot audits a snapshot alone: give no paths, --helm or --kustomize with it"; err == nil || err.Error() != want {
		t.Errorf("got error %v, want %q", err, want)
	}
}

// taken is when the snapshot of snapshotOf was taken.
var taken = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// snapshotOf is what a snapshot holds of a cluster of two nodes in two
// zones, a Deployment and a cert-manager Certificate: the cluster refused
// to list PodDisruptionBudgets, and one Deployment cannot be decoded.
func snapshotOf() (cluster.Header, []map[string]any) {
	h := cluster.Header{
		Created: taken, Context: "prod", Server: "https://10.0.0.1:6443", ServerVersion: "v1.36.3",
		Types: []cluster.Type{
			{Key: "Certificate.cert-manager.io", Group: "cert-manager.io", Version: "v1", Resource: "certificates", Namespaced: true},
			{Key: "Deployment", Group: "apps", Version: "v1", Resource: "deployments", Namespaced: true},
			{Key: "Node", Version: "v1", Resource: "nodes"},
		},
		Unread: []cluster.Unread{{
			Type:   cluster.Type{Key: "PodDisruptionBudget", Group: "policy", Version: "v1", Resource: "poddisruptionbudgets", Namespaced: true},
			Reason: "forbidden",
		}},
	}
	node := func(name, zone string) map[string]any {
		return map[string]any{"apiVersion": "v1", "kind": "Node", "metadata": map[string]any{
			"name": name, "labels": map[string]any{"topology.kubernetes.io/zone": zone},
		}}
	}
	items := []map[string]any{
		node("a", "eu-west-1a"), node("b", "eu-west-1b"),
		{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "web", "namespace": "shop"},
			"spec": map[string]any{"replicas": 2, "selector": map[string]any{"matchLabels": map[string]any{"app": "web"}}, "template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"app": "web"}},
				"spec":     map[string]any{"containers": []any{map[string]any{"name": "web", "image": "nginx:1.27"}}},
			}}},
		{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "broken", "namespace": "shop"},
			"spec": map[string]any{"replicas": "two"}},
		// Valid for 60 days after the snapshot was taken.
		{"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": map[string]any{"name": "shop-tls", "namespace": "shop"},
			"spec": map[string]any{"secretName": "shop-tls"},
			"status": map[string]any{
				"notAfter":   taken.Add(60 * 24 * time.Hour).Format(time.RFC3339),
				"conditions": []any{map[string]any{"type": "Ready", "status": "True"}},
			}},
	}
	return h, items
}

// writeSnapshot writes the snapshot of snapshotOf and returns its path.
func writeSnapshot(t *testing.T, name string) string {
	t.Helper()
	h, items := snapshotOf()
	path := filepath.Join(t.TempDir(), name)
	if err := cluster.WriteSnapshot(path, h, items); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSnapshotRoundTrip reads a snapshot as the cluster it was taken of: the
// cluster it describes, the types it could not list (a partial run), the
// object it could not decode, and the time it was taken, at which checks
// judge ages, however long ago that was.
func TestSnapshotRoundTrip(t *testing.T) {
	path := writeSnapshot(t, "prod.json.gz")
	in := read(t, pipeline.Source{Snapshot: path, Cluster: noCluster(t)})
	if in.Mode != inventory.FromCluster || !in.At.Equal(taken) || in.Namespace != "" {
		t.Errorf("got mode %q at %v in namespace %q, want the whole cluster at %v", in.Mode, in.At, in.Namespace, taken)
	}
	wantCluster := &report.Cluster{Server: "https://10.0.0.1:6443", Version: "v1.36.3", Context: "prod", Nodes: 2, Zones: []string{"eu-west-1a", "eu-west-1b"}}
	if diff := cmp.Diff(wantCluster, in.Cluster); diff != "" {
		t.Errorf("cluster (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"snapshot " + path}, in.Sources); diff != "" {
		t.Errorf("sources (-want +got):\n%s", diff)
	}
	if len(in.Errors) != 2 || in.Errors[0] != (report.InputError{Object: "poddisruptionbudgets.policy", Message: "cannot list: forbidden"}) ||
		!strings.Contains(in.Errors[1].Message, "broken") {
		t.Errorf("got input errors %+v, want the refused type, then the Deployment that does not decode", in.Errors)
	}
	for _, key := range []string{"Secret", "PodDisruptionBudget"} {
		if in.Unreadable[key] == "" {
			t.Errorf("got %s readable, want it unreadable with the reason", key)
		}
	}

	// A year after the snapshot was taken the certificate has expired, but
	// the audit judges the cluster as it was.
	o := options()
	o.Now = func() time.Time { return taken.AddDate(1, 0, 0) }
	r := pipeline.Report(pipeline.Audit(in, o), in, o)
	if got := results(r, "certificate-expiry"); !cmp.Equal(got, []string{"pass shop/shop-tls"}) {
		t.Errorf("got certificate-expiry %v, want a pass: at the snapshot's time it had 60 days left", got)
	}
	if want := "2026-03-01T12:00:00Z"; r.Time != want {
		t.Errorf("got time %q, want the snapshot's, %q, not the audit's", r.Time, want)
	}
	if !r.Partial || r.Mode != "cluster" {
		t.Errorf("got partial %v in mode %q, want a partial audit of a cluster", r.Partial, r.Mode)
	}
	for _, c := range r.Checks {
		if c.ID == "pdb-coverage" && c.Assessed {
			t.Error("got pdb-coverage assessed, want it not assessed: PodDisruptionBudgets could not be listed")
		}
	}
}

// TestKindsNotAskedFor: a kind a check needs that a read asked for and the
// cluster does not serve (ValidatingAdmissionPolicy before Kubernetes 1.30)
// is none, and its check is assessed; one the read did not ask for (a
// snapshot taken by an older plimsoll) is unreadable. A snapshot from
// before reads recorded what they asked for counts the kinds every
// cluster serves that it does not list as not asked for.
func TestKindsNotAskedFor(t *testing.T) {
	reg := checks.Registry()
	const vap = "ValidatingAdmissionPolicy.admissionregistration.k8s.io"
	assessed := func(h cluster.Header) map[string]bool {
		path := filepath.Join(t.TempDir(), "s.json")
		_, items := snapshotOf()
		if err := cluster.WriteSnapshot(path, h, items); err != nil {
			t.Fatal(err)
		}
		in := read(t, pipeline.Source{Snapshot: path, Cluster: noCluster(t)})
		out := map[string]bool{}
		for _, st := range pipeline.Audit(in, options()).Checks {
			out[st.Check.ID] = st.Assessed
		}
		return out
	}
	h, _ := snapshotOf()
	h.Unread = nil
	h.Requested = pipeline.Kinds(reg)
	if got := assessed(h); !got["policy-enforcement"] || !got["priority-class-exists"] {
		t.Errorf("asked for every kind: got policy-enforcement assessed %v, priority-class-exists %v; want both assessed", got["policy-enforcement"], got["priority-class-exists"])
	}
	h.Requested = slices.DeleteFunc(slices.Clone(h.Requested), func(k string) bool { return k == "PriorityClass.scheduling.k8s.io" })
	if got := assessed(h); got["priority-class-exists"] || !got["policy-enforcement"] {
		t.Errorf("not asked for PriorityClasses: got priority-class-exists assessed %v, policy-enforcement %v; want not, and assessed", got["priority-class-exists"], got["policy-enforcement"])
	}
	h.Requested = nil // an older snapshot
	if got := assessed(h); got["priority-class-exists"] || got["policy-enforcement"] {
		t.Errorf("an older snapshot: got priority-class-exists assessed %v, policy-enforcement %v (%s unlisted); want neither", got["priority-class-exists"], got["policy-enforcement"], vap)
	}
}

// TestAuditorAgreesWithRead: serve's audit of its cache and the audit of a
// snapshot of the same cluster give the same report, but for where the
// objects were read from.
func TestAuditorAgreesWithRead(t *testing.T) {
	o := options()
	in := read(t, pipeline.Source{Snapshot: writeSnapshot(t, "prod.json"), Cluster: noCluster(t)})
	want := pipeline.Report(pipeline.Audit(in, o), in, o)

	h, items := snapshotOf()
	snap := &serve.Snapshot{Header: h}
	for _, item := range items {
		obj, err := inventory.New(item, inventory.Source{Origin: "cluster"})
		if err != nil {
			snap.Errors = append(snap.Errors, err)
			continue
		}
		snap.Objects = append(snap.Objects, obj)
	}
	got, err := pipeline.Auditor(o)(context.Background(), snap)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"cluster prod"}, got.Sources); diff != "" {
		t.Errorf("sources (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(report.Report{}, "Sources"), cmpopts.IgnoreFields(report.Source{}, "Origin")); diff != "" {
		t.Errorf("serve's report differs from the snapshot's (-snapshot +serve):\n%s", diff)
	}
}

// TestSnapshotOfAnUnreachableCluster writes nothing and says why.
func TestSnapshotOfAnUnreachableCluster(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prod.json")
	refused := errors.New("no kubeconfig")
	_, _, err := pipeline.Snapshot(context.Background(), pipeline.Cluster{
		Connect: func() (*pipeline.Connection, error) { return nil, refused },
	}, path, nil)
	if !errors.Is(err, refused) {
		t.Errorf("got error %v, want %v", err, refused)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got a snapshot file (%v), want none", err)
	}
}

// TestLoadConfig finds the configuration upward from a directory; the
// audit then leaves the checks it disables out.
func TestLoadConfig(t *testing.T) {
	dir := tree(t, map[string]string{
		".plimsoll.yaml":    "checks:\n  disable: [image-tag-latest]\n",
		"apps/web/web.yaml": webDeployment,
	})
	sub := filepath.Join(dir, "apps", "web")
	reg := checks.Registry()

	cfg, err := pipeline.LoadConfig("", sub, reg)
	if err != nil {
		t.Fatal(err)
	}
	in := read(t, pipeline.Source{Paths: []string{sub}, Cluster: noCluster(t)})
	o := options()
	o.Config = cfg
	if a := pipeline.Audit(in, o); !disabled(a, "image-tag-latest") {
		t.Error("got image-tag-latest enabled, want it disabled by the configuration found upward")
	}

	if _, err := pipeline.LoadConfig(filepath.Join(dir, "missing.yaml"), sub, reg); err == nil {
		t.Error("got no error for a configuration file that is not there")
	}
	cfg, err = pipeline.LoadConfig("", t.TempDir(), reg)
	if err != nil || len(cfg.Checks.Disable) > 0 {
		t.Errorf("got %+v, %v with no configuration anywhere, want the defaults", cfg, err)
	}
}

func disabled(a *audit.Audit, id string) bool {
	for _, c := range a.Disabled {
		if c.ID == id {
			return true
		}
	}
	return false
}

// TestKinds: a cluster read lists Namespaces and Nodes first, then every
// kind a check needs, once, but never Secrets or ConfigMaps, which checks
// do read from manifests.
func TestKinds(t *testing.T) {
	kinds := pipeline.Kinds(checks.Registry())
	if len(kinds) < 3 || kinds[0] != "Namespace" || kinds[1] != "Node" {
		t.Fatalf("got %v, want Namespace and Node first", kinds)
	}
	seen := map[string]bool{}
	for _, k := range kinds {
		if seen[k] {
			t.Errorf("got %s twice", k)
		}
		seen[k] = true
	}
	for _, k := range []string{"Deployment", "Certificate.cert-manager.io"} {
		if !seen[k] {
			t.Errorf("got %v, want %s among them", kinds, k)
		}
	}
	if seen[inventory.ClusterKey] || seen["Secret"] || seen["ConfigMap"] {
		t.Errorf("got %v, want neither the cluster object nor Secrets nor ConfigMaps listed", kinds)
	}
}
