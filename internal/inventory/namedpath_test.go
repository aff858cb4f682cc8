package inventory

import "testing"

func TestNamedPath(t *testing.T) {
	o, err := New(map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "namespace": "shop"},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"initContainers": []any{map[string]any{"name": "setup", "image": "x"}},
			"containers": []any{
				map[string]any{"name": "app", "image": "x", "env": []any{map[string]any{"name": "A"}, map[string]any{"name": "B"}}, "ports": []any{map[string]any{"containerPort": int64(80)}}},
				map[string]any{"name": "proxy", "image": "y"},
			},
			"volumes": []any{map[string]any{"name": "data", "emptyDir": map[string]any{}}},
		}}},
	}, Source{})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"spec.template.spec.containers[1].image":               "spec.template.spec.containers[name=proxy].image",
		"spec.template.spec.containers[0].env[1].value":        "spec.template.spec.containers[name=app].env[name=B].value",
		"spec.template.spec.initContainers[0].securityContext": "spec.template.spec.initContainers[name=setup].securityContext",
		"spec.template.spec.volumes[0].hostPath":               "spec.template.spec.volumes[name=data].hostPath",
		"spec.template.spec.containers[0].ports[0]":            "spec.template.spec.containers[name=app].ports[0]", // no name
		"spec.template.spec.containers[7].image":               "spec.template.spec.containers[7].image",           // no such element
		"metadata.labels":                                      "metadata.labels",
	} {
		if got := o.NamedPath(path); got != want {
			t.Errorf("NamedPath(%s) = %s, want %s", path, got, want)
		}
	}
}
