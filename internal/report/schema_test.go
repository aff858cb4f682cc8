package report

import (
	"reflect"
	"testing"

	"github.com/plimsoll/plimsoll/internal/schematest"
)

// reportSchema is the published schema of the json and yaml formats.
const reportSchema = "../../schema/report.schema.json"

// TestReportSchemaCoversReport holds the schema to the Report type: a
// field added to either without the other fails, and so does a field
// always written that the schema does not require.
func TestReportSchemaCoversReport(t *testing.T) {
	doc := schematest.Document(t, reportSchema)
	schematest.Covers(t, doc, reflect.TypeFor[Report](), schematest.Mode{Tag: "json", Required: true})
	props := doc["properties"].(map[string]any)
	for field, want := range map[string]string{"apiVersion": APIVersion, "kind": Kind} {
		if got := props[field].(map[string]any)["const"]; got != want {
			t.Errorf("%s: schema says %v, want %q", field, got, want)
		}
	}
}

// TestReportSchemaValidatesOutput validates what the json and yaml writers
// write: a partial run with every kind of result, and one compared with a
// baseline and read from a cluster, the parts of the schema the fixtures
// above do not reach.
func TestReportSchemaValidatesOutput(t *testing.T) {
	schema := schematest.Compile(t, reportSchema)
	compared := Build(testAudit(t, 1), Input{
		Tool: "plimsoll", Version: "0.0.0-test", Sources: []string{"prod"},
		Cluster: &Cluster{Server: "https://10.0.0.1:6443", Version: "v1.36.3", Context: "prod", Namespace: "shop", Nodes: 3, Zones: []string{"a", "b"}},
	})
	compared.Baseline = &BaselineComparison{
		Source: "main.json", Comparable: false, Why: "the baseline ran other checks", New: 1,
		Expired: []BaselineFinding{},
		Absent:  []BaselineFinding{{Check: "demo-replicas", Severity: "high", Object: "Deployment prod/api", Message: "replicas is 1, want at least 2"}},
	}
	for i := range compared.Results {
		if compared.Results[i].Status == "fail" {
			compared.Results[i].BaselineState = "new"
			break
		}
	}
	for name, r := range map[string]*Report{
		"partial":  Build(testAudit(t, 1), testInput),
		"compared": compared,
	} {
		if err := schematest.ValidateJSON(schema, render(t, r, "json", Options{})); err != nil {
			t.Errorf("%s: JSON report: %v", name, err)
		}
		if err := schematest.ValidateYAML(schema, render(t, r, "yaml", Options{})); err != nil {
			t.Errorf("%s: YAML report: %v", name, err)
		}
	}
}
