// Package manifest holds the checks of objects as they are declared: the
// workloads, security and governance items of the checklists that a
// manifest, a Helm chart, a Kustomize build and a cluster all show. They
// depend on nothing but the object and the inventory it came with.
package manifest

import (
	"slices"

	"github.com/plimsoll/plimsoll/internal/check"
)

// Checks returns the checks of this package, family by family.
func Checks() []*check.Check {
	return slices.Concat(
		probeChecks(), hpaChecks(), imageChecks(), serviceChecks(),
		resourceChecks(), availabilityChecks(), podSecurityChecks(),
		rbacChecks(), networkPolicyChecks(), governanceChecks(),
		upgradeChecks(), exposureChecks(),
		apiServerChecks(), admissionChecks(), kubeletChecks(),
		referenceChecks(), trafficChecks(), drainChecks(),
	)
}
