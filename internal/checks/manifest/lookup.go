package manifest

import (
	"fmt"

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
// the reference cannot be judged.

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
