package overlay

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	yaml "go.yaml.in/yaml/v3"

	"github.com/plimsoll/plimsoll/internal/fix"
	"github.com/plimsoll/plimsoll/internal/golden"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// key, name and idx make the steps of a path.
func key(k string) fix.Step  { return fix.Step{Key: k} }
func name(n string) fix.Step { return fix.Step{Name: n} }
func idx(i int) fix.Step     { return fix.Step{Index: i} }

func path(steps ...any) []fix.Step {
	var p []fix.Step
	for _, s := range steps {
		switch s := s.(type) {
		case string:
			for _, k := range strings.Split(s, ".") {
				p = append(p, key(k))
			}
		case fix.Step:
			p = append(p, s)
		}
	}
	return p
}

func ref(apiVersion, kind, namespace, name string) fix.Ref {
	return fix.Ref{APIVersion: apiVersion, Kind: kind, Namespace: namespace, Name: name}
}

// notReadyPatches are fixes of what plimsoll audit finds in
// examples/not-ready, as plimsoll fix would ask for them.
func notReadyPatches() []Patch {
	return []Patch{
		{
			Target: ref("apps/v1", "Deployment", "default", "web"),
			Sets: []fix.Set{
				{Path: path("spec.replicas"), Value: 3},
				{Path: path("spec.strategy.rollingUpdate.maxUnavailable"), Value: "25%"},
				{Path: path("spec.template.spec.containers", name("web"), "securityContext"), Value: map[string]any{
					"allowPrivilegeEscalation": false,
					"runAsNonRoot":             true,
					"readOnlyRootFilesystem":   true,
					"capabilities":             map[string]any{"drop": []any{"ALL"}},
				}},
				{Path: path("spec.template.spec.containers", name("web"), "resources"), Value: map[string]any{
					"requests": map[string]any{"cpu": "100m", "memory": "128Mi"},
					"limits":   map[string]any{"memory": "128Mi"},
				}},
				{Path: path("spec.template.spec.automountServiceAccountToken"), Value: false},
			},
			Reasons: []string{
				"container-security-context: container web sets no securityContext",
				"min-replicas: 2 replicas",
				"rollout-max-unavailable: maxUnavailable is 100%",
				"container-resources: container web requests nothing",
			},
		},
		{
			Target: ref("apps/v1", "Deployment", "default", "api"),
			Sets: []fix.Set{
				{Path: path("spec.template.spec.containers", name("api"), "securityContext.allowPrivilegeEscalation"), Value: false},
				{Path: path("spec.template.spec.containers", name("api"), "securityContext.readOnlyRootFilesystem"), Value: true},
				{Path: path("spec.template.spec.containers", name("api"), "resources.requests.cpu"), Value: "250m"},
				{Path: path("spec.template.spec.containers", name("api"), "livenessProbe.httpGet.port"), Value: "http"},
				{Path: path("spec.template.spec.containers", name("api"), "readinessProbe.httpGet.port"), Value: "http"},
			},
			Reasons: []string{
				"container-security-context: container api allows privilege escalation",
				"probe-port-declared: the probes name port metrics, which container api does not declare",
			},
		},
		{
			Target:  ref("v1", "ServiceAccount", "default", "db-backup"),
			Sets:    []fix.Set{{Path: path("automountServiceAccountToken"), Value: false}},
			Reasons: []string{"service-account-token-automount: db-backup mounts an API token it never uses"},
		},
		{
			Target: ref("apps/v1", "StatefulSet", "default", "db"),
			Sets: []fix.Set{
				{Path: path("spec.template.spec.containers", name("postgres"), "securityContext"), Value: map[string]any{
					"privileged":               false,
					"allowPrivilegeEscalation": false,
				}},
				{Path: path("spec.template.spec.containers", name("postgres"), "volumeMounts", name("host-logs"), "readOnly"), Value: true},
				{Path: path("spec.template.spec.containers", name("postgres"), "readinessProbe"), Value: map[string]any{
					"exec":          map[string]any{"command": []any{"pg_isready", "-U", "postgres"}},
					"periodSeconds": 10,
				}},
			},
			Reasons: []string{
				"container-privileged: container postgres is privileged",
				"host-path-read-only: host-logs mounts a hostPath read-write",
				"container-readiness-probe: container postgres has no readiness probe",
			},
		},
		{
			Target:  ref("policy/v1", "PodDisruptionBudget", "default", "web"),
			Sets:    []fix.Set{{Path: path("spec.selector.matchLabels"), Value: map[string]any{"app": "web"}}},
			Reasons: []string{"pdb-selects-pods: the budget web selects no pods (app: frontend)"},
		},
		{
			Target:  ref("networking.k8s.io/v1", "Ingress", "default", "shop"),
			Sets:    []fix.Set{{Path: path("spec.rules", idx(0), "http.paths", idx(1), "backend.service.name"), Value: "web"}},
			Reasons: []string{"ingress-backend-service: path /admin routes to Service admin, which does not exist"},
		},
	}
}

func notReadyObjects() []Object {
	return []Object{
		object("pdb-default-api.yaml", "Lets a drain evict one api pod at a time.",
			"policy/v1", "PodDisruptionBudget", "api", map[string]any{
				"maxUnavailable": 1,
				"selector":       map[string]any{"matchLabels": map[string]any{"app": "api"}},
			}),
		object("networkpolicy-default-default-deny.yaml",
			"Denies all traffic to and from the namespace's pods that no other policy allows.\nReview these values before you apply them.",
			"networking.k8s.io/v1", "NetworkPolicy", "default-deny", map[string]any{
				"podSelector": map[string]any{},
				"policyTypes": []any{"Ingress", "Egress"},
			}),
		object("networkpolicy-default-allow-dns.yaml", "Lets every pod of the namespace resolve names.",
			"networking.k8s.io/v1", "NetworkPolicy", "allow-dns", map[string]any{
				"podSelector": map[string]any{},
				"policyTypes": []any{"Egress"},
				"egress": []any{map[string]any{
					"to": []any{map[string]any{"namespaceSelector": map[string]any{}, "podSelector": map[string]any{
						"matchLabels": map[string]any{"k8s-app": "kube-dns"},
					}}},
					"ports": []any{
						map[string]any{"port": 53, "protocol": "UDP"},
						map[string]any{"port": 53, "protocol": "TCP"},
					},
				}},
			}),
	}
}

// object is a new object of namespace default.
func object(file, comment, apiVersion, kind, name string, spec map[string]any) Object {
	return Object{File: file, Comment: comment, Content: map[string]any{
		"apiVersion": apiVersion,
		"kind":       kind,
		"metadata":   map[string]any{"name": name, "namespace": "default"},
		"spec":       spec,
	}}
}

// copyExample copies an example directory to dir.
func copyExample(t *testing.T, example, dir string) string {
	t.Helper()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "..", "..", "examples", example))); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestWriteNotReady(t *testing.T) {
	root := t.TempDir()
	o := Options{
		Base:     copyExample(t, "not-ready", filepath.Join(root, "not-ready")),
		Dir:      filepath.Join(root, "overlays", "fix"),
		Patches:  notReadyPatches(),
		Objects:  notReadyObjects(),
		InitBase: true,
	}
	files, err := Write(o)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range []string{
		"overlays/fix/kustomization.yaml",
		"overlays/fix/networkpolicy-default-allow-dns.yaml",
		"overlays/fix/networkpolicy-default-default-deny.yaml",
		"overlays/fix/patch-deployment-default-api.yaml",
		"overlays/fix/patch-deployment-default-web.yaml",
		"overlays/fix/patch-ingress-default-shop.yaml",
		"overlays/fix/patch-poddisruptionbudget-default-web.yaml",
		"overlays/fix/patch-serviceaccount-default-db-backup.yaml",
		"overlays/fix/patch-statefulset-default-db.yaml",
		"overlays/fix/pdb-default-api.yaml",
		"not-ready/kustomization.yaml",
	} {
		want = append(want, filepath.Join(root, f))
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("files written (-want +got):\n%s", diff)
	}
	checkGoldens(t, o.Dir, filepath.Join("testdata", "not-ready"))
	data, err := os.ReadFile(filepath.Join(o.Base, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "not-ready-base.yaml"), data, *update)
	checkOverlay(t, o)
	checkKubectl(t, o.Dir)
}

// checkGoldens compares every file of dir with the golden file of the same
// name in goldens, and fails on a golden file that dir does not have.
func checkGoldens(t *testing.T, dir, goldens string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		_ = os.RemoveAll(goldens)
		if err := os.MkdirAll(goldens, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		golden.Check(t, filepath.Join(goldens, e.Name()), data, *update)
		got = append(got, e.Name())
	}
	want, _ := filepath.Glob(filepath.Join(goldens, "*"))
	for _, w := range want {
		if !slices.Contains(got, filepath.Base(w)) {
			t.Errorf("%s: the overlay has no such file", w)
		}
	}
}

func TestWriteRefusesPlainBase(t *testing.T) {
	root := t.TempDir()
	base := copyExample(t, "not-ready", filepath.Join(root, "not-ready"))
	before := snapshot(t, root)
	_, err := Write(Options{Base: base, Dir: filepath.Join(root, "overlay"), Patches: notReadyPatches()})
	want := base + " has no kustomization.yaml; create one listing its manifests (plimsoll can: --init-base), or point --overlay at a base that has one"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got error %v, want %q", err, want)
	}
	if !errors.Is(err, ErrNoKustomization) {
		t.Errorf("got error %v, want one that is ErrNoKustomization", err)
	}
	if diff := cmp.Diff(before, snapshot(t, root)); diff != "" {
		t.Errorf("Write left changes behind (-before +after):\n%s", diff)
	}
}

func TestInitBaseListsManifests(t *testing.T) {
	base := t.TempDir()
	files := map[string]string{
		"app.yaml":                       "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\n",
		"b/deploy.yml":                   "# comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n---\n",
		"b/obj.json":                     `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "json"}}`,
		"b/values.yaml":                  "replicas: 3\n",
		"b/README.md":                    "not a manifest\n",
		"sub/kustomization.yaml":         "resources: [cm.yaml]\n",
		"sub/cm.yaml":                    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: sub}\n",
		"chart/Chart.yaml":               "apiVersion: v2\nname: c\nversion: 0.1.0\n",
		"chart/templates/cm.yaml":        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}}\n",
		".hidden/cm.yaml":                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: hidden}\n",
		".plimsoll.yaml":                 "checks: {}\n",
		"empty.yaml":                     "",
		"deep/er/list.yaml":              "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: listed}\n",
		"deep/er/kustomization/cm.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dir-named-kustomization}\n",
		"deep/Kustomization/config.yaml": "a: b\n",
	}
	for name, content := range files {
		writeFile(t, filepath.Join(base, name), content)
	}
	list, notes, err := manifestsOf(base)
	if err != nil {
		t.Fatal(err)
	}
	wantList := []string{"app.yaml", "b/deploy.yml", "b/obj.json", "deep/er/kustomization/cm.yaml", "deep/er/list.yaml", "sub"}
	if diff := cmp.Diff(wantList, list); diff != "" {
		t.Errorf("listed (-want +got):\n%s", diff)
	}
	wantNotes := []string{
		"b/values.yaml: no Kubernetes objects",
		"chart/: a Helm chart, whose templates are not manifests until rendered",
		"deep/Kustomization/config.yaml: no Kubernetes objects",
		"empty.yaml: no Kubernetes objects",
	}
	if diff := cmp.Diff(wantNotes, notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
	// What it lists builds, and builds every object of those files.
	if _, err := initBase(base); err != nil {
		t.Fatal(err)
	}
	objs := buildObjects(t, base)
	var names []string
	for _, o := range objs {
		names = append(names, idOf(o).name)
	}
	slices.Sort(names)
	if diff := cmp.Diff([]string{"app", "b", "dir-named-kustomization", "json", "listed", "sub"}, names); diff != "" {
		t.Errorf("objects built (-want +got):\n%s", diff)
	}
	if _, err := initBase(base); err == nil {
		t.Error("initBase wrote over a kustomization.yaml")
	}
}

func TestInitBaseRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"mixed", map[string]string{"a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nfoo: bar\n"},
			"a.yaml holds Kubernetes objects and other documents"},
		{"not YAML", map[string]string{"a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Name }}}\n"},
			"a.yaml: not YAML, so whether it holds Kubernetes objects is unknown"},
		{"chart", map[string]string{"Chart.yaml": "apiVersion: v2\nname: c\n", "templates/a.yaml": "x"},
			"it is a Helm chart"},
		{"empty", map[string]string{"README.md": "x"}, "it holds no Kubernetes manifests"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			for name, content := range tc.files {
				writeFile(t, filepath.Join(base, name), content)
			}
			before := snapshot(t, base)
			_, err := initBase(base)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one with %q", err, tc.want)
			}
			if diff := cmp.Diff(before, snapshot(t, base)); diff != "" {
				t.Errorf("initBase left changes behind (-before +after):\n%s", diff)
			}
		})
	}
}

func TestWriteErrors(t *testing.T) {
	deployment := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx\n        ports:\n        - containerPort: 80\n"
	kustomized := map[string]string{"base/kustomization.yaml": "resources: [web.yaml]\n", "base/web.yaml": deployment}
	plain := map[string]string{"base/web.yaml": deployment}
	web := ref("apps/v1", "Deployment", "shop", "web")
	replicas := []Patch{{Target: web, Sets: []fix.Set{{Path: path("spec.replicas"), Value: 2}}}}
	for _, tc := range []struct {
		name     string
		files    map[string]string
		base     string // default "base"
		dir      string // default "overlay"
		patches  []Patch
		objects  []Object
		initBase bool
		want     string
	}{
		{name: "dir exists", files: merge(kustomized, map[string]string{"overlay/x": ""}), patches: replicas,
			want: "/overlay exists already; give a new directory"},
		{name: "base missing", patches: replicas, want: "/base does not exist"},
		{name: "base is a file", files: map[string]string{"base": "x"}, patches: replicas,
			want: "/base is not a directory"},
		{name: "overlay inside base", files: kustomized, dir: "base/overlay", patches: replicas,
			want: "is inside its base"},
		{name: "nothing to write", files: kustomized, want: "nothing to write"},
		{name: "base does not build", files: map[string]string{"base/kustomization.yaml": "resources: [missing.yaml]\n"}, patches: replicas,
			want: "/base does not build: accumulating resources"},
		{name: "base kustomization is not YAML", files: map[string]string{"base/kustomization.yaml": "resources: [\n"}, patches: replicas,
			want: "/base does not build"},
		{name: "target missing", files: kustomized, patches: []Patch{{Target: ref("apps/v1", "Deployment", "shop", "api"), Sets: replicas[0].Sets}},
			want: "patch target Deployment shop/api (apps/v1) is not among the objects the base builds"},
		{name: "target in another namespace", files: kustomized, patches: []Patch{{Target: ref("apps/v1", "Deployment", "default", "web"), Sets: replicas[0].Sets}},
			want: "patch target Deployment default/web (apps/v1) is not among the objects the base builds (it has Deployment shop/web (apps/v1))"},
		{name: "target missing after init", files: plain, initBase: true, patches: []Patch{{Target: ref("v1", "Service", "shop", "web"), Sets: replicas[0].Sets}},
			want: "patch target Service shop/web (v1) is not among the objects the base builds"},
		{name: "init over a kustomization", files: kustomized, initBase: true, patches: replicas,
			want: "/base already has kustomization.yaml"},
		{name: "sets nothing", files: kustomized, patches: []Patch{{Target: web}}, want: "the patch of Deployment shop/web (apps/v1) sets nothing"},
		{name: "renames", files: kustomized, patches: []Patch{{Target: web, Sets: []fix.Set{{Path: path("metadata.name"), Value: "x"}}}},
			want: "metadata.name: it names the object"},
		{name: "null", files: kustomized, patches: []Patch{{Target: web, Sets: []fix.Set{{Path: path("spec.replicas")}}}},
			want: "spec.replicas: the value is null, which a patch reads as a deletion"},
		{name: "through a scalar", files: kustomized, patches: []Patch{{Target: web, Sets: []fix.Set{{Path: path("spec.template.spec.containers", name("web"), "image.tag"), Value: "x"}}}},
			want: "spec.template.spec.containers[name=web].image is a scalar, not a mapping"},
		{name: "two sets disagree", files: kustomized, patches: []Patch{{Target: web, Sets: []fix.Set{
			{Path: path("spec.template.spec.containers", name("web"), "securityContext"), Value: map[string]any{"privileged": false}},
			{Path: path("spec.template.spec.containers", name("web"), "securityContext.privileged"), Value: true},
		}}}, want: "spec.template.spec.containers[name=web].securityContext.privileged: two sets give it different values"},
		{name: "mapping onto a list", files: kustomized, patches: []Patch{{Target: web, Sets: []fix.Set{
			{Path: path("spec.template.spec.containers", name("web"), "ports"), Value: map[string]any{"containerPort": 81}},
		}}}, want: "spec.template.spec.containers[name=web].ports: it is a list, not a mapping to merge a mapping into"},
		{name: "scalar onto a mapping", files: kustomized, patches: []Patch{{Target: web, Sets: []fix.Set{
			{Path: path("spec.template"), Value: "x"},
		}}}, want: "spec.template: it is a mapping, and the value a scalar"},
		{name: "new element by name, not a mapping", files: kustomized, patches: []Patch{{Target: web, Sets: []fix.Set{
			{Path: path("spec.template.spec.containers", name("sidecar")), Value: "x"},
		}}}, want: "an element found by its name (sidecar) is a mapping, so its value cannot be a scalar"},
		{name: "index out of range", files: kustomized, patches: []Patch{{Target: web, Sets: []fix.Set{{Path: path("spec.template.spec.containers", idx(2), "image"), Value: "x"}}}},
			want: "spec.template.spec.containers: no element at index 2 (it has 1)"},
		{name: "object in base", files: kustomized, objects: []Object{{File: "web.yaml", Content: map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "web", "namespace": "shop"}}}},
			want: "new object Deployment shop/web (apps/v1) (web.yaml) is already among the base's objects"},
		{name: "object file is a patch's", files: kustomized, patches: replicas, objects: []Object{{File: "patch-deployment-shop-web.yaml", Content: map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "x", "namespace": "shop"}}}},
			want: "the overlay would have two files named patch-deployment-shop-web.yaml"},
		{name: "object file in a directory", files: kustomized, objects: []Object{{File: "a/b.yaml", Content: map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "x"}}}},
			want: `new object's file "a/b.yaml": a file name is needed`},
		{name: "object without a name", files: kustomized, objects: []Object{{File: "b.yaml", Content: map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap"}}},
			want: "new object in b.yaml: it needs an apiVersion, a kind and a metadata.name"},
		{name: "ambiguous selector", files: merge(kustomized, map[string]string{
			"base/kustomization.yaml": "resources: [web.yaml, svc.yaml]\n",
			"base/svc.yaml":           "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\n---\napiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: web, namespace: shop}\n",
		}), patches: []Patch{{Target: ref("v1", "Service", "shop", "web"), Sets: []fix.Set{{Path: path("spec.type"), Value: "ClusterIP"}}}},
			want: "patch target Service shop/web (v1): Kustomize's selector for it would also patch Service shop/web (serving.knative.dev/v1)"},
		{name: "object declared twice", files: merge(kustomized, map[string]string{
			"base/kustomization.yaml": "resources: [web.yaml, again.yaml]\n",
			"base/again.yaml":         "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n",
		}), patches: replicas, want: "web.yaml and again.yaml both declare Deployment.v1.apps/web.shop: a base builds each object once"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for name, content := range tc.files {
				writeFile(t, filepath.Join(root, name), content)
			}
			before := snapshot(t, root)
			o := Options{Base: filepath.Join(root, cmpOr(tc.base, "base")), Dir: filepath.Join(root, cmpOr(tc.dir, "overlay")),
				Patches: tc.patches, Objects: tc.objects, InitBase: tc.initBase}
			files, err := Write(o)
			t.Log(err)
			checkRefused(t, root, before, files, err, tc.want)
		})
	}
}

// A base whose kustomization renames its objects is patched by the names
// it builds, which the audit saw.
func TestWriteOnTransformedBase(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "base", "kustomization.yaml"), "namePrefix: prod-\nnamespace: live\nresources: [app]\n")
	writeFile(t, filepath.Join(root, "base", "app", "kustomization.yaml"), "resources: [web.yaml]\n")
	writeFile(t, filepath.Join(root, "base", "app", "web.yaml"), shapesBase["web.yaml"])
	o := Options{Base: filepath.Join(root, "base"), Dir: filepath.Join(root, "overlay"), Patches: []Patch{{
		Target: ref("apps/v1", "Deployment", "live", "prod-web"),
		Sets:   []fix.Set{{Path: path("spec.template.spec.containers", name("web"), "securityContext.privileged"), Value: false}},
	}}}
	if _, err := Write(o); err != nil {
		t.Fatal(err)
	}
	checkOverlay(t, o)
	o.Dir = filepath.Join(root, "overlay2")
	o.Patches[0].Target = ref("apps/v1", "Deployment", "shop", "web")
	if _, err := Write(o); err == nil || !strings.Contains(err.Error(), "patch target Deployment shop/web (apps/v1) is not among the objects the base builds") {
		t.Errorf("got error %v, want the target's name before the base renamed it refused", err)
	}
}

// Relative paths are taken from the working directory, and the base's path
// in the kustomization is relative to where the overlay really is.
func TestWriteRelativePaths(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "real", "base", "kustomization.yaml"), "resources: [sa.yaml]\n")
	writeFile(t, filepath.Join(root, "real", "base", "sa.yaml"), "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: app}\n")
	if err := os.Symlink(filepath.Join(root, "real"), filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Join(root, "link"))
	o := Options{Base: "base", Dir: filepath.Join("..", "overlays", "x"),
		Patches: []Patch{{Target: ref("v1", "ServiceAccount", "", "app"), Sets: []fix.Set{{Path: path("automountServiceAccountToken"), Value: false}}}}}
	files, err := Write(o)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join("..", "overlays", "x", "kustomization.yaml"), filepath.Join("..", "overlays", "x", "patch-serviceaccount-app.yaml")}
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("files written (-want +got):\n%s", diff)
	}
	k, err := os.ReadFile(filepath.Join(root, "overlays", "x", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(k), "\n  - ../../real/base\n") {
		t.Errorf("got kustomization\n%s\nwant the base as ../../real/base", k)
	}
	checkOverlay(t, o)
}

func TestWriteMakesParents(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "base", "kustomization.yaml"), "resources: [sa.yaml]\n")
	writeFile(t, filepath.Join(root, "base", "sa.yaml"), "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: app}\n")
	o := Options{Base: filepath.Join(root, "base"), Dir: filepath.Join(root, "a", "b", "overlay"),
		Patches: []Patch{{Target: ref("v1", "ServiceAccount", "", "app"), Sets: []fix.Set{{Path: path("automountServiceAccountToken"), Value: false}}}}}
	if _, err := Write(o); err != nil {
		t.Fatal(err)
	}
	checkOverlay(t, o)
	// A failure removes the directories it made.
	before := snapshot(t, root)
	o.Dir = filepath.Join(root, "c", "d", "overlay")
	o.Patches[0].Target.Name = "missing"
	if _, err := Write(o); err == nil {
		t.Fatal("Write patched a missing object")
	}
	if diff := cmp.Diff(before, snapshot(t, root)); diff != "" {
		t.Errorf("Write left changes behind (-before +after):\n%s", diff)
	}
}

func TestKustomizeErrorHidesResource(t *testing.T) {
	err := kustomizeError(errors.New("merging: conflict for the following resource:\napiVersion: v1\nkind: Secret\ndata: {password: c2VjcmV0}\n"))
	want := "merging: conflict (the resource is not shown: it may hold secret values)"
	if err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
	long := kustomizeError(errors.New(strings.Repeat("é", 600)))
	if got := long.Error(); !strings.HasSuffix(got, "... (200 more bytes)") || len(got) > maxKustomizeError+30 {
		t.Errorf("got %d bytes ending %q, want %d bytes of text and a count of the rest", len(got), got[len(got)-30:], maxKustomizeError)
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func merge(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// snapshot is every file and directory under root, with each file's content.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			out[p] = "(directory)"
			return nil
		}
		data, err := os.ReadFile(p)
		out[p] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// buildObjects builds dir with Kustomize's API, default options, and
// returns its objects by objectKey.
func buildObjects(t *testing.T, dir string) map[string]map[string]any {
	t.Helper()
	b, err := build(dir)
	if err != nil {
		t.Fatalf("building %s: %v", dir, err)
	}
	out := map[string]map[string]any{}
	for id, o := range b.byID {
		obj, err := o.res.Map()
		if err != nil {
			t.Fatal(err)
		}
		out[id.String()] = obj
	}
	return out
}

// checkOverlay checks what Write wrote, by building the overlay and the base
// alone: every field set holds its value, nothing else differs, and the new
// objects are there as given.
func checkOverlay(t *testing.T, o Options) {
	t.Helper()
	base, got := buildObjects(t, o.Base), buildObjects(t, o.Dir)
	sets := map[string][]fix.Set{}
	for _, p := range o.Patches {
		k := objectID{p.Target.APIVersion, p.Target.Kind, p.Target.Namespace, p.Target.Name}.String()
		sets[k] = append(sets[k], p.Sets...)
	}
	for k, b := range base {
		g := got[k]
		if g == nil {
			t.Errorf("%s: not in the overlay", k)
			continue
		}
		var set []string
		for _, s := range sets[k] {
			ptr, v, ok := lookup(g, s.Path)
			if !ok {
				t.Errorf("%s: %s is not set", k, fix.PathString(s.Path))
				continue
			}
			if !covers(v, s.Value) {
				t.Errorf("%s: %s is %v, want %v", k, fix.PathString(s.Path), v, s.Value)
			}
			// What the base lacks on the way is created whole.
			for i := range s.Path {
				if _, _, inBase := lookup(b, s.Path[:i+1]); !inBase {
					ptr, _, _ = lookup(g, s.Path[:i+1])
					break
				}
			}
			set = append(set, ptr)
		}
		for _, d := range diffs(b, g, "") {
			if !slices.ContainsFunc(set, func(p string) bool { return d == p || strings.HasPrefix(d, p+"/") }) {
				t.Errorf("%s: %s changed, though no fix sets it", k, d)
			}
		}
	}
	for _, obj := range o.Objects {
		k := idOf(obj.Content).String()
		if !sameJSON(got[k], obj.Content) {
			t.Errorf("new object %s: got %v, want %v", k, got[k], obj.Content)
		}
	}
	if len(got) != len(base)+len(o.Objects) {
		t.Errorf("the overlay builds %d objects, want the base's %d and %d new", len(got), len(base), len(o.Objects))
	}
}

// lookup finds a path in an object, each named element by its name field,
// and returns its JSON pointer.
func lookup(obj any, p []fix.Step) (ptr string, v any, ok bool) {
	v = obj
	for _, st := range p {
		switch {
		case st.Key != "":
			m, _ := v.(map[string]any)
			if v, ok = m[st.Key]; !ok {
				return "", nil, false
			}
			ptr += "/" + escapePointer(st.Key)
		default:
			l, _ := v.([]any)
			i := st.Index
			if st.Name != "" {
				i = slices.IndexFunc(l, func(e any) bool {
					m, _ := e.(map[string]any)
					return m["name"] == st.Name
				})
			}
			if i < 0 || i >= len(l) {
				return "", nil, false
			}
			v = l[i]
			ptr += fmt.Sprintf("/%d", i)
		}
	}
	return ptr, v, true
}

// covers says whether got has every field of want, with its value.
func covers(got, want any) bool {
	w, ok := want.(map[string]any)
	if !ok {
		return sameJSON(got, want)
	}
	g, ok := got.(map[string]any)
	if !ok {
		return false
	}
	for k, v := range w {
		if !covers(g[k], v) {
			return false
		}
	}
	return true
}

// diffs are the JSON pointers where a and b differ; lists are compared
// element by element, in order.
func diffs(a, b any, ptr string) []string {
	switch {
	case a == nil && b != nil:
		a = empty(b)
	case b == nil && a != nil:
		b = empty(a)
	}
	am, aIsMap := a.(map[string]any)
	bm, bIsMap := b.(map[string]any)
	al, aIsList := a.([]any)
	bl, bIsList := b.([]any)
	var out []string
	switch {
	case aIsMap && bIsMap:
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		for k := range keys {
			out = append(out, diffs(am[k], bm[k], ptr+"/"+escapePointer(k))...)
		}
	case aIsList && bIsList:
		for i := range max(len(al), len(bl)) {
			var ae, be any
			if i < len(al) {
				ae = al[i]
			}
			if i < len(bl) {
				be = bl[i]
			}
			out = append(out, diffs(ae, be, fmt.Sprintf("%s/%d", ptr, i))...)
		}
	case !sameJSON(a, b):
		out = append(out, ptr)
	}
	slices.Sort(out)
	return out
}

// empty is an empty mapping or list, like v, or nil.
func empty(v any) any {
	switch v.(type) {
	case map[string]any:
		return map[string]any{}
	case []any:
		return []any{}
	}
	return nil
}

// checkKubectl builds the overlay with kubectl kustomize (from the e2e
// tests' binaries, else the PATH) and requires the objects Kustomize's API
// builds.
func checkKubectl(t *testing.T, dir string) {
	t.Helper()
	kubectl := filepath.Join(os.Getenv("PLIMSOLL_TESTENV_BIN"), "kubectl")
	if os.Getenv("PLIMSOLL_TESTENV_BIN") == "" {
		var err error
		if kubectl, err = exec.LookPath("kubectl"); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("kubectl is needed: set PLIMSOLL_TESTENV_BIN (hack/testcluster-build) or put kubectl on the PATH")
			}
			t.Log("kubectl kustomize is not tried: no kubectl (set PLIMSOLL_TESTENV_BIN or put it on the PATH)")
			return
		}
	}
	out, err := exec.Command(kubectl, "kustomize", dir).Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, exit.Stderr)
		}
		t.Fatal(err)
	}
	got := map[string]map[string]any{}
	dec := yaml.NewDecoder(strings.NewReader(string(out)))
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			break
		}
		got[idOf(obj).String()] = obj
	}
	want := buildObjects(t, dir)
	if len(got) != len(want) {
		t.Errorf("kubectl kustomize builds %d objects, Kustomize's API %d", len(got), len(want))
	}
	for k, w := range want {
		if !sameJSON(got[k], w) {
			t.Errorf("%s: kubectl kustomize builds it otherwise (-API +kubectl):\n%s", k, cmp.Diff(w, got[k]))
		}
	}
}

// An object moved to another API version gets a JSON patch of its own,
// listed after every other patch: the patches before it find the object
// at the version the base builds it at.
func TestWriteMovesAPIVersion(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "base", "kustomization.yaml"), "resources: [app.yaml]\n")
	writeFile(t, filepath.Join(root, "base", "app.yaml"), `apiVersion: extensions/v1beta1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: example/web:1.0}]
---
apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata: {name: web, namespace: shop}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: web}}
`)
	o := Options{Base: filepath.Join(root, "base"), Dir: filepath.Join(root, "overlay"), Patches: []Patch{
		{Target: ref("extensions/v1beta1", "Deployment", "shop", "web"), Sets: []fix.Set{
			{Path: path("apiVersion"), Value: "apps/v1"},
			{Path: path("spec.selector"), Value: map[string]any{"matchLabels": map[string]any{"app": "web"}}},
		}},
		{Target: ref("policy/v1beta1", "PodDisruptionBudget", "shop", "web"), Sets: []fix.Set{{Path: path("apiVersion"), Value: "policy/v1"}}},
	}}
	files, err := Write(o)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	want := []string{"kustomization.yaml", "move-deployment-shop-web.yaml", "move-poddisruptionbudget-shop-web.yaml", "patch-deployment-shop-web.yaml"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	k, err := os.ReadFile(filepath.Join(o.Dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if p, m := strings.Index(string(k), "patch-deployment"), strings.Index(string(k), "move-deployment"); p < 0 || m < p {
		t.Errorf("the move is not listed after the patch:\n%s", k)
	}
	got := buildObjects(t, o.Dir)
	var ids []string
	for id := range got {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if diff := cmp.Diff([]string{"Deployment shop/web (apps/v1)", "PodDisruptionBudget shop/web (policy/v1)"}, ids); diff != "" {
		t.Errorf("built (-want +got):\n%s", diff)
	}
	if sel, _, _ := lookup(got["Deployment shop/web (apps/v1)"], path("spec.selector.matchLabels.app")); sel != "/spec/selector/matchLabels/app" {
		t.Errorf("the moved Deployment lacks its selector: %v", got["Deployment shop/web (apps/v1)"])
	}
}
