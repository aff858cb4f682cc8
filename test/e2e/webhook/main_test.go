// Package webhook tests plimsoll serve --webhook against a real control
// plane: the API server calls serve's webhook, run in-process, at a
// loopback URL (clientConfig.url https://127.0.0.1:PORT/validate) with a
// CA made by the test. The control plane runs in a network namespace of
// its own with the ValidatingAdmissionWebhook plugin on, and holds no
// webhook configuration but the tests' own.
package webhook

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/plimsoll/plimsoll/internal/cli"
	"github.com/plimsoll/plimsoll/internal/report"
	"github.com/plimsoll/plimsoll/test/controlplane"
)

// serveUser is the user serve runs as: it holds the ClusterRoles that
// deploy/ gives plimsoll to read the cluster (deploy/rbac/clusterrole.yaml)
// and that deploy/webhook adds to record denials (deploy/webhook/rbac.yaml),
// and nothing else. Leader election is off and reports go to a recording
// sink, so it needs no more.
const serveUser = "serve"

func TestMain(m *testing.M) {
	controlplane.MainWith(m, controlplane.Options{ValidatingWebhooks: true, Users: []controlplane.User{{Name: serveUser}}})
}

var rbacOnce sync.Once

// grantServe creates deploy's ClusterRoles for reading and for Events,
// binds them to serveUser, and waits until the authorizer applies them,
// the first time a test asks.
func grantServe(t *testing.T, admin kubernetes.Interface) {
	t.Helper()
	var err error
	rbacOnce.Do(func() {
		var rules []rbacv1.PolicyRule
		for _, file := range []string{"rbac/clusterrole.yaml", "webhook/rbac.yaml"} {
			var data []byte
			if data, err = os.ReadFile(filepath.Join("..", "..", "..", "deploy", file)); err != nil {
				return
			}
			dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
			for {
				var role rbacv1.ClusterRole
				if err = dec.Decode(&role); errors.Is(err, io.EOF) {
					err = nil
					break
				} else if err != nil {
					return
				}
				if role.Kind != "ClusterRole" {
					continue
				}
				if _, err = admin.RbacV1().ClusterRoles().Create(t.Context(), &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: role.Name}, Rules: role.Rules}, metav1.CreateOptions{}); err != nil {
					return
				}
				if _, err = admin.RbacV1().ClusterRoleBindings().Create(t.Context(), &rbacv1.ClusterRoleBinding{
					ObjectMeta: metav1.ObjectMeta{Name: role.Name},
					Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: serveUser}},
					RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
				}, metav1.CreateOptions{}); err != nil {
					return
				}
				rules = append(rules, role.Rules...)
			}
		}
		var unnamed []rbacv1.PolicyRule
		for _, r := range rules {
			if len(r.ResourceNames) == 0 {
				unnamed = append(unnamed, r)
			}
		}
		err = controlplane.AwaitRBAC(t.Context(), admin, serveUser, nil, "", unnamed)
	})
	if err != nil {
		t.Fatalf("grant serve its roles: %v", err)
	}
}

// clock is the fixed time serve judges exemptions at.
var clock = func() time.Time { return time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC) }

// instance is one plimsoll serve --webhook running in-process.
type instance struct {
	url     string // the metrics and health listener
	webhook string // https://127.0.0.1:PORT
	caPEM   []byte
	sink    *recordingSink
	cancel  context.CancelFunc
	done    chan error
	log     *controlplane.SyncBuffer
}

// startServe runs plimsoll serve --webhook as serveUser on free ports of
// 127.0.0.1, with a serving certificate for 127.0.0.1 signed by a CA of
// its own, and waits until it is ready. The test's cleanup stops it.
func startServe(t *testing.T, cp *controlplane.ControlPlane, args ...string) *instance {
	t.Helper()
	grantServe(t, kubernetes.NewForConfigOrDie(cp.RESTConfig(controlplane.AdminUser)))
	certDir := t.TempDir()
	caPEM := writeServingCert(t, certDir)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{
		url: "http://" + l.Addr().String(), webhook: "https://" + wl.Addr().String(), caPEM: caPEM,
		sink: &recordingSink{}, cancel: cancel, done: make(chan error, 1), log: &controlplane.SyncBuffer{},
	}
	s := cli.Streams{
		In: strings.NewReader(""), Out: in.log, Err: in.log,
		Getenv: func(string) string { return "" }, Dir: t.TempDir(), Now: clock,
	}
	deps := cli.ServeDeps{Listener: l, WebhookListener: wl, Sink: in.sink}
	args = append([]string{"--kubeconfig", cp.Kubeconfig(serveUser), "--leader-elect=false",
		"--debounce", "200ms", "--webhook", "--webhook-cert-dir", certDir}, args...)
	go func() { in.done <- cli.Serve(ctx, args, s, deps) }()
	t.Cleanup(func() {
		if err := in.stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
		if t.Failed() {
			t.Logf("serve's log:\n%s", in.log.String())
		}
	})
	controlplane.WaitFor(t, "serve to be ready", 2*time.Minute, func() (bool, error) {
		resp, err := http.Get(in.url + "/readyz")
		if err != nil {
			return false, err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusOK, fmt.Errorf("/readyz %d: %s", resp.StatusCode, body)
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

// register makes the API server call in's webhook for Deployments, as
// the chart's ValidatingWebhookConfiguration does but at a loopback URL,
// and removes the configuration at cleanup.
func register(t *testing.T, admin kubernetes.Interface, name string, in *instance) {
	t.Helper()
	url := in.webhook + "/validate"
	cfg := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    "validate.plimsoll.dev",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: in.caPEM},
			FailurePolicy:           ptr.To(admissionregistrationv1.Ignore),
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNoneOnDryRun),
			TimeoutSeconds:          ptr.To[int32](5),
			AdmissionReviewVersions: []string{"v1"},
			MatchConditions: []admissionregistrationv1.MatchCondition{
				{Name: "not-kube-system", Expression: `request.namespace != "kube-system"`},
			},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments"}},
			}},
		}},
	}
	if _, err := admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(t.Context(), cfg, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		err := admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(context.Background(), name, metav1.DeleteOptions{})
		if err != nil {
			t.Errorf("delete the webhook configuration: %v", err)
		}
	})
}

// warnings is a client of the API server as the admin that records the
// warnings each request gets back.
type warnings struct {
	mu   sync.Mutex
	seen []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen = append(w.seen, text)
}

// take returns the warnings recorded since the last take.
func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.seen
	w.seen = nil
	return out
}

func warningClient(t *testing.T, cp *controlplane.ControlPlane) (kubernetes.Interface, *warnings) {
	t.Helper()
	w := &warnings{}
	cfg := rest.CopyConfig(cp.RESTConfig(controlplane.AdminUser))
	cfg.WarningHandler = w
	return kubernetes.NewForConfigOrDie(cfg), w
}

// deployment is a Deployment of replicas pods of image, with probes,
// requests and limits, so that what fails is what the test chose.
func deployment(ns, name string, replicas int32, image string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	probe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstrPort(8080)}}}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "web", Image: image,
					Ports:          []corev1.ContainerPort{{ContainerPort: 8080}},
					ReadinessProbe: probe, LivenessProbe: probe,
				}}},
			},
		},
	}
}

// createNamespace creates a namespace for one test.
func createNamespace(t *testing.T, admin kubernetes.Interface, name string) {
	t.Helper()
	if _, err := admin.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
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

func (r *recordingSink) latest() *report.Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reports) == 0 {
		return nil
	}
	return r.reports[len(r.reports)-1]
}

// writeServingCert writes to dir a serving certificate for 127.0.0.1
// (tls.crt, tls.key) signed by a new CA, and returns the CA's PEM: the
// caBundle the API server verifies the webhook with.
func writeServingCert(t *testing.T, dir string) []byte {
	t.Helper()
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "plimsoll e2e webhook CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("tls.crt", "CERTIFICATE", der)
	write("tls.key", "EC PRIVATE KEY", keyDER)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
}
