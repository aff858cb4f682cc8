// Package checks is the registry of plimsoll's built-in checks. They live in
// packages named for what they need to see: manifest (objects as declared),
// runtime (what a cluster shows right now) and platform (the cluster's
// platform), each a file per family and a Checks function that is the
// explicit list of its families. A check that is not listed there does not
// exist. The packages pod and say are what they share: reading pod specs
// and wording findings. Each check's example, a manifest that passes it, is
// examples/<id>.yaml; a check that the API server can enforce as a
// ValidatingAdmissionPolicy is written as one in admission/<id>.yaml.
package checks

import (
	"embed"
	"fmt"
	"slices"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/manifest"
	"github.com/plimsoll/plimsoll/internal/checks/platform"
	"github.com/plimsoll/plimsoll/internal/checks/runtime"
)

// All returns every built-in check: those of manifests as declared, of
// what a cluster shows right now, and of the cluster's platform.
func All() []*check.Check {
	all := slices.Concat(manifest.Checks(), runtime.Checks(), platform.Checks())
	for _, c := range all {
		b, err := examples.ReadFile("examples/" + c.ID + ".yaml")
		if err != nil {
			panic(fmt.Sprintf("check %s has no example: %v", c.ID, err))
		}
		c.Example = string(b)
		if b, err := admission.ReadFile("admission/" + c.ID + ".yaml"); err == nil {
			c.Admission = string(b)
		}
	}
	return all
}

// admission holds, for each check that judges one object by what the
// object says alone, the check as a ValidatingAdmissionPolicy's spec,
// named for its ID (see check.Check.Admission).
//
//go:embed admission/*.yaml
var admission embed.FS

// examples holds a manifest that passes each check, named for its ID.
//
//go:embed examples/*.yaml
var examples embed.FS

// Registry returns the registry of every built-in check. The list is fixed
// at build time, so an invalid check is a programming error.
func Registry() *check.Registry {
	r, err := check.NewRegistry(All())
	if err != nil {
		panic(err)
	}
	return r
}
