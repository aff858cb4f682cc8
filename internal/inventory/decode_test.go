package inventory

import (
	"math"
	"testing"
)

// deployment is a typical Deployment as the manifest reader hands it to New.
func deployment() map[string]any {
	return map[string]any{
		"apiVersion": "apps/v1",
		"kind":       "Deployment",
		"metadata": map[string]any{
			"name": "web", "namespace": "shop",
			"labels":      map[string]any{"app": "web", "tier": "frontend"},
			"annotations": map[string]any{"team": "shop"},
		},
		"spec": map[string]any{
			"replicas": int64(3),
			"selector": map[string]any{"matchLabels": map[string]any{"app": "web"}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"app": "web", "tier": "frontend"}},
				"spec": map[string]any{
					"serviceAccountName": "web",
					"securityContext":    map[string]any{"runAsNonRoot": true, "runAsUser": int64(1000)},
					"containers": []any{map[string]any{
						"name": "web", "image": "registry.example.com/shop/web:1.4.2",
						"ports": []any{map[string]any{"containerPort": int64(8080), "name": "http"}},
						"env": []any{
							map[string]any{"name": "MODE", "value": "prod"},
							map[string]any{"name": "PORT", "value": "8080"},
						},
						"resources": map[string]any{
							"requests": map[string]any{"cpu": "100m", "memory": "128Mi"},
							"limits":   map[string]any{"cpu": "500m", "memory": "256Mi"},
						},
						"readinessProbe": map[string]any{"httpGet": map[string]any{"path": "/healthz", "port": "http"}, "periodSeconds": int64(10)},
						"livenessProbe":  map[string]any{"httpGet": map[string]any{"path": "/healthz", "port": "http"}, "initialDelaySeconds": int64(5)},
						"securityContext": map[string]any{
							"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
							"capabilities": map[string]any{"drop": []any{"ALL"}},
						},
						"volumeMounts": []any{map[string]any{"name": "tmp", "mountPath": "/tmp"}},
					}},
					"volumes": []any{map[string]any{"name": "tmp", "emptyDir": map[string]any{}}},
				},
			},
		},
	}
}

// BenchmarkNewDeployment measures New on a typical Deployment, as the
// manifest reader's map path and every cluster read call it.
func BenchmarkNewDeployment(b *testing.B) {
	m := deployment()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(m, Source{File: "d.yaml"}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestNewNonFinite names the field of an infinite or NaN number, which
// JSON cannot hold.
func TestNewNonFinite(t *testing.T) {
	m := deployment()
	m["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["ports"].([]any)[0].(map[string]any)["containerPort"] = math.Inf(1)
	_, err := New(m, Source{File: "d.yaml"})
	want := "Deployment shop/web: field spec.template.spec.containers[0].ports[0].containerPort is not a finite number (.inf or .nan), which no field of the API holds"
	if err == nil || err.Error() != want {
		t.Errorf("got error %v, want %q", err, want)
	}
}
