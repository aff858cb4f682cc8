package selfaudit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// readerRoleFile is plimsoll's read-only ClusterRole; the e2e tests audit
// a cluster holding only it, and the chart carries a copy of its rules.
var readerRoleFile = filepath.Join(deployDir, "rbac", "clusterrole.yaml")

// leaseName is the Lease plimsoll serve elects its leader with.
const leaseName = "plimsoll"

// permission is an API request plimsoll serve makes.
type permission struct {
	verb, group, resource, name string
	// namespaced asks for it in plimsoll's own namespace only (a Role);
	// otherwise it is needed in every namespace (a ClusterRole).
	namespaced bool
}

// reportResources are what plimsoll serve writes its findings as: the
// wgpolicyk8s.io reports by default, the openreports.io ones with
// --openreports.
var reportResources = map[string][]string{
	"wgpolicyk8s.io": {"policyreports", "clusterpolicyreports"},
	"openreports.io": {"reports", "clusterreports"},
}

// serveNeeds is what plimsoll serve does besides reading: it applies its
// reports server-side and prunes them, and elects a leader with a Lease in
// its namespace.
func serveNeeds() []permission {
	var out []permission
	for group, resources := range reportResources {
		for _, res := range resources {
			for _, verb := range []string{"get", "list", "watch", "create", "patch", "update", "delete"} {
				out = append(out, permission{verb: verb, group: group, resource: res})
			}
		}
	}
	for _, verb := range []string{"get", "create", "update"} {
		out = append(out, permission{verb: verb, group: "coordination.k8s.io", resource: "leases", name: leaseName, namespaced: true})
	}
	return out
}

// writable are the only resources plimsoll may change, and where.
var writable = []struct {
	kind, group string
	resources   []string
}{
	{"ClusterRole", "wgpolicyk8s.io", reportResources["wgpolicyk8s.io"]},
	{"ClusterRole", "openreports.io", reportResources["openreports.io"]},
	{"Role", "coordination.k8s.io", []string{"leases"}},
	// With the webhook on: the Events that record its denials, in the
	// namespaces of the objects denied.
	{"ClusterRole", "events.k8s.io", []string{"events"}},
}

var readVerbs = []string{"get", "list", "watch"}

func rules(o *inventory.Object) []rbacv1.PolicyRule {
	switch r := o.Typed.(type) {
	case *rbacv1.ClusterRole:
		return r.Rules
	case *rbacv1.Role:
		return r.Rules
	}
	return nil
}

// grants reports whether a rule allows a request, as the RBAC authorizer
// matches it: resourceNames, when set, limit the rule to those names.
func grants(r rbacv1.PolicyRule, p permission) bool {
	return has(r.Verbs, p.verb) && has(r.APIGroups, p.group) && has(r.Resources, p.resource) &&
		(len(r.ResourceNames) == 0 || has(r.ResourceNames, p.name))
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestRBACGrantsOnlyWhatServeNeeds checks every Role and ClusterRole an
// installation creates: no wildcard, nothing on Secrets or ConfigMaps, and
// verbs that write only on the PolicyReports (cluster-wide) and the Leases
// of plimsoll's own namespace.
func TestRBACGrantsOnlyWhatServeNeeds(t *testing.T) {
	for _, in := range installations() {
		t.Run(in.name, func(t *testing.T) {
			var roles int
			for _, o := range in.objects(t) {
				if o.Kind != "ClusterRole" && o.Kind != "Role" {
					continue
				}
				roles++
				for i, r := range rules(o) {
					where := fmt.Sprintf("%s rules[%d]", o.ID(), i)
					if len(r.NonResourceURLs) > 0 {
						t.Errorf("%s grants non-resource URLs %v, want none", where, r.NonResourceURLs)
					}
					// Gatekeeper makes a kind per ConstraintTemplate, so
					// that group's resources alone cannot be named.
					gatekeeper := len(r.APIGroups) == 1 && r.APIGroups[0] == "constraints.gatekeeper.sh"
					for li, list := range [][]string{r.APIGroups, r.Resources, r.Verbs, r.ResourceNames} {
						for _, v := range list {
							if strings.Contains(v, "*") && !(gatekeeper && li == 1 && v == "*") {
								t.Errorf("%s has the wildcard %q, want every group, resource and verb named", where, v)
							}
						}
					}
					for _, res := range r.Resources {
						base, _, _ := strings.Cut(res, "/")
						if has(r.APIGroups, "") && (base == "secrets" || base == "configmaps") {
							t.Errorf("%s grants %v on %s, want no access to Secrets or ConfigMaps", where, r.Verbs, res)
						}
					}
					var writes []string
					for _, v := range r.Verbs {
						if !has(readVerbs, v) {
							writes = append(writes, v)
						}
					}
					if len(writes) > 0 && !writableOnly(o.Kind, r) {
						t.Errorf("%s grants %v on %v in groups %q, want verbs that write only on %+v", where, writes, r.Resources, r.APIGroups, writable)
					}
				}
			}
			if roles == 0 {
				t.Fatal("no Role or ClusterRole among the objects")
			}
		})
	}
}

// writableOnly reports whether a rule of a role of kind names only
// resources plimsoll may write with that kind of role.
func writableOnly(kind string, r rbacv1.PolicyRule) bool {
	for _, w := range writable {
		if w.kind != kind || len(r.APIGroups) != 1 || r.APIGroups[0] != w.group {
			continue
		}
		for _, res := range r.Resources {
			if !has(w.resources, res) {
				return false
			}
		}
		return true
	}
	return false
}

// TestRBACGrantsWhatServeNeeds follows the bindings from the Deployment's
// ServiceAccount to the rules they grant, and checks that every request
// plimsoll serve makes is allowed where it makes it, and that it can read
// what the reader ClusterRole allows, across the cluster.
func TestRBACGrantsWhatServeNeeds(t *testing.T) {
	reader := readerRole(t)
	for _, in := range installations() {
		t.Run(in.name, func(t *testing.T) {
			objs := in.objects(t)
			byID := map[string]*inventory.Object{}
			var deploy *inventory.Object
			for _, o := range objs {
				byID[o.ID()] = o
				if o.Kind == "Deployment" {
					deploy = o
				}
			}
			if deploy == nil {
				t.Fatal("no Deployment among the objects")
			}
			ns := deploy.Namespace
			sa := deploy.Typed.(*appsv1.Deployment).Spec.Template.Spec.ServiceAccountName
			if byID["ServiceAccount "+ns+"/"+sa] == nil {
				t.Fatalf("the Deployment runs as ServiceAccount %s/%s, which is not among the objects", ns, sa)
			}

			// What the ServiceAccount may do across the cluster, and in
			// its own namespace only.
			var clusterWide, inNamespace []rbacv1.PolicyRule
			for _, o := range objs {
				var ref rbacv1.RoleRef
				var subjects []rbacv1.Subject
				switch b := o.Typed.(type) {
				case *rbacv1.ClusterRoleBinding:
					ref, subjects = b.RoleRef, b.Subjects
				case *rbacv1.RoleBinding:
					ref, subjects = b.RoleRef, b.Subjects
				default:
					continue
				}
				want := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: ns}}
				if diff := cmp.Diff(want, subjects); diff != "" {
					t.Errorf("%s binds other subjects than plimsoll's ServiceAccount (-want +got):\n%s", o.ID(), diff)
				}
				roleID := ref.Kind + " " + ref.Name
				if ref.Kind == "Role" {
					roleID = "Role " + o.Namespace + "/" + ref.Name
				}
				role := byID[roleID]
				if role == nil {
					t.Errorf("%s binds %s, which is not among the objects", o.ID(), roleID)
					continue
				}
				if o.Kind == "ClusterRoleBinding" {
					clusterWide = append(clusterWide, rules(role)...)
				} else if o.Namespace == ns {
					inNamespace = append(inNamespace, rules(role)...)
				} else {
					t.Errorf("%s grants plimsoll %s in namespace %s, want only its own namespace %s", o.ID(), roleID, o.Namespace, ns)
				}
			}

			needs := serveNeeds()
			for _, r := range reader.Rules {
				for _, g := range r.APIGroups {
					for _, res := range r.Resources {
						for _, v := range r.Verbs {
							needs = append(needs, permission{verb: v, group: g, resource: res})
						}
					}
				}
			}
			for _, p := range needs {
				granted := func(rs []rbacv1.PolicyRule) bool {
					for _, r := range rs {
						if grants(r, p) {
							return true
						}
					}
					return false
				}
				switch {
				case p.namespaced && !granted(inNamespace):
					t.Errorf("plimsoll cannot %s %s.%s %q in namespace %s, which plimsoll serve needs", p.verb, p.resource, p.group, p.name, ns)
				case p.namespaced && granted(clusterWide):
					t.Errorf("plimsoll may %s %s.%s in every namespace, want only in its own (a Role)", p.verb, p.resource, p.group)
				case !p.namespaced && !granted(clusterWide):
					t.Errorf("plimsoll cannot %s %s.%s across the cluster, which plimsoll serve needs", p.verb, p.resource, p.group)
				}
			}
		})
	}
}

func readerRole(t *testing.T) *rbacv1.ClusterRole {
	t.Helper()
	data, err := os.ReadFile(readerRoleFile)
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(data, &role); err != nil {
		t.Fatalf("%s: %v", readerRoleFile, err)
	}
	if len(role.Rules) == 0 {
		t.Fatalf("%s grants nothing", readerRoleFile)
	}
	return &role
}

// TestChartReaderRoleMatchesDeploy: the chart's reader ClusterRole grants
// exactly what deploy/rbac/clusterrole.yaml does. When rules are added
// there, the chart's copy must follow.
func TestChartReaderRoleMatchesDeploy(t *testing.T) {
	want := readerRole(t)
	for _, in := range installations() {
		if !in.chart {
			continue
		}
		t.Run(in.name, func(t *testing.T) {
			var got *rbacv1.ClusterRole
			for _, o := range in.objects(t) {
				if o.Kind == "ClusterRole" && o.Name == want.Name {
					got = o.Typed.(*rbacv1.ClusterRole)
				}
			}
			if got == nil {
				t.Fatalf("the chart renders no ClusterRole %s", want.Name)
			}
			if diff := cmp.Diff(want.Rules, got.Rules); diff != "" {
				// A chart cannot read files outside itself, so it keeps a copy.
				t.Errorf("the chart's ClusterRole %s differs from %s (-deploy +chart):\n%s\nUpdate the chart's copy, from the repository root: cp deploy/rbac/clusterrole.yaml charts/plimsoll/files/clusterrole-reader.yaml",
					want.Name, readerRoleFile, diff)
			}
		})
	}
}
