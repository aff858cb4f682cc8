// Package controlplane starts a real Kubernetes control plane for tests:
// etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok
// (which simulates nodes and runs their pods on paper), built from the
// versions pinned under test/tools by hack/testcluster-build.
//
// Everything listens on 127.0.0.1 inside a network namespace that has only
// loopback (see InNetns), so nothing the API server is told to call, such as
// a webhook at a Service IP, can leave the machine. An e2e package starts one
// control plane for all its tests with Main and reaches it with Shared.
package controlplane

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// AdminUser is the user every control plane has, in group system:masters.
const AdminUser = "admin"

// User is an identity the API server authenticates by bearer token. What it
// may do is up to the RBAC objects a test creates.
type User struct {
	Name   string
	Groups []string
}

// Options configure Start. The zero value is ready to use.
type Options struct {
	// BinDir holds etcd, kube-apiserver, kube-controller-manager,
	// kube-scheduler and kwok, with kwok's stage files in ../kwok-stages.
	// Default: $PLIMSOLL_TESTENV_BIN, else what hack/testcluster-build prints
	// (it is run from the repository holding the working directory).
	BinDir string
	// Dir is the work directory: etcd data, certificates, kubeconfigs and
	// logs. Default: a temporary directory, removed by Stop.
	Dir string
	// Users are the users besides AdminUser.
	Users []User
	// Log, if set, also receives the components' logs, each line prefixed
	// with the component's name. They always go to files in Dir.
	Log io.Writer
	// ValidatingWebhooks turns the ValidatingAdmissionWebhook admission
	// plugin on, for the one test that registers plimsoll's own webhook at
	// a loopback URL (test/e2e/webhook). Such a control plane must hold no
	// other webhook configuration. MutatingAdmissionWebhook stays off.
	ValidatingWebhooks bool
}

// ControlPlane is a running control plane. Stop it when done.
type ControlPlane struct {
	URL     string // the API server, https://127.0.0.1:PORT
	Dir     string // the work directory
	BinDir  string // where the binaries came from
	EtcdURL string // etcd's client URL, http://127.0.0.1:PORT

	tempDir bool
	// validatingWebhooks is Options.ValidatingWebhooks.
	validatingWebhooks bool
	logTo              io.Writer
	logMu              sync.Mutex
	pki                *pki
	components         []*component
	apiserver          *component
	admin              kubernetes.Interface
	stopOnce           sync.Once
}

// Start starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler
// and kwok, in that order, each on free ports of 127.0.0.1, and returns once
// each is healthy and the controller-manager has created the default
// ServiceAccount. It refuses to run outside a network namespace that has
// only loopback. On failure everything started is stopped again, Dir is
// kept, and the error carries the end of the failing component's log.
func Start(ctx context.Context, o Options) (_ *ControlPlane, err error) {
	if err := checkIsolated(); err != nil {
		return nil, fmt.Errorf("refusing to start a control plane that could reach the network (call controlplane.InNetns first): %w", err)
	}
	bin, err := binDir(o.BinDir)
	if err != nil {
		return nil, err
	}
	c := &ControlPlane{BinDir: bin, Dir: o.Dir, logTo: o.Log}
	if c.Dir == "" {
		if c.Dir, err = os.MkdirTemp("", "plimsoll-controlplane-"); err != nil {
			return nil, err
		}
		c.tempDir = true
	} else if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			c.tempDir = false // keep the logs
			c.Stop()
		}
	}()
	if c.pki, err = writePKI(c.Dir, o.Users); err != nil {
		return nil, err
	}
	ports, err := freePorts(6)
	if err != nil {
		return nil, err
	}
	if err := c.startEtcd(ctx, ports[0], ports[1]); err != nil {
		return nil, err
	}
	c.validatingWebhooks = o.ValidatingWebhooks
	if err := c.startAPIServer(ctx, ports[2], o.ValidatingWebhooks); err != nil {
		return nil, err
	}
	if err := c.startControllers(ctx, ports[3], ports[4], ports[5]); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *ControlPlane) startEtcd(ctx context.Context, clientPort, peerPort int) error {
	c.EtcdURL = "http://127.0.0.1:" + strconv.Itoa(clientPort)
	peer := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	etcd, err := c.start("etcd",
		"--data-dir", filepath.Join(c.Dir, "etcd"),
		"--listen-client-urls", c.EtcdURL, "--advertise-client-urls", c.EtcdURL,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "default="+peer,
		"--unsafe-no-fsync", // test data: speed over durability
	)
	if err != nil {
		return err
	}
	return etcd.waitHealthy(ctx, httpOK(c.EtcdURL+"/health", ""))
}

func (c *ControlPlane) startAPIServer(ctx context.Context, port int, validatingWebhooks bool) error {
	c.URL = "https://127.0.0.1:" + strconv.Itoa(port)
	// Nothing may call out of the machine; tests get no webhooks but
	// plimsoll's own, at a loopback URL.
	disabled := "MutatingAdmissionWebhook,ValidatingAdmissionWebhook"
	if validatingWebhooks {
		disabled = "MutatingAdmissionWebhook"
	}
	var err error
	c.apiserver, err = c.start("kube-apiserver",
		"--etcd-servers", c.EtcdURL,
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", strconv.Itoa(port),
		"--tls-cert-file", c.pki.servingCert, "--tls-private-key-file", c.pki.servingKey,
		"--cert-dir", filepath.Join(c.Dir, "apiserver-certs"),
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file", c.pki.saKey, "--service-account-signing-key-file", c.pki.saKey,
		"--token-auth-file", c.pki.tokenFile,
		"--authorization-mode", "RBAC",
		"--service-cluster-ip-range", "10.0.0.0/24",
		"--allow-privileged=true", // as on real clusters; Pod Security admission is what restricts
		"--disable-admission-plugins", disabled,
		// Serve paginated lists' continuations from etcd, as before 1.34, so
		// that CompactEtcd expires continue tokens at once (see CompactEtcd).
		"--feature-gates", "ListFromCacheSnapshot=false",
	)
	if err != nil {
		return err
	}
	if err := c.apiserver.waitHealthy(ctx, httpOK(c.URL+"/readyz", c.pki.tokens[AdminUser])); err != nil {
		return err
	}
	for user := range c.pki.tokens {
		if err := c.writeKubeconfig(user); err != nil {
			return err
		}
	}
	c.admin, err = kubernetes.NewForConfig(c.RESTConfig(AdminUser))
	return err
}

// startControllers starts the controller-manager, the scheduler and kwok,
// and waits until the default ServiceAccount exists, the sign that the
// controllers are at work.
func (c *ControlPlane) startControllers(ctx context.Context, kcmPort, schedulerPort, kwokPort int) error {
	kubeconfig := c.Kubeconfig(AdminUser)
	kcm, err := c.start("kube-controller-manager",
		"--kubeconfig", kubeconfig, "--authentication-kubeconfig", kubeconfig, "--authorization-kubeconfig", kubeconfig,
		"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(kcmPort),
		"--leader-elect=false",
		// No node IPAM: kwok nodes need no pod CIDRs. No autoscaler: the
		// test clusters have no metrics API, so it would set every HPA's
		// ScalingActive to False some 30 s after its creation, and scale
		// targets without replicas from 1 to minReplicas at about 15 s;
		// two audits on either side of those moments would differ.
		"--controllers", "*,-node-ipam-controller,-horizontal-pod-autoscaler-controller",
		"--service-account-private-key-file", c.pki.saKey,
		"--root-ca-file", c.pki.caCert,
		"--cluster-signing-cert-file", c.pki.caCert, "--cluster-signing-key-file", c.pki.caKey,
		// kwok renews node leases every 5s (see below): a node whose kwok
		// stops is NotReady (Unknown) after 20s rather than 50s.
		"--node-monitor-grace-period", "20s", "--node-monitor-period", "2s",
		// Benchmarks create thousands of pods; client-go's defaults of
		// 20 requests a second would take minutes.
		"--kube-api-qps", "500", "--kube-api-burst", "1000",
	)
	if err != nil {
		return err
	}
	if err := kcm.waitHealthy(ctx, httpOK("https://127.0.0.1:"+strconv.Itoa(kcmPort)+"/healthz", "")); err != nil {
		return err
	}
	scheduler, err := c.start("kube-scheduler",
		"--kubeconfig", kubeconfig, "--authentication-kubeconfig", kubeconfig, "--authorization-kubeconfig", kubeconfig,
		"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(schedulerPort),
		"--leader-elect=false",
		"--kube-api-qps", "500", "--kube-api-burst", "1000",
	)
	if err != nil {
		return err
	}
	if err := scheduler.waitHealthy(ctx, httpOK("https://127.0.0.1:"+strconv.Itoa(schedulerPort)+"/healthz", "")); err != nil {
		return err
	}
	stages, err := writeKwokStages(c.BinDir, filepath.Join(c.Dir, "kwok-stages"))
	if err != nil {
		return err
	}
	args := []string{
		"--kubeconfig", kubeconfig,
		"--manage-all-nodes",
		"--node-ip", "127.0.0.1", "--cidr", "10.244.0.1/16", // pod IPs apart from Service IPs
		"--server-address", "127.0.0.1:" + strconv.Itoa(kwokPort),
		"--node-lease-duration-seconds", "20", // renewed every 5s
	}
	for _, stage := range stages {
		args = append(args, "-c", stage)
	}
	kwok, err := c.start("kwok", args...)
	if err != nil {
		return err
	}
	if err := kwok.waitHealthy(ctx, httpOK("http://127.0.0.1:"+strconv.Itoa(kwokPort)+"/healthz", "")); err != nil {
		return err
	}
	return kcm.waitHealthy(ctx, func(ctx context.Context) error {
		_, err := c.admin.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
		return err
	})
}

// Kubeconfig returns the path of a kubeconfig file for user (AdminUser or
// one of Options.Users): bearer-token authentication, and the generated CA
// to verify the API server. It panics for an unknown user.
func (c *ControlPlane) Kubeconfig(user string) string {
	c.token(user)
	return filepath.Join(c.Dir, user+".kubeconfig")
}

// RESTConfig returns a client configuration for user, as Kubeconfig does.
func (c *ControlPlane) RESTConfig(user string) *rest.Config {
	return &rest.Config{
		Host:            c.URL,
		BearerToken:     c.token(user),
		TLSClientConfig: rest.TLSClientConfig{CAData: c.pki.caPEM},
	}
}

func (c *ControlPlane) token(user string) string {
	token, ok := c.pki.tokens[user]
	if !ok {
		panic(fmt.Sprintf("controlplane: no user %q (add it to Options.Users)", user))
	}
	return token
}

func (c *ControlPlane) writeKubeconfig(user string) error {
	config := clientcmdapi.NewConfig()
	config.Clusters["plimsoll-test"] = &clientcmdapi.Cluster{Server: c.URL, CertificateAuthorityData: c.pki.caPEM}
	config.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: c.token(user)}
	config.Contexts[user] = &clientcmdapi.Context{Cluster: "plimsoll-test", AuthInfo: user, Namespace: corev1.NamespaceDefault}
	config.CurrentContext = user
	return clientcmd.WriteToFile(*config, filepath.Join(c.Dir, user+".kubeconfig"))
}

// StopAPIServer kills kube-apiserver, and only it, as when the API server
// goes away in the middle of an audit. Requests fail from then on, until
// StartAPIServer starts it again.
func (c *ControlPlane) StopAPIServer() error {
	if c.apiserver == nil {
		return fmt.Errorf("kube-apiserver is not running")
	}
	c.apiserver.kill()
	return nil
}

// StartAPIServer starts kube-apiserver again after StopAPIServer, on the
// same address, certificates and etcd, so clients reconnect to it as to a
// restarted API server, and returns once it is ready.
func (c *ControlPlane) StartAPIServer(ctx context.Context) error {
	if c.apiserver == nil {
		return fmt.Errorf("kube-apiserver was never started")
	}
	select {
	case <-c.apiserver.done:
	default:
		return fmt.Errorf("kube-apiserver is running")
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return err
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		return err
	}
	return c.startAPIServer(ctx, port, c.validatingWebhooks)
}

// Stop kills every component, newest first, and removes Dir if Start made
// it. It may be called more than once.
func (c *ControlPlane) Stop() {
	c.stopOnce.Do(func() {
		for i := len(c.components) - 1; i >= 0; i-- {
			c.components[i].kill()
		}
		if c.tempDir {
			os.RemoveAll(c.Dir)
		}
	})
}
