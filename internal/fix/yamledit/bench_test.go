package yamledit

import (
	"fmt"
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/internal/fix"
)

// BenchmarkApply edits every object of a file of 1000 Deployments once: the
// edit a fix makes most, a field set in a container's securityContext.
func BenchmarkApply(b *testing.B) {
	const n = 1000
	var src strings.Builder
	var edits []Edit
	line := 1
	for i := range n {
		doc := fmt.Sprintf(`# Deployment %[1]d.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-%[1]d
  labels:
    app: web-%[1]d # the selector's
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web-%[1]d
  template:
    metadata:
      labels:
        app: web-%[1]d
    spec:
      containers:
      - name: web
        image: "registry.example/web:%[1]d"
        ports:
        - containerPort: 8080
        resources:
          requests: {cpu: 100m, memory: 128Mi}
---
`, i)
		edits = append(edits, Edit{Line: line + 1, Sets: []fix.Set{
			set(path("spec.template.spec.containers[name=web].securityContext.allowPrivilegeEscalation"), false),
		}})
		line += strings.Count(doc, "\n")
		src.WriteString(doc)
	}
	in := []byte(src.String())
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Apply(in, edits); err != nil {
			b.Fatal(err)
		}
	}
}
