// Package runtime holds the checks of what a cluster shows right now (the
// runtime-* checks): pods not Ready or crash-looping, Services without
// ready endpoints, stalled rollouts, NotReady nodes, Pending claims, failed
// Jobs. They need a live cluster or a snapshot of one; on manifests they
// are not assessed.
package runtime

import (
	"slices"

	"github.com/plimsoll/plimsoll/internal/check"
)

// Checks returns the checks of this package, family by family.
func Checks() []*check.Check {
	return slices.Concat(runtimePodChecks(), runtimeChecks(), drillChecks())
}
