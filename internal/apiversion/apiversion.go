// Package apiversion is the one table of the API versions Kubernetes has
// served its built-in kinds at: for each, the release that deprecated it
// and the one that stopped serving it. The manifest decoder refuses a
// version of a built-in kind that no release served (apps/v1beta9), as the
// API server does, and reads every one that some release did, however old;
// the upgrade checks report the deprecated and removed ones.
//
// For the kinds the inventory decodes into their API types (Pod,
// Deployment, Ingress, ...) the table lists every version, current and
// alpha ones included, and a test holds it to client-go's scheme. For
// other kinds it lists the beta and GA versions that were deprecated or
// removed, from the Kubernetes deprecated API migration guide and the
// prerelease-lifecycle tags of k8s.io/api; their alpha versions, never
// served by default, and review kinds, which are never stored, are left
// out.
package apiversion

import (
	"slices"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
)

// Latest is the newest Kubernetes release the table knows.
const Latest = "1.37"

// A Version is one API version of one built-in kind.
type Version struct {
	APIVersion string
	Kind       string
	// Deprecated is the release that deprecated it, or "" when none has:
	// a current version, or an alpha one, which is removed without being
	// deprecated first.
	Deprecated string
	// Removed is the release that stopped serving it, or "" when it is
	// still served.
	Removed string
	// Replacement is what to use instead of a deprecated or removed
	// version; "" for a current one.
	Replacement string
}

// Retired reports whether a release deprecated or removed the version.
func (v *Version) Retired() bool { return v.Deprecated != "" || v.Removed != "" }

// versions is the table. Rows without a deprecation or removal are the
// current versions of the kinds the inventory decodes into their types.
var versions = []Version{
	{"v1", "Pod", "", "", ""},
	{"v1", "Service", "", "", ""},
	{"v1", "Namespace", "", "", ""},
	{"v1", "ServiceAccount", "", "", ""},
	{"v1", "LimitRange", "", "", ""},
	{"v1", "ResourceQuota", "", "", ""},
	{"v1", "ReplicationController", "", "", ""},
	{"v1", "PersistentVolumeClaim", "", "", ""},
	{"v1", "Node", "", "", ""},
	{"v1", "ConfigMap", "", "", ""},
	{"v1", "Secret", "", "", ""},
	{"apps/v1", "Deployment", "", "", ""},
	{"apps/v1", "StatefulSet", "", "", ""},
	{"apps/v1", "DaemonSet", "", "", ""},
	{"apps/v1", "ReplicaSet", "", "", ""},
	{"batch/v1", "Job", "", "", ""},
	{"batch/v1", "CronJob", "", "", ""},
	{"policy/v1", "PodDisruptionBudget", "", "", ""},
	{"autoscaling/v1", "HorizontalPodAutoscaler", "", "", ""},
	{"autoscaling/v2", "HorizontalPodAutoscaler", "", "", ""},
	{"networking.k8s.io/v1", "NetworkPolicy", "", "", ""},
	{"networking.k8s.io/v1", "Ingress", "", "", ""},
	{"networking.k8s.io/v1", "IngressClass", "", "", ""},
	{"rbac.authorization.k8s.io/v1", "Role", "", "", ""},
	{"rbac.authorization.k8s.io/v1", "ClusterRole", "", "", ""},
	{"rbac.authorization.k8s.io/v1", "RoleBinding", "", "", ""},
	{"rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "", "", ""},
	{"storage.k8s.io/v1", "StorageClass", "", "", ""},
	{"discovery.k8s.io/v1", "EndpointSlice", "", "", ""},

	{"extensions/v1beta1", "Deployment", "1.8", "1.16", "apps/v1"},
	{"extensions/v1beta1", "DaemonSet", "1.8", "1.16", "apps/v1"},
	{"extensions/v1beta1", "ReplicaSet", "1.8", "1.16", "apps/v1"},
	{"extensions/v1beta1", "NetworkPolicy", "1.9", "1.16", "networking.k8s.io/v1"},
	{"extensions/v1beta1", "PodSecurityPolicy", "1.11", "1.16", "policy/v1beta1 before Kubernetes 1.25 and Pod Security Admission from 1.25"},
	{"extensions/v1beta1", "Ingress", "1.14", "1.22", "networking.k8s.io/v1"},
	{"apps/v1beta1", "Deployment", "1.8", "1.16", "apps/v1"},
	{"apps/v1beta1", "StatefulSet", "1.8", "1.16", "apps/v1"},
	{"apps/v1beta1", "ControllerRevision", "1.8", "1.16", "apps/v1"},
	{"apps/v1beta2", "Deployment", "1.9", "1.16", "apps/v1"},
	{"apps/v1beta2", "StatefulSet", "1.9", "1.16", "apps/v1"},
	{"apps/v1beta2", "DaemonSet", "1.9", "1.16", "apps/v1"},
	{"apps/v1beta2", "ReplicaSet", "1.9", "1.16", "apps/v1"},
	{"apps/v1beta2", "ControllerRevision", "1.9", "1.16", "apps/v1"},
	{"networking.k8s.io/v1beta1", "Ingress", "1.19", "1.22", "networking.k8s.io/v1"},
	{"networking.k8s.io/v1beta1", "IngressClass", "1.19", "1.22", "networking.k8s.io/v1"},
	{"rbac.authorization.k8s.io/v1beta1", "ClusterRole", "1.17", "1.22", "rbac.authorization.k8s.io/v1"},
	{"rbac.authorization.k8s.io/v1beta1", "ClusterRoleBinding", "1.17", "1.22", "rbac.authorization.k8s.io/v1"},
	{"rbac.authorization.k8s.io/v1beta1", "Role", "1.17", "1.22", "rbac.authorization.k8s.io/v1"},
	{"rbac.authorization.k8s.io/v1beta1", "RoleBinding", "1.17", "1.22", "rbac.authorization.k8s.io/v1"},
	// Deprecated with v1beta1 (kubernetes#84758), served a release longer
	// (kubernetes#104248).
	{"rbac.authorization.k8s.io/v1alpha1", "ClusterRole", "1.17", "1.23", "rbac.authorization.k8s.io/v1"},
	{"rbac.authorization.k8s.io/v1alpha1", "ClusterRoleBinding", "1.17", "1.23", "rbac.authorization.k8s.io/v1"},
	{"rbac.authorization.k8s.io/v1alpha1", "Role", "1.17", "1.23", "rbac.authorization.k8s.io/v1"},
	{"rbac.authorization.k8s.io/v1alpha1", "RoleBinding", "1.17", "1.23", "rbac.authorization.k8s.io/v1"},
	{"admissionregistration.k8s.io/v1beta1", "MutatingWebhookConfiguration", "1.16", "1.22", "admissionregistration.k8s.io/v1"},
	{"admissionregistration.k8s.io/v1beta1", "ValidatingWebhookConfiguration", "1.16", "1.22", "admissionregistration.k8s.io/v1"},
	{"apiextensions.k8s.io/v1beta1", "CustomResourceDefinition", "1.16", "1.22", "apiextensions.k8s.io/v1"},
	{"apiregistration.k8s.io/v1beta1", "APIService", "1.19", "1.22", "apiregistration.k8s.io/v1"},
	{"scheduling.k8s.io/v1beta1", "PriorityClass", "1.14", "1.22", "scheduling.k8s.io/v1"},
	{"certificates.k8s.io/v1beta1", "CertificateSigningRequest", "1.19", "1.22", "certificates.k8s.io/v1"},
	{"coordination.k8s.io/v1beta1", "Lease", "1.19", "1.22", "coordination.k8s.io/v1"},
	{"storage.k8s.io/v1beta1", "CSIDriver", "1.19", "1.22", "storage.k8s.io/v1"},
	{"storage.k8s.io/v1beta1", "CSINode", "1.17", "1.22", "storage.k8s.io/v1"},
	{"storage.k8s.io/v1beta1", "StorageClass", "1.19", "1.22", "storage.k8s.io/v1"},
	{"storage.k8s.io/v1beta1", "VolumeAttachment", "1.19", "1.22", "storage.k8s.io/v1"},
	// Alpha versions are removed without a deprecation: batch/v2alpha1 and
	// discovery.k8s.io/v1alpha1 went when their APIs reached v1
	// (kubernetes#96987, kubernetes#99662).
	{"batch/v2alpha1", "CronJob", "", "1.21", "batch/v1"},
	{"discovery.k8s.io/v1alpha1", "EndpointSlice", "", "1.21", "discovery.k8s.io/v1"},
	{"batch/v1beta1", "CronJob", "1.21", "1.25", "batch/v1"},
	{"discovery.k8s.io/v1beta1", "EndpointSlice", "1.21", "1.25", "discovery.k8s.io/v1"},
	{"events.k8s.io/v1beta1", "Event", "1.22", "1.25", "events.k8s.io/v1"},
	{"autoscaling/v2beta1", "HorizontalPodAutoscaler", "1.22", "1.25", "autoscaling/v2"},
	{"policy/v1beta1", "PodDisruptionBudget", "1.21", "1.25", "policy/v1"},
	{"policy/v1beta1", "PodSecurityPolicy", "1.21", "1.25", "Pod Security Admission (pod-security.kubernetes.io namespace labels)"},
	{"node.k8s.io/v1beta1", "RuntimeClass", "1.22", "1.25", "node.k8s.io/v1"},
	{"autoscaling/v2beta2", "HorizontalPodAutoscaler", "1.23", "1.26", "autoscaling/v2"},
	{"flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema", "1.23", "1.26", "flowcontrol.apiserver.k8s.io/v1 (v1beta3 before Kubernetes 1.29)"},
	{"flowcontrol.apiserver.k8s.io/v1beta1", "PriorityLevelConfiguration", "1.23", "1.26", "flowcontrol.apiserver.k8s.io/v1 (v1beta3 before Kubernetes 1.29)"},
	{"storage.k8s.io/v1beta1", "CSIStorageCapacity", "1.24", "1.27", "storage.k8s.io/v1"},
	{"flowcontrol.apiserver.k8s.io/v1beta2", "FlowSchema", "1.26", "1.29", "flowcontrol.apiserver.k8s.io/v1 (v1beta3 before Kubernetes 1.29)"},
	{"flowcontrol.apiserver.k8s.io/v1beta2", "PriorityLevelConfiguration", "1.26", "1.29", "flowcontrol.apiserver.k8s.io/v1 (v1beta3 before Kubernetes 1.29)"},
	{"flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema", "1.29", "1.32", "flowcontrol.apiserver.k8s.io/v1"},
	{"flowcontrol.apiserver.k8s.io/v1beta3", "PriorityLevelConfiguration", "1.29", "1.32", "flowcontrol.apiserver.k8s.io/v1"},
	// Endpoints is GA and will not be removed, but EndpointSlices replace
	// it and the API server warns on every use since 1.33.
	{"v1", "Endpoints", "1.33", "", "discovery.k8s.io/v1 EndpointSlice"},
}

// byVersion finds a row by apiVersion and kind; groups are the groups
// each kind's rows name.
var byVersion, groups = func() (map[[2]string]*Version, map[string][]string) {
	rows := make(map[[2]string]*Version, len(versions))
	groups := map[string][]string{}
	for i := range versions {
		v := &versions[i]
		rows[[2]string{v.APIVersion, v.Kind}] = v
		gv, _ := schema.ParseGroupVersion(v.APIVersion)
		if !slices.Contains(groups[v.Kind], gv.Group) {
			groups[v.Kind] = append(groups[v.Kind], gv.Group)
		}
	}
	return rows, groups
}()

// Lookup returns the row of kind at apiVersion, or nil when the table has
// none: for a kind whose every version it lists, no release served it.
func Lookup(apiVersion, kind string) *Version {
	return byVersion[[2]string{apiVersion, kind}]
}

// InGroup reports whether some version of the group in the table serves
// the kind: an apps/v1beta9 Deployment is of a group that serves
// Deployments, at a version that never did.
func InGroup(g, kind string) bool {
	return slices.Contains(groups[kind], g)
}

// All returns every row, in the table's order.
func All() []Version { return slices.Clone(versions) }

// Current is the apiVersion the newest release prefers for kind: the
// most stable and newest of its versions no release removed, or "".
func Current(kind string) string {
	var best string
	for _, v := range versions {
		if v.Kind != kind || v.Removed != "" {
			continue
		}
		if best == "" || version.CompareKubeAwareVersionStrings(versionOf(v.APIVersion), versionOf(best)) > 0 {
			best = v.APIVersion
		}
	}
	return best
}

func versionOf(apiVersion string) string {
	gv, _ := schema.ParseGroupVersion(apiVersion)
	return gv.Version
}
