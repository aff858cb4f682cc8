package manifest

import (
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/config"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

// LatestKnownVersion is the newest Kubernetes release the API table below
// knows. Upgrade checks judge against it when no kubernetesVersion is
// configured.
const LatestKnownVersion = "1.37"

// apiLifecycle is one API version of one kind that Kubernetes deprecated.
type apiLifecycle struct {
	apiVersion string
	kind       string
	// deprecated is the release that deprecated it.
	deprecated string
	// removed is the release that stopped serving it, or "" when no
	// removal is scheduled.
	removed string
	// replacement is what to use instead.
	replacement string
}

// apiLifecycles are the deprecations of the built-in APIs, from the
// Kubernetes deprecated API migration guide and the prerelease-lifecycle
// tags of k8s.io/api. Alpha APIs, which are never served by default, and
// review kinds, which are never stored, are left out.
var apiLifecycles = []apiLifecycle{
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

// apiLifecycleIndex finds a table row by apiVersion and kind.
var apiLifecycleIndex = func() map[[2]string]*apiLifecycle {
	m := make(map[[2]string]*apiLifecycle, len(apiLifecycles))
	for i := range apiLifecycles {
		r := &apiLifecycles[i]
		m[[2]string{r.apiVersion, r.kind}] = r
	}
	return m
}()

// upgradeKinds are the kind keys of the table's rows: the bare kind for
// the built-ins plimsoll decodes typed (an extensions/v1beta1 Deployment
// is a Deployment), Kind.group for the others. The inventory computes
// them, so they always agree with the keys objects get.
var upgradeKinds = func() []string {
	keys := map[string]bool{}
	for _, r := range apiLifecycles {
		o, err := inventory.New(map[string]any{
			"apiVersion": r.apiVersion, "kind": r.kind,
			"metadata": map[string]any{"name": "x"},
		}, inventory.Source{})
		if err != nil {
			panic(fmt.Sprintf("api table row %s %s: %v", r.apiVersion, r.kind, err))
		}
		keys[o.KindKey()] = true
	}
	return slices.Sorted(maps.Keys(keys))
}()

// kubeVersion is a Kubernetes minor release such as 1.22.
type kubeVersion struct{ major, minor int }

func parseKubeVersion(s string) (kubeVersion, error) {
	major, minor, err := config.ParseVersion(s)
	return kubeVersion{major, minor}, err
}

// atLeast compares numerically, so 1.9 comes before 1.22.
func (v kubeVersion) atLeast(w kubeVersion) bool {
	if v.major != w.major {
		return v.major > w.major
	}
	return v.minor >= w.minor
}

// mustVersion reads a version from the table, which tests keep valid.
func mustVersion(s string) kubeVersion {
	v, err := parseKubeVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

// targetVersion is the release upgrade checks judge against.
func targetVersion(p *check.Params) (kubeVersion, error) {
	if p.KubernetesVersion == "" {
		return parseKubeVersion(LatestKnownVersion)
	}
	return parseKubeVersion(p.KubernetesVersion)
}

func targetKnown(o *inventory.Object, c *check.Context) (bool, string) {
	if _, err := targetVersion(c.Params); err != nil {
		return false, fmt.Sprintf("parameters.kubernetesVersion: %v", err)
	}
	return true, ""
}

func upgradeChecks() []*check.Check {
	return []*check.Check{
		{
			ID:            "api-removed",
			Title:         "Objects use no API version removed at the target Kubernetes version",
			Layer:         check.Upgrade,
			Severity:      check.High,
			Kinds:         upgradeKinds,
			Requires:      check.Declared,
			Rationale:     "The API server refuses objects of an API version it no longer serves: applying the manifest fails, and an upgrade to that release breaks every pipeline that still writes it.",
			Remediation:   "Rewrite the object in the replacement API version (kubectl convert helps) before upgrading to the release that removes the old one.",
			ChecklistItem: checklist.UpgradePlan,
			Applies:       targetKnown,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				r := apiLifecycleIndex[[2]string{o.APIVersion, o.Kind}]
				target, _ := targetVersion(c.Params)
				if r == nil || r.removed == "" || !target.atLeast(mustVersion(r.removed)) {
					return nil
				}
				return []check.Finding{check.Failf("apiVersion", "%s %s was removed in Kubernetes %s; use %s", r.apiVersion, r.kind, r.removed, r.replacement)}
			},
		},
		{
			ID:            "api-deprecated",
			Title:         "Objects use no API version deprecated at the target Kubernetes version",
			Layer:         check.Upgrade,
			Severity:      check.Low,
			Kinds:         upgradeKinds,
			Requires:      check.Declared,
			Reads:         []string{"Service"},
			Rationale:     "A deprecated API version still works but is scheduled for removal or superseded; moving off it before the upgrade that removes it keeps that upgrade uneventful.",
			Remediation:   "Rewrite the object in the replacement API version.",
			ChecklistItem: checklist.UpgradePlan,
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				if ok, why := targetKnown(o, c); !ok {
					return false, why
				}
				return endpointsWrittenByUser(o, c)
			},
			Run: apiDeprecatedRun,
		},
	}
}

// apiDeprecatedRun is api-deprecated's Run.
func apiDeprecatedRun(o *inventory.Object, c *check.Context) []check.Finding {
	r := apiLifecycleIndex[[2]string{o.APIVersion, o.Kind}]
	target, _ := targetVersion(c.Params)
	if r == nil || !target.atLeast(mustVersion(r.deprecated)) {
		return nil
	}
	if r.removed == "" {
		return []check.Finding{check.Failf("apiVersion", "%s %s is deprecated since Kubernetes %s; use %s", r.apiVersion, r.kind, r.deprecated, r.replacement)}
	}
	if target.atLeast(mustVersion(r.removed)) {
		// Removed, not merely deprecated: api-removed reports it.
		return nil
	}
	return []check.Finding{check.Failf("apiVersion", "%s %s is deprecated since Kubernetes %s and is removed in %s; use %s", r.apiVersion, r.kind, r.deprecated, r.removed, r.replacement)}
}

// endpointsWrittenByUser leaves out Endpoints that Kubernetes maintains
// itself: those of a Service with a selector (the endpoints controller's)
// and default/kubernetes (the API server's). Only Endpoints someone wrote
// need migrating to EndpointSlices.
func endpointsWrittenByUser(o *inventory.Object, c *check.Context) (bool, string) {
	if o.Kind != "Endpoints" || o.Group() != "" {
		return true, ""
	}
	if o.Namespace == "default" && o.Name == "kubernetes" {
		return false, "the API server maintains the Endpoints of the kubernetes Service"
	}
	if svc := c.Inventory.Get("Service", o.Namespace, o.Name); svc != nil {
		if s, ok := svc.Typed.(*corev1.Service); ok && len(s.Spec.Selector) > 0 {
			return false, fmt.Sprintf("the endpoints controller maintains it for Service %s, which has a selector", svc.Name)
		}
	}
	return true, ""
}
