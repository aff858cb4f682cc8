package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"

	"github.com/plimsoll/plimsoll/internal/cli"
	"github.com/plimsoll/plimsoll/internal/report"
	"github.com/plimsoll/plimsoll/test/controlplane"
)

var (
	policies  = filepath.Join("testdata", "policies")
	manifests = filepath.Join("testdata", "manifests")
)

// resources are the resources of the kinds the test creates.
var resources = map[string]schema.GroupVersionResource{
	"Namespace":                        {Version: "v1", Resource: "namespaces"},
	"Pod":                              {Version: "v1", Resource: "pods"},
	"Deployment":                       {Group: "apps", Version: "v1", Resource: "deployments"},
	"ReplicaLimit":                     {Group: "rules.example.com", Version: "v1", Resource: "replicalimits"},
	"ValidatingAdmissionPolicy":        {Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingadmissionpolicies"},
	"ValidatingAdmissionPolicyBinding": {Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingadmissionpolicybindings"},
}

func readObjects(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []*unstructured.Unstructured
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			var m map[string]any
			if err := dec.Decode(&m); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if len(m) > 0 {
				out = append(out, &unstructured.Unstructured{Object: m})
			}
		}
	}
	return out
}

func resourceOf(dyn dynamic.Interface, o *unstructured.Unstructured) dynamic.ResourceInterface {
	r := dyn.Resource(resources[o.GetKind()])
	if o.GetNamespace() != "" {
		return r.Namespace(o.GetNamespace())
	}
	return r
}

var setupOnce sync.Once

// cluster installs, once, the params kind, the policies, their bindings and
// params, and the manifests' Namespaces, and waits until the API server
// enforces every binding.
func cluster(t *testing.T) (*controlplane.ControlPlane, dynamic.Interface) {
	t.Helper()
	cp := controlplane.Shared()
	dyn, err := dynamic.NewForConfig(cp.RESTConfig(controlplane.AdminUser))
	if err != nil {
		t.Fatal(err)
	}
	setupOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err = cp.InstallCRDs(ctx, filepath.Join("testdata", "crd.yaml")); err != nil {
			return
		}
		objs := append(readObjects(t, policies), readObjects(t, manifests)...)
		for _, o := range objs {
			if o.GetKind() == "Deployment" || o.GetKind() == "Pod" {
				continue
			}
			if _, err = resourceOf(dyn, o).Create(ctx, o, metav1.CreateOptions{}); err != nil {
				err = fmt.Errorf("create %s %s: %w", o.GetKind(), o.GetName(), err)
				return
			}
		}
		// The API server enforces a binding once its policy source has
		// synced: a Deployment each binding refuses tells when.
		noTeam := deploymentObject("probe", "prod", nil, 1)
		tooMany := deploymentObject("probe", "prod", map[string]any{"team": "x"}, 9)
		err = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			return strings.Contains(refusal(ctx, dyn, noTeam), "require-team") && strings.Contains(refusal(ctx, dyn, tooMany), "replica-limit"), nil
		})
	})
	if err != nil {
		t.Fatalf("set up the cluster's admission policies: %v", err)
	}
	return cp, dyn
}

// deploymentObject is a Deployment with labels and replicas.
func deploymentObject(name, ns string, labels map[string]any, replicas int64) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": name, "namespace": ns, "labels": labels},
		"spec": map[string]any{"replicas": replicas, "selector": map[string]any{"matchLabels": map[string]any{"app": name}},
			"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": name}},
				"spec": map[string]any{"containers": []any{map[string]any{"name": "app", "image": "app:1"}}}}},
	}}
}

// refusal creates o with --dry-run=server and returns why the API server
// refused it, or "" when it admitted it. The API server evaluates every
// binding but names only the first that denies.
func refusal(ctx context.Context, dyn dynamic.Interface, o *unstructured.Unstructured) string {
	_, err := resourceOf(dyn, o).Create(ctx, o.DeepCopy(), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err == nil {
		return ""
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return "error: " + err.Error()
	}
	var msgs []string
	for _, c := range status.Status().Details.Causes {
		msgs = append(msgs, c.Message)
	}
	return err.Error() + " " + strings.Join(msgs, "; ")
}

// serverVerdicts are the bindings that refuse each workload of the
// manifests, as the API server says: each object is created with
// --dry-run=server, and again without each binding that refused it,
// until it is admitted, so that every refusing binding is known and not
// only the first the API server names.
func serverVerdicts(t *testing.T, dyn dynamic.Interface) map[string][]string {
	t.Helper()
	ctx := context.Background()
	out := map[string][]string{}
	for _, o := range readObjects(t, manifests) {
		if o.GetKind() == "Namespace" {
			continue
		}
		key := o.GetKind() + " " + o.GetNamespace() + "/" + o.GetName()
		out[key] = []string{}
		msg := refusal(ctx, dyn, o)
		for _, b := range []string{"require-team-prod", "replica-limit"} {
			if strings.Contains(msg, "binding '"+b+"'") {
				out[key] = append(out[key], "admission-"+b)
			}
		}
		if msg != "" && len(out[key]) == 0 {
			t.Fatalf("%s: refused, but by no binding the test knows: %s", key, msg)
		}
		// The first denying binding is named; a second one shows when
		// the first no longer applies: with the team label, and with one
		// replica.
		if len(out[key]) == 1 {
			fixed := o.DeepCopy()
			if out[key][0] == "admission-require-team-prod" {
				fixed.SetLabels(map[string]string{"team": "x"})
			} else {
				_ = unstructured.SetNestedField(fixed.Object, int64(1), "spec", "replicas")
			}
			if again := refusal(ctx, dyn, fixed); again != "" {
				for _, b := range []string{"require-team-prod", "replica-limit"} {
					if strings.Contains(again, "binding '"+b+"'") && !slices.Contains(out[key], "admission-"+b) {
						out[key] = append(out[key], "admission-"+b)
					}
				}
			}
		}
		slices.Sort(out[key])
	}
	return out
}

// plimsollVerdicts are the checks of the cluster's policies that fail
// each workload at severity high, which is what Deny maps to: what
// plimsoll says admission will refuse.
func plimsollVerdicts(t *testing.T, r *report.Report) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, res := range r.Results {
		if res.Object.Kind == "Namespace" || !strings.HasPrefix(res.Check, "admission-") {
			continue
		}
		key := res.Object.Kind + " " + res.Object.Namespace + "/" + res.Object.Name
		if out[key] == nil {
			out[key] = []string{}
		}
		if res.Status == "fail" && res.Severity == "high" {
			if !strings.HasPrefix(res.Message, "admission will refuse this object: ") {
				t.Errorf("%s %s: message %q, want it to say admission will refuse the object", res.Check, key, res.Message)
			}
			out[key] = append(out[key], res.Check)
		}
	}
	for k := range out {
		slices.Sort(out[k])
	}
	return out
}

// runPlimsoll runs plimsoll in-process with args and -o json.
func runPlimsoll(t *testing.T, wantCode int, args ...string) (*report.Report, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	s := cli.Streams{
		In: strings.NewReader(""), Out: &out, Err: &errOut, Dir: t.TempDir(),
		Getenv: func(string) string { return "" },
		Now:    func() time.Time { return time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC) },
	}
	code := cli.Main(context.Background(), append(args, "-o", "json"), s)
	if code != wantCode {
		t.Fatalf("plimsoll %s: exit %d, want %d; stderr:\n%s", strings.Join(args, " "), code, wantCode, errOut.String())
	}
	var r report.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("plimsoll %s: the report is not JSON: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return &r, errOut.String()
}

// TestOfflineAgreesWithServer: for every manifest, what plimsoll says the
// cluster's admission policies do to it, from their files and from the
// cluster itself, is what the API server does with --dry-run=server: the
// same bindings refuse it, including one whose namespaceSelector leaves a
// namespace out and one that reads its params through a paramRef.
func TestOfflineAgreesWithServer(t *testing.T) {
	cp, dyn := cluster(t)
	server := serverVerdicts(t, dyn)
	want := map[string][]string{
		"Deployment prod/web":  {"admission-require-team-prod"},
		"Deployment prod/api":  {"admission-replica-limit"},
		"Deployment prod/ok":   {},
		"Deployment dev/tools": {},
		"Deployment dev/batch": {"admission-replica-limit"},
		"Pod dev/debug":        {},
	}
	// The test's own manifests say what the API server does, so that the
	// comparison below compares something.
	if diff := cmp.Diff(want, server); diff != "" {
		t.Fatalf("the API server's verdicts (-expected +got):\n%s", diff)
	}

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"from the files of --admission-policies", []string{"audit", manifests, "--admission-policies", policies}},
		{"from the cluster's installed policies", []string{"audit", manifests, "--kubeconfig", cp.Kubeconfig(controlplane.AdminUser)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := runPlimsoll(t, 0, tc.args...)
			got := plimsollVerdicts(t, r)
			if diff := cmp.Diff(server, filter(got, server)); diff != "" {
				t.Errorf("plimsoll offline vs. the API server's --dry-run=server (-server +plimsoll):\n%s", diff)
			}
			// The Warn binding is reported, at medium, never as a refusal.
			var warned []string
			for _, res := range r.Results {
				if res.Check == "admission-no-latest" && res.Status == "fail" {
					warned = append(warned, res.Severity+" "+res.Object.Name+": "+res.Message)
				}
			}
			if want := []string{"medium debug: admission will warn about this object: an image is pulled by the tag latest"}; !slices.Equal(warned, want) {
				t.Errorf("admission-no-latest: got %q, want %q", warned, want)
			}
		})
	}
}

// filter keeps the objects of got that want has.
func filter(got, want map[string][]string) map[string][]string {
	out := map[string][]string{}
	for k := range maps.Keys(want) {
		out[k] = got[k]
	}
	return out
}

// TestClusterPoliciesForbidden: a user who may not list the cluster's
// admission policies still gets an audit of the manifests; what could not
// be read is reported and the run is partial.
func TestClusterPoliciesForbidden(t *testing.T) {
	cp, _ := cluster(t)
	r, errOut := runPlimsoll(t, 2, "audit", manifests, "--kubeconfig", cp.Kubeconfig(nobody))
	if !r.Partial {
		t.Error("the report is not partial")
	}
	found := false
	for _, e := range r.InputErrors {
		if strings.Contains(e.Object+e.Message, "validatingadmissionpolic") && strings.Contains(e.Message, "forbidden") {
			found = true
		}
	}
	if !found {
		t.Errorf("input errors %+v, want the forbidden list of the admission policies; stderr:\n%s", r.InputErrors, errOut)
	}
	if len(r.Results) == 0 {
		t.Error("no results: the manifests were not audited")
	}
}

// TestLiveAndSnapshot: auditing the cluster itself judges what it runs by
// its installed policies, params read from it; a snapshot holds them, so
// its offline audit says the same.
func TestLiveAndSnapshot(t *testing.T) {
	cp, dyn := cluster(t)
	ctx := context.Background()
	for _, o := range readObjects(t, manifests) {
		if o.GetKind() == "Deployment" && refusal(ctx, dyn, o) == "" {
			if _, err := resourceOf(dyn, o).Create(ctx, o, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatal(err)
			}
		}
	}
	kubeconfig := cp.Kubeconfig(controlplane.AdminUser)
	live, _ := runPlimsoll(t, 0, "audit", "--kubeconfig", kubeconfig)
	verdicts := func(r *report.Report) []string {
		var out []string
		for _, res := range r.Results {
			if strings.HasPrefix(res.Check, "admission-") && (res.Object.Namespace == "prod" || res.Object.Namespace == "dev") {
				out = append(out, res.Status+" "+res.Check+" "+res.Object.Kind+" "+res.Object.Namespace+"/"+res.Object.Name)
			}
		}
		slices.Sort(out)
		return out
	}
	want := []string{
		"pass admission-replica-limit Deployment dev/tools",
		"pass admission-replica-limit Deployment prod/ok",
		"pass admission-require-team-prod Deployment prod/ok",
	}
	got := verdicts(live)
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("live audit: got %q, want it to contain %q", got, w)
		}
	}
	snap := filepath.Join(t.TempDir(), "snap.json.gz")
	var errOut bytes.Buffer
	s := cli.Streams{In: strings.NewReader(""), Out: io.Discard, Err: &errOut, Dir: t.TempDir(), Getenv: func(string) string { return "" }, Now: time.Now}
	if code := cli.Main(ctx, []string{"snapshot", "--kubeconfig", kubeconfig, "-o", snap}, s); code != 0 {
		t.Fatalf("snapshot: exit %d: %s", code, errOut.String())
	}
	offline, _ := runPlimsoll(t, 0, "audit", "--snapshot", snap)
	if diff := cmp.Diff(got, verdicts(offline)); diff != "" {
		t.Errorf("the snapshot's audit vs. the live one (-live +snapshot):\n%s", diff)
	}
}
