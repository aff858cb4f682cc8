package e2e

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"sync"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// proxy stands between plimsoll and the real API server, on loopback, so a
// test can interfere with chosen requests and see what plimsoll sent.
type proxy struct {
	srv *httptest.Server
	// hook, when set, may answer a request itself (and return true)
	// instead of forwarding it.
	hook func(w http.ResponseWriter, r *http.Request) bool

	mu  sync.Mutex
	log []string // "GET /apis/apps/v1/deployments?limit=5 -> 200"
}

func newProxy(t *testing.T, target *rest.Config) *proxy {
	t.Helper()
	u, err := url.Parse(target.Host)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} // the test server's self-signed certificate, on loopback
	p := &proxy{}
	rp.ModifyResponse = func(resp *http.Response) error {
		p.record(resp.Request, resp.StatusCode)
		return nil
	}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.hook != nil && p.hook(w, r) {
			return
		}
		r.Header.Set("Authorization", "Bearer "+target.BearerToken)
		rp.ServeHTTP(w, r)
	}))
	p.srv.Listener, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.srv.Start()
	t.Cleanup(p.srv.Close)
	return p
}

func (p *proxy) record(r *http.Request, code int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log = append(p.log, r.Method+" "+r.URL.RequestURI()+" -> "+http.StatusText(code))
}

func (p *proxy) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string{}, p.log...)
}

// kubeconfig writes a kubeconfig that reaches the API server through the
// proxy.
func (p *proxy) kubeconfig(t *testing.T) string {
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
