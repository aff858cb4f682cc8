package manifest

import (
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

var rbacRoleKinds = []string{"ClusterRole", "Role"}

func rbacChecks() []*check.Check {
	return []*check.Check{
		{
			ID:            "rbac-wildcard",
			Title:         "Roles do not grant wildcard verbs or resources",
			Layer:         check.Security,
			Severity:      check.High,
			Kinds:         rbacRoleKinds,
			Rationale:     "A wildcard grants everything that exists today and everything added later, subresources and custom resources included; nobody reviewing the role can know what it allows.",
			Remediation:   "List the verbs and resources the subject needs instead of \"*\".",
			ChecklistItem: "Security: Key RBAC principles: Never grant *(all) verbs unless absolutely necessary (from the “Production Readiness” book chapter)",
			Applies:       appliesToRole,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				var out []check.Finding
				for i, r := range roleRules(o) {
					if len(r.Resources) == 0 {
						// Non-resource URL rules (/healthz, /metrics) grant
						// no access to objects.
						continue
					}
					switch {
					case ruleHas(r.Verbs, rbacv1.VerbAll):
						out = append(out, check.Failf(fmt.Sprintf("rules[%d].verbs", i), "rules[%d] grants every verb (\"*\") on %s", i, describeRuleResources(r)))
					case ruleHas(r.Resources, rbacv1.ResourceAll):
						out = append(out, check.Failf(fmt.Sprintf("rules[%d].resources", i), "rules[%d] grants %s on every resource (\"*\") in %s%s", i, commaList(r.Verbs), describeRuleGroups(r), describeResourceNames(r)))
					}
				}
				return out
			},
		},
		{
			ID:            "rbac-cluster-admin-binding",
			Title:         "Only system subjects are bound to cluster-admin",
			Layer:         check.Security,
			Severity:      check.Critical,
			Kinds:         []string{"ClusterRoleBinding", "RoleBinding"},
			Reads:         []string{"ClusterRole"},
			Rationale:     "cluster-admin can do anything, including reading every Secret and granting itself more; an application, pipeline or person holding it turns any compromise of theirs into a compromise of the cluster.",
			Remediation:   "Bind a role that grants only what the subject needs, and keep cluster-admin for break-glass access.",
			ChecklistItem: itemRBAC,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				ref, ok := roleRef(o)
				if !ok || ref.Kind != "ClusterRole" || !clusterAdmin(ref.Name, c.Inventory.RoleOf(o)) {
					return nil
				}
				var named []string
				for _, s := range bindingSubjects(o) {
					if !systemSubject(s, o.Namespace) {
						named = append(named, describeSubject(s, o.Namespace))
					}
				}
				if len(named) == 0 {
					return nil
				}
				what := fmt.Sprintf("ClusterRole %q", ref.Name)
				if ref.Name != "cluster-admin" {
					what += ", which grants every verb on every resource,"
				}
				scope := "across the cluster"
				if o.Kind == "RoleBinding" {
					scope = "in namespace " + o.Namespace
				}
				return []check.Finding{check.Failf("subjects", "binds %s %s to %s", what, scope, strings.Join(named, ", "))}
			},
		},
		{
			ID:            "rbac-secrets-read",
			Title:         "ClusterRoles do not grant reading Secrets",
			Layer:         check.Security,
			Severity:      check.High,
			Kinds:         []string{"ClusterRole"},
			Reads:         []string{"ClusterRoleBinding", "RoleBinding"},
			Rationale:     "Reading Secrets is reading every password, token and key they hold; through a ClusterRoleBinding it covers every namespace, kube-system's ServiceAccount tokens included.",
			Remediation:   "Grant Secret access in a Role in the namespace that needs it, limited with resourceNames to the Secrets the subject uses.",
			ChecklistItem: "Secret Management: Preferably, not everyone should be able to access all secrets, especially in production. (from Liju Kuriakose’s “Kubernetes in production”)",
			Applies:       appliesToRole,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				var out []check.Finding
				for i, r := range roleRules(o) {
					// resourceNames limits the rule to Secrets named in
					// advance: that is the remediation, not the problem.
					if len(r.ResourceNames) > 0 || !coversResource(r, "", "secrets") {
						continue
					}
					if verbs := grantedVerbs(r, "get", "list", "watch"); len(verbs) > 0 {
						out = append(out, check.Failf(fmt.Sprintf("rules[%d]", i), "rules[%d] grants %s on %s: its subjects can read every Secret %s", i, strings.Join(verbs, ", "), describeRuleResources(r), boundWhere(o, c.Inventory)))
					}
				}
				return out
			},
		},
		{
			ID:            "rbac-escalation-verbs",
			Title:         "Roles do not grant escalate, bind or impersonate",
			Layer:         check.Security,
			Severity:      check.High,
			Kinds:         rbacRoleKinds,
			Reads:         []string{"ClusterRoleBinding"},
			Rationale:     "escalate and bind let a subject grant permissions it does not hold, and impersonate lets it act as any user, group or ServiceAccount: each is a path to cluster-admin. resourceNames confine bind and impersonate to the roles and identities named, so those fail only when a name leads to cluster-admin: a role granting every verb on every resource, the built-in admin or edit, one of Kubernetes' own identities, or a subject bound to cluster-admin. escalate on a named role still lets the subject write any permission into it.",
			Remediation:   "Remove the escalate, bind and impersonate verbs; if a controller truly needs bind or impersonate, limit it with resourceNames to the roles it hands out or the identities it acts as.",
			ChecklistItem: itemRBAC,
			Applies:       appliesToRole,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				var out []check.Finding
				for i, r := range roleRules(o) {
					// Only explicit verbs: "*" is reported by rbac-wildcard,
					// and one problem is reported once.
					var verbs, why []string
					for _, v := range []string{"escalate", "bind", "impersonate"} {
						if !ruleHas(r.Verbs, v) {
							continue
						}
						if len(r.ResourceNames) == 0 {
							verbs = append(verbs, v)
							continue
						}
						var reason string
						switch v {
						case "escalate":
							reason = "escalate lets its subjects write any permission into " + commaList(r.ResourceNames)
						case "bind":
							reason = privilegedRolesNamed(r, c.Inventory)
						case "impersonate":
							reason = privilegedIdentitiesNamed(r, o, c.Inventory)
						}
						if reason != "" {
							verbs = append(verbs, v)
							why = append(why, reason)
						}
					}
					if len(verbs) == 0 {
						continue
					}
					msg := fmt.Sprintf("rules[%d] grants %s on %s", i, strings.Join(verbs, ", "), describeRuleResources(r))
					if len(why) > 0 {
						msg += ": " + strings.Join(why, "; ")
					}
					out = append(out, check.Failf(fmt.Sprintf("rules[%d].verbs", i), "%s", msg))
				}
				return out
			},
		},
		{
			ID:            "rbac-exec-proxy",
			Title:         "Roles do not grant exec, attach or node proxy",
			Layer:         check.Security,
			Severity:      check.High,
			Kinds:         rbacRoleKinds,
			Rationale:     "pods/exec and pods/attach run commands inside containers, with their Secrets and ServiceAccount tokens at hand; nodes/proxy reaches the kubelet API, which runs commands in any pod of the node without the API server's audit. resourceNames narrow that to the pods or nodes named, where it is still running commands.",
			Remediation:   "Remove create and get on pods/exec, pods/attach and nodes/proxy; give humans break-glass access for debugging instead of standing grants.",
			ChecklistItem: itemRBAC,
			Applies:       appliesToRole,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				var out []check.Finding
				for i, r := range roleRules(o) {
					verbs := grantedVerbs(r, "create", "get")
					if len(verbs) == 0 {
						continue
					}
					var hits, through []string
					for _, res := range []string{"pods/exec", "pods/attach", "nodes/proxy"} {
						if !coversResource(r, "", res) {
							continue
						}
						hits = append(hits, res)
						if !ruleHas(r.Resources, res) {
							// Matched by "*" or "*/sub": say so, or the
							// reader looks for a resource the rule never
							// names.
							_, sub, _ := strings.Cut(res, "/")
							for _, w := range []string{rbacv1.ResourceAll, "*/" + sub} {
								if q := fmt.Sprintf("%q", w); ruleHas(r.Resources, w) && !slices.Contains(through, q) {
									through = append(through, q)
								}
							}
						}
					}
					if len(hits) == 0 {
						continue
					}
					msg := fmt.Sprintf("rules[%d] grants %s on %s", i, commaList(verbs), commaList(hits))
					if len(through) > 0 {
						msg += ", through resources " + commaList(through)
					}
					if len(r.ResourceNames) > 0 {
						msg += ", limited by resourceNames to " + commaList(r.ResourceNames)
					}
					out = append(out, check.Failf(fmt.Sprintf("rules[%d]", i), "%s", msg))
				}
				return out
			},
		},
		{
			ID:            "rbac-clusterrolebinding-scope",
			Title:         "Namespaced permissions are granted with a RoleBinding",
			Layer:         check.Security,
			Severity:      check.Medium,
			Kinds:         []string{"ClusterRoleBinding"},
			Reads:         []string{"ClusterRole", "CustomResourceDefinition.apiextensions.k8s.io"},
			Rationale:     "A ClusterRoleBinding grants its role in every namespace; when ServiceAccounts of one namespace use it only there, a RoleBinding does the job and a compromised pod reaches only its own namespace. Cluster-scoped resources and non-resource URLs need the ClusterRoleBinding, and so does a workload that lists or watches namespaced resources or namespaces through any ClusterRoleBinding: such a cluster-wide informer acts in every namespace. The check fails only when none of that shows.",
			Remediation:   "Replace the ClusterRoleBinding with a RoleBinding in the ServiceAccounts' namespace (it may still refer to the ClusterRole); if the workload acts in every namespace without listing or watching (an admission webhook, a configured list of namespaces), exempt it with a reason.",
			ChecklistItem: "Security: Key RBAC principles: Use Roles (namespaced) over ClusterRoles (cluster-wide) whenever possible (from the “Production Readiness” book chapter)",
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				ns, ok := singleNamespaceServiceAccounts(o)
				if !ok {
					return false, "its subjects are not ServiceAccounts of a single namespace"
				}
				if c.Params.IsSystemNamespace(ns) {
					return false, fmt.Sprintf("its ServiceAccounts are in the system namespace %s", ns)
				}
				if c.Inventory.RoleOf(o) == nil {
					ref, _ := roleRef(o)
					return false, fmt.Sprintf("ClusterRole %q is not among the inputs, so what it grants is unknown", ref.Name)
				}
				if cr, ok := c.Inventory.RoleOf(o).Typed.(*rbacv1.ClusterRole); ok && cr.AggregationRule != nil && c.Inventory.Mode == inventory.FromManifests {
					return false, fmt.Sprintf("ClusterRole %q takes its rules from the ClusterRoles it aggregates in the cluster, so what it grants is unknown", cr.Name)
				}
				return true, ""
			},
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				role := c.Inventory.RoleOf(o)
				ns, _ := singleNamespaceServiceAccounts(o)
				crds := crdScopes(c.Inventory)
				rules := roleRules(role)
				if len(rules) == 0 {
					return nil // it grants nothing, anywhere
				}
				for _, r := range rules {
					if !onlyNamespaced(r, crds) {
						return nil
					}
				}
				// A cluster-wide list or watch, through this binding or
				// another ClusterRoleBinding of the same ServiceAccounts,
				// shows a workload that acts in every namespace: its
				// writes follow the objects it watches wherever they are.
				for _, b := range clusterBindingsOf(o, c.Inventory) {
					other := c.Inventory.RoleOf(b)
					if other == nil {
						// A role not among the inputs gets the benefit of
						// the doubt, unless it is known to list nothing.
						if ref, _ := roleRef(b); !rolesListingNothing[ref.Name] {
							return nil
						}
						continue
					}
					for _, r := range roleRules(other) {
						if listsAcrossNamespaces(r, crds) {
							return nil
						}
					}
				}
				var verbs []string
				for _, r := range rules {
					for _, v := range r.Verbs {
						if !slices.Contains(verbs, v) {
							verbs = append(verbs, v)
						}
					}
				}
				ref, _ := roleRef(o)
				return []check.Finding{check.Failf("roleRef", "ClusterRole %q is bound in every namespace, but grants only %s on namespaced resources, and no ClusterRoleBinding lets ServiceAccounts of namespace %s list or watch across namespaces: nothing shows they act beyond %s, where a RoleBinding would do", ref.Name, commaList(verbs), ns, ns)}
			},
		},
	}
}

// boundWhere says where the bindings among the inputs grant a ClusterRole:
// "in every namespace" for a ClusterRoleBinding, the namespaces of its
// RoleBindings otherwise, naming the bindings either way.
func boundWhere(role *inventory.Object, inv *inventory.Inventory) string {
	byRole := inventory.Memo(inv, "checks.bindingsByClusterRole", func(inv *inventory.Inventory) map[string][]*inventory.Object {
		out := map[string][]*inventory.Object{}
		for _, b := range append(append([]*inventory.Object{}, inv.OfKind("ClusterRoleBinding")...), inv.OfKind("RoleBinding")...) {
			if ref, _ := roleRef(b); ref.Kind == "ClusterRole" {
				out[ref.Name] = append(out[ref.Name], b)
			}
		}
		return out
	})
	// Inputs may repeat an object (variants of one install in a folder):
	// each name is said once.
	var cluster, namespaces, names []string
	for _, b := range byRole[role.Name] {
		switch {
		case b.Kind == "ClusterRoleBinding" && !slices.Contains(cluster, b.Name):
			cluster = append(cluster, b.Name)
		case b.Kind == "RoleBinding" && !slices.Contains(names, b.Namespace+"/"+b.Name):
			if !slices.Contains(namespaces, b.Namespace) {
				namespaces = append(namespaces, b.Namespace)
			}
			names = append(names, b.Namespace+"/"+b.Name)
		}
	}
	switch {
	case len(cluster) == 1:
		return "in every namespace, through ClusterRoleBinding " + cluster[0]
	case len(cluster) > 1:
		return "in every namespace, through ClusterRoleBindings " + commaList(cluster)
	case len(names) == 1:
		return "of namespace " + namespaces[0] + ", through RoleBinding " + names[0]
	case len(names) > 1 && len(namespaces) == 1:
		return "of namespace " + namespaces[0] + ", through RoleBindings " + commaList(names)
	case len(names) > 1:
		return "of namespaces " + commaList(namespaces) + ", through RoleBindings " + commaList(names)
	}
	return "of each namespace it is bound in"
}

// appliesToRole leaves out the roles Kubernetes itself provides, and the
// rules of aggregated ClusterRoles read from a cluster: the controller
// copies them from other ClusterRoles, which are judged on their own.
func appliesToRole(o *inventory.Object, c *check.Context) (bool, string) {
	if systemRole(o) {
		return false, fmt.Sprintf("%s is a built-in role", o.Name)
	}
	if cr, ok := o.Typed.(*rbacv1.ClusterRole); ok && cr.AggregationRule != nil && c.Inventory.Mode == inventory.FromCluster {
		return false, "its rules are aggregated from other ClusterRoles, which are judged on their own"
	}
	return true, ""
}

// builtinClusterRoles are the user-facing roles every cluster ships.
var builtinClusterRoles = map[string]bool{"cluster-admin": true, "admin": true, "edit": true, "view": true}

func systemRole(o *inventory.Object) bool {
	if strings.HasPrefix(o.Name, "system:") {
		return true
	}
	// The built-in names belong to ClusterRoles only: a namespaced Role
	// called "admin" is the user's own.
	return o.Kind == "ClusterRole" && builtinClusterRoles[o.Name]
}

// roleRules returns the declared rules of a Role or ClusterRole.
func roleRules(o *inventory.Object) []rbacv1.PolicyRule {
	switch t := o.Typed.(type) {
	case *rbacv1.Role:
		return t.Rules
	case *rbacv1.ClusterRole:
		return t.Rules
	}
	return nil
}

func roleRef(o *inventory.Object) (rbacv1.RoleRef, bool) {
	switch t := o.Typed.(type) {
	case *rbacv1.RoleBinding:
		return t.RoleRef, true
	case *rbacv1.ClusterRoleBinding:
		return t.RoleRef, true
	}
	return rbacv1.RoleRef{}, false
}

func bindingSubjects(o *inventory.Object) []rbacv1.Subject {
	switch t := o.Typed.(type) {
	case *rbacv1.RoleBinding:
		return t.Subjects
	case *rbacv1.ClusterRoleBinding:
		return t.Subjects
	}
	return nil
}

// clusterAdmin reports whether a ClusterRole is cluster-admin or, when it is
// among the inputs, grants every verb on every resource of every group.
func clusterAdmin(name string, role *inventory.Object) bool {
	if name == "cluster-admin" {
		return true
	}
	if role == nil {
		return false
	}
	for _, r := range roleRules(role) {
		if ruleHas(r.Verbs, rbacv1.VerbAll) && ruleHas(r.Resources, rbacv1.ResourceAll) && ruleHas(r.APIGroups, rbacv1.APIGroupAll) && len(r.ResourceNames) == 0 {
			return true
		}
	}
	return false
}

// privilegedRolesNamed says which of the roles a bind rule's resourceNames
// allow binding lead to cluster-admin, or "" when none does: a role that
// grants every verb on every resource, and the built-in admin and edit,
// which read every Secret and run pods as any ServiceAccount wherever they
// are bound, kube-system included. Binding any other named role hands out
// what that role grants, which the other checks judge on the role itself.
func privilegedRolesNamed(r rbacv1.PolicyRule, inv *inventory.Inventory) string {
	if !coversResource(r, rbacv1.GroupName, "clusterroles") {
		return ""
	}
	var admins, editors []string
	for _, name := range r.ResourceNames {
		switch {
		case clusterAdmin(name, inv.Get("ClusterRole", "", name)):
			admins = append(admins, name)
		case name == "admin" || name == "edit":
			editors = append(editors, name)
		}
	}
	var out []string
	if len(admins) > 0 {
		out = append(out, "binding "+commaList(admins)+" hands out every verb on every resource")
	}
	if len(editors) > 0 {
		out = append(out, "binding "+commaList(editors)+" hands out reading Secrets and running pods as any ServiceAccount wherever the binding reaches")
	}
	return strings.Join(out, "; ")
}

// unprivilegedSystemIdentities are the system: users and groups that stand
// for everyone, or no one: acting as them gains nothing.
var unprivilegedSystemIdentities = map[string]bool{
	"system:anonymous": true, "system:unauthenticated": true, "system:authenticated": true,
}

// privilegedIdentitiesNamed says which of the users, groups and
// ServiceAccounts an impersonate rule's resourceNames allow acting as are
// privileged, or "" when none is: Kubernetes' own identities, and the
// subjects a ClusterRoleBinding among the inputs binds to cluster-admin.
// Acting as any other named identity gains only what it holds.
func privilegedIdentitiesNamed(r rbacv1.PolicyRule, role *inventory.Object, inv *inventory.Inventory) string {
	type admin struct{ who, binding string }
	admins := map[rbacv1.Subject]admin{} // kind and name -> the first binding found
	for _, b := range inv.OfKind("ClusterRoleBinding") {
		ref, _ := roleRef(b)
		if !clusterAdmin(ref.Name, inv.RoleOf(b)) {
			continue
		}
		for _, s := range bindingSubjects(b) {
			// A namespaced Role impersonates ServiceAccounts of its own
			// namespace only.
			if s.Kind == rbacv1.ServiceAccountKind && role.Namespace != "" && s.Namespace != role.Namespace {
				continue
			}
			k := rbacv1.Subject{Kind: s.Kind, Name: s.Name}
			if _, seen := admins[k]; !seen {
				admins[k] = admin{describeSubject(s, ""), b.Name}
			}
		}
	}
	var found []string
	for _, name := range r.ResourceNames {
		for _, kind := range []struct{ resource, subject string }{
			{"users", rbacv1.UserKind}, {"groups", rbacv1.GroupKind}, {"serviceaccounts", rbacv1.ServiceAccountKind},
		} {
			if !coversResource(r, "", kind.resource) {
				continue
			}
			s := rbacv1.Subject{Kind: kind.subject, Name: name}
			if a, ok := admins[s]; ok {
				found = append(found, fmt.Sprintf("%s holds cluster-admin through ClusterRoleBinding %s", a.who, a.binding))
				break
			}
			if systemSubject(s, role.Namespace) && !unprivilegedSystemIdentities[name] {
				// A system: name is Kubernetes' whether it is taken as a
				// user or a group, so only a ServiceAccount names its kind.
				who := fmt.Sprintf("%q", name)
				if s.Kind == rbacv1.ServiceAccountKind {
					who = describeSubject(s, role.Namespace)
				}
				found = append(found, who+" is one of Kubernetes' own identities")
				break
			}
		}
	}
	return strings.Join(found, ", ")
}

// systemSubject reports whether a binding subject is part of Kubernetes
// itself: the system:masters group and other system: users and groups, and
// the ServiceAccounts of kube-system.
func systemSubject(s rbacv1.Subject, bindingNamespace string) bool {
	switch s.Kind {
	case rbacv1.UserKind, rbacv1.GroupKind:
		return strings.HasPrefix(s.Name, "system:")
	case rbacv1.ServiceAccountKind:
		return subjectNamespace(s, bindingNamespace) == "kube-system"
	}
	return false
}

// subjectNamespace is a ServiceAccount subject's namespace, which defaults
// to a RoleBinding's own.
func subjectNamespace(s rbacv1.Subject, bindingNamespace string) string {
	if s.Namespace != "" {
		return s.Namespace
	}
	return bindingNamespace
}

func describeSubject(s rbacv1.Subject, bindingNamespace string) string {
	if s.Kind == rbacv1.ServiceAccountKind {
		return fmt.Sprintf("ServiceAccount %s/%s", subjectNamespace(s, bindingNamespace), s.Name)
	}
	return fmt.Sprintf("%s %q", s.Kind, s.Name)
}

// singleNamespaceServiceAccounts returns the namespace when every subject of
// a binding is a ServiceAccount of that one namespace.
func singleNamespaceServiceAccounts(o *inventory.Object) (string, bool) {
	subjects := bindingSubjects(o)
	if len(subjects) == 0 {
		return "", false
	}
	ns := ""
	for _, s := range subjects {
		sns := subjectNamespace(s, o.Namespace)
		if s.Kind != rbacv1.ServiceAccountKind || sns == "" || (ns != "" && sns != ns) {
			return "", false
		}
		ns = sns
	}
	return ns, true
}

func ruleHas(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// grantedVerbs returns which of the verbs a rule grants, "*" standing for
// all of them.
func grantedVerbs(r rbacv1.PolicyRule, verbs ...string) []string {
	if ruleHas(r.Verbs, rbacv1.VerbAll) {
		return []string{"every verb (\"*\")"}
	}
	var out []string
	for _, v := range verbs {
		if ruleHas(r.Verbs, v) {
			out = append(out, v)
		}
	}
	return out
}

// coversResource reports whether a rule applies to a resource (with an
// optional /subresource) of an API group, the way the RBAC authorizer
// matches: "*" matches every resource, "*/sub" every resource's sub.
func coversResource(r rbacv1.PolicyRule, group, resource string) bool {
	if !ruleHas(r.APIGroups, group) && !ruleHas(r.APIGroups, rbacv1.APIGroupAll) {
		return false
	}
	_, sub, _ := strings.Cut(resource, "/")
	for _, res := range r.Resources {
		if res == rbacv1.ResourceAll || res == resource || (sub != "" && res == "*/"+sub) {
			return true
		}
	}
	return false
}

// clusterScopedResources are the built-in resources that live outside
// namespaces; granting them needs a ClusterRoleBinding.
var clusterScopedResources = map[string]bool{
	"nodes": true, "namespaces": true, "persistentvolumes": true, "componentstatuses": true,
	"clusterroles": true, "clusterrolebindings": true, "storageclasses": true, "csidrivers": true,
	"csinodes": true, "volumeattachments": true, "volumeattributesclasses": true,
	"customresourcedefinitions": true, "apiservices": true, "priorityclasses": true,
	"runtimeclasses": true, "ingressclasses": true, "podsecuritypolicies": true,
	"certificatesigningrequests": true, "mutatingwebhookconfigurations": true,
	"validatingwebhookconfigurations": true, "validatingadmissionpolicies": true,
	"validatingadmissionpolicybindings": true, "mutatingadmissionpolicies": true,
	"mutatingadmissionpolicybindings": true, "flowschemas": true,
	"prioritylevelconfigurations": true, "tokenreviews": true, "subjectaccessreviews": true,
	"selfsubjectaccessreviews": true, "selfsubjectrulesreviews": true, "selfsubjectreviews": true,
	"deviceclasses": true, "resourceslices": true, "storageversionmigrations": true,
	"storageversions": true, "servicecidrs": true, "ipaddresses": true, "clustertrustbundles": true,
}

// builtinAPIGroups are the API groups Kubernetes serves itself; their
// resources' scopes are known. Resources of any other group are custom,
// and their scope is known only from a CustomResourceDefinition among the
// inputs.
var builtinAPIGroups = map[string]bool{
	"": true, "apps": true, "batch": true, "autoscaling": true, "policy": true, "extensions": true,
	"networking.k8s.io": true, "rbac.authorization.k8s.io": true, "storage.k8s.io": true,
	"apiextensions.k8s.io": true, "admissionregistration.k8s.io": true, "apiregistration.k8s.io": true,
	"certificates.k8s.io": true, "coordination.k8s.io": true, "discovery.k8s.io": true,
	"events.k8s.io": true, "node.k8s.io": true, "scheduling.k8s.io": true,
	"authentication.k8s.io": true, "authorization.k8s.io": true, "flowcontrol.apiserver.k8s.io": true,
	"resource.k8s.io": true, "storagemigration.k8s.io": true, "internal.apiserver.k8s.io": true,
}

// crdScopes maps "plural.group" of the CustomResourceDefinitions among the
// inputs to their scope ("Namespaced" or "Cluster"). The map is built once
// per inventory and must not be changed.
func crdScopes(inv *inventory.Inventory) map[string]string {
	return inventory.Memo(inv, "checks.crdScopes", func(inv *inventory.Inventory) map[string]string {
		out := map[string]string{}
		for _, o := range inv.OfKind("CustomResourceDefinition.apiextensions.k8s.io") {
			spec, _ := o.Content["spec"].(map[string]any)
			names, _ := spec["names"].(map[string]any)
			group, _ := spec["group"].(string)
			plural, _ := names["plural"].(string)
			scope, _ := spec["scope"].(string)
			out[plural+"."+group] = scope
		}
		return out
	})
}

// onlyNamespaced reports whether a rule is known to grant only namespaced
// resources. A wildcard, a non-resource URL, a cluster-scoped resource or a
// custom resource of unknown scope make it false: when in doubt, the
// ClusterRoleBinding may be needed.
func onlyNamespaced(r rbacv1.PolicyRule, crds map[string]string) bool {
	if len(r.NonResourceURLs) > 0 || len(r.Resources) == 0 {
		return false
	}
	for _, res := range r.Resources {
		for _, g := range r.APIGroups {
			if resourceScope(g, res, crds) != "Namespaced" {
				return false
			}
		}
	}
	return true
}

// listsAcrossNamespaces reports whether a rule, bound by a
// ClusterRoleBinding, lets its subjects list or watch the objects of every
// namespace: list or watch on a resource that is not known to be
// cluster-scoped (a namespaced one, "*", a custom resource of unknown
// scope), or on namespaces, which a controller lists to act in each.
func listsAcrossNamespaces(r rbacv1.PolicyRule, crds map[string]string) bool {
	if len(grantedVerbs(r, "list", "watch")) == 0 {
		return false
	}
	for _, res := range r.Resources {
		for _, g := range r.APIGroups {
			if base, _, _ := strings.Cut(res, "/"); base == "namespaces" || resourceScope(g, res, crds) != "Cluster" {
				return true
			}
		}
	}
	return false
}

// resourceScope returns "Namespaced" or "Cluster" for a resource (with an
// optional /subresource) of an API group, or "" when the scope is unknown:
// a wildcard resource, or a custom resource whose CustomResourceDefinition
// is not among the inputs. A built-in cluster-scoped name is cluster-scoped
// in any group (metrics.k8s.io's nodes are too), and a wildcard group is
// judged by the built-in groups' names.
func resourceScope(group, resource string, crds map[string]string) string {
	base, _, _ := strings.Cut(resource, "/")
	switch {
	case clusterScopedResources[base]:
		return "Cluster"
	case base == rbacv1.ResourceAll:
		return ""
	case group == rbacv1.APIGroupAll || builtinAPIGroups[group]:
		return "Namespaced"
	}
	return crds[base+"."+group]
}

// rolesListingNothing are built-in ClusterRoles, often bound without
// being among the inputs, known to grant no list or watch.
var rolesListingNothing = map[string]bool{
	"system:auth-delegator": true, // creates TokenReviews and SubjectAccessReviews
}

// clusterBindingsOf returns the ClusterRoleBindings, the given one
// included, that name any ServiceAccount among a binding's subjects.
func clusterBindingsOf(binding *inventory.Object, inv *inventory.Inventory) []*inventory.Object {
	bySA := inventory.Memo(inv, "checks.clusterRoleBindingsBySA", func(inv *inventory.Inventory) map[string][]*inventory.Object {
		out := map[string][]*inventory.Object{}
		for _, b := range inv.OfKind("ClusterRoleBinding") {
			for _, s := range bindingSubjects(b) {
				if s.Kind == rbacv1.ServiceAccountKind {
					k := s.Namespace + "/" + s.Name
					out[k] = append(out[k], b)
				}
			}
		}
		return out
	})
	var out []*inventory.Object
	seen := map[*inventory.Object]bool{}
	for _, s := range bindingSubjects(binding) {
		if s.Kind != rbacv1.ServiceAccountKind {
			continue
		}
		for _, b := range bySA[s.Namespace+"/"+s.Name] {
			if !seen[b] {
				seen[b] = true
				out = append(out, b)
			}
		}
	}
	return out
}

func commaList(list []string) string { return strings.Join(list, ", ") }

func describeRuleGroups(r rbacv1.PolicyRule) string {
	var gs []string
	for _, g := range r.APIGroups {
		if g == "" {
			g = `"" (core)`
		}
		gs = append(gs, g)
	}
	if len(gs) == 1 {
		return "API group " + gs[0]
	}
	return "API groups " + commaList(gs)
}

func describeRuleResources(r rbacv1.PolicyRule) string {
	return "resources " + commaList(r.Resources) + " in " + describeRuleGroups(r) + describeResourceNames(r)
}

// describeResourceNames is " (resourceNames ...)" when the rule is limited
// to named objects, and "" otherwise.
func describeResourceNames(r rbacv1.PolicyRule) string {
	if len(r.ResourceNames) == 0 {
		return ""
	}
	return " (resourceNames " + commaList(r.ResourceNames) + ")"
}
