package custom

import (
	"github.com/google/cel-go/common/types/ref"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/policy"
)

// A custom check that calls plimsoll.objects (policy.ObjectsFunction)
// judges an object by others of the inventory. Its policy is compiled once
// per inventory, with the objects of the kinds it names made into CEL
// values once, and every check that lists a kind shares them.

// listed is an object as plimsoll.objects lists it.
type listed struct {
	namespace string
	value     ref.Val
}

// policyFor is the policy the check evaluates on an inventory's objects.
func (c *Check) policyFor(inv *inventory.Inventory) *policy.Policy {
	if len(c.objects) == 0 {
		return c.Policy
	}
	return inventory.Memo(inv, "checks/custom.policy/"+c.ID, func(inv *inventory.Inventory) *policy.Policy {
		byKey := map[string][]listed{}
		for _, k := range c.objects {
			key := inventory.KindKeyOf(k.APIVersion, k.Kind)
			byKey[key] = inventory.Memo(inv, "checks/custom.objects/"+key, func(inv *inventory.Inventory) []listed { return listObjects(inv, key) })
		}
		return c.Policy.WithObjects(func(apiVersion, kind, namespace string, all bool) []ref.Val {
			var out []ref.Val
			for _, l := range byKey[inventory.KindKeyOf(apiVersion, kind)] {
				if all || l.namespace == namespace {
					out = append(out, l.value)
				}
			}
			return out
		})
	})
}

// listObjects makes the objects of a kind key into what plimsoll.objects
// lists: each as an expression sees it as object, admitted and, when its
// kind is namespaced, in namespace default if it names none (where kubectl
// creates it). A custom resource whose scope is unknown keeps its
// metadata as written.
func listObjects(inv *inventory.Inventory, key string) []listed {
	var out []listed
	for _, o := range inv.OfKind(key) {
		if o.Implied {
			continue // a namespace no input declares is no object
		}
		obj, err := admitted(o, inv)
		if err != nil {
			continue // not a kind the scheme knows: never for a typed object
		}
		m, err := meta.Accessor(obj)
		if err != nil {
			continue
		}
		if _, namespaced, why := resourceOf(obj.GetObjectKind().GroupVersionKind(), inv); why == "" && namespaced && m.GetNamespace() == "" {
			m.SetNamespace(metav1.NamespaceDefault)
		}
		v, err := policy.Value(obj)
		if err != nil {
			continue
		}
		out = append(out, listed{namespace: m.GetNamespace(), value: v})
	}
	return out
}
