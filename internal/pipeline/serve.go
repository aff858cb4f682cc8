package pipeline

import (
	"context"

	"github.com/plimsoll/plimsoll/internal/report"
	"github.com/plimsoll/plimsoll/internal/serve"
)

// Auditor is the serve.Auditor of plimsoll serve: it audits each snapshot
// of serve's informer cache with Audit and Report, as Read's Inputs of a
// cluster read, so that serve's report of a cluster is the one plimsoll
// audit gives of it. A snapshot with Only set is an admission request's:
// that object alone is judged, with the same checks and configuration. Its
// audits never fail.
func Auditor(o Options) serve.Auditor {
	return func(_ context.Context, snap *serve.Snapshot) (*report.Report, error) {
		in := clusterInputs(snap.Header, snap.Objects, snap.Errors, "cluster "+snap.Header.Context)
		in.Only = snap.Only
		return Report(Audit(in, o), in, o), nil
	}
}
