package overlay

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/internal/fix"
	"github.com/plimsoll/plimsoll/internal/golden"
)

// shapesBase has the lists whose patches take different shapes.
var shapesBase = map[string]string{
	"kustomization.yaml": "resources: [web.yaml, bare.yaml, widget.yaml, settings.yaml]\n",
	"web.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  finalizers: [a.example.com/keep, b.example.com/keep]
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      initContainers:
        - name: migrate
          image: migrate
        - name: warm
          image: warm
      containers:
        - name: istio-proxy
          image: proxy
        - name: web
          image: nginx
          args: [--listen=80, --workers=2]
          ports:
            - name: http
              containerPort: 80
              protocol: TCP
            - name: metrics
              containerPort: 9090
          env:
            - name: A
              value: a
            - name: B
              value: $(A)-b
          volumeMounts:
            - name: data
              mountPath: /data
            - name: cache
              mountPath: /cache
          securityContext:
            privileged: true
            capabilities:
              add: [NET_ADMIN]
      tolerations:
        - key: dedicated
          operator: Exists
      volumes:
        - name: data
          emptyDir: {}
        - name: cache
          emptyDir: {}
`,
	"bare.yaml": `apiVersion: v1
kind: Pod
metadata:
  name: bare
  namespace: shop
spec:
  schedulingGates:
    - name: example.com/quota
  containers:
    - name: app
      image: app
`,
	"widget.yaml": `apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
  namespace: shop
spec:
  containers:
    - name: a
      image: a
    - name: b
      image: b
`,
	"settings.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings.v2
data:
  mode: slow
`,
}

func TestPatchShapes(t *testing.T) {
	root := t.TempDir()
	base := filepath.Join(root, "base")
	for name, content := range shapesBase {
		writeFile(t, filepath.Join(base, name), content)
	}
	web := ref("apps/v1", "Deployment", "shop", "web")
	bare := ref("v1", "Pod", "shop", "bare")
	container := func(steps ...any) []fix.Step {
		return path(append([]any{"spec.template.spec.containers", name("web")}, steps...)...)
	}
	for _, tc := range []struct {
		name   string
		target fix.Ref
		sets   []fix.Set
		json   bool // a JSON patch, not a strategic merge
	}{
		{name: "second container", target: web, sets: []fix.Set{
			{Path: container("securityContext.allowPrivilegeEscalation"), Value: false},
			{Path: container("resources.requests.cpu"), Value: "100m"},
		}},
		{name: "port by name", target: web, sets: []fix.Set{{Path: container("ports", name("metrics"), "hostPort"), Value: 19090}}},
		{name: "port with its protocol", target: web, sets: []fix.Set{{Path: container("ports", name("http"), "hostPort"), Value: 8080}}},
		{name: "port renumbered", target: web, json: true, sets: []fix.Set{{Path: container("ports", name("http"), "containerPort"), Value: 8080}}},
		{name: "mount", target: web, sets: []fix.Set{{Path: container("volumeMounts", name("cache"), "readOnly"), Value: true}}},
		{name: "new env var", target: web, sets: []fix.Set{{Path: container("env", name("C")), Value: map[string]any{"value": "$(B)-c"}}}},
		{name: "new env var by its value", target: web, sets: []fix.Set{{Path: container("env", name("D"), "value"), Value: "d"}}},
		{name: "element merged", target: web, sets: []fix.Set{{Path: path("spec.template.spec.containers", name("web")), Value: map[string]any{
			"image": "nginx:1.27", "imagePullPolicy": "IfNotPresent",
		}}}},
		{name: "element key changed", target: web, json: true, sets: []fix.Set{{Path: container("ports", name("metrics")), Value: map[string]any{"name": "metrics", "containerPort": 9091}}}},
		{name: "new init container", target: web, sets: []fix.Set{{Path: path("spec.template.spec.initContainers", name("check")), Value: map[string]any{"image": "check"}}}},
		{name: "mapping merged", target: web, sets: []fix.Set{{Path: container("securityContext"), Value: map[string]any{
			"runAsNonRoot": true, "capabilities": map[string]any{"drop": []any{"ALL"}},
		}}}},
		{name: "merged list replaced", target: web, sets: []fix.Set{{Path: container("env"), Value: []any{map[string]any{"name": "Z", "value": "z"}}}}},
		{name: "scalar list replaced", target: web, sets: []fix.Set{{Path: path("metadata.finalizers"), Value: []any{"c.example.com/keep"}}}},
		{name: "unmerged list replaced", target: web, sets: []fix.Set{{Path: container("args"), Value: []any{"--listen=8080"}}}},
		{name: "argument by index", target: web, json: true, sets: []fix.Set{{Path: container("args", idx(1)), Value: "--workers=4"}}},
		{name: "toleration by index", target: web, json: true, sets: []fix.Set{{Path: path("spec.template.spec.tolerations", idx(0), "effect"), Value: "NoSchedule"}}},
		{name: "mapping merged in a JSON patch", target: web, json: true, sets: []fix.Set{{Path: path("spec.template.spec.tolerations", idx(0)), Value: map[string]any{
			"operator": "Equal", "value": "web",
		}}}},
		{name: "new toleration", target: web, json: true, sets: []fix.Set{{Path: path("spec.template.spec.tolerations", idx(1)), Value: map[string]any{
			"key": "spot", "operator": "Exists", "effect": "NoSchedule",
		}}}},
		{name: "new volumes and mount", target: bare, sets: []fix.Set{
			{Path: path("spec.volumes", name("tmp"), "emptyDir"), Value: map[string]any{}},
			{Path: path("spec.volumes", name("cache"), "emptyDir"), Value: map[string]any{"sizeLimit": "1Gi"}},
			{Path: path("spec.containers", name("app"), "volumeMounts", name("tmp")), Value: map[string]any{"mountPath": "/tmp"}},
			{Path: path("spec.containers", name("app"), "securityContext.readOnlyRootFilesystem"), Value: true},
		}},
		{name: "list newer than Kustomize schema", target: bare, json: true, sets: []fix.Set{
			{Path: path("spec.schedulingGates", name("example.com/zone")), Value: map[string]any{}},
		}},
		{name: "custom resource", target: ref("example.com/v1", "Widget", "shop", "w"), json: true, sets: []fix.Set{
			{Path: path("spec.containers", name("b"), "image"), Value: "b:1.2"},
			{Path: path("metadata.annotations"), Value: map[string]any{"example.com/owner": "shop"}},
			{Path: path("metadata.annotations", key("example.com/tier")), Value: "web"},
		}},
		{name: "no namespace, a dot in the name", target: ref("v1", "ConfigMap", "", "settings.v2"), sets: []fix.Set{
			{Path: path("data", key("mode")), Value: "fast"},
			{Path: path("data", key("retries")), Value: "3"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{
				Base:    base,
				Dir:     filepath.Join(root, fileName(tc.name)),
				Patches: []Patch{{Target: tc.target, Sets: tc.sets, Reasons: []string{tc.name}}},
			}
			if _, err := Write(o); err != nil {
				t.Fatal(err)
			}
			checkOverlay(t, o)
			checkKubectl(t, o.Dir)
			var all bytes.Buffer
			isJSON := false
			for _, f := range []string{"kustomization.yaml", patchFileName(tc.target)} {
				data, err := os.ReadFile(filepath.Join(o.Dir, f))
				if err != nil {
					t.Fatal(err)
				}
				all.WriteString("--- " + f + "\n")
				all.Write(data)
				isJSON = isJSON || bytes.Contains(data, []byte("\n- op: "))
			}
			if isJSON != tc.json {
				t.Errorf("got a JSON patch: %t, want %t", isJSON, tc.json)
			}
			golden.Check(t, filepath.Join("testdata", "shapes", fileName(tc.name)+".yaml"), all.Bytes(), *update)
		})
	}
}

// fileName is a test case's name as a file name.
func fileName(name string) string {
	return strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(name), "-"), "-")
}
