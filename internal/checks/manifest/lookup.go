package manifest

import (
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// The checks of references (does the ServiceAccount, ConfigMap, Role a
// workload or binding names exist?) share one rule for what "does not
// exist" means. On a cluster or a snapshot it is a fact: the kind was
// listed (a check declares it in Reads, and is not assessed where it
// could not be), and the object is not there. Among manifests it means
// "not among the inputs", and that is judged only where the inputs hold
// the kind at all: other objects of that kind in the same namespace (for a
// cluster-scoped kind, anywhere). With none, the inputs do not show that
// kind (a chart that expects its ServiceAccount to be made elsewhere), and
// the reference cannot be judged. Nor can it where a ServiceAccount among
// the inputs may create objects of the kind there: Argo CD's redis makes
// its own password Secret at start, operators make ConfigMaps and Secrets
// for what they run.

// found is what a lookup of a reference found.
type found struct {
	// object is the object the reference names, or nil.
	object *inventory.Object
	// missing, when set, says that the object does not exist, in words
	// that fit the inputs: "ServiceAccount \"api\" is not among the inputs
	// in namespace \"shop\"", or "... does not exist in namespace shop".
	missing string
	// unknown, when set, says why the reference cannot be judged.
	unknown string
}

// lookup finds the object of kind key (kind is its name in messages), in
// namespace ns, or cluster-wide when ns is "" and the kind is
// cluster-scoped.
func lookup(inv *inventory.Inventory, key, kind, ns, name string, clusterScoped bool) found {
	if o := inv.Get(key, ns, name); o != nil {
		return found{object: o}
	}
	ref := fmt.Sprintf("%s %q", kind, name)
	if inv.Mode == inventory.FromCluster {
		if clusterScoped {
			return found{missing: ref + " does not exist"}
		}
		return found{missing: fmt.Sprintf("%s does not exist in namespace %s", ref, ns)}
	}
	if who := creator(inv, key, ns, clusterScoped); who != "" {
		return found{unknown: fmt.Sprintf("%s may create %ss %s, so whether %s exists cannot be told", who, kind, where(ns, clusterScoped), ref)}
	}
	if clusterScoped {
		if len(inv.OfKind(key)) == 0 {
			return found{unknown: fmt.Sprintf("no %s is among the inputs, so whether %s exists cannot be told", kind, ref)}
		}
		return found{missing: ref + " is not among the inputs"}
	}
	if len(inv.InNamespace(key, ns)) == 0 {
		return found{unknown: fmt.Sprintf("no %s is among the inputs %s, so whether %s exists cannot be told", kind, inNamespace(ns), ref)}
	}
	return found{missing: fmt.Sprintf("%s is not among the inputs %s", ref, inNamespace(ns))}
}

func where(ns string, clusterScoped bool) string {
	if clusterScoped {
		return "in the cluster"
	}
	return inNamespace(ns)
}

// lookupReads are the kinds lookup consults besides the kind looked up:
// the roles and bindings that say who may create it.
func lookupReads(clusterScoped bool) []string {
	if clusterScoped {
		return []string{"ClusterRole", "ClusterRoleBinding"}
	}
	return []string{"ClusterRole", "Role", "RoleBinding"}
}

// resources are the API group and resource of the kinds lookup finds.
var resources = map[string][2]string{
	"ServiceAccount":                  {"", "serviceaccounts"},
	"ConfigMap":                       {"", "configmaps"},
	"Secret":                          {"", "secrets"},
	"PersistentVolumeClaim":           {"", "persistentvolumeclaims"},
	"Service":                         {"", "services"},
	"PriorityClass.scheduling.k8s.io": {"scheduling.k8s.io", "priorityclasses"},
	"RuntimeClass.node.k8s.io":        {"node.k8s.io", "runtimeclasses"},
	"StorageClass":                    {"storage.k8s.io", "storageclasses"},
	"Role":                            {rbacv1.GroupName, "roles"},
	"ClusterRole":                     {rbacv1.GroupName, "clusterroles"},
}

// creator names a ServiceAccount that a binding among the inputs lets
// create objects of kind key in namespace ns, or returns "": a RoleBinding
// of the namespace, or for a cluster-scoped kind a ClusterRoleBinding.
// Only ServiceAccounts count: they are what workloads run as, where a
// person's grant says nothing about what the inputs make. A
// ClusterRoleBinding that lets an operator create Secrets or ConfigMaps in
// every namespace does not count: operators make them for their custom
// resources (a Certificate's Secret), which are judged as such, and
// counting it would leave no reference in any namespace judged.
//
// The answer is the same for every reference of a kind in a namespace, and
// finding it reads every binding there, so it is found once per inventory.
func creator(inv *inventory.Inventory, key, ns string, clusterScoped bool) string {
	return inventory.Memo(inv, fmt.Sprintf("checks/manifest.creator %s %s %t", key, ns, clusterScoped), func(inv *inventory.Inventory) string {
		return findCreator(inv, key, ns, clusterScoped)
	})
}

func findCreator(inv *inventory.Inventory, key, ns string, clusterScoped bool) string {
	res, ok := resources[key]
	if !ok {
		return ""
	}
	var bindings []*inventory.Object
	if clusterScoped {
		bindings = inv.OfKind("ClusterRoleBinding")
	} else {
		bindings = inv.InNamespace("RoleBinding", ns)
	}
	for _, b := range bindings {
		var sa *rbacv1.Subject
		for _, s := range bindingSubjects(b) {
			if s.Kind == rbacv1.ServiceAccountKind {
				sa = &s
				break
			}
		}
		if sa == nil || !mayCreate(inv, b, res[0], res[1]) {
			continue
		}
		return fmt.Sprintf("ServiceAccount %s/%s (%s %s)", subjectNamespace(*sa, b.Namespace), sa.Name, b.Kind, b.Name)
	}
	return ""
}

// mayCreate reports whether a binding's role grants create on a resource:
// a role among the inputs with such a rule, or one of the built-in roles
// that grant it (cluster-admin anything; admin and edit the core kinds
// lookup finds, and admin Roles).
func mayCreate(inv *inventory.Inventory, binding *inventory.Object, group, resource string) bool {
	ref, _ := roleRef(binding)
	role := inv.RoleOf(binding)
	if role == nil {
		switch {
		case ref.Kind != "ClusterRole":
			return false
		case ref.Name == "cluster-admin":
			return true
		case ref.Name == "admin" && resource == "roles":
			return true
		case ref.Name == "admin" || ref.Name == "edit":
			return group == "" && resource != "roles"
		}
		return false
	}
	for _, r := range roleRules(role) {
		if (ruleHas(r.Verbs, "create") || ruleHas(r.Verbs, rbacv1.VerbAll)) && coversResource(r, group, resource) {
			return true
		}
	}
	return false
}
