package cli

import (
	"path/filepath"
	"testing"

	"github.com/plimsoll/plimsoll/internal/schematest"
)

// TestReportsValidateAgainstSchema audits the examples as users do and
// validates every JSON and YAML report against the published schema
// (schema/report.schema.json): manifests with configured, expired and
// unused exemptions, an unreadable file, a comparison with a baseline both
// ways (new failures, and fixed ones), and a cluster's snapshot.
func TestReportsValidateAgainstSchema(t *testing.T) {
	schema := schematest.Compile(t, "../../schema/report.schema.json")
	dir := t.TempDir()
	write(t, dir, ".plimsoll.yaml", examplesConfig+`exemptions:
  - checks: [workload-min-replicas]
    names: [web]
    reason: replaced by an autoscaler next quarter
    expires: 2020-01-31
  - checks: [pdb-coverage]
    names: [no-such-workload]
    reason: a stale entry
`)
	broken := filepath.Join(t.TempDir(), "broken")
	write(t, broken, "web.yaml", webDeployment)
	write(t, broken, "bad.yaml", "kind: Deployment\nmetadata: {name: x\n")
	inv := invocation{dir: dir}
	ready := write(t, t.TempDir(), "ready.json", inv.run(t, "audit", examplesReady, "-o", "json").out)
	notReady := write(t, t.TempDir(), "not-ready.json", inv.run(t, "audit", examplesNotReady, "-o", "json").out)

	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"examples", []string{"../../examples"}, ExitOK},
		{"unreadable file", []string{broken}, ExitPartial},
		{"new since the baseline", []string{examplesNotReady, "--baseline", ready, "--fail-on-new", "high"}, ExitGate},
		{"fixed since the baseline", []string{examplesReady, "--baseline", notReady}, ExitOK},
		{"snapshot", []string{"--snapshot", "../../examples/production/snapshot.json.gz"}, ExitOK},
	} {
		for _, format := range []string{"json", "yaml"} {
			t.Run(tc.name+" "+format, func(t *testing.T) {
				o := inv.run(t, append([]string{"audit", "-o", format}, tc.args...)...)
				wantCode(t, o, tc.code)
				validate := schematest.ValidateJSON
				if format == "yaml" {
					validate = schematest.ValidateYAML
				}
				if err := validate(schema, []byte(o.out)); err != nil {
					t.Errorf("the report does not validate: %v", err)
				}
			})
		}
	}

	// The runs above reach the parts of the schema they are meant to.
	r := decodeReport(t, inv.run(t, "audit", examplesReady, "-o", "json", "--baseline", notReady))
	if r.Baseline == nil || len(r.Baseline.Absent) == 0 || len(r.ExpiredExemptions) != 1 || len(r.UnusedExemptions) != 1 {
		t.Errorf("got baseline %+v, %d expired and %d unused exemptions; want fixed findings, one of each", r.Baseline, len(r.ExpiredExemptions), len(r.UnusedExemptions))
	}
}
