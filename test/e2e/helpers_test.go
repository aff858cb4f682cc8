package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

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

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks"
	"github.com/plimsoll/plimsoll/internal/cli"
	"github.com/plimsoll/plimsoll/internal/report"
)

// repoRoot is the clone's root, two levels above this package.
var repoRoot = func() string {
	wd, _ := os.Getwd()
	return filepath.Join(wd, "..", "..")
}()

// shopExamples are the example applications the tests apply to their
// cluster. examples/production is not among them: it describes a whole
// platform as a cluster returns it, custom resources whose CRDs the test
// cluster lacks and status that applying does not set.
var shopExamples = []string{filepath.Join(repoRoot, "examples", "ready"), filepath.Join(repoRoot, "examples", "not-ready")}

// plimsoll is one in-process run of the CLI.
type plimsoll struct {
	code        int
	out, errOut string
}

// run runs plimsoll with args, as a user would, with a fixed clock.
func run(t *testing.T, args ...string) plimsoll {
	t.Helper()
	return runWith(t, cli.Streams{}, args...)
}

// runWith runs plimsoll with the terminal flags and environment of s.
func runWith(t *testing.T, s cli.Streams, args ...string) plimsoll {
	t.Helper()
	var out, errOut bytes.Buffer
	s.In, s.Out, s.Err = strings.NewReader(""), &out, &errOut
	if s.Getenv == nil {
		s.Getenv = func(string) string { return "" }
	}
	s.Dir = t.TempDir()
	if s.Now == nil {
		s.Now = func() time.Time { return time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC) }
	}
	code := cli.Main(context.Background(), args, s)
	return plimsoll{code: code, out: out.String(), errOut: errOut.String()}
}

// auditJSON runs plimsoll with args and -o json, and decodes the report.
func auditJSON(t *testing.T, wantCode int, args ...string) *report.Report {
	t.Helper()
	return auditJSONWith(t, cli.Streams{}, wantCode, args...)
}

// auditJSONWith is auditJSON with the streams' clock and terminal flags.
func auditJSONWith(t *testing.T, s cli.Streams, wantCode int, args ...string) *report.Report {
	t.Helper()
	p := runWith(t, s, append(args, "-o", "json")...)
	if p.code != wantCode {
		t.Fatalf("plimsoll %s: exit %d, want %d; stderr:\n%s", strings.Join(args, " "), p.code, wantCode, p.errOut)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(p.out), &r); err != nil {
		t.Fatalf("plimsoll %s: report is not JSON: %v\n%s", strings.Join(args, " "), err, p.errOut)
	}
	return &r
}

// client holds the clients of one identity.
type client struct {
	cfg    *rest.Config
	kube   kubernetes.Interface
	dyn    dynamic.Interface
	mapper meta.RESTMapper
}

func newClient(t *testing.T, cfg *rest.Config) *client {
	t.Helper()
	cfg.WarningHandler = rest.NoWarnings{}
	cfg.QPS, cfg.Burst = 100, 200 // tests create objects by the dozen
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &client{cfg: cfg, kube: kube, dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco))}
}

// readObjects reads every YAML document under paths (files or directories).
func readObjects(t *testing.T, paths ...string) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	for _, p := range paths {
		err := filepath.Walk(p, func(path string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() || !(strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
				return err
			}
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
			for {
				var m map[string]any
				if err := dec.Decode(&m); errors.Is(err, io.EOF) {
					return nil
				} else if err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				if len(m) > 0 {
					objs = append(objs, &unstructured.Unstructured{Object: m})
				}
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return objs
}

// apply server-side applies objects, Namespaces and CRDs first. An object
// whose API version the server no longer serves is applied in the version
// it serves for that group and kind (what kubectl convert does). It
// returns the objects as applied.
func (c *client) apply(t *testing.T, objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	t.Helper()
	ctx := context.Background()
	sort.SliceStable(objs, func(i, j int) bool { return applyOrder(objs[i]) < applyOrder(objs[j]) })
	var applied []*unstructured.Unstructured
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		mapping, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if meta.IsNoMatchError(err) {
			mapping, err = c.mapper.RESTMapping(gvk.GroupKind())
			if err == nil {
				o.SetAPIVersion(mapping.GroupVersionKind.GroupVersion().String())
			}
		}
		if err != nil {
			t.Fatalf("%s %s: %v", gvk, o.GetName(), err)
		}
		var r dynamic.ResourceInterface = c.dyn.Resource(mapping.Resource)
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			if o.GetNamespace() == "" {
				o.SetNamespace("default")
			}
			r = c.dyn.Resource(mapping.Resource).Namespace(o.GetNamespace())
		}
		got, err := r.Apply(ctx, o.GetName(), o, metav1.ApplyOptions{FieldManager: "e2e", Force: true})
		if err != nil {
			t.Fatalf("apply %s %s/%s: %v", gvk.Kind, o.GetNamespace(), o.GetName(), err)
		}
		applied = append(applied, got)
	}
	return applied
}

func applyOrder(o *unstructured.Unstructured) int {
	switch o.GetKind() {
	case "Namespace", "CustomResourceDefinition":
		return 0
	case "ServiceAccount", "ClusterRole", "Role":
		return 1
	}
	return 2
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		ok, err := cond()
		if ok {
			return
		}
		last = err
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("gave up waiting for %s after %s (last error: %v)", what, timeout, last)
}

// waitRolledOut waits until every Deployment in the namespaces has seen
// its latest spec and has its desired replicas, all updated and ready, and
// no more. StatefulSets are not waited for: kwok provisions
// no volumes, so those with volume claims stay Pending, as the runtime
// checks then report.
func (c *client) waitRolledOut(t *testing.T, namespaces ...string) {
	t.Helper()
	ctx := context.Background()
	for _, ns := range namespaces {
		waitFor(t, "Deployments in "+ns+" to be ready", 2*time.Minute, func() (bool, error) {
			deps, err := c.kube.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, err
			}
			for _, d := range deps.Items {
				want := int32(1)
				if d.Spec.Replicas != nil {
					want = *d.Spec.Replicas
				}
				st := d.Status
				if st.ObservedGeneration < d.Generation || st.Replicas != want || st.UpdatedReplicas != want || st.ReadyReplicas != want {
					return false, fmt.Errorf("deployment %s: generation %d of %d, %d replicas, %d updated, %d ready; want %d", d.Name, st.ObservedGeneration, d.Generation, st.Replicas, st.UpdatedReplicas, st.ReadyReplicas, want)
				}
			}
			return true, nil
		})
	}
}

// checksNeeding are the checks that need any of the kinds.
func checksNeeding(kinds ...string) []*check.Check {
	var out []*check.Check
	for _, c := range checks.Registry().All() {
		if needs(c.ID, kinds...) {
			out = append(out, c)
		}
	}
	return out
}

// needs reports whether the check needs any of the kinds.
func needs(id string, kinds ...string) bool {
	c := checks.Registry().Get(id)
	if c == nil || c.Requires == check.Declared {
		return false
	}
	for _, k := range c.Needs() {
		for _, want := range kinds {
			if k == want {
				return true
			}
		}
	}
	return false
}
