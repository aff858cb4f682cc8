package manifest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	yaml "go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

const (
	cmA = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
	cmB = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n"
	cmC = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"
	// widgetA is a custom resource, whose spec is always parsed.
	widgetA = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: a\n"
	// good is a file that every case reads alongside its bad input, to show
	// that one bad input never costs the others.
	good = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n" +
		"---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n"
)

// goodObjects are the objects of good read from good.yaml.
var goodObjects = []string{"good.yaml:1 Deployment web", "good.yaml:8 Service web"}

func TestLoad(t *testing.T) {
	tests := []struct {
		name        string
		files       map[string]string
		paths       []string // relative to the test's directory; "-" is stdin
		opts        Options
		stdin       string
		wantErrors  []string
		wantObjects []string // "file:line KindKey name"
		wantSkipped []string
		wantFiles   int
	}{
		{
			name: "malformed flow sequence in the middle of a stream",
			files: map[string]string{
				"multi.yaml": cmA + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [b\n---\n" + cmC,
				"good.yaml":  good,
			},
			paths:       []string{"good.yaml", "multi.yaml"},
			wantErrors:  []string{"multi.yaml:9: did not find expected ',' or ']'"},
			wantObjects: append([]string{"multi.yaml:1 ConfigMap a", "multi.yaml:11 ConfigMap c"}, goodObjects...),
			wantFiles:   2,
		},
		{
			// As a Windows editor saves them: a byte order mark, CRLF.
			name: "byte order mark and CRLF line ends",
			files: map[string]string{
				"a.yaml":   cmA,
				"win.yaml": "\ufeff" + strings.ReplaceAll(cmB+"---\n"+cmC, "\n", "\r\n"),
			},
			paths:       []string{"a.yaml", "win.yaml"},
			wantObjects: []string{"a.yaml:1 ConfigMap a", "win.yaml:1 ConfigMap b", "win.yaml:6 ConfigMap c"},
			wantFiles:   2,
		},
		{
			// yaml.v3 names the start of the mapping it could not finish.
			name: "bad indentation in the middle of a stream",
			files: map[string]string{
				"multi.yaml": cmA + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n labels: {}\n---\n" + cmC,
				"good.yaml":  good,
			},
			paths:       []string{"good.yaml", "multi.yaml"},
			wantErrors:  []string{"multi.yaml:6: did not find expected key"},
			wantObjects: append([]string{"multi.yaml:1 ConfigMap a", "multi.yaml:12 ConfigMap c"}, goodObjects...),
			wantFiles:   2,
		},
		{
			name: "unterminated quote in the middle of a stream",
			files: map[string]string{
				"multi.yaml": cmA + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \"b\n---\n" + cmC,
				"good.yaml":  good,
			},
			paths:       []string{"good.yaml", "multi.yaml"},
			wantErrors:  []string{"multi.yaml:9: found unexpected end of stream"},
			wantObjects: append([]string{"multi.yaml:1 ConfigMap a", "multi.yaml:11 ConfigMap c"}, goodObjects...),
			wantFiles:   2,
		},
		{
			name:        "file over the size limit",
			files:       map[string]string{"big.yaml": cmA + "data:\n  k: " + strings.Repeat("x", 300) + "\n", "good.yaml": good},
			paths:       []string{"big.yaml", "good.yaml"},
			opts:        Options{MaxFileSize: 256},
			wantErrors:  []string{"big.yaml: 363 bytes, larger than the 256-byte limit (--max-file-size)"},
			wantObjects: goodObjects,
			wantFiles:   2,
		},
		{
			name:        "stdin over the size limit",
			files:       map[string]string{"good.yaml": good},
			paths:       []string{"-", "good.yaml"},
			stdin:       cmA + "data:\n  k: " + strings.Repeat("x", 300) + "\n",
			opts:        Options{MaxFileSize: 256},
			wantErrors:  []string{"-: larger than the 256-byte limit (--max-file-size)"},
			wantObjects: goodObjects,
			wantFiles:   2,
		},
		{
			name: "binary data",
			files: map[string]string{
				"nul.yaml":  cmA + "data:\n  k: \x00\x01\n",
				"logo.png":  "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
				"good.yaml": good,
			},
			paths: []string{"good.yaml", "logo.png", "nul.yaml"},
			wantErrors: []string{
				"logo.png:3: binary data (a NUL byte), not YAML or JSON",
				"nul.yaml:6: binary data (a NUL byte), not YAML or JSON",
			},
			wantObjects: goodObjects,
			wantFiles:   3,
		},
		{
			name: "JSON object and JSON List",
			files: map[string]string{
				"cm.json": `{
  "apiVersion": "v1",
  "kind": "ConfigMap",
  "metadata": {"name": "a"}
}
`,
				"list.json": `{
  "apiVersion": "v1",
  "kind": "List",
  "items": [
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}},
    {
      "apiVersion": "v1",
      "kind": "ServiceAccount",
      "metadata": {"name": "c"}
    }
  ]
}
`,
			},
			paths:       []string{"cm.json", "list.json"},
			wantObjects: []string{"cm.json:1 ConfigMap a", "list.json:5 ConfigMap b", "list.json:6 ServiceAccount c"},
			wantFiles:   2,
		},
		{
			name: "YAML List with a bad item",
			files: map[string]string{"list.yaml": `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: a
- just a string
- apiVersion: example.com/v1
  kind: Widget
  metadata:
    name: w
`},
			paths:       []string{"list.yaml"},
			wantErrors:  []string{"list.yaml:8: list item 1 is not an object"},
			wantObjects: []string{"list.yaml:4 ConfigMap a", "list.yaml:9 Widget.example.com w"},
			wantFiles:   1,
		},
		{
			name: "document without kind and document without name",
			files: map[string]string{
				"multi.yaml": cmA + "---\napiVersion: v1\nmetadata:\n  name: nokind\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels:\n    app: x\n---\n" + cmC,
				"good.yaml":  good,
			},
			paths: []string{"good.yaml", "multi.yaml"},
			wantErrors: []string{
				"multi.yaml:6: document has no kind, so it is not a Kubernetes object",
				"multi.yaml:10: ConfigMap has no metadata.name",
			},
			wantObjects: append([]string{"multi.yaml:1 ConfigMap a", "multi.yaml:16 ConfigMap c"}, goodObjects...),
			wantFiles:   2,
		},
		{
			name: "duplicate key",
			files: map[string]string{
				"svc.yaml":  "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  type: ClusterIP\n  ports:\n  - port: 80\n  type: NodePort\n---\n" + cmB,
				"good.yaml": good,
			},
			paths:       []string{"good.yaml", "svc.yaml"},
			wantErrors:  []string{`svc.yaml:9: duplicate key "type" (first at line 6)`},
			wantObjects: append(append([]string{}, goodObjects...), "svc.yaml:11 ConfigMap b"),
			wantFiles:   2,
		},
		{
			name: "duplicate key in a later document",
			files: map[string]string{
				"multi.yaml": cmA + "---\n" + cmB + "  labels:\n    app: b\n    tier: web\n    app: c\n---\n" + cmC,
				"good.yaml":  good,
			},
			paths:       []string{"good.yaml", "multi.yaml"},
			wantErrors:  []string{`multi.yaml:13: duplicate key "app" (first at line 11)`},
			wantObjects: append([]string{"multi.yaml:1 ConfigMap a", "multi.yaml:15 ConfigMap c"}, goodObjects...),
			wantFiles:   2,
		},
		{
			name: "string where an int32 is wanted",
			files: map[string]string{
				"deploy.yaml": cmA + "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  replicas: \"3\"\n",
				"good.yaml":   good,
			},
			paths:       []string{"deploy.yaml", "good.yaml"},
			wantErrors:  []string{"deploy.yaml:11: Deployment d: field spec.replicas is a string, want int32"},
			wantObjects: append([]string{"deploy.yaml:1 ConfigMap a"}, goodObjects...),
			wantFiles:   2,
		},
		{
			name: "empty and comment-only documents, markers and CRLF",
			files: map[string]string{
				// 1 ---, 2 a, 7 ---, 8 comment, 9 ---, 10 ---, 11 blank, 12 b,
				// 16 ..., 17 ---, 18 c, 22 ...
				"crlf.yaml": strings.ReplaceAll("---\n"+cmA+"\n---\n# only a comment\n---\n---\n\n"+cmB+"...\n---\n"+cmC+"...\n", "\n", "\r\n"),
				// 1 --- {d}, 2 "--- " then e at 3, 7 ..., f at 8 without a
				// marker after the end marker.
				"markers.yaml": "--- {apiVersion: v1, kind: ConfigMap, metadata: {name: d}}\n--- \napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: e\n...\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: f\n",
				"empty.yaml":   "",
				"comment.yaml": "# nothing here\n---\n# nor here\n",
			},
			paths: []string{"comment.yaml", "crlf.yaml", "empty.yaml", "markers.yaml"},
			wantObjects: []string{
				"crlf.yaml:2 ConfigMap a", "crlf.yaml:12 ConfigMap b", "crlf.yaml:18 ConfigMap c",
				"markers.yaml:1 ConfigMap d", "markers.yaml:3 ConfigMap e", "markers.yaml:8 ConfigMap f",
			},
			wantFiles: 4,
		},
		{
			name: "directives",
			files: map[string]string{
				// yaml.v3 reads YAML 1.1 only.
				"directives.yaml": "%YAML 1.1\n---\n" + cmA + "...\n%YAML 1.2\n---\n" + cmC +
					"...\n# b comes next\n%YAML 1.1\n%TAG !k! tag:k8s.io,2024:\n--- !k!ConfigMap\n" + cmB,
			},
			paths:       []string{"directives.yaml"},
			wantErrors:  []string{"directives.yaml:8: found incompatible YAML document"},
			wantObjects: []string{"directives.yaml:3 ConfigMap a", "directives.yaml:18 ConfigMap b"},
			wantFiles:   1,
		},
		{
			name: "block mapping on the marker line",
			files: map[string]string{
				"marker.yaml": cmA + "--- apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n---\n" + cmC,
			},
			paths:       []string{"marker.yaml"},
			wantErrors:  []string{"marker.yaml:5: mapping values are not allowed in this context"},
			wantObjects: []string{"marker.yaml:1 ConfigMap a", "marker.yaml:10 ConfigMap c"},
			wantFiles:   1,
		},
		{
			name: "directory walk",
			files: map[string]string{
				"dir/a.yaml":                  cmA,
				"dir/upper.YAML":              cmB,
				"dir/sub/b.yml":               "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: b\n",
				"dir/sub/deeper/c.json":       `{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "c"}}`,
				"dir/notes.txt":               cmC,
				"dir/sub/README.md":           cmC,
				"dir/.hidden/h.yaml":          cmC,
				"dir/sub/.git/config.yaml":    cmC,
				"dir/chart/Chart.yaml":        "apiVersion: v2\nname: chart\nversion: 0.1.0\n",
				"dir/chart/templates/t.yaml":  "{{ .Values.broken }}\n",
				"dir/kust/kustomization.yaml": "resources:\n- svc.yaml\n",
				"dir/kust/svc.yaml":           "apiVersion: v1\nkind: Service\nmetadata:\n  name: k\n",
			},
			paths: []string{"dir"},
			wantObjects: []string{
				"dir/a.yaml:1 ConfigMap a",
				"dir/kust/svc.yaml:1 Service k",
				"dir/sub/b.yml:1 ServiceAccount b",
				"dir/sub/deeper/c.json:1 Secret c",
				"dir/upper.YAML:1 ConfigMap b",
			},
			wantSkipped: []string{
				"dir/chart: a Helm chart; render it with --helm dir/chart",
				"dir/kust/kustomization.yaml: a Kustomization, not an object; build it with --kustomize dir/kust",
			},
			wantFiles: 5,
		},
		{
			name:        "missing path",
			files:       map[string]string{"good.yaml": good},
			paths:       []string{"good.yaml", "missing.yaml"},
			wantErrors:  []string{"missing.yaml: stat missing.yaml: no such file or directory"},
			wantObjects: goodObjects,
			wantFiles:   1,
		},
		{
			name:        "stdin",
			files:       map[string]string{"good.yaml": good},
			paths:       []string{"good.yaml", "-"},
			stdin:       "# from a pipe\n" + cmA + "---\n" + cmB,
			wantObjects: append(append([]string{}, goodObjects...), "-:2 ConfigMap a", "-:7 ConfigMap b"),
			wantFiles:   2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tc.files)
			var paths []string
			for _, p := range tc.paths {
				if p != Stdin {
					p = filepath.Join(dir, p)
				}
				paths = append(paths, p)
			}
			opts := tc.opts
			if tc.stdin != "" {
				opts.Stdin = strings.NewReader(tc.stdin)
			}
			res := Load(context.Background(), paths, opts)
			assertResult(t, dir, res, tc.wantErrors, tc.wantObjects)
			if diff := cmp.Diff(tc.wantSkipped, relative(dir, res.Skipped)); diff != "" {
				t.Errorf("skipped (-want +got):\n%s", diff)
			}
			if res.Files != tc.wantFiles {
				t.Errorf("got %d files read, want %d", res.Files, tc.wantFiles)
			}
		})
	}
}

// aliasBomb is a "billion laughs" document: nine levels of nine aliases,
// 9^9 (387 million) strings once expanded, in the given document header
// and top-level key.
func aliasBomb(header, key string) string {
	var b strings.Builder
	b.WriteString(header + key + ":\n  x0: &x0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "  x%d: &x%d [", i, i)
		for j := 0; j < 9; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*x%d", i-1)
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func TestLoadAliasBomb(t *testing.T) {
	tests := []struct {
		name        string
		doc         string
		wantErrors  []string
		wantObjects []string
	}{
		{
			name:        "billion laughs",
			doc:         aliasBomb(widgetA, "spec") + "---\n" + cmB,
			wantErrors:  []string{"bomb.yaml:6: aliases expand to more than 10000 nodes (an alias bomb?); refusing the document"},
			wantObjects: append([]string{"bomb.yaml:17 ConfigMap b"}, goodObjects...),
		},
		{
			// Skimming leaves the values to the parser when they hold an
			// alias, so they are refused as a whole parse refuses them.
			name:        "billion laughs in a ConfigMap's values",
			doc:         aliasBomb(cmA, "data") + "---\n" + cmB,
			wantErrors:  []string{"bomb.yaml:6: aliases expand to more than 10000 nodes (an alias bomb?); refusing the document"},
			wantObjects: append([]string{"bomb.yaml:17 ConfigMap b"}, goodObjects...),
		},
		{
			name:        "alias to its own anchor",
			doc:         widgetA + "spec: &d\n  k: [*d]\n---\n" + cmB,
			wantErrors:  []string{"bomb.yaml:6: aliases expand to more than 10000 nodes (an alias bomb?); refusing the document"},
			wantObjects: append([]string{"bomb.yaml:8 ConfigMap b"}, goodObjects...),
		},
		{
			name:        "a few aliases and a merge key are fine",
			doc:         "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels: &l {app: x}\n  annotations:\n    <<: *l\n    b: y\n",
			wantObjects: append([]string{"bomb.yaml:1 ConfigMap a"}, goodObjects...),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"bomb.yaml": tc.doc, "good.yaml": good})
			// TotalAlloc only grows, so the delta bounds what the load
			// allocated, whatever the garbage collector did meanwhile. No
			// test in this package runs in parallel with this one.
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			res := Load(context.Background(), []string{filepath.Join(dir, "bomb.yaml"), filepath.Join(dir, "good.yaml")}, Options{})
			runtime.ReadMemStats(&after)
			if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(50<<20); got > limit {
				t.Errorf("got %d bytes allocated, want at most %d", got, limit)
			}
			assertResult(t, dir, res, tc.wantErrors, tc.wantObjects)
		})
	}
}

func TestLoadKeepsNoSecrets(t *testing.T) {
	const value, encoded = "hunter2-s3cr3t", "aHVudGVyMi1zM2NyM3Q="
	lastApplied := `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db"},"stringData":{"password":"` + value + `"}}`
	doc := fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata:
  name: db
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '%s'
    team: data
type: Opaque
data:
  password: %s
  other: %s
stringData:
  password: %s
`, lastApplied, encoded, encoded, value)
	res := Parse("secret.yaml", []byte(doc), inventory.Source{File: "secret.yaml"})
	if len(res.Errors) != 0 || len(res.Objects) != 1 {
		t.Fatalf("got %d objects and errors %v, want 1 object and no errors", len(res.Objects), res.Errors)
	}
	o := res.Objects[0]
	secret, ok := o.Typed.(*corev1.Secret)
	if !ok {
		t.Fatalf("got Typed %T, want *v1.Secret", o.Typed)
	}
	// The keys are kept, for references to them; no value is.
	if diff := cmp.Diff(map[string][]byte{"password": nil, "other": nil}, secret.Data); diff != "" {
		t.Errorf("Data (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"password": ""}, secret.StringData); diff != "" {
		t.Errorf("StringData (-want +got):\n%s", diff)
	}
	if o.Content != nil {
		t.Errorf("got Content %v, want none for a typed kind", o.Content)
	}
	wantAnnotations := map[string]string{"team": "data"}
	if diff := cmp.Diff(wantAnnotations, o.Annotations); diff != "" {
		t.Errorf("object annotations (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantAnnotations, secret.Annotations); diff != "" {
		t.Errorf("typed annotations (-want +got):\n%s", diff)
	}
	for _, dump := range []string{fmt.Sprintf("%#v", *o), fmt.Sprintf("%#v", *secret)} {
		if strings.Contains(dump, value) || strings.Contains(dump, encoded) {
			t.Errorf("got the secret value in %s, want it nowhere", dump)
		}
	}
	if secret.Type != corev1.SecretTypeOpaque {
		t.Errorf("got type %q, want %q", secret.Type, corev1.SecretTypeOpaque)
	}
}

func TestLoadDropsLastApplied(t *testing.T) {
	doc := `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"kind":"Deployment"}'
`
	res := Parse("d.yaml", []byte(doc), inventory.Source{File: "d.yaml"})
	if len(res.Errors) != 0 || len(res.Objects) != 1 {
		t.Fatalf("got %d objects and errors %v, want 1 object and no errors", len(res.Objects), res.Errors)
	}
	o := res.Objects[0]
	if len(o.Annotations) != 0 {
		t.Errorf("got annotations %v, want none", o.Annotations)
	}
	if got := o.Typed.(interface{ GetAnnotations() map[string]string }).GetAnnotations(); len(got) != 0 {
		t.Errorf("got typed annotations %v, want none", got)
	}
}

// widgetCRD is a CRD as kubectl get -o yaml writes it, in the block style
// skim reads.
const widgetCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
  managedFields:
  - manager: kubectl
spec:
  group: example.com
  scope: Namespaced
  names:
    kind: Widget
    plural: widgets
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
status:
  acceptedNames:
    kind: Widget
`

func TestLoadTrimsCRD(t *testing.T) {
	res := Parse("crd.yaml", []byte(widgetCRD), inventory.Source{File: "crd.yaml"})
	if len(res.Errors) != 0 || len(res.Objects) != 1 {
		t.Fatalf("got %d objects and errors %v, want 1 object and no errors", len(res.Objects), res.Errors)
	}
	want := map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": "widgets.example.com"},
		"spec": map[string]any{
			"group": "example.com",
			"scope": "Namespaced",
			"names": map[string]any{"kind": "Widget", "plural": "widgets"},
		},
	}
	if diff := cmp.Diff(want, res.Objects[0].Content); diff != "" {
		t.Errorf("CRD content (-want +got):\n%s", diff)
	}
}

// TestCRDVersionsKept: a CRD keeps its spec.versions as text, whichever
// way it was read (skimmed, whole as JSON, as a List's item, parsed alone
// after a document with a directive, after the documents its file is
// parsed in the middle of), and reads the same each way.
func TestCRDVersionsKept(t *testing.T) {
	var asYAML any
	if err := yaml.Unmarshal([]byte(widgetCRD), &asYAML); err != nil {
		t.Fatal(err)
	}
	want := asYAML.(map[string]any)["spec"].(map[string]any)["versions"]
	asList := "apiVersion: v1\nkind: List\nitems:\n- " + strings.ReplaceAll(strings.TrimSuffix(widgetCRD, "\n"), "\n", "\n  ") + "\n"
	flow := strings.Replace(widgetCRD, "  names:\n    kind: Widget\n    plural: widgets\n", "  names: {kind: Widget, plural: widgets}\n", 1) // not skimmed
	if flow == widgetCRD {
		t.Fatal("the flow-style CRD is the block-style one")
	}
	for name, doc := range map[string]string{
		"skimmed": widgetCRD, "flow": flow, "list": asList, "json": toJSON(t, widgetCRD),
		"alone": "%YAML 1.1\n---\n" + cmA + "---\n" + widgetCRD,
		"later": strings.Repeat(cmA+"---\n", maxErrorsPerFile+1) + widgetCRD,
	} {
		res := Parse("crd.yaml", []byte(doc), inventory.Source{File: "crd.yaml"})
		crd := res.Objects[len(res.Objects)-1]
		if len(res.Errors) > 0 || crd.Kind != "CustomResourceDefinition" {
			t.Fatalf("%s: got %d objects, the last a %s, and errors %v, want the CRD last", name, len(res.Objects), crd.Kind, res.Errors)
		}
		var got struct{ Versions any }
		if err := yaml.Unmarshal([]byte(crd.CRDVersions), &got); err != nil || !cmp.Equal(got.Versions, want) {
			t.Errorf("%s: CRDVersions %q (%v) do not read as the CRD's spec.versions", name, crd.CRDVersions, err)
		}
	}
}

// TestCRDVersionsShared: the same CRD read twice keeps its schemas once.
func TestCRDVersionsShared(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a.yaml", "b.yaml"} {
		doc := strings.Replace(widgetCRD, "widgets.example.com", "widgets-"+f, 1)
		if err := os.WriteFile(filepath.Join(dir, f), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res := Load(context.Background(), []string{dir}, Options{})
	if len(res.Objects) != 2 {
		t.Fatalf("got %d objects, errors %v, want 2", len(res.Objects), res.Errors)
	}
	a, b := res.Objects[0].CRDVersions, res.Objects[1].CRDVersions
	if a == "" || a != b || unsafe.StringData(a) != unsafe.StringData(b) {
		t.Errorf("the two CRDs' versions are not one string: %d and %d bytes", len(a), len(b))
	}
}

func toJSON(t *testing.T, doc string) string {
	t.Helper()
	var v any
	if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestLoadQuirks reads the real files in shared/corpus-quirks, each beside a
// good file. What plimsoll does with them, against its peers (measured in
// shared/corpus-quirks/README.md):
//
//   - duplicate keys (five files): an error at the second key's line that
//     names the first key's line; the object is not audited (which of the
//     two values would the API server keep? kubectl refuses such a file
//     too). kube-score aborts the whole run, kube-linter silently takes the
//     last value, Polaris logs and skips, Kubescape warns and skips.
//   - a type error (fc.lun: "<ADD LUN ID Here>", a string for an int32): an
//     error at the field's line naming the object, the field path and both
//     types. kube-score aborts, kube-linter silently drops the file, Polaris
//     logs and skips.
//
// In every case the good file's objects are all read.
func TestLoadQuirks(t *testing.T) {
	quirks := filepath.Join(repoRoot(t), "..", "shared", "corpus-quirks")
	if _, err := os.Stat(quirks); err != nil {
		t.Fatalf("the quirk corpus must sit beside the repository (shared/ next to the clone): %v", err)
	}
	tests := []struct {
		file      string
		wantError string
	}{
		{"duplicate-keys/_archived__openshift-origin__etcd-controller.yaml", `duplicate key "selector" (first at line 6)`},
		{"duplicate-keys/_archived__openshift-origin__etcd-discovery-controller.yaml", `duplicate key "selector" (first at line 6)`},
		{"duplicate-keys/_archived__openshift-origin__openshift-controller.yaml", `duplicate key "selector" (first at line 8)`},
		{"duplicate-keys/_archived__persistent-volume-provisioning__quobyte__quobyte-admin-secret.yaml", `duplicate key "type" (first at line 5)`},
		{"duplicate-keys/_archived__volumes__scaleio__sc-pvc.yaml", `duplicate key "storageClassName" (first at line 6)`},
		{"type-errors/_archived__volumes__fibre_channel__fc.yaml", "Pod fibre-channel-example-pod: field spec.volumes.fc.lun is a string, want int32"},
	}
	wantLines := map[string]int{
		"duplicate-keys/_archived__openshift-origin__etcd-controller.yaml":                             12,
		"duplicate-keys/_archived__openshift-origin__etcd-discovery-controller.yaml":                   12,
		"duplicate-keys/_archived__openshift-origin__openshift-controller.yaml":                        12,
		"duplicate-keys/_archived__persistent-volume-provisioning__quobyte__quobyte-admin-secret.yaml": 9,
		"duplicate-keys/_archived__volumes__scaleio__sc-pvc.yaml":                                      12,
		"type-errors/_archived__volumes__fibre_channel__fc.yaml":                                       17,
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"good.yaml": good})
			res := Load(context.Background(), []string{filepath.Join(dir, "good.yaml"), filepath.Join(quirks, tc.file)}, Options{})
			want := []string{fmt.Sprintf("%s:%d: %s", tc.file, wantLines[tc.file], tc.wantError)}
			if diff := cmp.Diff(want, relative(quirks, errorTexts(res))); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(goodObjects, relative(dir, objectTexts(res))); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
		})
	}
}

// repoRoot is the directory holding go.mod, found by walking up from the
// package directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the package directory")
		}
		dir = parent
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func assertResult(t *testing.T, dir string, res Result, wantErrors, wantObjects []string) {
	t.Helper()
	if diff := cmp.Diff(wantErrors, relative(dir, errorTexts(res))); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	want := append([]string(nil), wantObjects...)
	sort.Strings(want)
	if diff := cmp.Diff(want, relative(dir, objectTexts(res))); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
}

func errorTexts(res Result) []string {
	var out []string
	for _, e := range res.Errors {
		out = append(out, e.Error())
	}
	return out
}

// objectTexts names each object as "file:line KindKey name", sorted.
func objectTexts(res Result) []string {
	var out []string
	for _, o := range res.Objects {
		out = append(out, fmt.Sprintf("%s:%d %s %s", o.Source.File, o.Source.Line, o.KindKey(), o.Name))
	}
	sort.Strings(out)
	return out
}

// relative strips dir from the paths in texts, so cases read the same in
// every temporary directory.
func relative(dir string, texts []string) []string {
	var out []string
	for _, s := range texts {
		out = append(out, filepath.ToSlash(strings.ReplaceAll(s, dir+string(filepath.Separator), "")))
	}
	return out
}

// TestSkim pins what skim blanks: only what no check reads (a ConfigMap's
// or a Secret's values, not their keys), only in layouts it recognises, and
// never a line number.
func TestSkim(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{
			name: "a ConfigMap's values and their keys",
			in:   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n  big: |\n    line\n\n    # not a comment\nbinaryData:\n  b: AAA=\n",
			want: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k:\n  big:\n\n\n\nbinaryData:\n  b:\n",
		},
		{
			name: "a Secret's values, with CRLF line ends",
			in:   "apiVersion: v1\r\nkind: Secret\r\nstringData:\r\n  password: hunter2\r\nmetadata:\r\n  name: s\r\n",
			want: "apiVersion: v1\r\nkind: Secret\r\nstringData:\r\n  password:\r\nmetadata:\r\n  name: s\r\n",
		},
		{
			name: "a CRD's schemas",
			in:   "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec:\n  group: g\n  versions:\n    - name: v1\n      schema: {}\n  scope: Namespaced\nstatus: {}\n",
			want: "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec:\n  group: g\n\n\n\n  scope: Namespaced\nstatus: {}\n",
		},
		{
			name: "a CRD written with compact sequences, as kubectl and Helm write them",
			in:   "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec:\n  group: g\n  names:\n    categories:\n    - all\n    kind: K\n  versions:\n  - name: v1\n    schema: {}\n  - name: v2\n  scope: Namespaced\n",
			want: "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec:\n  group: g\n  names:\n    categories:\n    - all\n    kind: K\n\n\n\n\n  scope: Namespaced\n",
		},
		{
			name: "a block that is a sequence is parsed",
			in:   "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec:\n  - a\n",
			want: "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec:\n  - a\n",
		},
		{
			name: "flow-style values are parsed",
			in:   "apiVersion: v1\nkind: ConfigMap\ndata: {k: v}\n",
			want: "apiVersion: v1\nkind: ConfigMap\ndata: {k: v}\n",
		},
		{
			name: "a custom kind of the same name is parsed",
			in:   "apiVersion: example.com/v1\nkind: Secret\ndata:\n  k: v\n",
			want: "apiVersion: example.com/v1\nkind: Secret\ndata:\n  k: v\n",
		},
		{
			name: "a sequence where the values belong is parsed",
			in:   "apiVersion: v1\nkind: ConfigMap\ndata:\n- k\n",
			want: "apiVersion: v1\nkind: ConfigMap\ndata:\n- k\n",
		},
		{
			name: "a duplicate key is parsed, to be reported",
			in:   "apiVersion: v1\nkind: ConfigMap\ndata:\n  k: v\ndata:\n  k: w\n",
			want: "apiVersion: v1\nkind: ConfigMap\ndata:\n  k: v\ndata:\n  k: w\n",
		},
		{
			name: "a value quoted over lines, up to its quote",
			in:   "apiVersion: v1\nkind: ConfigMap\ndata:\n  k: \"a\nmetadata:\n  name: b\"\nmetadata:\n  name: c\n",
			want: "apiVersion: v1\nkind: ConfigMap\ndata:\n  k:\n\n\nmetadata:\n  name: c\n",
		},
		{
			name: "values that end the text without a line break",
			in:   "apiVersion: v1\nkind: ConfigMap\ndata:\n  k: v",
			want: "apiVersion: v1\nkind: ConfigMap\ndata:\n  k:",
		},
		{
			name: "a value the API server refuses is parsed, to be reported",
			in:   "apiVersion: v1\nkind: Secret\ndata:\n  k: not base64\n",
			want: "apiVersion: v1\nkind: Secret\ndata:\n  k: not base64\n",
		},
		{
			name: "a schema that does not parse is parsed, to be reported",
			in:   "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec:\n  group: g\n  versions:\n    - name: v1\n   schema: {}\n",
			want: "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec:\n  group: g\n  versions:\n    - name: v1\n   schema: {}\n",
		},
		{
			name: "tabs are parsed",
			in:   "apiVersion: v1\nkind: ConfigMap\ndata:\n\tk: v\n",
			want: "apiVersion: v1\nkind: ConfigMap\ndata:\n\tk: v\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := skim([]byte(tc.in))
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("skim (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoadReusesNoBytes reads files one after another into one buffer (one
// worker) and checks that what the first file gave is intact after the
// second overwrote the buffer: nothing decoded may keep the file's bytes.
func TestLoadReusesNoBytes(t *testing.T) {
	dir := t.TempDir()
	// Two documents a file: one read through JSON, one through a map, both
	// with one parser for the file (each has a buffer reused from file to
	// file).
	first := "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: first\n  namespace: one\n  labels: {team: alpha}\n" +
		"---\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: first\n  namespace: one\nspec: {size: small}\n"
	second := strings.ReplaceAll(strings.ReplaceAll(first, "first", "zzzzz"), "small", "large") + strings.Repeat("# padding\n", 10)
	writeFiles(t, dir, map[string]string{"a.yaml": first, "b.yaml": second})
	res := Load(context.Background(), []string{filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")}, Options{Workers: 1})
	if len(res.Errors) > 0 || len(res.Objects) != 4 {
		t.Fatalf("got %d objects and errors %v, want 4 and none", len(res.Objects), res.Errors)
	}
	for _, o := range res.Objects[:2] {
		if o.Name != "first" || o.Namespace != "one" {
			t.Errorf("the first file's object changed after the second was read: %s %s/%s", o.Kind, o.Namespace, o.Name)
		}
	}
	if sa := res.Objects[0]; sa.Labels["team"] != "alpha" {
		t.Errorf("the first file's ServiceAccount has labels %v after the second was read, want team: alpha", sa.Labels)
	}
	if w := res.Objects[1]; w.Content["spec"].(map[string]any)["size"] != "small" {
		t.Errorf("the first file's Widget has spec %v after the second was read, want size: small", w.Content["spec"])
	}
}
