package inventory

import (
	"errors"
	"math"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/plimsoll/plimsoll/internal/apiversion"
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

// TestNewFieldError names the field of an unknown field, and of an
// infinite or NaN number, which JSON cannot hold, in the message and as a
// FieldError's Path.
func TestNewFieldError(t *testing.T) {
	container := func(m map[string]any) map[string]any {
		return m["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
	}
	for _, tt := range []struct {
		name     string
		set      func(m map[string]any)
		want     string
		wantPath string
	}{
		{"an infinite number", func(m map[string]any) {
			container(m)["ports"].([]any)[0].(map[string]any)["containerPort"] = math.Inf(1)
		}, "Deployment shop/web: field spec.template.spec.containers[0].ports[0].containerPort is not a finite number (.inf or .nan), which no field of the API holds", "spec.template.spec.containers[0].ports[0].containerPort"},
		{"unknown fields", func(m map[string]any) {
			container(m)["imagePullPolice"] = "Always"
			m["spec"].(map[string]any)["replica"] = int64(2)
		}, `Deployment shop/web: the API server would refuse it: unknown field "spec.replica", unknown field "spec.template.spec.containers[0].imagePullPolice"`, "spec.replica"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := deployment()
			tt.set(m)
			_, err := New(m, Source{File: "d.yaml"})
			var field *FieldError
			if err == nil || err.Error() != tt.want || !errors.As(err, &field) || field.Path != tt.wantPath {
				t.Errorf("got error %v (field %+v), want %q at %s", err, field, tt.want, tt.wantPath)
			}
		})
	}
}

// TestTypedVersions holds the API version table to client-go's scheme for
// the kinds plimsoll decodes: every version the scheme has of such a kind,
// in a group the table gives it, is one New reads. The table lists older
// ones too (autoscaling/v2beta2), which the scheme no longer has.
func TestTypedVersions(t *testing.T) {
	for gvk := range scheme.Scheme.AllKnownTypes() {
		if _, typed := typedKinds[gvk.Kind]; !typed || gvk.Version == runtime.APIVersionInternal || !apiversion.InGroup(gvk.Group, gvk.Kind) {
			continue
		}
		if !typedVersion(gvk.GroupVersion().String(), gvk.Kind) {
			t.Errorf("%s %s: client-go's scheme has it, the API version table does not", gvk.GroupVersion(), gvk.Kind)
		}
	}
	for kind := range typedKinds {
		if apiversion.Current(kind) == "" {
			t.Errorf("%s: the API version table lists no version served now", kind)
		}
	}
}

// TestNewUnservedVersion refuses a built-in kind at a version of its group
// that never served it, at the apiVersion field, in the API server's words;
// the versions some release served, however old, are read.
func TestNewUnservedVersion(t *testing.T) {
	m := deployment()
	m["apiVersion"] = "apps/v1beta9"
	_, err := New(m, Source{File: "d.yaml"})
	const want = `Deployment shop/web: no matches for kind "Deployment" in version "apps/v1beta9"; the API serves Deployment as apps/v1`
	var field *FieldError
	if err == nil || err.Error() != want || !errors.As(err, &field) || field.Path != "apiVersion" {
		t.Errorf("got error %v (field %+v), want %q at apiVersion", err, field, want)
	}
	if NewTyped("apps/v1beta9", "Deployment") != nil || DecodesJSON("apps/v1beta9", "Deployment") {
		t.Error("NewTyped or DecodesJSON takes apps/v1beta9 for a Deployment's version")
	}
	if KindKeyOf("apps/v1beta9", "Deployment") != "Deployment" {
		t.Error("KindKeyOf: a version plimsoll does not know is still of the kind, for a cluster that serves it")
	}
	for _, apiVersion := range []string{"apps/v1beta1", "apps/v1beta2", "extensions/v1beta1"} {
		m := deployment()
		m["apiVersion"] = apiVersion
		if o, err := New(m, Source{File: "d.yaml"}); err != nil || o.KindKey() != "Deployment" {
			t.Errorf("%s: got %v, want a Deployment", apiVersion, err)
		}
	}
}
