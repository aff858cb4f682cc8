package custom

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks"
	"github.com/plimsoll/plimsoll/internal/config"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/manifest"
	"github.com/plimsoll/plimsoll/internal/platform"
)

var now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

func builtin(id string) bool { return checks.Registry().Get(id) != nil }

func write(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkDoc is a custom check of Deployments with one validation.
func checkDoc(id, validation string) string {
	return `apiVersion: plimsoll.dev/v1alpha1
kind: Check
metadata:
  name: ` + id + `
check:
  title: A test check
  layer: workloads
  severity: low
  rationale: It is a test.
  remediation: Do what the test says.
  checklistItem: "Test rule 1"
spec:
  matchConstraints:
    resourceRules:
      - apiGroups: [apps]
        apiVersions: [v1]
        operations: [CREATE]
        resources: [deployments]
  validations:
    - expression: ` + validation + `
`
}

// auditWith audits manifests, written in YAML, with the built-in checks
// disabled but the custom ones given, under cfg (nil: the default).
func auditWith(t *testing.T, set *Set, manifests string, cfg *config.Config) *audit.Audit {
	t.Helper()
	loaded := manifest.Parse("test.yaml", []byte(manifests), inventory.Source{File: "test.yaml"})
	if len(loaded.Errors) > 0 {
		t.Fatal(loaded.Errors[0])
	}
	reg, err := check.NewRegistry(set.All())
	if err != nil {
		t.Fatal(err)
	}
	if cfg == nil {
		cfg = config.Default()
	}
	return audit.Run(platform.Inventory(inventory.FromManifests, loaded.Objects), audit.Options{Registry: reg, Config: cfg, Now: now})
}

// describe words an audit's results, as "status check Kind name [path]:
// message".
func describe(a *audit.Audit) []string {
	var out []string
	for _, r := range a.Results {
		line := r.Status.String() + " " + r.Check.ID + " " + r.Object.Kind + " " + r.Object.Name
		if r.Path != "" {
			line += " [" + r.Path + "]"
		}
		if r.Message != "" {
			line += ": " + r.Message
		}
		out = append(out, line)
	}
	return out
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	good := write(t, dir, "good.yaml", checkDoc("replica-cap", "object.spec.replicas <= 5"))
	tests := []struct {
		name, text string
		// want is the error, after the file's name.
		want string
	}{
		{"a syntax error", "apiVersion: plimsoll.dev/v1alpha1\nkind: Check\nmetadata: {name: x\n", `:3: did not find expected ',' or '}'`},
		{"a misspelt field", strings.Replace(checkDoc("misspelt", "'true'"), "validations:", "validatons:", 1),
			`:19: check misspelt: unknown field "spec.validatons"`},
		{"another kind", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", `:2: apiVersion "v1", kind "ConfigMap": a custom check is apiVersion plimsoll.dev/v1alpha1, kind Check`},
		{"a built-in check's ID", checkDoc("pdb-coverage", "'true'"), ":4: check pdb-coverage: a built-in check has this ID; a custom check needs an ID of its own"},
		{"another custom check's ID", checkDoc("replica-cap", "'true'"), ":4: check replica-cap: " + good + ":1 has this ID too"},
		{"no severity", strings.Replace(checkDoc("no-severity", "'true'"), "  severity: low\n", "", 1),
			":5: check no-severity: check.severity is required (info, low, medium, high, critical)"},
		{"an unknown layer", strings.Replace(checkDoc("bad-layer", "'true'"), "layer: workloads", "layer: plumbing", 1),
			`:5: check bad-layer: unknown layer "plumbing"`},
		{"no validations", strings.Replace(checkDoc("no-validations", "'true'"), "  validations:\n    - expression: 'true'\n", "", 1),
			":12: check no-validations: spec.validations: Required value: plimsoll judges objects by validations; it has no use for a policy of auditAnnotations alone"},
		{"an unsupported reason", strings.Replace(checkDoc("teapot", "'true'"), "- expression: 'true'", "- expression: 'true'\n      reason: Teapot", 1),
			`:21: check teapot: spec.validations[0].reason: Unsupported value: "Teapot": supported values: "Forbidden", "Invalid", "RequestEntityTooLarge"`},
		{"rules for DELETE only", strings.Replace(checkDoc("deletes", "'true'"), "operations: [CREATE]", "operations: [DELETE]", 1),
			":14: check deletes: no rule matches the operation CREATE (or *): plimsoll judges each object as the request that creates it, so the check would judge nothing"},
		{"paramKind without params", strings.Replace(checkDoc("no-params", "'true'"), "spec:\n", "spec:\n  paramKind: {apiVersion: v1, kind: ConfigMap}\n", 1),
			":5: check no-params: spec.paramKind needs check.params, the file of the params object"},
		{"params of another kind", strings.Replace(strings.Replace(checkDoc("wrong-params", "'true'"), "spec:\n", "spec:\n  paramKind: {apiVersion: v1, kind: ConfigMap}\n", 1),
			"checklistItem:", "params: params.yaml\n  checklistItem:", 1),
			":11: check wrong-params: check.params: " + filepath.Join(dir, "params.yaml") + " is a v1 Secret, and spec.paramKind asks for a v1 ConfigMap"},
	}
	write(t, dir, "params.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: p}\n")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := write(t, dir, "bad.yaml", tt.text)
			set := Load([]string{good, bad}, builtin)
			var got []string
			for _, e := range set.Errors {
				got = append(got, e.Error())
			}
			if want := []string{bad + tt.want}; !cmp.Equal(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
			if len(set.Checks) != 1 || set.Checks[0].ID != "replica-cap" {
				t.Errorf("got checks %v, want replica-cap loaded whatever the other file holds", set.All())
			}
		})
	}
	// A document that does not load leaves the others of its file.
	two := write(t, dir, "two.yaml", checkDoc("first", "'true'")+"---\nkind: Nonsense\n---\n"+checkDoc("second", "'true'"))
	set := Load([]string{two}, builtin)
	if len(set.Checks) != 2 || len(set.Errors) != 1 || set.Errors[0].Line != 22 {
		t.Errorf("got checks %v and errors %v, want first and second, and an error at line 22", set.All(), set.Errors)
	}
	// A directory's check files, not its subdirectories' fixtures.
	sub := t.TempDir()
	write(t, sub, "a.yaml", checkDoc("in-dir", "'true'"))
	write(t, sub, "in-dir/pass/p.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
	if set := Load([]string{sub}, builtin); len(set.Errors) > 0 || len(set.Checks) != 1 {
		t.Errorf("a directory: got checks %v and errors %v, want in-dir alone", set.All(), set.Errors)
	}
	if set := Load([]string{filepath.Join(dir, "missing")}, builtin); len(set.Errors) != 1 {
		t.Errorf("a missing path: got errors %v, want one", set.Errors)
	}
}

// TestExamples runs the checks of policies/, which the README
// documents, on their fixtures: every one must pass.
func TestExamples(t *testing.T) {
	set := Load([]string{filepath.Join("..", "..", "..", "policies")}, builtin)
	if len(set.Errors) > 0 {
		t.Fatal(set.Errors)
	}
	if len(set.Checks) != 4 {
		t.Errorf("got %d example checks, want 4", len(set.Checks))
	}
	for _, c := range set.Checks {
		res := c.Test(context.Background(), now)
		if !res.OK() {
			t.Errorf("%s: missing %v, fixtures %+v", c.ID, res.Missing, res.Fixtures)
		}
		for _, w := range c.Policy.TypeCheck() {
			// What calls plimsoll.objects is not type-checked, and says so.
			if len(c.Objects()) == 0 || !strings.HasPrefix(w.Warning, "not type-checked: it calls plimsoll.objects") {
				t.Errorf("%s: type checking warns: %v", c.ID, w)
			}
		}
		if c.Example == "" {
			t.Errorf("%s: no example", c.ID)
		}
	}
}

func examples(t *testing.T) *Set {
	t.Helper()
	set := Load([]string{filepath.Join("..", "..", "..", "policies")}, builtin)
	if len(set.Errors) > 0 {
		t.Fatal(set.Errors)
	}
	return set
}

const shop = `apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {team: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - {name: web, image: nginx, resources: {limits: {memory: 1Gi}}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
  annotations:
    plimsoll.dev/ignore: house-team-label
    plimsoll.dev/ignore-reason: owned by the platform team, which labels by namespace
spec:
  replicas: 3
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
        - {name: api, image: registry.example.com/api:1, resources: {limits: {memory: 1Gi}}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: shop}
spec: {maxUnavailable: 1, selector: {matchLabels: {app: web}}}
---
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: shop}
spec:
  containers:
    - {name: debug, image: registry.example.com/debug:1}
`

// TestAudit holds custom checks to what a built-in check does in an audit:
// results per object with field paths, annotation exemptions by ID, and a
// place in their layer's score.
func TestAudit(t *testing.T) {
	a := auditWith(t, examples(t), shop, nil)
	want := []string{
		"pass house-allowed-registries Deployment api",
		"fail house-deployment-budget Deployment api: no PodDisruptionBudget in namespace shop selects the pods of this Deployment (3 replicas)",
		"pass house-memory-limit Deployment api",
		"skip house-team-label Deployment api: exempted by annotation plimsoll.dev/ignore: owned by the platform team, which labels by namespace",
		"fail house-allowed-registries Deployment web [spec.template]: in the Pods this Deployment would create: containers pull from outside the company registries: web (nginx)",
		"pass house-deployment-budget Deployment web",
		"pass house-memory-limit Deployment web",
		"pass house-team-label Deployment web",
		"pass house-allowed-registries Pod debug",
		"fail house-memory-limit Pod debug: containers without a memory limit: debug",
	}
	if diff := cmp.Diff(want, describe(a)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	layers := map[check.Layer]bool{}
	for _, l := range a.Score.Layers {
		if l.Score != nil {
			layers[l.Layer] = true
		}
	}
	for _, l := range []check.Layer{check.Security, check.Workloads, check.Governance} {
		if !layers[l] {
			t.Errorf("layer %s has no score, want the custom checks of it scored there", l)
		}
	}

	// Exempted by configuration, by ID, like any check.
	cfg := config.Default()
	cfg.Exemptions = []config.Exemption{{Checks: []string{"house-memory-limit"}, Kinds: []string{"Pod"}, Reason: "debug pods are short-lived"}}
	a = auditWith(t, examples(t), shop, cfg)
	if got := describe(a); !slices.Contains(got, "skip house-memory-limit Pod debug: exempted by configuration: debug pods are short-lived") {
		t.Errorf("got %q, want the Pod exempted from house-memory-limit by configuration", got)
	}
}

// web is the Deployment shop/web with these containers.
func web(containers string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}, spec: {containers: ` + containers + `}}
`
}

// TestDefaults: a policy sees objects defaulted as the API server defaults
// them, and a Pod made from a template with a Pod's defaults.
func TestDefaults(t *testing.T) {
	dir := t.TempDir()
	f := write(t, dir, "c.yaml", checkDoc("defaulted",
		`"object.spec.replicas == 1 && object.spec.template.spec.containers.all(c, c.imagePullPolicy == 'Always' && c.ports.all(p, p.protocol == 'TCP'))"`)+`
---
`+strings.Replace(strings.Replace(checkDoc("pod-requests", `"object.spec.containers.all(c, c.resources.requests.memory == '1Gi') && object.spec.enableServiceLinks && object.metadata.ownerReferences[0].kind == 'ReplicaSet'"`),
		"apiGroups: [apps]", `apiGroups: [""]`, 1), "resources: [deployments]", "resources: [pods]", 1))
	set := Load([]string{f}, builtin)
	if len(set.Errors) > 0 {
		t.Fatal(set.Errors)
	}
	a := auditWith(t, set, web(`[{name: web, image: "nginx:latest", ports: [{containerPort: 80}], resources: {limits: {memory: 1Gi}}}]`), nil)
	want := []string{"pass defaulted Deployment web", "pass pod-requests Deployment web"}
	if diff := cmp.Diff(want, describe(a)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// certificate is a cert-manager Certificate and its
// CustomResourceDefinition.
const certificate = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: certificates.cert-manager.io}
spec:
  group: cert-manager.io
  names: {kind: Certificate, plural: certificates}
  scope: Namespaced
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: tls, namespace: shop}
spec: {secretName: tls}
`

// TestNotAssessed: what a check cannot evaluate is not assessed, with the
// reason, never passed.
func TestNotAssessed(t *testing.T) {
	dir := t.TempDir()
	f := write(t, dir, "c.yaml", checkDoc("does-not-compile", `"object.spec.replicas <"`)+"---\n"+
		checkDoc("runtime-error", `"object.metadata.labels.team == 'x'"`)+"---\n"+
		strings.Replace(strings.Replace(checkDoc("custom-kind", `"true"`), "apiGroups: [apps]", "apiGroups: [cert-manager.io]", 1), "resources: [deployments]", "resources: [certificates]", 1))
	set := Load([]string{f}, builtin)
	if len(set.Errors) > 0 {
		t.Fatal(set.Errors)
	}
	a := auditWith(t, set, web(`[{name: web, image: "web:1"}]`)+`---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: tls, namespace: shop}
spec: {secretName: tls}
`, nil)
	reasons := map[string]string{}
	for _, st := range a.Checks {
		if st.Assessed {
			t.Errorf("%s was assessed, want not", st.Check.ID)
		}
		reasons[st.Check.ID] = st.Reason
	}
	want := map[string]string{
		"custom-kind":      "the CustomResourceDefinition of Certificate.cert-manager.io is not among the inputs, so the resource it is served as is unknown",
		"does-not-compile": "the API server would refuse the policy: spec.validations[0].expression: Invalid value: \"object.spec.replicas <\": compilation failed: ERROR: <input>:1:23: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}\n | object.spec.replicas <\n | ......................^",
		"runtime-error":    "spec.validations[0]: expression 'object.metadata.labels.team == 'x'' resulted in error: no such key: labels",
	}
	if diff := cmp.Diff(want, reasons); diff != "" {
		t.Errorf("reasons (-want +got):\n%s", diff)
	}
	// With its CustomResourceDefinition among the inputs, the custom
	// resource is judged.
	a = auditWith(t, set, certificate, nil)
	if got := describe(a); !slices.Contains(got, "pass custom-kind Certificate tls") {
		t.Errorf("got %q, want the Certificate judged", got)
	}
}

// TestReadsDeclared: a custom check consults, through the inventory, only
// the kinds its Kinds and Reads name (Namespaces, and the
// CustomResourceDefinitions that say what a custom kind is served as), so
// an audit that cannot list one of them does not assess it from a partial
// view.
func TestReadsDeclared(t *testing.T) {
	dir := t.TempDir()
	certs := write(t, dir, "certs.yaml", strings.Replace(strings.Replace(checkDoc("certificate-secret", `"has(object.spec.secretName)"`),
		"apiGroups: [apps]", "apiGroups: [cert-manager.io]", 1), "resources: [deployments]", "resources: [certificates]", 1))
	set := Load([]string{filepath.Join("..", "..", "..", "policies"), certs}, builtin)
	if len(set.Errors) > 0 {
		t.Fatal(set.Errors)
	}
	loaded := manifest.Parse("test.yaml", []byte(shop+"---\n"+certificate), inventory.Source{File: "test.yaml"})
	inv := platform.Inventory(inventory.FromManifests, loaded.Objects)
	objects := inv.Objects()
	params := check.Defaults()
	for _, c := range set.Checks {
		needs := map[string]bool{}
		for _, k := range c.Needs() {
			needs[k] = true
		}
		touched := map[string]bool{}
		inv.Trace(func(k string) { touched[k] = true })
		judged := 0
		for _, o := range objects {
			if !c.AppliesToKind(o.KindKey()) || o.Controlled() {
				continue
			}
			ctx := &check.Context{Inventory: inv, Params: &params, Now: now}
			if ok, _ := c.Applies(o, ctx); ok {
				c.Run(o, ctx)
				judged++
			}
		}
		inv.Trace(nil)
		if judged == 0 {
			t.Errorf("%s judged nothing", c.ID)
		}
		for k := range touched {
			if !needs[k] {
				t.Errorf("%s read kind %s, which its Kinds and Reads do not name", c.ID, k)
			}
		}
	}
}
