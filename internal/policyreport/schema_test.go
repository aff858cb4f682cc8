package policyreport

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/checks"
	"github.com/plimsoll/plimsoll/internal/cluster"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/platform"
	"github.com/plimsoll/plimsoll/internal/report"
)

// crdDir holds the upstream CRDs of the shared test fixtures.
var crdDir = filepath.Join("..", "..", "..", "shared", "fixtures", "crds")

// CRDFiles are the fixture files of the CRDs each format needs.
func crdFiles(openReports bool) []string {
	if openReports {
		return []string{
			filepath.Join(crdDir, "openreports", "reports.openreports.io.yaml"),
			filepath.Join(crdDir, "openreports", "clusterreports.openreports.io.yaml"),
		}
	}
	return []string{
		filepath.Join(crdDir, "kyverno", "policyreports.wgpolicyk8s.io.yaml"),
		filepath.Join(crdDir, "kyverno", "clusterpolicyreports.wgpolicyk8s.io.yaml"),
	}
}

// crdSchemas compiles the openAPIV3Schema of each CRD's version Build
// writes, by kind. The schemas are made strict: an object that names its
// properties gets additionalProperties false, because the API server
// silently drops a field the schema does not know, and a misspelt field
// would vanish unseen.
func crdSchemas(t *testing.T, openReports bool) map[string]*jsonschema.Schema {
	t.Helper()
	namespaced, _ := Options{OpenReports: openReports}.resources()
	out := map[string]*jsonschema.Schema{}
	for _, file := range crdFiles(openReports) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("the CRD fixtures: %v", err)
		}
		var crd struct {
			Spec struct {
				Names    struct{ Kind string }
				Versions []struct {
					Name   string
					Schema struct {
						OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
					}
				}
			}
		}
		if err := yaml.Unmarshal(data, &crd); err != nil {
			t.Fatal(err)
		}
		for _, v := range crd.Spec.Versions {
			if v.Name != namespaced.Version {
				continue
			}
			doc := strict(v.Schema.OpenAPIV3Schema)
			c := jsonschema.NewCompiler()
			url := "https://plimsoll.dev/test/" + filepath.Base(file) + ".json"
			if err := c.AddResource(url, doc); err != nil {
				t.Fatal(err)
			}
			s, err := c.Compile(url)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			out[crd.Spec.Names.Kind] = s
		}
	}
	if len(out) != 2 {
		t.Fatalf("got schemas for %d kinds, want 2", len(out))
	}
	return out
}

func strict(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if _, ok := v["properties"]; ok {
			if _, ok := v["additionalProperties"]; !ok {
				v["additionalProperties"] = false
			}
		}
		for k, x := range v {
			v[k] = strict(x)
		}
	case []any:
		for i, x := range v {
			v[i] = strict(x)
		}
	}
	return v
}

// validate checks each object against its kind's schema.
func validate(t *testing.T, schemas map[string]*jsonschema.Schema, objs []*unstructured.Unstructured) {
	t.Helper()
	for _, o := range objs {
		s := schemas[o.GetKind()]
		if s == nil {
			t.Errorf("no schema for kind %s", o.GetKind())
			continue
		}
		data, err := json.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(inst); err != nil {
			t.Errorf("%s %s/%s does not match its CRD's schema: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
}

// productionReport audits the snapshot of examples/production in-process
// with every check. (plimsoll audit --snapshot does the same through
// internal/cli, which this package cannot import: cli imports it.)
func productionReport(t *testing.T) *report.Report {
	t.Helper()
	objs := []*inventory.Object{}
	src := inventory.Source{Origin: "snapshot"}
	h, err := cluster.ReadSnapshot(filepath.Join("..", "..", "examples", "production", "snapshot.json.gz"), func(item map[string]any) error {
		o, err := inventory.New(item, src)
		if err != nil {
			return err
		}
		objs = append(objs, o)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	objs = append(objs, inventory.ClusterObject(inventory.ClusterInfo{Server: h.Server, Version: h.ServerVersion}))
	a := audit.Run(platform.Inventory(inventory.FromCluster, objs), audit.Options{Registry: checks.Registry(), Now: auditTime, At: h.Created})
	return report.Build(a, report.Input{Tool: "plimsoll", Version: "test", Sources: []string{"snapshot"}})
}

// TestBuildMatchesCRDSchemas validates Build's output against the
// upstream CRDs' schemas, for the small audit and for the audit of a whole
// production-like cluster, in both formats, with passes listed or not.
func TestBuildMatchesCRDSchemas(t *testing.T) {
	prod := productionReport(t)
	if len(prod.Results) < 100 {
		t.Fatalf("got %d results from the production snapshot, want a real audit", len(prod.Results))
	}
	for _, openReports := range []bool{false, true} {
		schemas := crdSchemas(t, openReports)
		for _, include := range []bool{false, true} {
			o := Options{OpenReports: openReports, IncludePasses: include}
			validate(t, schemas, Build(smallReport(), auditTime, o))
			objs := Build(prod, auditTime, o)
			if len(objs) < 3 {
				t.Errorf("%+v: got %d reports of the production snapshot, want the cluster's and some namespaces'", o, len(objs))
			}
			validate(t, schemas, objs)
		}
	}
}

// TestStrictSchemaCatchesUnknownFields makes sure the validation above
// would see a field the CRD does not define.
func TestStrictSchemaCatchesUnknownFields(t *testing.T) {
	schemas := crdSchemas(t, false)
	o := Build(smallReport(), auditTime, Options{})[1]
	res := results(t, o)
	res[0]["ruleName"] = "misspelt"
	list := make([]any, len(res))
	for i := range res {
		list[i] = res[i]
	}
	if err := unstructured.SetNestedSlice(o.Object, list, "results"); err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(o.Object)
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := schemas["PolicyReport"].Validate(inst); err == nil {
		t.Error("a result with an unknown field passed validation")
	}
}
