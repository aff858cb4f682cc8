// Package checks holds plimsoll's built-in checks, one file per family. This
// file is the one explicit list of them: a check that is not listed here
// does not exist.
package checks

import "github.com/plimsoll/plimsoll/internal/check"

// All returns every built-in check.
func All() []*check.Check {
	var all []*check.Check
	for _, family := range [][]*check.Check{
		probeChecks(),
		hpaChecks(), imageChecks(), serviceChecks(),
		resourceChecks(), availabilityChecks(),
		podSecurityChecks(), rbacChecks(),
		networkPolicyChecks(),
		networkPlatformChecks(), policyPlatformChecks(),
		governanceChecks(),
		upgradeChecks(),
		exposureChecks(),
		runtimePodChecks(), runtimeChecks(),
		infraChecks(),
		monitoringChecks(),
		backupChecks(), certChecks(),
	} {
		all = append(all, family...)
	}
	return all
}

// Registry returns the registry of every built-in check. The list is fixed
// at build time, so an invalid check is a programming error.
func Registry() *check.Registry {
	r, err := check.NewRegistry(All())
	if err != nil {
		panic(err)
	}
	return r
}
