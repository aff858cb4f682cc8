// Package faults stops the API server in the middle of an audit. It has a
// control plane of its own, since the test ends it.
package faults

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/plimsoll/plimsoll/internal/cli"
	"github.com/plimsoll/plimsoll/test/controlplane"
)

func TestMain(m *testing.M) { controlplane.Main(m) }

// TestAPIServerGoesAwayMidAudit lists a few hundred Services a page at a
// time and stops the API server after the tenth page. The audit must exit
// 2 with an error that says the API server was lost, and print no report.
func TestAPIServerGoesAwayMidAudit(t *testing.T) {
	cp := controlplane.Shared()
	cfg := cp.RESTConfig("admin")
	cfg.QPS, cfg.Burst = 100, 200 // 200 Services to create
	kube := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "many"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("svc-%03d", i), Namespace: "many"},
			Spec:       corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Ports: []corev1.ServicePort{{Port: 80}}},
		}
		if _, err := kube.CoreV1().Services("many").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// A proxy on loopback counts the Service pages. At the tenth it stops
	// the real API server, drops the connection and stops listening: from
	// plimsoll's side, the server is gone.
	p := cp.NewProxy(t, "admin")
	var pages atomic.Int32
	p.Hook = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/api/v1/services" && pages.Add(1) == 10 {
			if err := cp.StopAPIServer(); err != nil {
				t.Errorf("stop the API server: %v", err)
			}
			p.Vanish()
			panic(http.ErrAbortHandler)
		}
		return false
	}
	path := p.Kubeconfig(t)

	for _, format := range []string{"text", "json"} {
		var out, errOut bytes.Buffer
		start := time.Now()
		code := cli.Main(ctx, []string{"audit", "--kubeconfig", path, "--chunk-size", "2", "--request-timeout", "5s", "-o", format}, cli.Streams{
			In: strings.NewReader(""), Out: &out, Err: &errOut,
			Getenv: func(string) string { return "" }, Dir: t.TempDir(), Now: time.Now,
		})
		t.Logf("-o %s: exit %d after %d pages in %s; stderr: %s", format, code, pages.Load(), time.Since(start), errOut.String())
		if code != cli.ExitPartial {
			t.Errorf("-o %s: got exit %d, want %d; stderr:\n%s", format, code, cli.ExitPartial, errOut.String())
		}
		if out.Len() != 0 {
			t.Errorf("-o %s: got a report on stdout after losing the API server:\n%.500s", format, out.String())
		}
		if !strings.Contains(errOut.String(), "API server") {
			t.Errorf("-o %s: got stderr %q, want it to say the API server was lost", format, errOut.String())
		}
		if pages.Load() < 10 {
			t.Errorf("-o %s: the audit read %d pages; the server was never stopped mid-audit", format, pages.Load())
		}
	}
}
