// Package platform holds the checks of the cluster's platform: whether
// what the checklists demand is installed and working (monitoring,
// logging, backup, certificates and secrets, ingress, policy and API-server
// flags, the CNI and DNS, GitOps, image scanning, autoscaling, the control
// plane and nodes, storage, the release calendar, cost and chaos tooling).
// They recognise implementations through internal/platform's table, and
// need a whole cluster or a snapshot of one.
package platform

import (
	"slices"

	"github.com/plimsoll/plimsoll/internal/check"
)

// Checks returns the checks of this package, family by family.
func Checks() []*check.Check {
	return slices.Concat(
		infraChecks(), monitoringChecks(), alertingChecks(), loggingChecks(),
		backupChecks(), etcdChecks(), certChecks(),
		networkPlatformChecks(), policyPlatformChecks(),
		apiserverChecks(), gitopsChecks(), scanningChecks(),
	)
}
