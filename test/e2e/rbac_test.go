package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/test/controlplane"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// readerRole is plimsoll's documented read-only ClusterRole.
func readerRole(t *testing.T) *rbacv1.ClusterRole {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "rbac", "clusterrole.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(data, &role); err != nil {
		t.Fatal(err)
	}
	return &role
}

// bind grants user a ClusterRole cluster-wide, or a Role in ns.
func (c *client) bind(t *testing.T, user, ns string, rules []rbacv1.PolicyRule) {
	t.Helper()
	ctx := context.Background()
	name := "e2e-" + user
	subject := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}
	if ns == "" {
		_, err := c.kube.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.kube.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name}, Subjects: subject,
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c.awaitRBAC(t, user, ns, rules)
		return
	}
	_, err := c.kube.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.kube.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name}, Subjects: subject,
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c.awaitRBAC(t, user, ns, rules)
}

func (c *client) awaitRBAC(t *testing.T, user, ns string, rules []rbacv1.PolicyRule) {
	t.Helper()
	if err := controlplane.AwaitRBAC(t.Context(), c.kube, user, nil, ns, rules); err != nil {
		t.Fatal(err)
	}
}

// TestReaderRoleIsReadOnly checks the documented role statically: reading
// verbs only, and nothing on Secrets or ConfigMaps.
func TestReaderRoleIsReadOnly(t *testing.T) {
	for _, r := range readerRole(t).Rules {
		for _, v := range r.Verbs {
			if v != "get" && v != "list" && v != "watch" {
				t.Errorf("rule %v grants %q, want get, list and watch only", r, v)
			}
		}
		// Gatekeeper's constraint kinds are made at run time, so that
		// group alone may be granted whole.
		gatekeeper := len(r.APIGroups) == 1 && r.APIGroups[0] == "constraints.gatekeeper.sh"
		for _, res := range append(append([]string{}, r.Resources...), r.APIGroups...) {
			if (res == "*" && !gatekeeper) || res == "secrets" || res == "configmaps" {
				t.Errorf("rule %v grants %q", r, res)
			}
		}
	}
}

// TestAuditAsReader audits as a user holding only the documented
// read-only role: the API server's RBAC must let plimsoll read everything
// it needs, so the audit is complete.
func TestAuditAsReader(t *testing.T) {
	cp := testCluster(t)
	admin := newClient(t, cp.RESTConfig("admin"))
	admin.apply(t, readObjects(t, shopExamples...))
	admin.bind(t, "reader", "", readerRole(t).Rules)

	r := auditJSON(t, 0, "audit", "--kubeconfig", cp.Kubeconfig("reader"))
	if r.Partial || len(r.InputErrors) > 0 {
		t.Errorf("got a partial audit as the reader: %+v", r.InputErrors)
	}
	for _, na := range r.Score.Coverage.NotAssessed {
		if strings.Contains(na.Reason, "cannot list") {
			t.Errorf("check %s not assessed as the reader: %s", na.Check, na.Reason)
		}
	}
	if len(r.Results) == 0 {
		t.Error("no results as the reader")
	}
}

// TestAuditMissingSomeTypes audits as a user who may read everything but
// NetworkPolicies and PodDisruptionBudgets: exactly the checks that need
// them are not assessed, the rest is audited, and the run says it was
// partial.
func TestAuditMissingSomeTypes(t *testing.T) {
	cp := testCluster(t)
	admin := newClient(t, cp.RESTConfig("admin"))
	admin.apply(t, readObjects(t, shopExamples...))
	var rules []rbacv1.PolicyRule
	for _, r := range readerRole(t).Rules {
		var keep []string
		for _, res := range r.Resources {
			if res != "networkpolicies" && res != "poddisruptionbudgets" {
				keep = append(keep, res)
			}
		}
		if len(keep) > 0 {
			r.Resources = keep
			rules = append(rules, r)
		}
	}
	admin.bind(t, "limited", "", rules)

	r := auditJSON(t, 2, "audit", "--kubeconfig", cp.Kubeconfig("limited"))
	if !r.Partial {
		t.Error("got a report not marked partial")
	}
	var unread []string
	for _, e := range r.InputErrors {
		unread = append(unread, e.Object+": "+e.Message)
	}
	want := []string{"networkpolicies.networking.k8s.io: cannot list: forbidden", "poddisruptionbudgets.policy: cannot list: forbidden"}
	if strings.Join(unread, "\n") != strings.Join(want, "\n") {
		t.Errorf("got input errors\n%s\nwant\n%s", strings.Join(unread, "\n"), strings.Join(want, "\n"))
	}
	notAssessed := map[string]string{}
	for _, na := range r.Score.Coverage.NotAssessed {
		notAssessed[na.Check] = na.Reason
	}
	for _, c := range checksNeeding("NetworkPolicy", "PodDisruptionBudget") {
		if !strings.HasPrefix(notAssessed[c.ID], "cannot list ") {
			t.Errorf("check %s needs a forbidden kind but got not-assessed reason %q", c.ID, notAssessed[c.ID])
		}
	}
	for id, why := range notAssessed {
		if strings.HasPrefix(why, "cannot list") && !needs(id, "NetworkPolicy", "PodDisruptionBudget") {
			t.Errorf("check %s reported %q but needs neither forbidden kind", id, why)
		}
	}
	if len(r.Results) == 0 {
		t.Error("nothing else was audited")
	}
}

// TestAuditNamespaceScopedUser audits with -n as a user whose only grant
// is a Role in that namespace.
func TestAuditNamespaceScopedUser(t *testing.T) {
	cp := testCluster(t)
	admin := newClient(t, cp.RESTConfig("admin"))
	admin.apply(t, readObjects(t, shopExamples...))
	// The same rules, in a Role: its grants on cluster-scoped resources
	// reach nothing but the shop Namespace itself.
	admin.bind(t, "shop-user", "shop", readerRole(t).Rules)

	r := auditJSON(t, 0, "audit", "--kubeconfig", cp.Kubeconfig("shop-user"), "-n", "shop")
	if r.Partial {
		t.Errorf("got a partial audit: %+v", r.InputErrors)
	}
	if r.Cluster == nil || r.Cluster.Namespace != "shop" {
		t.Errorf("got cluster %+v, want the namespace named", r.Cluster)
	}
	seen := map[string]bool{}
	for _, res := range r.Results {
		if res.Object.Namespace != "shop" && !(res.Object.Kind == "Namespace" && res.Object.Name == "shop") {
			t.Errorf("got a result on %s outside shop", res.Object.ID())
		}
		seen[res.Object.Kind] = true
	}
	for _, kind := range []string{"Deployment", "StatefulSet", "Namespace", "Service"} {
		if !seen[kind] {
			t.Errorf("got no results on a %s in shop", kind)
		}
	}
	if r.Score.Coverage.Percent >= 100 {
		t.Errorf("got coverage %v%%, want it below 100: cluster-scoped kinds are out of scope", r.Score.Coverage.Percent)
	}
}
