// Package checks is the registry of plimsoll's built-in checks. They live in
// packages named for what they need to see: manifest (objects as declared),
// runtime (what a cluster shows right now) and platform (the cluster's
// platform), each a file per family and a Checks function that is the
// explicit list of its families. A check that is not listed there does not
// exist. The packages pod and say are what they share: reading pod specs
// and wording findings.
package checks

import (
	"slices"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/manifest"
	"github.com/plimsoll/plimsoll/internal/checks/platform"
	"github.com/plimsoll/plimsoll/internal/checks/runtime"
)

// All returns every built-in check: those of manifests as declared, of
// what a cluster shows right now, and of the cluster's platform.
func All() []*check.Check {
	return slices.Concat(manifest.Checks(), runtime.Checks(), platform.Checks())
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
