package checks

import (
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/config"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/manifest"
)

// What the platform checks' tests share: building a cluster's inventory
// from YAML, auditing it at a time, and picking one check's results.

// parseCluster decodes the objects of a YAML stream, as a cluster returns
// them.
func parseCluster(t *testing.T, yaml string) []*inventory.Object {
	t.Helper()
	loaded := manifest.Parse("cluster.yaml", []byte(yaml), inventory.Source{File: "cluster.yaml"})
	if len(loaded.Errors) > 0 {
		t.Fatal(loaded.Errors[0])
	}
	return loaded.Objects
}

// auditObjects audits objects read as a cluster, as it was at a time, with
// every check under the default configuration. No check may error.
func auditObjects(t *testing.T, objects []*inventory.Object, at time.Time) *audit.Audit {
	t.Helper()
	a := audit.Run(inventory.Build(inventory.FromCluster, objects), audit.Options{Registry: Registry(), Config: config.Default(), Now: at})
	for _, r := range a.Results {
		if r.Status == audit.Error {
			t.Errorf("check %s errored on %s: %s", r.Check.ID, r.Object.ID(), r.Message)
		}
	}
	return a
}

// resultsOf returns one check's results in an audit, and its state.
func resultsOf(a *audit.Audit, id string) ([]audit.Result, *audit.CheckState) {
	var out []audit.Result
	for _, r := range a.Results {
		if r.Check.ID == id {
			out = append(out, r)
		}
	}
	for _, st := range a.Checks {
		if st.Check.ID == id {
			return out, st
		}
	}
	return out, nil
}
