package export_test

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks"
	"github.com/plimsoll/plimsoll/internal/export"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/policy"
)

// TestImageTagLatestPolicy holds image-tag-latest's policy, evaluated with
// the API server's CEL stack (internal/policy), to the check itself on
// images that take each path of the reference parser the policy follows;
// test/e2e/export holds it to the check on the fixtures, on a real API
// server.
func TestImageTagLatestPolicy(t *testing.T) {
	c := checks.Registry().Get("image-tag-latest")
	p, err := export.Builtin(c, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	compiled := policy.Compile(p.Policy)
	hex := strings.Repeat("ab12", 16) // 64 hex digits
	images := []string{
		"nginx", "nginx:1.27", "nginx:latest", "nginx:LATEST", "library/nginx:latest",
		"docker.io/nginx", "index.docker.io/library/nginx:latest", "localhost/agent", "localhost:5000/tools/agent:2",
		"registry.example.com:5000/tools/debug", "ghcr.io/acme/web:latest", "[::1]:5000/web:1", "Example.com/web",
		"EXAMPLE/web:1", "shop/Web:1.27", "Nginx", "<image_url>", "nginx:1.27@sha256:abc", hex,
		"nginx@sha256:" + hex, "nginx:latest@sha256:" + hex, "nginx@sha256:" + strings.ToUpper(hex),
		"nginx@sha512:" + hex, "nginx@md5:" + hex, "nginx@sha384:" + hex + hex[:32], "a/" + strings.Repeat("b", 260) + ":1",
		"web:1.0-rc.1", "web:-bad", "web:" + strings.Repeat("x", 129), `we"b`,
		// Not "ubuntu:latest " with a space: the API server's validation
		// refuses an image with leading or trailing whitespace before any
		// policy sees it, where plimsoll trims it.
	}
	for _, image := range images {
		t.Run(image, func(t *testing.T) {
			pod := &corev1.Pod{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
				ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "shop"},
				Spec: corev1.PodSpec{
					InitContainers: []corev1.Container{{Name: "init", Image: "busybox:1.36"}},
					Containers:     []corev1.Container{{Name: "app", Image: image}, {Name: "side", Image: "nginx"}},
				},
			}
			var want []string
			content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(pod)
			if err != nil {
				t.Fatal(err)
			}
			o, err := inventory.New(content, inventory.Source{File: "pod.yaml", Line: 1})
			if err != nil {
				t.Fatal(err)
			}
			inv := inventory.Build(inventory.FromManifests, []*inventory.Object{o})
			for _, f := range c.Run(o, &check.Context{Inventory: inv}) {
				want = append(want, f.Message)
			}
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{"kubernetes.io/metadata.name": "shop"}}}
			r, err := policy.NewRequest(pod, schema.GroupVersionResource{Version: "v1", Resource: "pods"}, policy.Namespace{Object: ns})
			if err != nil {
				t.Fatal(err)
			}
			m, decisions := compiled.Evaluate(context.Background(), r, nil)
			if !m.Matched {
				t.Fatalf("the policy does not judge the Pod: %s", m.Why)
			}
			got := ""
			for _, d := range decisions {
				if d.Error {
					t.Fatalf("the policy could not judge %q: %s", image, d.Message)
				}
				if d.Denied {
					got = d.Message
				}
			}
			if w := strings.Join(want, "; "); got != w {
				t.Errorf("policy says %q\nwant the check's %q", got, w)
			}
		})
	}
}
