package manifest

import (
	"testing"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// FuzzParse checks that no input makes Parse panic, that every object it
// returns is one (a kind and a name), and that every error can be shown to
// a user: a message, and a line when there was any input.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		good,
		cmA + "---\n" + cmB + "...\n---\n# comment\n---\n" + cmC,
		"apiVersion: v1\nkind: List\nitems:\n- " + "apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n- 3\n",
		`{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}]}`,
		aliasBomb(widgetA, "spec"),
		aliasBomb(cmA, "data"),
		cmA + "data: &d\n  k: [*d]\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels: &l {app: x}\n  annotations:\n    <<: *l\n",
		cmA + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [b\n",
		"apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  type: A\n  type: B\n",
		"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  replicas: \"3\"\n",
		"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  k: dg==\n",
		"--- {apiVersion: v1, kind: ConfigMap, metadata: {name: d}}\n--- !!map\n",
		"apiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  generateName: x-\r\n",
		"%YAML 1.1\n%TAG !k! tag:k8s.io,2024:\n--- !k!ConfigMap\n" + cmA,
		"\x89PNG\r\n\x1a\n\x00",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res := Parse("f.yaml", data, inventory.Source{File: "f.yaml"})
		for _, o := range res.Objects {
			if o.Kind == "" || o.Name == "" {
				t.Errorf("got object with kind %q and name %q at line %d, want both", o.Kind, o.Name, o.Source.Line)
			}
			if len(data) > 0 && o.Source.Line < 1 {
				t.Errorf("got object %s at line %d, want a line >= 1", o.ID(), o.Source.Line)
			}
		}
		for _, e := range res.Errors {
			if e.Err == nil || e.Err.Error() == "" {
				t.Errorf("got error %#v without a message, want one", e)
				continue
			}
			if e.File != "f.yaml" {
				t.Errorf("got error %q in file %q, want f.yaml", e, e.File)
			}
			if len(data) > 0 && e.Line < 1 {
				t.Errorf("got error %q at line %d, want a line >= 1", e, e.Line)
			}
		}
	})
}
