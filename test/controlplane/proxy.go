package controlplane

import (
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Proxy stands between a client and the real API server, on loopback, so a
// test can interfere with chosen requests (answer them itself, stop the
// server) and see what the client sent. It forwards as user.
type Proxy struct {
	srv *httptest.Server
	// Hook, when set, may answer a request itself and return true instead
	// of letting it through.
	Hook func(w http.ResponseWriter, r *http.Request) bool

	mu  sync.Mutex
	log []string // "GET /apis/apps/v1/deployments?limit=5 -> OK"
}

// NewProxy starts a proxy to the control plane's API server that forwards
// requests as user. The test's cleanup stops it.
func (c *ControlPlane) NewProxy(t testing.TB, user string) *Proxy {
	t.Helper()
	u, err := url.Parse(c.URL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} // the control plane's own certificate, on loopback
	p := &Proxy{}
	rp.ModifyResponse = func(resp *http.Response) error {
		p.Record(resp.Request, resp.StatusCode)
		return nil
	}
	token := c.token(user)
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.Hook != nil && p.Hook(w, r) {
			return
		}
		r.Header.Set("Authorization", "Bearer "+token)
		rp.ServeHTTP(w, r)
	}))
	if p.srv.Listener, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	p.srv.Start()
	t.Cleanup(p.srv.Close)
	return p
}

// Record logs a request and the status it got.
func (p *Proxy) Record(r *http.Request, code int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log = append(p.log, r.Method+" "+r.URL.RequestURI()+" -> "+http.StatusText(code))
}

// Requests are the requests so far, as "GET /api/v1/pods?limit=5 -> OK".
func (p *Proxy) Requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string{}, p.log...)
}

// Answer writes a Status answer of the API server's shape: code, reason
// and message, with extra headers.
func (p *Proxy) Answer(w http.ResponseWriter, r *http.Request, code int, reason metav1.StatusReason, message string, header map[string]string) {
	p.Record(r, code)
	for k, v := range header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Code: int32(code), Reason: reason, Message: message,
	})
}

// Vanish stops listening: new connections are refused, as by a server
// that is gone.
func (p *Proxy) Vanish() { p.srv.Listener.Close() }

// Kubeconfig writes a kubeconfig that reaches the API server through the
// proxy.
func (p *Proxy) Kubeconfig(t testing.TB) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["proxy"] = &clientcmdapi.Cluster{Server: p.srv.URL}
	cfg.AuthInfos["proxy"] = &clientcmdapi.AuthInfo{Token: "through-the-proxy"}
	cfg.Contexts["proxy"] = &clientcmdapi.Context{Cluster: "proxy", AuthInfo: "proxy"}
	cfg.CurrentContext = "proxy"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}
