package cluster

import (
	"errors"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// Discover finds the served type of each wanted kind key, in its group's
// preferred version. A kind the cluster does not serve is simply absent: it
// has no objects. A kind whose group failed discovery is unread. A key
// "*.group" (inventory.GroupKey) asks for every kind the group serves, for
// groups whose kinds are made at run time, such as Gatekeeper's
// constraints. Secrets are never listed, whatever is asked.
func Discover(disco discovery.DiscoveryInterface, kinds []string) ([]Type, []Unread, error) {
	wanted := map[string]bool{}
	wholeGroups := map[string]bool{}
	for _, k := range kinds {
		wanted[k] = true
		if g, ok := strings.CutPrefix(k, "*."); ok {
			wholeGroups[g] = true
		}
	}
	lists, err := disco.ServerPreferredResources()
	var failed *discovery.ErrGroupDiscoveryFailed
	if err != nil && !errors.As(err, &failed) {
		return nil, nil, err
	}

	found := map[string]Type{}
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range list.APIResources {
			key := inventory.KindKeyOf(list.GroupVersion, r.Kind)
			if !(wanted[key] || wholeGroups[gv.Group]) || strings.Contains(r.Name, "/") || !canList(r) {
				continue
			}
			if _, dup := found[key]; dup || isSecret(gv.Group, r.Kind) {
				continue
			}
			found[key] = Type{Key: key, Group: gv.Group, Version: gv.Version, Resource: r.Name, Namespaced: r.Namespaced}
		}
	}

	var types []Type
	for _, k := range sortedKeys(found) {
		types = append(types, found[k])
	}
	var unread []Unread
	for _, k := range sortedKeys(wanted) {
		if _, ok := found[k]; ok || failed == nil {
			continue
		}
		for gv, gerr := range failed.Groups {
			if g, whole := strings.CutPrefix(k, "*."); whole && g == gv.Group {
				unread = append(unread, Unread{Type: Type{Key: k, Group: gv.Group, Version: gv.Version, Resource: "*"}, Reason: "discovery failed: " + gerr.Error()})
				break
			}
			if inventory.KindKeyOf(gv.String(), kindOf(k)) == k {
				unread = append(unread, Unread{Type: Type{Key: k, Group: gv.Group, Version: gv.Version, Resource: strings.ToLower(kindOf(k))}, Reason: "discovery failed: " + gerr.Error()})
				break
			}
		}
	}
	return types, unread, nil
}

func canList(r metav1.APIResource) bool {
	for _, v := range r.Verbs {
		if v == "list" {
			return true
		}
	}
	return false
}

func isSecret(group, kind string) bool { return group == "" && kind == "Secret" }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
