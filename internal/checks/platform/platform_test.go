package platform

import (
	"slices"
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/checks/checktest"
	"github.com/plimsoll/plimsoll/internal/checks/manifest"
	"github.com/plimsoll/plimsoll/internal/checks/runtime"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

// What the platform checks' tests share: building a cluster's inventory
// from YAML, auditing it at a time with every built-in check, and picking
// one check's results.

func parseCluster(t *testing.T, yaml string) []*inventory.Object {
	t.Helper()
	return checktest.ParseCluster(t, yaml)
}

func auditObjects(t *testing.T, objects []*inventory.Object, at time.Time) *audit.Audit {
	t.Helper()
	return checktest.Audit(t, slices.Concat(manifest.Checks(), runtime.Checks(), Checks()), objects, at)
}

func resultsOf(a *audit.Audit, id string) ([]audit.Result, *audit.CheckState) {
	return checktest.ResultsOf(a, id)
}
