package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plimsoll/plimsoll/test/controlplane"
)

// headlessServices creates n headless Services (no cluster IPs used up) in
// a namespace of their own.
func headlessServices(t *testing.T, c *client, ns string, n int) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("svc-%02d", i), Namespace: ns},
			Spec:       corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: map[string]string{"app": "none"}, Ports: []corev1.ServicePort{{Port: 80}}},
		}
		if _, err := c.kube.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// servicesIn counts the Services of a namespace the report has results on.
func servicesIn(t *testing.T, args []string, ns string) int {
	t.Helper()
	r := auditJSON(t, 0, args...)
	seen := map[string]bool{}
	for _, res := range r.Results {
		if res.Object.Kind == "Service" && res.Object.Namespace == ns {
			seen[res.Object.Name] = true
		}
	}
	return len(seen)
}

// answerFirst makes the proxy answer the first request that match
// selects with a Status of the API server's shape, and forward the rest.
func answerFirst(p *controlplane.Proxy, match func(*http.Request) bool, code int, reason metav1.StatusReason, message string, header map[string]string) {
	var once sync.Once
	p.Hook = func(w http.ResponseWriter, r *http.Request) bool {
		answered := false
		if match(r) {
			once.Do(func() {
				p.Answer(w, r, code, reason, message, header)
				answered = true
			})
		}
		return answered
	}
}

// serviceLists are the LISTs of every Service the proxy saw.
func serviceLists(p *controlplane.Proxy) []string {
	var lists []string
	for _, l := range p.Requests() {
		if strings.HasPrefix(l, "GET /api/v1/services?") {
			lists = append(lists, l)
		}
	}
	return lists
}

// TestPagingRestartsOnExpiredContinue answers the first continued page of
// Services with the 410 Expired that an API server sends when etcd has
// compacted past the list's snapshot. plimsoll must start that list over
// and still read every Service.
func TestPagingRestartsOnExpiredContinue(t *testing.T) {
	cp := testCluster(t)
	admin := newClient(t, cp.RESTConfig("admin"))
	headlessServices(t, admin, "paging", 23)

	p := cp.NewProxy(t, "admin")
	answerFirst(p, func(r *http.Request) bool {
		return r.URL.Path == "/api/v1/services" && r.URL.Query().Get("continue") != ""
	}, http.StatusGone, metav1.StatusReasonExpired, "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.", nil)
	if got := servicesIn(t, []string{"audit", "--kubeconfig", p.Kubeconfig(t), "--chunk-size", "5"}, "paging"); got != 23 {
		t.Errorf("got %d Services of 23 after the 410", got)
	}
	// First page, the expired continue, then the list started over.
	lists := serviceLists(p)
	if len(lists) < 3 || !strings.HasSuffix(lists[1], "-> Gone") || strings.Contains(lists[2], "continue=") {
		t.Errorf("got Service list requests\n%s\nwant a first page, a 410 on its continue, then a fresh list", strings.Join(lists, "\n"))
	}
}

// TestThrottlingIsRespected answers the first Service list with 429 Too
// Many Requests and a Retry-After: plimsoll must wait and retry, and the
// audit must be complete.
func TestThrottlingIsRespected(t *testing.T) {
	cp := testCluster(t)
	admin := newClient(t, cp.RESTConfig("admin"))
	headlessServices(t, admin, "throttled", 3)

	p := cp.NewProxy(t, "admin")
	answerFirst(p, func(r *http.Request) bool { return r.URL.Path == "/api/v1/services" },
		http.StatusTooManyRequests, metav1.StatusReasonTooManyRequests, "Too many requests, please try again later.", map[string]string{"Retry-After": "1"})
	if got := servicesIn(t, []string{"audit", "--kubeconfig", p.Kubeconfig(t)}, "throttled"); got != 3 {
		t.Errorf("got %d Services of 3 after the 429", got)
	}
	lists := serviceLists(p)
	if len(lists) != 2 || !strings.HasSuffix(lists[0], "-> Too Many Requests") || !strings.HasSuffix(lists[1], "-> OK") {
		t.Errorf("got Service list requests\n%s\nwant a 429, then the retried list", strings.Join(lists, "\n"))
	}
}
