package manifest

import (
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
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
			ChecklistItem: checklist.RBACNoWildcards,
			Applies:       appliesToRole,
			Run:           rbacWildcardRun,
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
			ChecklistItem: checklist.RBACLeastPrivilege,
			Run:           rbacClusterAdminBindingRun,
		},
		{
			ID:            "rbac-secrets-read",
			Title:         "ClusterRoles do not grant reading Secrets",
			Layer:         check.Security,
			Severity:      check.High,
			Kinds:         []string{"ClusterRole"},
			Reads:         []string{"ClusterRoleBinding", "RoleBinding"},
			Rationale:     "Reading Secrets is reading every password, token and key they hold; through a ClusterRoleBinding it covers every namespace, kube-system's ServiceAccount tokens included. A rule that grants it through \"*\" is reported once, by rbac-wildcard, which names it.",
			Remediation:   "Grant Secret access in a Role in the namespace that needs it, limited with resourceNames to the Secrets the subject uses.",
			ChecklistItem: checklist.SecretAccess,
			Applies:       appliesBesideWildcard(func(r rbacv1.PolicyRule) bool { return secretsReadVerbs(r) != nil }),
			Run:           rbacSecretsReadRun,
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
			ChecklistItem: checklist.RBACLeastPrivilege,
			Applies:       appliesToRole,
			Run:           rbacEscalationVerbsRun,
		},
		{
			ID:            "rbac-exec-proxy",
			Title:         "Roles do not grant exec, attach or node proxy",
			Layer:         check.Security,
			Severity:      check.High,
			Kinds:         rbacRoleKinds,
			Rationale:     "pods/exec and pods/attach run commands inside containers, with their Secrets and ServiceAccount tokens at hand; nodes/proxy reaches the kubelet API, which runs commands in any pod of the node without the API server's audit. resourceNames narrow that to the pods or nodes named, where it is still running commands. A rule that grants them through \"*\" is reported once, by rbac-wildcard, which names them.",
			Remediation:   "Remove create and get on pods/exec, pods/attach and nodes/proxy; give humans break-glass access for debugging instead of standing grants.",
			ChecklistItem: checklist.RBACLeastPrivilege,
			Applies: appliesBesideWildcard(func(r rbacv1.PolicyRule) bool {
				_, hits := execProxyGrants(r)
				return len(hits) > 0
			}),
			Run: rbacExecProxyRun,
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
			ChecklistItem: checklist.RBACPreferRoles,
			Applies:       rbacClusterrolebindingScopeApplies,
			Run:           rbacClusterrolebindingScopeRun,
		},
	}
}

// rbacWildcardRun is rbac-wildcard's Run. A wildcard rule is reported
// here once, with the grants it includes that rbac-secrets-read and
// rbac-exec-proxy would otherwise report again.
func rbacWildcardRun(o *inventory.Object, c *check.Context) []check.Finding {
	var out []check.Finding
	for i, r := range roleRules(o) {
		if !wildcardRule(r) {
			continue
		}
		if ruleHas(r.Verbs, rbacv1.VerbAll) {
			out = append(out, check.Failf(fmt.Sprintf("rules[%d].verbs", i), "rules[%d] grants every verb (\"*\") on %s%s", i, describeRuleResources(r), wildcardIncludes(r)))
			continue
		}
		out = append(out, check.Failf(fmt.Sprintf("rules[%d].resources", i), "rules[%d] grants %s on every resource (\"*\") in %s%s%s", i, commaList(r.Verbs), describeRuleGroups(r), describeResourceNames(r), wildcardIncludes(r)))
	}
	return out
}

// wildcardRule reports whether rbac-wildcard reports a rule: "*" among
// its verbs or its resources. Non-resource URL rules (/healthz, /metrics)
// grant no access to objects.
func wildcardRule(r rbacv1.PolicyRule) bool {
	return len(r.Resources) > 0 && (ruleHas(r.Verbs, rbacv1.VerbAll) || ruleHas(r.Resources, rbacv1.ResourceAll))
}

// wildcardIncludes says which grants that other checks judge a wildcard
// rule includes, as ": it includes reading every Secret and create or get
// on pods/exec", or "".
func wildcardIncludes(r rbacv1.PolicyRule) string {
	var parts []string
	if secretsReadVerbs(r) != nil {
		parts = append(parts, "reading every Secret")
	}
	if verbs, hits := execProxyGrants(r); len(hits) > 0 {
		parts = append(parts, strings.Join(verbs, " or ")+" on "+commaList(hits))
	}
	if len(parts) == 0 {
		return ""
	}
	return ": it includes " + strings.Join(parts, " and ")
}

// appliesBesideWildcard is the Applies of a check of roles that leaves
// wildcard rules to rbac-wildcard: a role whose only rules that grant
// what the check looks for are wildcard rules is not judged here (skipped,
// neither passed nor failed), as rbac-wildcard reports them.
func appliesBesideWildcard(grants func(rbacv1.PolicyRule) bool) func(*inventory.Object, *check.Context) (bool, string) {
	return func(o *inventory.Object, c *check.Context) (bool, string) {
		if ok, why := appliesToRole(o, c); !ok {
			return false, why
		}
		var wildcards []string
		for i, r := range roleRules(o) {
			switch {
			case !grants(r):
			case !wildcardRule(r):
				return true, ""
			default:
				wildcards = append(wildcards, fmt.Sprintf("rules[%d]", i))
			}
		}
		switch len(wildcards) {
		case 0:
			return true, ""
		case 1:
			return false, "its only rule that grants it, " + wildcards[0] + ", does so through \"*\", and rbac-wildcard reports it"
		}
		return false, "its only rules that grant it, " + commaList(wildcards) + ", do so through \"*\", and rbac-wildcard reports them"
	}
}

// rbacClusterAdminBindingRun is rbac-cluster-admin-binding's Run.
func rbacClusterAdminBindingRun(o *inventory.Object, c *check.Context) []check.Finding {
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
	if i := adminRule(c.Inventory.RoleOf(o)); ref.Name != "cluster-admin" && i >= 0 {
		verbs := "every verb (\"*\")"
		if r := roleRules(c.Inventory.RoleOf(o))[i]; !ruleHas(r.Verbs, rbacv1.VerbAll) {
			verbs = "every object verb (" + commaList(objectVerbs) + ")"
		}
		what += fmt.Sprintf(", whose rules[%d] grants %s on every resource of every API group,", i, verbs)
	}
	scope := "across the cluster"
	if o.Kind == "RoleBinding" {
		scope = "in namespace " + o.Namespace
	}
	return []check.Finding{check.Failf("subjects", "binds %s %s to %s", what, scope, strings.Join(named, ", "))}
}

// rbacSecretsReadRun is rbac-secrets-read's Run.
func rbacSecretsReadRun(o *inventory.Object, c *check.Context) []check.Finding {
	var out []check.Finding
	for i, r := range roleRules(o) {
		if verbs := secretsReadVerbs(r); verbs != nil && !wildcardRule(r) {
			out = append(out, check.Failf(fmt.Sprintf("rules[%d]", i), "rules[%d] grants %s on %s: its subjects can read every Secret %s", i, strings.Join(verbs, ", "), describeRuleResources(r), boundWhere(o, c.Inventory)))
		}
	}
	return out
}

// secretsReadVerbs returns the verbs by which a rule lets its subjects
// read every Secret, or nil. resourceNames limits the rule to Secrets
// named in advance: that is the remediation, not the problem.
func secretsReadVerbs(r rbacv1.PolicyRule) []string {
	if len(r.ResourceNames) > 0 || !coversResource(r, "", "secrets") {
		return nil
	}
	return grantedVerbs(r, "get", "list", "watch")
}

// rbacEscalationVerbsRun is rbac-escalation-verbs's Run.
func rbacEscalationVerbsRun(o *inventory.Object, c *check.Context) []check.Finding {
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
}

// rbacExecProxyRun is rbac-exec-proxy's Run.
func rbacExecProxyRun(o *inventory.Object, c *check.Context) []check.Finding {
	var out []check.Finding
	for i, r := range roleRules(o) {
		if verbs, hits := execProxyGrants(r); len(hits) > 0 && !wildcardRule(r) {
			out = append(out, check.Failf(fmt.Sprintf("rules[%d]", i), "%s", describeExecProxy(i, r, verbs, hits)))
		}
	}
	return out
}

// execProxyGrants returns the verbs, of create and get, that a rule
// grants on pods/exec, pods/attach and nodes/proxy, and which of those it
// covers.
func execProxyGrants(r rbacv1.PolicyRule) (verbs, hits []string) {
	verbs = grantedVerbs(r, "create", "get")
	if len(verbs) == 0 {
		return nil, nil
	}
	for _, res := range []string{"pods/exec", "pods/attach", "nodes/proxy"} {
		if coversResource(r, "", res) {
			hits = append(hits, res)
		}
	}
	return verbs, hits
}

// describeExecProxy words rbac-exec-proxy's finding on rules[i], naming
// the wildcard resources through which it covers a resource it does not
// name, or the reader looks for a resource the rule never names.
func describeExecProxy(i int, r rbacv1.PolicyRule, verbs, hits []string) string {
	var through []string
	for _, res := range hits {
		if ruleHas(r.Resources, res) {
			continue
		}
		_, sub, _ := strings.Cut(res, "/")
		for _, w := range []string{rbacv1.ResourceAll, "*/" + sub} {
			if q := fmt.Sprintf("%q", w); ruleHas(r.Resources, w) && !slices.Contains(through, q) {
				through = append(through, q)
			}
		}
	}
	msg := fmt.Sprintf("rules[%d] grants %s on %s", i, commaList(verbs), commaList(hits))
	if len(through) > 0 {
		msg += ", through resources " + commaList(through)
	}
	if len(r.ResourceNames) > 0 {
		msg += ", limited by resourceNames to " + commaList(r.ResourceNames)
	}
	return msg
}

// rbacClusterrolebindingScopeApplies is rbac-clusterrolebinding-scope's Applies.
func rbacClusterrolebindingScopeApplies(o *inventory.Object, c *check.Context) (bool, string) {
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
}

// rbacClusterrolebindingScopeRun is rbac-clusterrolebinding-scope's Run.
func rbacClusterrolebindingScopeRun(o *inventory.Object, c *check.Context) []check.Finding {
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
}

// boundWhere says where the bindings among the inputs grant a ClusterRole:
// "in every namespace" for a ClusterRoleBinding, the namespaces of its
// RoleBindings otherwise, naming the bindings either way.
func boundWhere(role *inventory.Object, inv *inventory.Inventory) string {
	byRole := inventory.Memo(inv, "checks/manifest.bindingsByClusterRole", func(inv *inventory.Inventory) map[string][]*inventory.Object {
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
	if builtin(o) {
		return false, fmt.Sprintf("%s is a built-in role", o.Name)
	}
	if cr, ok := o.Typed.(*rbacv1.ClusterRole); ok && cr.AggregationRule != nil && c.Inventory.Mode == inventory.FromCluster {
		return false, "its rules are aggregated from other ClusterRoles, which are judged on their own"
	}
	return true, ""
}
