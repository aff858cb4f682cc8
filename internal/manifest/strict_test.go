package manifest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// TestStrictFields reads built-in kinds as the API server does under strict
// field validation: a misspelt field, a field of an older shape, a number
// that does not fit its field and an infinite one are each an error at the
// field's line, never an object audited as if it were fine.
func TestStrictFields(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"a field of the old Ingress shape", `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  defaultBackend:
    serviceName: web
    servicePort: 80
`, `1:6: Ingress shop/web: the API server would refuse it: unknown field "spec.defaultBackend.serviceName", unknown field "spec.defaultBackend.servicePort"`},
		{"a misspelt field", `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: web:1
          imagePullPolice: Always
`, `1:12: Deployment shop/web: the API server would refuse it: unknown field "spec.template.spec.containers[0].imagePullPolice"`},
		{"replicas beyond int32", `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 4294967298
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: "web:1"}]}}
`, `1:5: Deployment web: field spec.replicas is a number 4294967298, want int32`},
		{"an infinite replica count", `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: .inf
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: "web:1"}]}}
`, `1:5: Deployment shop/web: field spec.replicas is not a finite number (.inf or .nan), which no field of the API holds`},
		// A message that quotes what looks like a strict decoding error
		// is not one: the field is found in the type of the error.
		{"a label that is a mapping", `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: {note: 'unknown field "spec"'}
spec:
  selector: {matchLabels: {app: web}}
`, `1:5: Deployment web: field metadata.labels is a object, want string`},
		{"a kind that is a number", "apiVersion: v1\nkind: 5\nmetadata: {name: x}\n", `1:1: kind is "5", not a string, so the document is not a Kubernetes object`},
		{"a kind its apiVersion does not have", `# a Deployment written as core v1
apiVersion: v1
kind: Deployment
metadata: {name: web, namespace: shop}
`, `1:2: apiVersion v1 has no kind Deployment; the API serves Deployment as apps/v1`},
		{"a version its group never had", `# apps has no v1beta9
apiVersion: apps/v1beta9
kind: Deployment
metadata: {name: web, namespace: shop}
`, `1:2: Deployment shop/web: no matches for kind "Deployment" in version "apps/v1beta9"; the API serves Deployment as apps/v1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Parse("1", []byte(tt.doc), inventory.Source{File: "1"})
			if len(res.Objects) != 0 || len(res.Errors) != 1 {
				t.Fatalf("got %d objects and errors %v, want one error", len(res.Objects), res.Errors)
			}
			if got := res.Errors[0].Error(); !strings.HasPrefix(got, tt.want) {
				t.Errorf("got %q, want it to start %q", got, tt.want)
			}
		})
	}
}

// TestUnservedVersions refuses a built-in kind at a version of its group
// that no release served, at its apiVersion line, in a file and in a List,
// and reads everything else: the other documents and items, and every
// version some release did serve, however long ago it was removed.
func TestUnservedVersions(t *testing.T) {
	const served = `apiVersion: extensions/v1beta1
kind: Deployment
metadata: {name: old}
---
apiVersion: apps/v1beta2
kind: StatefulSet
metadata: {name: db}
---
apiVersion: rbac.authorization.k8s.io/v1alpha1
kind: Role
metadata: {name: reader}
---
apiVersion: autoscaling/v2beta2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec: {scaleTargetRef: {kind: Deployment, name: old}, maxReplicas: 3}
---
apiVersion: batch/v1beta1
kind: CronJob
metadata: {name: report}
---
apiVersion: networking.k8s.io/v1beta1
kind: Ingress
metadata: {name: web}
---
apiVersion: storage.k8s.io/v1beta1
kind: StorageClass
metadata: {name: fast}
provisioner: example.com/fast
---
apiVersion: discovery.k8s.io/v1beta1
kind: EndpointSlice
metadata: {name: web-1}
addressType: IPv4
endpoints: []
---
apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata: {name: web}
`
	wantServed := []string{"Deployment old", "StatefulSet db", "Role reader", "HorizontalPodAutoscaler web", "CronJob report", "Ingress web", "StorageClass fast", "EndpointSlice web-1", "PodDisruptionBudget web"}
	for _, tt := range []struct {
		name, text  string
		wantErrors  []string
		wantObjects []string
	}{
		{"documents of a file", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: before}\n---\nkind: Deployment\napiVersion: apps/v1beta9\nmetadata: {name: web}\n---\n" + served,
			[]string{`f.yaml:6: Deployment web: no matches for kind "Deployment" in version "apps/v1beta9"; the API serves Deployment as apps/v1`},
			append([]string{"ConfigMap before"}, wantServed...)},
		{"items of a List", `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: before}
  - kind: Ingress
    metadata: {name: web, namespace: shop}
    apiVersion: networking.k8s.io/v2
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: after}
`, []string{`f.yaml:9: Ingress shop/web: no matches for kind "Ingress" in version "networking.k8s.io/v2"; the API serves Ingress as networking.k8s.io/v1`},
			[]string{"ConfigMap before", "ConfigMap after"}},
		{"JSON", `{"apiVersion": "batch/v2", "kind": "Job", "metadata": {"name": "x"}}` + "\n",
			[]string{`f.yaml:1: Job x: no matches for kind "Job" in version "batch/v2"; the API serves Job as batch/v1`}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := Parse("f.yaml", []byte(tt.text), inventory.Source{File: "f.yaml"})
			if diff := cmp.Diff(tt.wantErrors, errorTexts(res)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			var got []string
			for _, o := range res.Objects {
				got = append(got, o.Kind+" "+o.Name)
			}
			if diff := cmp.Diff(tt.wantObjects, got); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
		})
	}
}
