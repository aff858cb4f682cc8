// Package export proves plimsoll export vap on a real kube-apiserver: the
// ValidatingAdmissionPolicies it writes, installed in a control plane of
// their own (they bind cluster-wide, so no other test shares it), give
// plimsoll's verdict and message on every object of the check fixtures,
// examples/not-ready and the custom checks' fixtures, judged by the API
// server's own ValidatingAdmissionPolicy admission plugin through
// server-side dry run.
package export

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/plimsoll/plimsoll/internal/cli"
	"github.com/plimsoll/plimsoll/internal/report"
	"github.com/plimsoll/plimsoll/test/controlplane"
)

func TestMain(m *testing.M) { controlplane.Main(m) }

// repoRoot is the clone's root, three levels above this package.
var repoRoot = func() string {
	wd, _ := os.Getwd()
	return filepath.Join(wd, "..", "..", "..")
}()

// judgedKinds are the kinds the exported policies match; objects of other
// kinds are not sent to the API server (nothing judges them).
var judgedKinds = []string{"CronJob", "DaemonSet", "Deployment", "Ingress", "Job", "Pod", "ReplicaSet", "ReplicationController", "Service", "StatefulSet"}

// object is one object of an input file, with what plimsoll says of it:
// for each exported check it fails, by policy name, the messages the
// check's policy must give. A built-in check's policy has one validation,
// whose message is the check's findings joined with "; " (one a
// container); a custom check's policy gives one message for each of its
// validations that fails, as plimsoll gives a finding for each.
type object struct {
	file string
	obj  *unstructured.Unstructured
	want map[string][]string
	// unjudged marks an object an audit does not judge: one a built-in
	// workload controller owns, judged through that controller's
	// template. The built-in policies leave it out as well; the custom
	// checks' policies, exported as written, judge it as they judge every
	// Pod a controller makes, and what they say of it is not compared.
	unjudged bool
}

func (o *object) String() string {
	return fmt.Sprintf("%s: %s %s/%s", o.file, o.obj.GetKind(), o.obj.GetNamespace(), o.obj.GetName())
}

// warnings collects the warnings the API server returns, one request at a
// time.
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) HandleWarningHeader(code int, agent, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

// take returns the warnings of the policies since the last call, without
// those of policies an unjudged object is not compared on. The API
// server's own warnings (a deprecated annotation, a duplicate port name)
// are not the policies'.
func (w *warnings) take(o *object) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, text := range w.list {
		if strings.HasPrefix(text, "Validation failed for ValidatingAdmissionPolicy ") && !(o != nil && o.unjudged && byCustomPolicy(text)) {
			out = append(out, text)
		}
	}
	w.list = nil
	return out
}

// customPolicies are the names of the custom checks' policies.
var customPolicies []string

// byCustomPolicy reports whether a warning or a denial is a custom
// check's policy's.
func byCustomPolicy(text string) bool {
	for _, p := range customPolicies {
		if strings.Contains(text, "ValidatingAdmissionPolicy '"+p+"'") {
			return true
		}
	}
	return false
}

// TestExportedPoliciesAgreeWithAudit exports every exportable check, the
// custom checks of policies/ included, installs the policies, and sends
// every object of the inputs to the API server with dryRun=All: first
// bound with Warn, where the warnings must be exactly plimsoll's failures
// of those checks, message for message; then with Deny, where an object
// plimsoll fails is refused with one of those messages and one it passes
// is admitted.
func TestExportedPoliciesAgreeWithAudit(t *testing.T) {
	ctx := context.Background()
	cp := controlplane.Shared()
	cfg := cp.RESTConfig(controlplane.AdminUser)
	seen := &warnings{}
	cfg.WarningHandler = seen
	cfg.QPS, cfg.Burst = 200, 400
	kube := kubernetes.NewForConfigOrDie(cfg)
	dyn := dynamic.NewForConfigOrDie(cfg)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(discovery.NewDiscoveryClientForConfigOrDie(cfg)))

	policiesDir := filepath.Join(repoRoot, "policies")
	exported := plimsoll(t, "export", "vap", "--action", "Warn", "--checks", policiesDir, "--params-namespace", "plimsoll-params")
	if exported.code != 0 {
		t.Fatalf("export vap: exit %d\n%s", exported.code, exported.errOut)
	}
	inputs := inputFiles(t, filepath.Join(repoRoot, "internal", "checks", "testdata"), filepath.Join(repoRoot, "examples", "not-ready"), policiesDir)
	objects := audited(t, inputs, policiesDir)

	// What the objects need to be admitted at all: their namespaces, and
	// the ServiceAccounts and PriorityClasses their Pods name.
	policyObjs := decode(t, "export", []byte(exported.out))
	var names []string
	for _, o := range policyObjs {
		if o.GetKind() == "ValidatingAdmissionPolicy" {
			names = append(names, o.GetName())
		}
	}
	prepare(t, ctx, kube, objects)
	for _, o := range objects {
		if o.obj.GetNamespace() == "kube-system" {
			o.want = nil // the bindings leave kube-system out
		}
	}

	// An object the API server refuses without any policy (a version it
	// no longer serves, a field its validation refuses: the
	// api-server-accepts fixtures) never reaches the policies, and is not
	// compared.
	var refused []string
	kept := objects[:0]
	for _, o := range objects {
		if _, err := dryRun(ctx, dyn, mapper, o.obj); err != nil {
			refused = append(refused, fmt.Sprintf("%s: %v", o, err))
			continue
		}
		kept = append(kept, o)
	}
	objects = kept
	seen.take(nil)
	for _, o := range policyObjs {
		create(t, ctx, dyn, mapper, o)
	}
	t.Logf("%d objects the API server refuses whatever the policies say, not compared:\n%s", len(refused), strings.Join(refused, "\n"))

	// Warn: the warnings are exactly plimsoll's failures. The plugin
	// learns of new policies and bindings through an informer, so the
	// comparison is repeated until it holds or a minute has passed.

	var diffs []string
	deadline := time.Now().Add(time.Minute)
	for {
		diffs = nil
		for _, o := range objects {
			_, err := dryRun(ctx, dyn, mapper, o.obj)
			got := seen.take(o)
			if err != nil {
				diffs = append(diffs, fmt.Sprintf("%s: refused under Warn: %v", o, err))
				continue
			}
			var want []string
			for policy, msgs := range o.want {
				for _, msg := range msgs {
					want = append(want, fmt.Sprintf("Validation failed for ValidatingAdmissionPolicy '%s' with binding '%s': %s", policy, policy, msg))
				}
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				diffs = append(diffs, fmt.Sprintf("%s:\n  got warnings  %q\n  want plimsoll's %q", o, got, want))
			}
		}
		if len(diffs) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	for _, d := range diffs {
		t.Error(d)
	}
	failing, unjudged := 0, 0
	perPolicy := map[string]int{}
	for _, o := range objects {
		if len(o.want) > 0 {
			failing++
		}
		if o.unjudged {
			unjudged++
		}
		for p := range o.want {
			perPolicy[p]++
		}
	}
	// Every policy must have been shown objects it fails.
	for _, name := range names {
		if perPolicy[name] == 0 {
			t.Errorf("no object fails %s: the comparison says nothing of it", name)
		}
	}
	t.Logf("objects failing each policy: %v; %d objects controlled by a workload, which only custom checks' policies judge", perPolicy, unjudged)
	t.Logf("Warn: %d objects from %d files, %d failing an exported check, %d policies", len(objects), len(inputs), failing, len(names))
	if failing == 0 || failing == len(objects) {
		t.Fatalf("%d of %d objects fail an exported check: want some of each", failing, len(objects))
	}
	if t.Failed() {
		return
	}

	// Deny: switch every binding, then what plimsoll fails is refused with
	// one of its messages (the API server says the first policy's), and
	// what it passes is admitted without a warning.
	for _, name := range names {
		b, err := kube.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b.Spec.ValidationActions = []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}
		if _, err := kube.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Update(ctx, b, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	deadline = time.Now().Add(time.Minute)
	denied := 0
	for {
		diffs, denied = nil, 0
		for _, o := range objects {
			_, err := dryRun(ctx, dyn, mapper, o.obj)
			if got := seen.take(o); len(got) > 0 {
				diffs = append(diffs, fmt.Sprintf("%s: warnings %q under Deny", o, got))
			}
			switch {
			case o.unjudged && err != nil && byCustomPolicy(err.Error()):
				// Not compared: see object.unjudged.
			case len(o.want) == 0 && err != nil:
				diffs = append(diffs, fmt.Sprintf("%s: refused (%v), but plimsoll passes it", o, err))
			case len(o.want) > 0 && err == nil:
				diffs = append(diffs, fmt.Sprintf("%s: admitted, but plimsoll fails it: %q", o, o.want))
			case len(o.want) > 0:
				denied++
				if !apierrors.IsInvalid(err) && !apierrors.IsForbidden(err) {
					diffs = append(diffs, fmt.Sprintf("%s: refused with %v, want a policy's denial", o, err))
					break
				}
				ok := false
				for policy, msgs := range o.want {
					for _, msg := range msgs {
						ok = ok || strings.HasSuffix(err.Error(), fmt.Sprintf("ValidatingAdmissionPolicy '%s' with binding '%s' denied request: %s", policy, policy, msg))
					}
				}
				if !ok {
					diffs = append(diffs, fmt.Sprintf("%s:\n  refused with %q\n  want one of plimsoll's %q", o, err, o.want))
				}
			}
		}
		if len(diffs) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	for _, d := range diffs {
		t.Error(d)
	}
	t.Logf("Deny: %d objects refused with plimsoll's message, %d admitted", denied, len(objects)-denied)
}

// inputFiles are the YAML files under dirs.
func inputFiles(t *testing.T, dirs ...string) []string {
	t.Helper()
	var out []string
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
				return err
			}
			// A custom check's own file and its params are not inputs.
			if rel, _ := filepath.Rel(dir, p); strings.HasSuffix(dir, "policies") && (!strings.Contains(rel, "/pass/") && !strings.Contains(rel, "/fail/")) {
				return nil
			}
			out = append(out, p)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(out)
	return out
}

// audited audits each file alone, with the custom checks of policiesDir,
// and returns the objects of the judged kinds, each with the messages of
// the exported checks it fails. A workload that a custom check matching
// Pods fails through the Pods it would create gives, besides itself, that
// Pod (see wouldBePod): the API server judges the Pod, not the workload.
func audited(t *testing.T, files []string, policiesDir string) []*object {
	t.Helper()
	exportable := map[string]bool{}
	var rows []struct {
		ID, File   string
		Exportable bool
	}
	list := plimsoll(t, "checks", "-o", "json", "--checks", policiesDir)
	if err := json.Unmarshal([]byte(list.out), &rows); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		exportable[r.ID] = r.Exportable
		if r.File != "" && r.Exportable {
			customPolicies = append(customPolicies, "plimsoll-"+r.ID)
		}
	}
	// house-deployment-budget lists other objects, which no policy can.
	if len(customPolicies) != 3 || exportable["house-deployment-budget"] {
		t.Fatalf("got exportable custom checks %v, want policies/' three that judge one object", customPolicies)
	}
	var out []*object
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(repoRoot, file)
		p := plimsoll(t, "audit", "-o", "json", "--checks", policiesDir, file)
		var r report.Report
		if err := json.Unmarshal([]byte(p.out), &r); err != nil {
			t.Fatalf("audit %s: exit %d, not a JSON report: %v\n%s", rel, p.code, err, p.errOut)
		}
		type key struct{ kind, namespace, name string }
		type failures struct {
			self, pods map[string][]string
		}
		found := map[key]*failures{}
		judged := map[key]bool{}
		for _, res := range r.Results {
			judged[key{res.Object.Kind, res.Object.Namespace, res.Object.Name}] = true
			if res.Status != "fail" || !exportable[res.Check] {
				continue
			}
			k := key{res.Object.Kind, res.Object.Namespace, res.Object.Name}
			f := found[k]
			if f == nil {
				f = &failures{self: map[string][]string{}, pods: map[string][]string{}}
				found[k] = f
			}
			if prefix := "in the Pods this " + res.Object.Kind + " would create: "; strings.HasPrefix(res.Message, prefix) {
				f.pods["plimsoll-"+res.Check] = append(f.pods["plimsoll-"+res.Check], strings.TrimPrefix(res.Message, prefix))
			} else {
				f.self["plimsoll-"+res.Check] = append(f.self["plimsoll-"+res.Check], res.Message)
			}
		}
		joined := func(m map[string][]string) map[string][]string {
			out := map[string][]string{}
			for policy, msgs := range m {
				if slices.Contains(customPolicies, policy) {
					out[policy] = msgs
				} else {
					out[policy] = []string{strings.Join(msgs, "; ")}
				}
			}
			return out
		}
		for _, u := range decode(t, rel, data) {
			if !slices.Contains(judgedKinds, u.GetKind()) || u.GetName() == "" {
				continue
			}
			k := key{u.GetKind(), u.GetNamespace(), u.GetName()}
			f := found[k]
			if f == nil {
				f = &failures{}
			}
			out = append(out, &object{file: rel, obj: u, want: joined(f.self), unjudged: !judged[k]})
			if pod := wouldBePod(u); pod != nil && judged[k] {
				out = append(out, &object{file: rel + " (the Pod its " + u.GetKind() + " would create)", obj: pod, want: joined(f.pods)})
			}
		}
	}
	return out
}

// wouldBePod is the Pod a workload's controller would create from its
// template, as plimsoll's custom checks judge it (internal/checks/custom):
// the template's labels, annotations and spec, in the workload's
// namespace, controlled by what would own it. Built-in checks do not
// judge it, and the exported built-in policies leave it out as
// controlled, as an audit does.
func wouldBePod(u *unstructured.Unstructured) *unstructured.Unstructured {
	path, owner := []string{"spec", "template"}, u.GetKind()
	switch u.GetKind() {
	case "Pod":
		return nil
	case "Deployment":
		owner = "ReplicaSet"
	case "CronJob":
		path, owner = []string{"spec", "jobTemplate", "spec", "template"}, "Job"
	}
	tmpl, ok, _ := unstructured.NestedMap(u.Object, path...)
	if !ok {
		return nil
	}
	pod := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Pod", "spec": tmpl["spec"]}}
	if m, ok := tmpl["metadata"].(map[string]any); ok {
		if l, ok := m["labels"].(map[string]any); ok {
			pod.Object["metadata"] = map[string]any{"labels": l}
		}
		if a, ok := m["annotations"].(map[string]any); ok {
			_ = unstructured.SetNestedMap(pod.Object, a, "metadata", "annotations")
		}
	}
	pod.SetNamespace(u.GetNamespace())
	pod.SetName(u.GetName() + "-would-be")
	yes := true
	pod.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "apps/v1", Kind: owner, Name: u.GetName(), UID: "00000000-0000-0000-0000-000000000000", Controller: &yes}})
	return pod
}

// decode reads every object of a YAML stream.
func decode(t *testing.T, name string, data []byte) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Logf("%s: %v (the rest of the file is not sent)", name, err)
			return out
		}
		if len(m) > 0 {
			out = append(out, &unstructured.Unstructured{Object: m})
		}
	}
}

// prepare creates what admission needs before the policies can judge an
// object: its namespace, the ServiceAccounts, PriorityClasses and
// RuntimeClasses a Pod names (the ServiceAccount, Priority and
// RuntimeClass admission plugins refuse a Pod whose are missing), and the
// namespace of the custom checks' params.
func prepare(t *testing.T, ctx context.Context, kube kubernetes.Interface, objects []*object) {
	t.Helper()
	namespaces := map[string]bool{"plimsoll-params": true}
	accounts := map[[2]string]bool{}
	priorities := map[string]bool{}
	runtimeClasses := map[string]bool{}
	for _, o := range objects {
		if o.obj.GetNamespace() == "" {
			o.obj.SetNamespace("default")
		}
		ns := o.obj.GetNamespace()
		namespaces[ns] = true
		if o.obj.GetKind() != "Pod" {
			continue
		}
		if sa, _, _ := unstructured.NestedString(o.obj.Object, "spec", "serviceAccountName"); sa != "" {
			accounts[[2]string{ns, sa}] = true
		} else if sa, _, _ := unstructured.NestedString(o.obj.Object, "spec", "serviceAccount"); sa != "" {
			accounts[[2]string{ns, sa}] = true
		}
		accounts[[2]string{ns, "default"}] = true
		if pc, _, _ := unstructured.NestedString(o.obj.Object, "spec", "priorityClassName"); pc != "" {
			priorities[pc] = true
		}
		if rc, _, _ := unstructured.NestedString(o.obj.Object, "spec", "runtimeClassName"); rc != "" {
			runtimeClasses[rc] = true
		}
	}
	ok := func(err error) {
		t.Helper()
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	for ns := range namespaces {
		_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		ok(err)
	}
	for a := range accounts {
		_, err := kube.CoreV1().ServiceAccounts(a[0]).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: a[1]}}, metav1.CreateOptions{})
		ok(err)
	}
	for pc := range priorities {
		if strings.HasPrefix(pc, "system-") {
			continue
		}
		_, err := kube.SchedulingV1().PriorityClasses().Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: pc}, Value: 1000}, metav1.CreateOptions{})
		ok(err)
	}
	for rc := range runtimeClasses {
		_, err := kube.NodeV1().RuntimeClasses().Create(ctx, &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: rc}, Handler: rc}, metav1.CreateOptions{})
		ok(err)
	}
}

// resource returns the client of an object's resource, in its namespace.
func resource(dyn dynamic.Interface, mapper meta.RESTMapper, o *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := o.GroupVersionKind()
	m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, err
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return dyn.Resource(m.Resource).Namespace(o.GetNamespace()), nil
	}
	return dyn.Resource(m.Resource), nil
}

// create creates an object for real.
func create(t *testing.T, ctx context.Context, dyn dynamic.Interface, mapper meta.RESTMapper, o *unstructured.Unstructured) {
	t.Helper()
	r, err := resource(dyn, mapper, o)
	if err == nil {
		_, err = r.Create(ctx, o, metav1.CreateOptions{})
	}
	if err != nil {
		t.Fatalf("create %s %s: %v", o.GetKind(), o.GetName(), err)
	}
}

// dryRun sends the request that creates the object with dryRun=All: it
// goes through admission and is not stored.
func dryRun(ctx context.Context, dyn dynamic.Interface, mapper meta.RESTMapper, o *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	r, err := resource(dyn, mapper, o)
	if err != nil {
		return nil, err
	}
	return r.Create(ctx, o.DeepCopy(), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
}

// plimsollRun is one in-process run of the CLI.
type plimsollRun struct {
	code        int
	out, errOut string
}

func plimsoll(t *testing.T, args ...string) plimsollRun {
	t.Helper()
	var out, errOut bytes.Buffer
	s := cli.Streams{
		In: strings.NewReader(""), Out: &out, Err: &errOut,
		Getenv: func(string) string { return "" },
		Dir:    t.TempDir(),
		Now:    func() time.Time { return time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC) },
	}
	code := cli.Main(context.Background(), args, s)
	return plimsollRun{code: code, out: out.String(), errOut: errOut.String()}
}

var _ rest.WarningHandler = &warnings{}
