package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/checks"
	"github.com/plimsoll/plimsoll/internal/config"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/manifest"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// fixtureDir is where a check's fixtures are.
func fixtureDir(id string) string {
	return filepath.Join(repoRoot, "internal", "checks", "testdata", id)
}

// fixtureFindings audits a check's fixture file as manifests, with that
// check alone enabled besides the defaults, and returns the field paths of
// its failures and its failure messages, by "Kind name".
func fixtureFindings(t *testing.T, file, id string) (paths, messages map[string][]string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	loaded := manifest.Parse(file, data, inventory.Source{File: file})
	if len(loaded.Errors) > 0 {
		t.Fatalf("%s: %v", file, loaded.Errors[0])
	}
	cfg := config.Default()
	cfg.Checks.Enable = append(cfg.Checks.Enable, id)
	inv := platform.Inventory(inventory.FromManifests, loaded.Objects)
	a := audit.Run(inv, audit.Options{Registry: checks.Registry(), Config: cfg, Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	paths, messages = map[string][]string{}, map[string][]string{}
	for _, r := range a.Results {
		if r.Check.ID != id || r.Status != audit.Fail {
			continue
		}
		key := r.Object.Kind + " " + r.Object.Name
		paths[key] = append(paths[key], r.Path)
		messages[key] = append(messages[key], r.Message)
	}
	return paths, messages
}

// errNotServed says an object's apiVersion is no longer served.
var errNotServed = errors.New("not served")

// unknownField is how the API server names a field it refuses under
// strict field validation, in a message that lists no causes.
var unknownField = regexp.MustCompile(`unknown field "([^"]+)"`)

// dryRunCreate creates obj in namespace ns with server-side dry run and
// strict field validation, as kubectl apply --dry-run=server does, and
// returns the field paths of the causes the API server refuses it for (the
// unknown fields strict decoding names), or what it said when it gave none.
func (c *client) dryRunCreate(t *testing.T, obj *unstructured.Unstructured, ns string) ([]string, error) {
	t.Helper()
	gvk := obj.GroupVersionKind()
	mapping, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, errNotServed
	}
	r := c.dyn.Resource(mapping.Resource)
	var created error
	opts := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: metav1.FieldValidationStrict}
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		obj.SetNamespace(ns)
		_, created = r.Namespace(ns).Create(context.Background(), obj, opts)
	} else {
		_, created = r.Create(context.Background(), obj, opts)
	}
	if created == nil {
		return nil, nil
	}
	var status apierrors.APIStatus
	if !errors.As(created, &status) || status.Status().Details == nil || len(status.Status().Details.Causes) == 0 {
		var fields []string
		for _, m := range unknownField.FindAllStringSubmatch(created.Error(), -1) {
			fields = append(fields, m[1])
		}
		return fields, created
	}
	var fields []string
	for _, cause := range status.Status().Details.Causes {
		fields = append(fields, cause.Field)
	}
	return fields, created
}

// uniq sorts a list and drops repeats: the API server, like plimsoll,
// may name a field twice (a label key that breaks two rules).
func uniq(list []string) []string {
	out := slices.Clone(list)
	slices.Sort(out)
	return slices.Compact(out)
}

// TestAPIServerParity holds api-server-accepts to a real API server: every
// object of its fail fixtures, created with server-side dry run, is
// refused for exactly the fields plimsoll names, and every object of its
// pass fixtures is accepted. The CustomResourceDefinitions of the fixtures
// are installed first, and their custom resources judged like the rest; a
// custom resource in a version its CRD does not serve is not found, which
// plimsoll reports at apiVersion.
func TestAPIServerParity(t *testing.T) {
	cp := testCluster(t)
	files, err := filepath.Glob(filepath.Join(fixtureDir("api-server-accepts"), "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	if err := cp.InstallCRDs(context.Background(), files...); err != nil {
		t.Fatal(err)
	}
	admin := newClient(t, cp.RESTConfig("admin"))
	const ns = "api-parity"
	if _, err := admin.kube.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var table []string
	for _, file := range files {
		want, _ := fixtureFindings(t, file, "api-server-accepts")
		pass := strings.HasPrefix(filepath.Base(file), "pass-")
		for _, obj := range readObjects(t, file) {
			if obj.GetKind() == "CustomResourceDefinition" {
				continue // installed above
			}
			key := obj.GetKind() + " " + obj.GetName()
			custom := inventory.IsCustomKey(inventory.KindKeyOf(obj.GetAPIVersion(), obj.GetKind()))
			got, err := admin.dryRunCreate(t, obj, ns)
			if errors.Is(err, errNotServed) && custom {
				got = []string{"apiVersion"}
			} else if errors.Is(err, errNotServed) {
				// A version no API server serves (api-removed reports it):
				// api-server-accepts judges it by that version's defaults.
				table = append(table, fmt.Sprintf("| %s | %s %s | %d | not served | skipped |", filepath.Base(file), obj.GetAPIVersion(), key, len(want[key])))
				continue
			}
			w, g := uniq(want[key]), uniq(got)
			verdict := "same"
			switch {
			case err != nil && len(got) == 0:
				verdict = "DIFFERENT"
				t.Errorf("%s: %s: the API server refused it without naming a field: %v", filepath.Base(file), key, err)
			case pass && (err != nil || len(w) > 0):
				verdict = "DIFFERENT"
				t.Errorf("%s: %s: want it accepted and passed; the API server said %v, plimsoll %v", filepath.Base(file), key, err, w)
			case !slices.Equal(w, g):
				verdict = "DIFFERENT"
				t.Errorf("%s: %s: the API server refuses fields %q, plimsoll names %q (%v)", filepath.Base(file), key, g, w, err)
			}
			server := strings.Join(g, " ")
			if err == nil {
				server = "accepted"
			}
			table = append(table, fmt.Sprintf("| %s | %s | %d | %s | %s |", filepath.Base(file), key, len(w), server, verdict))
		}
	}
	t.Logf("api-server-accepts against kube-apiserver (server-side dry run):\n| fixture | object | plimsoll findings | API server refuses | |\n|---|---|---|---|---|\n%s", strings.Join(table, "\n"))
}

// admissionChecks are the checks of what admission refuses: the workload
// is stored, but every pod its controller makes is refused.
var admissionChecks = []string{"service-account-exists", "priority-class-exists", "runtime-class-exists", "resource-quota-admits-pods", "pod-security-admits-pods"}

// refusal is what a finding of an admission check quotes of the API
// server's refusal: the text after "refuses every pod of it", in
// parentheses or after a colon.
func refusal(message string) string {
	_, quote, ok := strings.Cut(message, "refuses every pod of it")
	if !ok {
		return ""
	}
	quote = strings.TrimPrefix(quote, ": ")
	if strings.HasPrefix(quote, " (") && strings.HasSuffix(quote, ")") {
		quote = strings.TrimSuffix(strings.TrimPrefix(quote, " ("), ")")
	}
	return quote
}

// renameNamespaces moves a fixture's objects into namespaces of its own,
// prefix plus the fixture's name for each, and returns the namespaces
// they are in.
func renameNamespaces(objs []*unstructured.Unstructured, prefix string) map[string]string {
	renamed := map[string]string{}
	for _, o := range objs {
		if o.GetKind() == "Namespace" {
			renamed[o.GetName()] = prefix + o.GetName()
			o.SetName(prefix + o.GetName())
			continue
		}
		if ns := o.GetNamespace(); ns != "" {
			renamed[ns] = prefix + ns
			o.SetNamespace(prefix + ns)
		}
	}
	return renamed
}

// podSelector selects the pods of a workload by its template's labels, or
// a Job's by the job-name label the API server adds.
func podSelector(o *unstructured.Unstructured) string {
	tmpl := []string{"spec", "template", "metadata", "labels"}
	if o.GetKind() == "CronJob" {
		tmpl = []string{"spec", "jobTemplate", "spec", "template", "metadata", "labels"}
	}
	set, _, _ := unstructured.NestedStringMap(o.Object, tmpl...)
	if len(set) == 0 && o.GetKind() == "Job" {
		set = map[string]string{"job-name": o.GetName()}
	}
	return labels.SelectorFromSet(set).String()
}

// TestAdmissionRefusesPods creates the fail and pass fixtures of the
// admission checks for real: for every failure plimsoll reports, the
// workload's controller records a FailedCreate event whose message holds
// the refusal plimsoll quotes; every workload of a pass fixture gets its
// pods.
func TestAdmissionRefusesPods(t *testing.T) {
	cp := testCluster(t)
	admin := newClient(t, cp.RESTConfig("admin"))
	ctx := context.Background()
	var table []string
	n := 0
	for _, id := range admissionChecks {
		files, _ := filepath.Glob(filepath.Join(fixtureDir(id), "*.yaml"))
		for _, file := range files {
			base := filepath.Base(file)
			pass := strings.HasPrefix(base, "pass-")
			if strings.Contains(base, "-cluster-") || !(pass || strings.HasPrefix(base, "fail-")) {
				continue
			}
			n++
			_, messages := fixtureFindings(t, file, id)
			objs := readObjects(t, file)
			renamed := renameNamespaces(objs, fmt.Sprintf("adm%d-", n))
			for _, ns := range renamed {
				nsObj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}}}
				if slices.ContainsFunc(objs, func(o *unstructured.Unstructured) bool { return o.GetKind() == "Namespace" && o.GetName() == ns }) {
					continue
				}
				admin.apply(t, []*unstructured.Unstructured{nsObj})
			}
			admin.apply(t, objs)
			for _, o := range objs {
				if _, workload := inventory.WorkloadKindOf(o.GetKind()); !workload {
					continue
				}
				key := o.GetKind() + " " + o.GetName()
				ns := o.GetNamespace()
				if pass {
					selector := podSelector(o)
					waitFor(t, key+" in "+ns+" to get a pod", time.Minute, func() (bool, error) {
						pods, err := admin.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
						return err == nil && len(pods.Items) > 0, err
					})
					table = append(table, fmt.Sprintf("| %s | %s | %s | pass | pods created | same |", id, base, key))
					continue
				}
				for _, msg := range messages[key] {
					want := refusal(msg)
					for from, to := range renamed {
						want = strings.ReplaceAll(want, from+"/", to+"/")
					}
					var got string
					waitFor(t, key+" in "+ns+" to record FailedCreate", time.Minute, func() (bool, error) {
						events, err := admin.kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "reason=FailedCreate"})
						if err != nil {
							return false, err
						}
						for _, e := range events.Items {
							if strings.Contains(e.Message, want) {
								got = e.InvolvedObject.Kind + " " + e.InvolvedObject.Name + ": " + e.Message
								return true, nil
							}
						}
						return false, fmt.Errorf("no FailedCreate event in %s holds %q (%d events)", ns, want, len(events.Items))
					})
					table = append(table, fmt.Sprintf("| %s | %s | %s | fail | %s | same |", id, base, key, got))
				}
				if len(messages[key]) == 0 {
					t.Errorf("%s: %s: plimsoll reports nothing on a fail fixture's workload", base, key)
				}
			}
		}
	}
	t.Logf("admission checks against a real control plane:\n| check | fixture | workload | plimsoll | controller's event | |\n|---|---|---|---|---|---|\n%s", strings.Join(table, "\n"))
}
