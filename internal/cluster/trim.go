package cluster

import corev1 "k8s.io/api/core/v1"

// Trim drops, in place, what an audit never needs and must not keep from an
// object as the API server sent it: managedFields (often half an object's
// bytes), the last-applied annotation (a copy of the whole object as last
// applied, Secret values included when the object was a Secret), the
// values of ConfigMaps, whose keys are kept, as inventory.New keeps them,
// and everything a Secret holds, keys included: plimsoll reads no Secret
// from a cluster. Snapshots and live audits both see objects only after
// Trim, so both judge the same content.
func Trim(obj map[string]any) {
	if meta, ok := obj["metadata"].(map[string]any); ok {
		delete(meta, "managedFields")
		if ann, ok := meta["annotations"].(map[string]any); ok {
			delete(ann, corev1.LastAppliedConfigAnnotation)
			if len(ann) == 0 {
				delete(meta, "annotations")
			}
		}
	}
	if obj["apiVersion"] != "v1" {
		return
	}
	switch obj["kind"] {
	case "ConfigMap":
		for _, field := range []string{"data", "binaryData"} {
			if values, ok := obj[field].(map[string]any); ok {
				for k := range values {
					values[k] = nil
				}
			}
		}
	case "Secret":
		delete(obj, "data")
		delete(obj, "stringData")
		delete(obj, "binaryData")
	}
}
