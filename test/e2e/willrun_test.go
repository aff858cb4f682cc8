package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

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
	inv := inventory.Build(inventory.FromManifests, loaded.Objects, inventory.WithPodRunners(platform.PodRunners))
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

// dryRunCreate creates obj in namespace ns with server-side dry run and
// returns the field paths of the causes the API server refuses it for, or
// what it said when it gave none.
func (c *client) dryRunCreate(t *testing.T, obj *unstructured.Unstructured, ns string) ([]string, error) {
	t.Helper()
	gvk := obj.GroupVersionKind()
	mapping, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, errNotServed
	}
	r := c.dyn.Resource(mapping.Resource)
	var created error
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		obj.SetNamespace(ns)
		_, created = r.Namespace(ns).Create(context.Background(), obj, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	} else {
		_, created = r.Create(context.Background(), obj, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	}
	if created == nil {
		return nil, nil
	}
	var status apierrors.APIStatus
	if !errors.As(created, &status) || status.Status().Details == nil || len(status.Status().Details.Causes) == 0 {
		return nil, created
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
// pass fixtures is accepted.
func TestAPIServerParity(t *testing.T) {
	cp := testCluster(t)
	admin := newClient(t, cp.RESTConfig("admin"))
	const ns = "api-parity"
	if _, err := admin.kube.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(fixtureDir("api-server-accepts"), "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	var table []string
	for _, file := range files {
		want, _ := fixtureFindings(t, file, "api-server-accepts")
		pass := strings.HasPrefix(filepath.Base(file), "pass-")
		for _, obj := range readObjects(t, file) {
			key := obj.GetKind() + " " + obj.GetName()
			got, err := admin.dryRunCreate(t, obj, ns)
			if errors.Is(err, errNotServed) {
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
