// Package clustertest tests policyreport's Writer against a real control
// plane: the CRDs' own validation, server-side apply, pruning, namespaces
// that go away, and RBAC. It is a package of its own so that policyreport's
// unit tests do not wait for a control plane (nor skip with -short).
package clustertest

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/plimsoll/plimsoll/internal/policyreport"
	"github.com/plimsoll/plimsoll/test/controlplane"
)

// writerUser holds nothing but the report rules of deploy/rbac/writes.yaml.
const writerUser = "reports-writer"

func TestMain(m *testing.M) {
	controlplane.Main(m, controlplane.User{Name: writerUser})
}

// repoRoot is the clone's root, three levels above this package.
var repoRoot = func() string {
	wd, _ := os.Getwd()
	return filepath.Join(wd, "..", "..", "..")
}()

var crdDir = filepath.Join(repoRoot, "..", "shared", "fixtures", "crds")

// cluster is what a test reaches the control plane with, as admin.
type cluster struct {
	cp   *controlplane.ControlPlane
	kube kubernetes.Interface
	dyn  dynamic.Interface
}

// newCluster returns the shared control plane, with no reports labelled as
// plimsoll's: each Sync prunes those its audit does not produce, so each
// test starts from none.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	cp := controlplane.Shared()
	cfg := cp.RESTConfig(controlplane.AdminUser)
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{cp: cp, kube: kube, dyn: dyn}
	for _, gvr := range []schema.GroupVersionResource{policyreport.PolicyReports, policyreport.ClusterPolicyReports, policyreport.Reports, policyreport.ClusterReports} {
		list, err := dyn.Resource(gvr).List(t.Context(), metav1.ListOptions{LabelSelector: policyreport.ManagedByLabel + "=" + policyreport.ManagedBy})
		if apierrors.IsNotFound(err) {
			continue // not installed
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range list.Items {
			err := dyn.Resource(gvr).Namespace(item.GetNamespace()).Delete(t.Context(), item.GetName(), metav1.DeleteOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				t.Fatal(err)
			}
		}
	}
	return c
}

// installCRDs installs the CRDs of the fixture files, if they are not yet.
func (c *cluster) installCRDs(t *testing.T, files ...string) {
	t.Helper()
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = filepath.Join(crdDir, f)
	}
	if err := c.cp.InstallCRDs(t.Context(), paths...); err != nil {
		t.Fatal(err)
	}
}

func (c *cluster) installPolicyReportCRDs(t *testing.T) {
	t.Helper()
	c.installCRDs(t, filepath.Join("kyverno", "policyreports.wgpolicyk8s.io.yaml"), filepath.Join("kyverno", "clusterpolicyreports.wgpolicyk8s.io.yaml"))
}

// createNamespace creates a namespace, deleted when the test ends.
func (c *cluster) createNamespace(t *testing.T, name string) {
	t.Helper()
	_, err := c.kube.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		err := c.kube.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete namespace %s: %v", name, err)
		}
	})
}

// deleteNamespace deletes a namespace and waits until it is gone.
func (c *cluster) deleteNamespace(t *testing.T, name string) {
	t.Helper()
	ctx := t.Context()
	if err := c.kube.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := c.kube.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		t.Fatalf("namespace %s not gone: %v", name, err)
	}
}

// writes counts the requests that change something: every method but GET.
type writes struct{ n atomic.Int64 }

func (w *writes) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		if req.Method != http.MethodGet {
			w.n.Add(1)
		}
		return rt.RoundTrip(req)
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// writer returns a Writer acting as user, and the counter of its writes.
func (c *cluster) writer(t *testing.T, user string, o policyreport.Options) (*policyreport.Writer, *writes) {
	t.Helper()
	cfg := rest.CopyConfig(c.cp.RESTConfig(user))
	w := &writes{}
	cfg.Wrap(w.wrap)
	pw, err := policyreport.NewForConfig(cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	return pw, w
}
