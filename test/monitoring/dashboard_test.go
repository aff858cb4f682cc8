package monitoring

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
)

// decodeDashboard decodes a dashboard strictly into the Go types of
// Grafana's dashboard schema (grafana-foundation-sdk, generated from the
// schema Grafana itself validates with). Dashboard and Panel decode
// themselves, so json.Decoder's DisallowUnknownFields would not reach
// inside them; their UnmarshalJSONStrict refuses unknown and missing
// required fields at every level, and, with the SDK's plugins registered,
// decodes each panel's options and each query by the panel's and the data
// source's own schema (timeseries, stat, prometheus).
func decodeDashboard(data []byte) (*dashboard.Dashboard, error) {
	plugins.RegisterDefaultPlugins()
	var strict dashboard.Dashboard
	err := strict.UnmarshalJSONStrict(data)
	// v0.0.22 returns its list of errors as an error even when the list
	// is empty, and so drops every panel it decoded without an error
	// (PanelOrRowPanel keeps a panel only when Panel's decoding returned
	// nil): the strict pass says whether the dashboard fits, and the
	// ordinary one, which keeps the panels, gives its content.
	if errs, ok := err.(cog.BuildErrors); ok && len(errs) == 0 {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	var d dashboard.Dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

func readDashboard(t *testing.T) (*dashboard.Dashboard, []byte) {
	t.Helper()
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	d, err := decodeDashboard(data)
	if err != nil {
		t.Fatalf("%s does not fit Grafana's dashboard schema: %v", dashboardFile, err)
	}
	return d, data
}

// TestDashboardSchema: the dashboard fits Grafana's schema, and the strict
// decoding would notice if it did not.
func TestDashboardSchema(t *testing.T) {
	d, data := readDashboard(t)
	if d.Uid == nil || *d.Uid != "plimsoll" || d.Title == nil || *d.Title == "" {
		t.Errorf("got uid %v and title %v, want uid plimsoll and a title", d.Uid, d.Title)
	}
	// The same dashboard with one misspelt field, at the top, in a panel,
	// in a panel's options and in a query: each must be refused.
	for _, c := range []struct{ from, to string }{
		{`"schemaVersion"`, `"schemaVersoin"`},
		{`"gridPos"`, `"gridPosition"`},
		{`"showLegend"`, `"showLegends"`},
		{`"legendFormat"`, `"legendFromat"`},
	} {
		bad := strings.Replace(string(data), c.from, c.to, 1)
		if bad == string(data) {
			t.Fatalf("the dashboard has no %s to misspell", c.from)
		}
		if _, err := decodeDashboard([]byte(bad)); err == nil {
			t.Errorf("%s misspelt as %s: decoded without an error, want one", c.from, c.to)
		}
	}
}

// TestDashboardVariables: a data source to choose, and the cluster label
// to filter by, which every query uses.
func TestDashboardVariables(t *testing.T) {
	d, _ := readDashboard(t)
	vars := map[string]dashboard.VariableModel{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v
	}
	if v, ok := vars["datasource"]; !ok || v.Type != dashboard.VariableTypeDatasource || v.Query == nil || v.Query.String == nil || *v.Query.String != "prometheus" {
		t.Errorf("got variable datasource %+v, want a Prometheus data source variable", v)
	}
	v, ok := vars["cluster"]
	if !ok || v.Type != dashboard.VariableTypeQuery || v.Definition == nil || *v.Definition != "label_values(plimsoll_score, cluster)" {
		t.Fatalf("got variable cluster %+v, want a query of label_values(plimsoll_score, cluster)", v)
	}
	// With "All", a Prometheus per cluster whose series have no cluster
	// label (it is an external label) still matches: cluster=~".*".
	if v.IncludeAll == nil || !*v.IncludeAll || v.AllValue == nil || *v.AllValue != ".*" {
		t.Errorf("variable cluster: got includeAll %v and allValue %v, want true and .*", v.IncludeAll, v.AllValue)
	}
	for _, q := range queries(t, d) {
		if !strings.Contains(q.expr, `cluster=~"$cluster"`) {
			t.Errorf("%s: the query does not filter by $cluster: %s", q.where, q.expr)
		}
		if q.datasource != "${datasource}" {
			t.Errorf("%s: data source %q, want ${datasource}", q.where, q.datasource)
		}
	}
}

type query struct {
	where, expr, datasource string
}

// queries returns every panel's PromQL queries.
func queries(t *testing.T, d *dashboard.Dashboard) []query {
	t.Helper()
	var qs []query
	for _, p := range d.Panels {
		if p.Panel == nil {
			t.Fatalf("a row: the dashboard has none")
		}
		title := ""
		if p.Panel.Title != nil {
			title = *p.Panel.Title
		}
		if len(p.Panel.Targets) == 0 {
			t.Errorf("panel %q has no query", title)
		}
		for _, target := range p.Panel.Targets {
			pq, ok := target.(*prometheus.Dataquery)
			if !ok {
				t.Fatalf("panel %q: got a query of type %T, want a Prometheus one", title, target)
			}
			ref, ds := "", ""
			if pq.RefId != nil {
				ref = *pq.RefId
			}
			if pq.Datasource != nil && pq.Datasource.Uid != nil {
				ds = *pq.Datasource.Uid
			}
			qs = append(qs, query{where: fmt.Sprintf("panel %q, query %s", title, ref), expr: pq.Expr, datasource: ds})
		}
	}
	if len(qs) < 10 {
		t.Fatalf("got %d queries, want the dashboard's dozen", len(qs))
	}
	return qs
}

// grafanaVariables are what Grafana puts in a query before Prometheus sees
// it, with values of the kind it puts there.
var grafanaVariables = strings.NewReplacer(`$__rate_interval`, `2m`, `$cluster`, `.*`)

// TestDashboardQueriesParse: every query of the dashboard is PromQL that
// Prometheus parses (promtool checks it as a recording rule; promtool has
// no command that parses a bare expression), and every plimsoll metric it
// names is one serve exports.
func TestDashboardQueriesParse(t *testing.T) {
	d, _ := readDashboard(t)
	names := exported(t)
	type rec struct {
		Record string `json:"record"`
		Expr   string `json:"expr"`
	}
	var recs []rec
	for i, q := range queries(t, d) {
		if checkMetrics(t, q.where, q.expr, names) == 0 {
			t.Errorf("%s: uses no plimsoll metric: %s", q.where, q.expr)
		}
		recs = append(recs, rec{Record: fmt.Sprintf("dashboard:query_%d", i), Expr: grafanaVariables.Replace(q.expr)})
	}
	for _, v := range d.Templating.List {
		if v.Definition != nil {
			checkMetrics(t, "variable "+v.Name, *v.Definition, names)
		}
	}
	file := map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": recs}}}
	data, err := json.Marshal(file) // JSON is YAML
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dashboard.rules.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out := runPromtool(t, "check", "rules", path)
	if !strings.Contains(out, fmt.Sprintf("SUCCESS: %d rules found", len(recs))) {
		t.Errorf("promtool check rules: got\n%s\nwant SUCCESS for %d rules", out, len(recs))
	}
}
