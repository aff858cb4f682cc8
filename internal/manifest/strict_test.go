package manifest

import (
	"strings"
	"testing"

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
