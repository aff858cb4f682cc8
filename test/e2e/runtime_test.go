package e2e

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/plimsoll/plimsoll/internal/cli"
)

// TestRuntimeChecksSeeReality sets up three things manifests cannot show
// and a live audit must catch: a Deployment whose pods all landed in one
// zone, a Service with no ready endpoint, and a node gone NotReady.
func TestRuntimeChecksSeeReality(t *testing.T) {
	cp := testCluster(t)
	admin := newClient(t, cp.RESTConfig("admin"))
	ctx := context.Background()
	ns := "runtime"
	if _, err := admin.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "pinned"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "pinned", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{corev1.LabelTopologyZone: "zone-a"},
					Containers:   []corev1.Container{{Name: "app", Image: "registry.example.com/app:1.0"}},
				},
			},
		},
	}
	if _, err := admin.kube.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	orphan := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "orphan", Namespace: ns},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "gone"}, Ports: []corev1.ServicePort{{Port: 80}}},
	}
	if _, err := admin.kube.CoreV1().Services(ns).Create(ctx, orphan, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	admin.waitRolledOut(t, ns)
	if err := cp.SetNodeReady(ctx, "node-c2", corev1.ConditionFalse); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cp.SetNodeReady(context.Background(), "node-c2", corev1.ConditionTrue); err != nil {
			t.Errorf("make node-c2 Ready again: %v", err)
		}
	})

	r := auditJSON(t, 0, "audit", "--kubeconfig", cp.Kubeconfig("admin"))
	fails := map[string]string{}
	for _, res := range r.Results {
		if res.Status == "fail" {
			fails[res.Check+" "+res.Object.ID()] = res.Message
		}
	}
	for _, want := range []struct{ key, evidence string }{
		{"runtime-replicas-across-zones Deployment runtime/pinned", "zone-a"},
		{"runtime-service-endpoints Service runtime/orphan", "endpoint"},
		{"runtime-node-ready Node node-c2", "False"},
	} {
		msg, ok := fails[want.key]
		if !ok {
			t.Errorf("no failure %s", want.key)
			continue
		}
		if !strings.Contains(msg, want.evidence) {
			t.Errorf("%s: message %q does not name %q", want.key, msg, want.evidence)
		}
	}
	// The nodes that are fine are not reported.
	if msg, ok := fails["runtime-node-ready Node node-a1"]; ok {
		t.Errorf("a Ready node reported: %s", msg)
	}
}

// TestProgressOnlyOnATerminal: the progress line shows on a terminal's
// stderr with text output, and never in CI or with machine output.
func TestProgressOnlyOnATerminal(t *testing.T) {
	cp := testCluster(t)
	kc := cp.Kubeconfig("admin")
	ci := func(k string) string {
		if k == "CI" {
			return "true"
		}
		return ""
	}
	for _, tc := range []struct {
		name    string
		streams cli.Streams
		output  string
		want    bool
	}{
		{"terminal, text", cli.Streams{ErrIsTerminal: true}, "text", true},
		{"terminal, json", cli.Streams{ErrIsTerminal: true}, "json", false},
		{"terminal in CI", cli.Streams{ErrIsTerminal: true, Getenv: ci}, "text", false},
		{"not a terminal", cli.Streams{}, "text", false},
	} {
		p := runWith(t, tc.streams, "audit", "--kubeconfig", kc, "-o", tc.output)
		if p.code != 0 {
			t.Fatalf("%s: exit %d\n%s", tc.name, p.code, p.errOut)
		}
		if got := strings.Contains(p.errOut, "reading the cluster:"); got != tc.want {
			t.Errorf("%s: progress shown %v, want %v; stderr %q", tc.name, got, tc.want, p.errOut)
		}
	}
}
