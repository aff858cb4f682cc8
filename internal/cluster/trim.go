package cluster

import corev1 "k8s.io/api/core/v1"

// Trim drops, in place, what an audit never needs and must not keep from an
// object as the API server sent it: managedFields (often half an object's
// bytes), the last-applied annotation (a copy of the whole object as last
// applied, Secret values included when the object was a Secret), and the
// values of ConfigMaps and Secrets. Snapshots and live audits both see
// objects only after Trim, so both judge the same content.
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
	if obj["apiVersion"] == "v1" && (obj["kind"] == "ConfigMap" || obj["kind"] == "Secret") {
		delete(obj, "data")
		delete(obj, "stringData")
		delete(obj, "binaryData")
	}
}
