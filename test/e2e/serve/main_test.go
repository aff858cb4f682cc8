// Package serve tests plimsoll serve against a real control plane, in
// process, as the identity the deploy manifests give it: informers, the
// metrics and dashboard, readiness across an API server restart, leader
// election, and what it asks of the API server at rest.
package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"

	"github.com/plimsoll/plimsoll/internal/cli"
	"github.com/plimsoll/plimsoll/internal/report"
	"github.com/plimsoll/plimsoll/test/controlplane"
)

// The users serve runs as: the deploy manifests' roles, and the same less
// NetworkPolicies.
const (
	serveUser   = "serve"
	limitedUser = "serve-limited"
	// leaseNamespace is where the deploy's Role lets serve elect a leader.
	leaseNamespace = "plimsoll"
)

func TestMain(m *testing.M) {
	controlplane.Main(m, controlplane.User{Name: serveUser}, controlplane.User{Name: limitedUser})
}

// clock is the fixed time both serve and audit judge exemptions at.
var clock = func() time.Time { return time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC) }

var setupOnce sync.Once

// cluster is the package's control plane with three kwok nodes, a
// namespace for the Lease, and the users bound to their roles, set up the
// first time a test asks.
func cluster(t *testing.T) (*controlplane.ControlPlane, kubernetes.Interface) {
	t.Helper()
	cp := controlplane.Shared()
	admin := kubernetes.NewForConfigOrDie(cp.RESTConfig(controlplane.AdminUser))
	var err error
	setupOnce.Do(func() { err = setup(t.Context(), cp, admin) })
	if err != nil {
		t.Fatalf("set up the cluster: %v", err)
	}
	return cp, admin
}

func setup(ctx context.Context, cp *controlplane.ControlPlane, admin kubernetes.Interface) error {
	var nodes []controlplane.Node
	for i, zone := range []string{"a", "b", "c"} {
		nodes = append(nodes, controlplane.Node{Name: fmt.Sprintf("node-%d", i), Zone: "zone-" + zone, Role: "worker"})
	}
	if err := cp.AddNodes(ctx, nodes...); err != nil {
		return err
	}
	if _, err := admin.CoreV1().Namespaces().Create(ctx, namespace(leaseNamespace), metav1.CreateOptions{}); err != nil {
		return err
	}
	cluster, namespaced, err := deployRules()
	if err != nil {
		return err
	}
	if err := bind(ctx, admin, serveUser, "", cluster); err != nil {
		return err
	}
	if err := bind(ctx, admin, serveUser, leaseNamespace, namespaced); err != nil {
		return err
	}
	var limited []rbacv1.PolicyRule
	for _, r := range cluster {
		var keep []string
		for _, res := range r.Resources {
			if res != "networkpolicies" {
				keep = append(keep, res)
			}
		}
		if len(keep) > 0 {
			r.Resources = keep
			limited = append(limited, r)
		}
	}
	return bind(ctx, admin, limitedUser, "", limited)
}

// deployRules are the rules of the ClusterRoles (deploy/rbac/clusterrole.yaml
// and the ClusterRole of deploy/rbac/writes.yaml) and of the Role
// (writes.yaml) that the deploy manifests bind to plimsoll.
func deployRules() (cluster, namespaced []rbacv1.PolicyRule, err error) {
	root := filepath.Join("..", "..", "..", "deploy", "rbac")
	for _, file := range []string{"clusterrole.yaml", "writes.yaml"} {
		data, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			return nil, nil, err
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			var role struct {
				Kind  string              `json:"kind"`
				Rules []rbacv1.PolicyRule `json:"rules"`
			}
			if err := dec.Decode(&role); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", file, err)
			}
			switch role.Kind {
			case "ClusterRole":
				cluster = append(cluster, role.Rules...)
			case "Role":
				namespaced = append(namespaced, role.Rules...)
			}
		}
	}
	if len(cluster) == 0 || len(namespaced) == 0 {
		return nil, nil, errors.New("deploy/rbac has no ClusterRole or no Role")
	}
	return cluster, namespaced, nil
}

// bind grants user the rules cluster-wide, or in ns, and waits until the
// authorizer applies them.
func bind(ctx context.Context, admin kubernetes.Interface, user, ns string, rules []rbacv1.PolicyRule) error {
	name := "e2e-" + user
	subjects := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}
	var err error
	if ns == "" {
		if _, err = admin.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err == nil {
			_, err = admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: name}, Subjects: subjects,
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
			}, metav1.CreateOptions{})
		}
	} else {
		if _, err = admin.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err == nil {
			_, err = admin.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: name}, Subjects: subjects,
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
			}, metav1.CreateOptions{})
		}
	}
	if err != nil {
		return err
	}
	// AwaitRBAC asks without a name, which a rule limited to names does
	// not grant; the binding's other rules arrive with them.
	var unnamed []rbacv1.PolicyRule
	for _, r := range rules {
		if len(r.ResourceNames) == 0 {
			unnamed = append(unnamed, r)
		}
	}
	return controlplane.AwaitRBAC(ctx, admin, user, nil, ns, unnamed)
}

// instance is one plimsoll serve running in-process.
type instance struct {
	pod      string // POD_NAME, its identity in the Lease
	url      string
	sink     *recordingSink
	requests *requestLog
	cancel   context.CancelFunc
	done     chan error
	log      *syncBuffer
}

// start runs plimsoll serve as user on a free port of 127.0.0.1 with a
// recording sink and a log of its API requests. env is its environment
// (POD_NAME, POD_NAMESPACE). The test's cleanup stops it.
func start(t *testing.T, cp *controlplane.ControlPlane, user string, env map[string]string, args ...string) *instance {
	t.Helper()
	return startWith(t, cp, user, env, &recordingSink{}, args...)
}

// startWith is start with a sink of the caller's: nil for serve's own,
// the PolicyReport writer.
func startWith(t *testing.T, cp *controlplane.ControlPlane, user string, env map[string]string, sink *recordingSink, args ...string) *instance {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{
		pod: env["POD_NAME"], url: "http://" + l.Addr().String(), sink: sink, requests: &requestLog{},
		cancel: cancel, done: make(chan error, 1), log: &syncBuffer{},
	}
	s := cli.Streams{
		In: strings.NewReader(""), Out: in.log, Err: in.log,
		Getenv: func(k string) string { return env[k] },
		Dir:    t.TempDir(), Now: clock,
	}
	deps := cli.ServeDeps{Listener: l, WrapTransport: in.requests.wrap}
	if sink != nil {
		deps.Sink = sink
	}
	go func() {
		in.done <- cli.Serve(ctx, append([]string{"--kubeconfig", cp.Kubeconfig(user)}, args...), s, deps)
	}()
	t.Cleanup(func() {
		if err := in.stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
		if t.Failed() {
			t.Logf("serve's log:\n%s", in.log.String())
		}
	})
	return in
}

// stop cancels serve and returns how it ended; it may be called again.
func (in *instance) stop() error {
	in.cancel()
	select {
	case err, ok := <-in.done:
		if ok {
			close(in.done)
		}
		return err
	case <-time.After(time.Minute):
		return errors.New("serve did not stop within a minute of its context's end")
	}
}

// get returns the status and body of a GET of path.
func (in *instance) get(path string) (int, string, error) {
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(in.url + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// metrics scrapes /metrics.
func (in *instance) metrics() (map[string]*dto.MetricFamily, error) {
	code, body, err := in.get("/metrics")
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("/metrics: %d", code)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(strings.NewReader(body))
}

// awaitReady waits until /readyz answers 200.
func (in *instance) awaitReady(t *testing.T) {
	t.Helper()
	waitFor(t, "serve to be ready", 3*time.Minute, func() (bool, error) {
		code, body, err := in.get("/readyz")
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("/readyz %d: %s", code, body)
		}
		return err == nil, err
	})
}

// recordingSink records the reports serve hands it.
type recordingSink struct {
	mu      sync.Mutex
	reports []*report.Report
}

func (r *recordingSink) Sync(_ context.Context, rep *report.Report) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reports = append(r.reports, rep)
	return nil
}

func (r *recordingSink) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reports)
}

// latest returns the last report, as its JSON reads back (as plimsoll
// audit -o json's does), or nil.
func (r *recordingSink) latest(t *testing.T) *report.Report {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reports) == 0 {
		return nil
	}
	return roundTrip(t, r.reports[len(r.reports)-1])
}

func roundTrip(t *testing.T, r *report.Report) *report.Report {
	t.Helper()
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var out report.Report
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

// requestLog records the API requests serve sends, as "VERB path?query".
type requestLog struct {
	mu   sync.Mutex
	reqs []string
}

func (l *requestLog) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		l.mu.Lock()
		l.reqs = append(l.reqs, r.Method+" "+r.URL.RequestURI())
		l.mu.Unlock()
		return rt.RoundTrip(r)
	})
}

// since returns the requests from index i on, and how many there are.
func (l *requestLog) since(i int) ([]string, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string{}, l.reqs[i:]...), len(l.reqs)
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// syncBuffer is a bytes.Buffer that several goroutines write.
type syncBuffer = controlplane.SyncBuffer

// waitFor polls cond every quarter second until it holds, and fails the
// test with cond's last error when timeout passes first.
var waitFor = controlplane.WaitFor

// audit runs plimsoll audit -o json in-process as user and decodes the
// report.
func audit(t *testing.T, cp *controlplane.ControlPlane, user string) *report.Report {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Main(context.Background(), []string{"audit", "--kubeconfig", cp.Kubeconfig(user), "-o", "json"}, cli.Streams{
		In: strings.NewReader(""), Out: &out, Err: &errOut,
		Getenv: func(string) string { return "" }, Dir: t.TempDir(), Now: clock,
	})
	if code != cli.ExitOK && code != cli.ExitGate && code != cli.ExitPartial {
		t.Fatalf("plimsoll audit: exit %d: %s", code, errOut.String())
	}
	var r report.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("plimsoll audit: %v; stderr:\n%s", err, errOut.String())
	}
	return &r
}
