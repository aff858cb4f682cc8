package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/plimsoll/plimsoll/internal/policy"
)

// defaultedKinds are the kinds policy.SetDefaults defaults, in the versions
// it takes.
var defaultedKinds = map[schema.GroupVersionKind]bool{
	{Version: "v1", Kind: "Pod"}:                        true,
	{Version: "v1", Kind: "Service"}:                    true,
	{Version: "v1", Kind: "PersistentVolumeClaim"}:      true,
	{Version: "v1", Kind: "ReplicationController"}:      true,
	{Group: "apps", Version: "v1", Kind: "Deployment"}:  true,
	{Group: "apps", Version: "v1", Kind: "StatefulSet"}: true,
	{Group: "apps", Version: "v1", Kind: "DaemonSet"}:   true,
	{Group: "apps", Version: "v1", Kind: "ReplicaSet"}:  true,
	{Group: "batch", Version: "v1", Kind: "Job"}:        true,
	{Group: "batch", Version: "v1", Kind: "CronJob"}:    true,
}

// TestDefaultsParity holds the defaults a custom check judges an object
// with (policy.SetDefaults, written out after k8s.io/kubernetes'
// SetDefaults_ functions, which plimsoll does not import) to a real API
// server: every workload, Pod, Service and claim of the examples, the
// custom checks' fixtures and the public corpus, created with server-side
// dry run, comes back exactly as SetDefaults defaults it, but for what the
// API server allocates or what admission plugins and the registry add
// after defaulting (serverSet below, each with its reason).
func TestDefaultsParity(t *testing.T) {
	cp := testCluster(t)
	admin := newClient(t, cp.RESTConfig("admin"))
	ctx := context.Background()
	const ns = "defaults-parity"
	if _, err := admin.dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).Create(ctx,
		&unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	objs := readObjects(t,
		filepath.Join(repoRoot, "examples"),
		filepath.Join(repoRoot, "policies"),
		filepath.Join(repoRoot, "..", "shared", "corpus"),
	)
	compared := map[string]int{}
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		if !defaultedKinds[gvk] {
			continue
		}
		name := gvk.Kind + " " + o.GetNamespace() + "/" + o.GetName()
		mapping, err := admin.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		in := o.DeepCopy()
		in.SetNamespace(ns)
		in.SetResourceVersion("")
		opts := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
		got, err := admin.dyn.Resource(mapping.Resource).Namespace(ns).Create(ctx, in, opts)
		if err != nil {
			// The corpus holds a few objects the API server refuses
			// (plimsoll's api-server-accepts finds them); nothing to compare.
			t.Logf("%s: refused, not compared: %v", name, err)
			continue
		}
		want := typed(t, name, got)
		local := typed(t, name, in)
		policy.SetDefaults(local)
		wantMap, localMap := normalized(t, want), normalized(t, local)
		if diff := cmp.Diff(wantMap, localMap); diff != "" {
			t.Errorf("%s: SetDefaults differs from the API server (-server +plimsoll):\n%s", name, diff)
		}
		compared[gvk.Kind]++
	}
	t.Logf("compared: %v", compared)
	for _, kind := range []string{"Pod", "Service", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "PersistentVolumeClaim"} {
		if compared[kind] == 0 {
			t.Errorf("no %s compared: the test no longer shows what it is for", kind)
		}
	}
}

// typed converts u to its k8s.io/api type, as the API server decodes it.
func typed(t *testing.T, name string, u *unstructured.Unstructured) runtime.Object {
	t.Helper()
	obj, err := scheme.Scheme.New(u.GroupVersionKind())
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, obj); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return obj
}

// normalized is obj as a map, without what the API server allocates or
// what is set after defaulting (serverSet).
func normalized(t *testing.T, obj runtime.Object) map[string]any {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: m}
	for _, path := range serverSet[u.GetKind()] {
		unstructured.RemoveNestedField(m, path...)
	}
	for _, path := range serverSet["*"] {
		unstructured.RemoveNestedField(m, path...)
	}
	switch u.GetKind() {
	case "Pod":
		withoutServiceAccountToken(m)
	case "Service":
		// The registry allocates node ports.
		ports, _, _ := unstructured.NestedSlice(m, "spec", "ports")
		for _, p := range ports {
			delete(p.(map[string]any), "nodePort")
		}
		if ports != nil {
			_ = unstructured.SetNestedSlice(m, ports, "spec", "ports")
		}
	}
	// A map a removal emptied is as good as absent.
	for _, path := range [][]string{{"metadata", "annotations"}, {"spec", "template", "metadata", "labels"}} {
		if v, ok, _ := unstructured.NestedMap(m, path...); ok && len(v) == 0 {
			unstructured.RemoveNestedField(m, path...)
		}
	}
	return m
}

// serverSet are the fields the API server sets on a create that are not
// defaults, by kind ("*" for every kind).
var serverSet = map[string][][]string{
	"*": {
		// Metadata the registry sets (rest.BeforeCreate, FillObjectMetaSystemFields).
		{"metadata", "uid"}, {"metadata", "creationTimestamp"}, {"metadata", "resourceVersion"},
		{"metadata", "generation"}, {"metadata", "managedFields"}, {"metadata", "namespace"},
		// PrepareForCreate resets status.
		{"status"},
	},
	"Service": {
		// Allocated by the Service registry from the cluster's service
		// CIDRs and node port range.
		{"spec", "clusterIP"}, {"spec", "clusterIPs"}, {"spec", "healthCheckNodePort"},
		{"spec", "ipFamilies"}, {"spec", "ipFamilyPolicy"},
	},
	"PersistentVolumeClaim": {
		// The StorageObjectInUseProtection admission plugin adds
		// kubernetes.io/pvc-protection.
		{"metadata", "finalizers"},
	},
	"DaemonSet": {
		// The DaemonSet strategy's PrepareForCreate records the template
		// generation.
		{"metadata", "annotations", "deprecated.daemonset.template.generation"},
	},
	"Job": {
		// The Job strategy's PrepareForCreate generates the selector and
		// the pod labels from the Job's uid.
		{"spec", "selector"},
		{"spec", "template", "metadata", "labels", "controller-uid"},
		{"spec", "template", "metadata", "labels", "batch.kubernetes.io/controller-uid"},
		{"spec", "template", "metadata", "labels", "job-name"},
		{"spec", "template", "metadata", "labels", "batch.kubernetes.io/job-name"},
	},
	"Pod": {
		// The ServiceAccount admission plugin names the account.
		{"spec", "serviceAccountName"}, {"spec", "serviceAccount"},
		// The Priority admission plugin resolves the class.
		{"spec", "priority"}, {"spec", "preemptionPolicy"},
		// The DefaultTolerationSeconds admission plugin adds two.
		{"spec", "tolerations"},
	},
}

// withoutServiceAccountToken removes from a Pod's map the projected token
// volume the ServiceAccount admission plugin adds, and its mounts.
func withoutServiceAccountToken(pod map[string]any) {
	volumes, _, _ := unstructured.NestedSlice(pod, "spec", "volumes")
	var kept []any
	for _, v := range volumes {
		if !strings.HasPrefix(v.(map[string]any)["name"].(string), "kube-api-access-") {
			kept = append(kept, v)
		}
	}
	if kept == nil {
		unstructured.RemoveNestedField(pod, "spec", "volumes")
	} else {
		_ = unstructured.SetNestedSlice(pod, kept, "spec", "volumes")
	}
	for _, list := range []string{"initContainers", "containers"} {
		containers, _, _ := unstructured.NestedSlice(pod, "spec", list)
		for _, c := range containers {
			c := c.(map[string]any)
			mounts, _, _ := unstructured.NestedSlice(c, "volumeMounts")
			var kept []any
			for _, m := range mounts {
				if !strings.HasPrefix(m.(map[string]any)["name"].(string), "kube-api-access-") {
					kept = append(kept, m)
				}
			}
			if kept == nil {
				delete(c, "volumeMounts")
			} else {
				c["volumeMounts"] = kept
			}
		}
		if containers != nil {
			_ = unstructured.SetNestedSlice(pod, containers, "spec", list)
		}
	}
}
