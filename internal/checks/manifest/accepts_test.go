package manifest

import (
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/checks/checktest"
)

// TestAPIServerAcceptsJudgesManifests: every object a cluster returns was
// accepted when it was stored, so api-server-accepts is not assessed on a
// cluster, where any finding would be false. The Service below, stored by
// an API server whose rules were looser, would fail among manifests.
func TestAPIServerAcceptsJudgesManifests(t *testing.T) {
	objects := checktest.ParseCluster(t, `apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 80}, {port: 81}]
`)
	a := checktest.Audit(t, apiServerChecks(), objects, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	results, st := checktest.ResultsOf(a, "api-server-accepts")
	if len(results) > 0 || st == nil || st.Assessed || st.Reason != audit.DeclaredOnlyReason {
		t.Errorf("on a cluster: got %d results and state %+v, want none and not assessed (%s)", len(results), st, audit.DeclaredOnlyReason)
	}
}
