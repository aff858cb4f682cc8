package inventory

import "k8s.io/apimachinery/pkg/runtime/schema"

// KindKeyOf returns the kind key (see Object.KindKey) that objects of this
// apiVersion and kind get, so a reader can tell which served types hold the
// kinds checks ask for.
func KindKeyOf(apiVersion, kind string) string {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return ""
	}
	if t, known := typedKinds[kind]; known && contains(t.groups, gv.Group) {
		return kind
	}
	return kind + "." + gv.Group
}
