package overlay

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/kustomize/kyaml/openapi"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// TestMergeKeysAgreeWithKubernetes holds Kustomize's schema, by which the
// overlay's strategic merges are built, to Kubernetes' own definition of a
// strategic merge (the patchMergeKey tags of k8s.io/api): where both know a
// list, they merge it by the same key. The lists newer than Kustomize's
// schema are listed: Kustomize replaces them whole, so their elements are
// patched with JSON patches.
func TestMergeKeysAgreeWithKubernetes(t *testing.T) {
	for _, tc := range []struct {
		apiVersion, kind, path string // to the list; [] steps into a list's elements
		in                     any    // the Go type that holds the list
		field                  string
		newer                  bool // newer than Kustomize's schema
	}{
		{"v1", "Pod", "spec.containers", corev1.PodSpec{}, "containers", false},
		{"v1", "Pod", "spec.initContainers", corev1.PodSpec{}, "initContainers", false},
		{"v1", "Pod", "spec.ephemeralContainers", corev1.PodSpec{}, "ephemeralContainers", false},
		{"v1", "Pod", "spec.volumes", corev1.PodSpec{}, "volumes", false},
		{"v1", "Pod", "spec.imagePullSecrets", corev1.PodSpec{}, "imagePullSecrets", false},
		{"v1", "Pod", "spec.hostAliases", corev1.PodSpec{}, "hostAliases", false},
		{"v1", "Pod", "spec.topologySpreadConstraints", corev1.PodSpec{}, "topologySpreadConstraints", false},
		{"v1", "Pod", "spec.tolerations", corev1.PodSpec{}, "tolerations", false},
		{"v1", "Pod", "spec.readinessGates", corev1.PodSpec{}, "readinessGates", false},
		{"v1", "Pod", "spec.schedulingGates", corev1.PodSpec{}, "schedulingGates", true},
		{"v1", "Pod", "spec.resourceClaims", corev1.PodSpec{}, "resourceClaims", true},
		{"v1", "Pod", "spec.containers.[].ports", corev1.Container{}, "ports", false},
		{"v1", "Pod", "spec.containers.[].env", corev1.Container{}, "env", false},
		{"v1", "Pod", "spec.containers.[].envFrom", corev1.Container{}, "envFrom", false},
		{"v1", "Pod", "spec.containers.[].volumeMounts", corev1.Container{}, "volumeMounts", false},
		{"v1", "Pod", "spec.containers.[].volumeDevices", corev1.Container{}, "volumeDevices", false},
		{"v1", "Pod", "spec.containers.[].args", corev1.Container{}, "args", false},
		{"v1", "Service", "spec.ports", corev1.ServiceSpec{}, "ports", false},
		{"apps/v1", "Deployment", "spec.template.spec.containers", corev1.PodSpec{}, "containers", false},
		{"apps/v1", "StatefulSet", "spec.volumeClaimTemplates", appsv1.StatefulSetSpec{}, "volumeClaimTemplates", false},
		{"apps/v1", "Deployment", "metadata.finalizers", metav1.ObjectMeta{}, "finalizers", false},
		{"apps/v1", "Deployment", "metadata.ownerReferences", metav1.ObjectMeta{}, "ownerReferences", false},
	} {
		t.Run(tc.kind+"."+tc.path, func(t *testing.T) {
			n := schemaNode{openapi.SchemaForResourceType(kyaml.TypeMeta{APIVersion: tc.apiVersion, Kind: tc.kind})}
			for _, k := range strings.Split(tc.path, ".") {
				if k == "[]" {
					n = n.elements()
				} else {
					n = n.field(k)
				}
			}
			meta, err := strategicpatch.NewPatchMetaFromStruct(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			_, pm, err := meta.LookupPatchMetadataForSlice(tc.field)
			if err != nil {
				t.Fatal(err)
			}
			kubernetes := ""
			if slices.Contains(pm.GetPatchStrategies(), "merge") {
				kubernetes = pm.GetPatchMergeKey()
			}
			kustomize := ""
			if keys := n.mergeKeys(); len(keys) > 0 {
				kustomize = keys[0]
			}
			switch {
			case tc.newer && (kustomize != "" || kubernetes == ""):
				t.Errorf("Kustomize merges it by %q, Kubernetes by %q; want only Kubernetes to", kustomize, kubernetes)
			case !tc.newer && kustomize != kubernetes:
				t.Errorf("Kustomize merges it by %q, Kubernetes by %q", kustomize, kubernetes)
			}
		})
	}
}
