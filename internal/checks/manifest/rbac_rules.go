package manifest

// Reading RBAC: roles and bindings, their rules, their subjects, and what
// the rules grant across namespaces.

import (
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

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
	return adminRule(role) >= 0
}

// adminRule returns the index of a role's first rule that grants every
// verb on every resource of every group, or -1.
func adminRule(role *inventory.Object) int {
	if role == nil {
		return -1
	}
	for i, r := range roleRules(role) {
		if everyVerb(r) && ruleHas(r.Resources, rbacv1.ResourceAll) && ruleHas(r.APIGroups, rbacv1.APIGroupAll) && len(r.ResourceNames) == 0 {
			return i
		}
	}
	return -1
}

// objectVerbs are the verbs of the API's resources: a rule that lists
// them all on every resource can do to objects all that cluster-admin can.
var objectVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}

// everyVerb reports whether a rule grants "*" or lists every object verb.
func everyVerb(r rbacv1.PolicyRule) bool {
	if ruleHas(r.Verbs, rbacv1.VerbAll) {
		return true
	}
	for _, v := range objectVerbs {
		if !ruleHas(r.Verbs, v) {
			return false
		}
	}
	return true
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
	return inventory.Memo(inv, "checks/manifest.crdScopes", func(inv *inventory.Inventory) map[string]string {
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
	bySA := inventory.Memo(inv, "checks/manifest.clusterRoleBindingsBySA", func(inv *inventory.Inventory) map[string][]*inventory.Object {
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
