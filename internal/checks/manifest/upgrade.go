package manifest

import (
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/internal/apiversion"
	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/config"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

// LatestKnownVersion is the newest Kubernetes release the API version
// table knows. Upgrade checks judge against it when no kubernetesVersion
// is configured.
const LatestKnownVersion = apiversion.Latest

// upgradeKinds are the kind keys of the API version table's deprecated
// and removed versions: the bare kind for the built-ins plimsoll decodes
// typed (an extensions/v1beta1 Deployment is a Deployment), Kind.group
// for the others. The inventory computes them, so they always agree with
// the keys objects get.
var upgradeKinds = func() []string {
	keys := map[string]bool{}
	for _, r := range apiversion.All() {
		if !r.Retired() {
			continue
		}
		o, err := inventory.New(map[string]any{
			"apiVersion": r.APIVersion, "kind": r.Kind,
			"metadata": map[string]any{"name": "x"},
		}, inventory.Source{})
		if err != nil {
			panic(fmt.Sprintf("api table row %s %s: %v", r.APIVersion, r.Kind, err))
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
				r := apiversion.Lookup(o.APIVersion, o.Kind)
				target, _ := targetVersion(c.Params)
				if r == nil || r.Removed == "" || !target.atLeast(mustVersion(r.Removed)) {
					return nil
				}
				return []check.Finding{check.Failf("apiVersion", "%s %s was removed in Kubernetes %s; use %s", r.APIVersion, r.Kind, r.Removed, r.Replacement)}
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
	r := apiversion.Lookup(o.APIVersion, o.Kind)
	target, _ := targetVersion(c.Params)
	if r == nil || r.Deprecated == "" || !target.atLeast(mustVersion(r.Deprecated)) {
		return nil
	}
	if r.Removed == "" {
		return []check.Finding{check.Failf("apiVersion", "%s %s is deprecated since Kubernetes %s; use %s", r.APIVersion, r.Kind, r.Deprecated, r.Replacement)}
	}
	if target.atLeast(mustVersion(r.Removed)) {
		// Removed, not merely deprecated: api-removed reports it.
		return nil
	}
	return []check.Finding{check.Failf("apiVersion", "%s %s is deprecated since Kubernetes %s and is removed in %s; use %s", r.APIVersion, r.Kind, r.Deprecated, r.Removed, r.Replacement)}
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
