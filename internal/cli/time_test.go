package cli

import (
	"path/filepath"
	"testing"

	"github.com/plimsoll/plimsoll/internal/report"
)

// TestReportTime: a report says the time it describes, which for
// manifests is when they were audited (the clock's), and for a snapshot
// when it was taken, however long ago.
func TestReportTime(t *testing.T) {
	timeOf := func(args ...string) string {
		return decodeReport(t, run(t, append(append([]string{"audit"}, args...), "-o", "json")...)).Time
	}
	if got, want := timeOf(filepath.Join("testdata", "small.yaml")), testNow.Format(report.TimeFormat); got != want {
		t.Errorf("manifests: got time %q, want the audit's, %q", got, want)
	}
	if got, want := timeOf("--snapshot", productionSnapshot), "2026-11-21T12:00:00Z"; got != want {
		t.Errorf("a snapshot: got time %q, want the snapshot's, %q", got, want)
	}
}
