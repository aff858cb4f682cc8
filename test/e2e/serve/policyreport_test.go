package serve

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/plimsoll/plimsoll/internal/policyreport"
	"github.com/plimsoll/plimsoll/test/controlplane"
)

// TestServePolicyReports runs serve with its own sink, the PolicyReport
// writer, as the deploy's identity: the leader's PolicyReports hold the
// failures plimsoll audit finds; a fixed Deployment's failures leave its
// namespace's report; a deleted namespace's report is gone for good.
func TestServePolicyReports(t *testing.T) {
	cp, admin, dyn := reportsCluster(t, "kyverno", "policyreports.wgpolicyk8s.io.yaml", "clusterpolicyreports.wgpolicyk8s.io.yaml")
	ctx := t.Context()
	create(t, admin, "reports-apps", "web", false)
	create(t, admin, "reports-doomed", "old", false)

	in := startWith(t, cp, serveUser, map[string]string{"POD_NAME": "serve-reports", "POD_NAMESPACE": leaseNamespace}, nil)
	in.awaitReady(t)

	failures := func(ns string) (map[string]bool, error) {
		return reportFailures(t, dyn, policyreport.PolicyReports, ns)
	}

	t.Run("the failures of plimsoll audit", func(t *testing.T) {
		awaitAuditFailures(t, cp, dyn, policyreport.PolicyReports, "reports-apps")
		if _, err := dyn.Resource(policyreport.ClusterPolicyReports).Get(ctx, policyreport.Name, metav1.GetOptions{}); err != nil {
			t.Errorf("ClusterPolicyReport: %v", err)
		}
	})

	t.Run("a Deployment fixed", func(t *testing.T) {
		updateDeployment(t, admin, "reports-apps", "web", func(dep *appsv1.Deployment) {
			addProbes(&dep.Spec.Template.Spec.Containers[0])
		})
		waitFor(t, "web's probe failures to leave the PolicyReport", 2*time.Minute, func() (bool, error) {
			got, err := failures("reports-apps")
			if err != nil {
				return false, err
			}
			for f := range got {
				if strings.HasPrefix(f, "container-readiness-probe ") || strings.HasPrefix(f, "container-liveness-probe ") {
					return false, fmt.Errorf("still failing: %s", f)
				}
			}
			return true, nil
		})
	})

	t.Run("a namespace deleted", func(t *testing.T) {
		if _, err := failures("reports-doomed"); err != nil {
			t.Fatalf("no PolicyReport in reports-doomed before its deletion: %v", err)
		}
		if err := admin.CoreV1().Namespaces().Delete(ctx, "reports-doomed", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "reports-doomed and its PolicyReport to be gone", 3*time.Minute, func() (bool, error) {
			_, err := admin.CoreV1().Namespaces().Get(ctx, "reports-doomed", metav1.GetOptions{})
			if !apierrors.IsNotFound(err) {
				return false, fmt.Errorf("namespace still there: %v", err)
			}
			list, err := dyn.Resource(policyreport.PolicyReports).Namespace("reports-doomed").List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, err
			}
			return len(list.Items) == 0, fmt.Errorf("%d PolicyReports left", len(list.Items))
		})
		// A later audit does not bring it back. A change elsewhere makes
		// sure there is one: the namespace's own deletion may have been
		// audited already, and at rest serve does not audit.
		before := in.audits(t)
		updateDeployment(t, admin, "reports-apps", "web", func(dep *appsv1.Deployment) {
			metav1.SetMetaDataAnnotation(&dep.ObjectMeta, "example.com/touched", "after reports-doomed went")
		})
		waitFor(t, "another audit", 2*time.Minute, func() (bool, error) { return in.audits(t) > before, nil })
		list, err := dyn.Resource(policyreport.PolicyReports).Namespace("reports-doomed").List(ctx, metav1.ListOptions{})
		if err != nil || len(list.Items) != 0 {
			t.Errorf("after another audit: %d PolicyReports in the deleted namespace (%v)", len(list.Items), err)
		}
	})
}

// TestServeOpenReports runs serve with --openreports as the deploy's
// identity: the deploy's role lets it write openreports.io Reports and
// ClusterReports, which hold the failures plimsoll audit finds.
func TestServeOpenReports(t *testing.T) {
	cp, admin, dyn := reportsCluster(t, "openreports", "reports.openreports.io.yaml", "clusterreports.openreports.io.yaml")
	ctx := t.Context()
	create(t, admin, "openreports-apps", "web", false)

	in := startWith(t, cp, serveUser, map[string]string{"POD_NAME": "serve-openreports", "POD_NAMESPACE": leaseNamespace}, nil, "--openreports")
	in.awaitReady(t)
	awaitAuditFailures(t, cp, dyn, policyreport.Reports, "openreports-apps")
	if _, err := dyn.Resource(policyreport.ClusterReports).Get(ctx, policyreport.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("ClusterReport: %v", err)
	}
}

// reportsCluster is the package's control plane with the report CRDs of
// the fixture directory dir installed, and a dynamic client as admin.
func reportsCluster(t *testing.T, dir string, crdFiles ...string) (*controlplane.ControlPlane, kubernetes.Interface, dynamic.Interface) {
	t.Helper()
	cp, admin := cluster(t)
	crds, err := controlplane.CRDFixtures()
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range crdFiles {
		paths = append(paths, filepath.Join(crds, dir, f))
	}
	if err := cp.InstallCRDs(t.Context(), paths...); err != nil {
		t.Fatal(err)
	}
	return cp, admin, dynamic.NewForConfigOrDie(cp.RESTConfig(controlplane.AdminUser))
}

// reportFailures lists the failures in namespace ns's report of resource
// gvr, as "check Kind/name".
func reportFailures(t *testing.T, dyn dynamic.Interface, gvr schema.GroupVersionResource, ns string) (map[string]bool, error) {
	pr, err := dyn.Resource(gvr).Namespace(ns).Get(t.Context(), policyreport.Name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	got := map[string]bool{}
	items, _, _ := unstructured.NestedSlice(pr.Object, "results")
	for _, item := range items {
		m := item.(map[string]any)
		if m["result"] != "fail" {
			continue
		}
		res, _, _ := unstructured.NestedSlice(m, "resources")
		for _, r := range res {
			rm := r.(map[string]any)
			got[fmt.Sprintf("%s %s/%s", m["policy"], rm["kind"], rm["name"])] = true
		}
	}
	return got, nil
}

// awaitAuditFailures waits until namespace ns's report of resource gvr
// holds exactly the failures plimsoll audit finds in ns. The audit is made
// again on each try: the runtime checks' failures change while the pods
// come up.
func awaitAuditFailures(t *testing.T, cp *controlplane.ControlPlane, dyn dynamic.Interface, gvr schema.GroupVersionResource, ns string) {
	t.Helper()
	waitFor(t, "the "+gvr.Resource+" report of "+ns+" to hold the audit's failures", 2*time.Minute, func() (bool, error) {
		got, err := reportFailures(t, dyn, gvr, ns)
		if err != nil {
			return false, err
		}
		want := map[string]bool{}
		for _, res := range audit(t, cp, serveUser).Results {
			if res.Status == "fail" && res.Object.ScoreNamespace() == ns {
				want[res.Check+" "+res.Object.Kind+"/"+res.Object.Name] = true
			}
		}
		if !maps.Equal(got, want) {
			return false, fmt.Errorf("report %v, audit %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
		}
		return true, nil
	})
}

// audits is how many audits serve has completed, from its metrics.
func (in *instance) audits(t *testing.T) float64 {
	t.Helper()
	mfs, err := in.metrics()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range family(mfs, "plimsoll_audits_total") {
		if labels(m)["result"] == "ok" {
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
