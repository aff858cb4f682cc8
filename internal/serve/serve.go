// Package serve keeps a cluster audited: plimsoll serve. Shared informers,
// one per resource type that checks need, hold the cluster's objects,
// trimmed (cluster.Prepare) and decoded (inventory.New) as they arrive; a
// change re-audits the cluster from that cache with the same engine as
// plimsoll audit, so the two give the same report of the same cluster. The
// latest report is exported as Prometheus metrics (/metrics), shown as the
// HTML report (/), and handed to a Sink by the replica that holds the
// leader Lease.
//
// # Audits
//
// The first audit runs once every type has been listed (or refused). After
// that, a change to any watched object re-audits: the audit starts Debounce
// after the previous one started, and never sooner than a short settling
// delay (Debounce/20) after the change, so the objects of one kubectl apply
// are judged together. A burst of changes therefore yields at most one audit
// per Debounce, and a constant stream of changes still yields one every
// Debounce. Every Resync the types are discovered again (new custom
// resource types get informers, refused ones are tried again) and the
// cluster is re-audited even without changes, for the checks that judge
// ages. A change to a CustomResourceDefinition rediscovers at once. Nothing
// is listed again at rest: informers watch.
//
// # Configuration
//
// With Options.ConfigFile, the configuration file is read again every ten
// seconds on the loop's clock and its content compared with the last one
// read: the kubelet updates a mounted ConfigMap by swapping a symlink,
// which reading sees and a watch on the file may not. A new content that
// loads replaces the Auditor and re-audits at once; one that does not is
// logged once, leaves the previous Auditor in force and sets
// plimsoll_config_reload_ok to 0 until a content that loads.
//
// # Refused types
//
// A type the API server refuses to list (403, 404, 401) has its informer
// stopped; the checks that need it are not assessed, as in plimsoll audit.
// It is discovered and listed again after 15 seconds, then 30, 60, ... up
// to Resync: an API server that just restarted refuses until its
// authorizer has read the RBAC objects. A type that fails otherwise is
// reported unread while its informer retries with client-go's backoff.
//
// # Health
//
// /healthz answers 200 while the process serves HTTP; it never depends on
// the API server. /readyz answers 200 once the first audit completed and
// while the API server is reachable: it answers 503 when every request to
// the API server has failed at the transport (refused, reset, timed out)
// for LostAfter, and 200 again at the first request that gets an answer.
// Informers retry on their own; the first audit after a recovery runs at
// once.
package serve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"

	"github.com/plimsoll/plimsoll/internal/cluster"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/report"
)

// Defaults for Options.
const (
	DefaultDebounce  = 2 * time.Second
	DefaultResync    = 10 * time.Minute
	DefaultLostAfter = 5 * time.Second
	// DefaultLeaseName is the Lease the replicas elect their leader with.
	DefaultLeaseName = "plimsoll"
	// shutdownTimeout bounds how long open HTTP requests may delay exit.
	shutdownTimeout = 10 * time.Second
	// dashboardRefresh is how often the dashboard page reloads itself.
	dashboardRefresh = 10 * time.Second
)

// Sink receives each new report, from the leader only: the replica that
// holds the Lease (every replica when leader election is off). Sync is
// called after every audit while leading, and with the latest report when
// leadership is won; ctx ends when leadership is lost. Calls are never
// concurrent. A failed Sync is retried with the next report, or after
// sinkRetry if none comes.
type Sink interface {
	Sync(ctx context.Context, r *report.Report) error
}

// Snapshot is the cluster as the informers hold it at one moment, in the
// shape of a cluster read (cluster.Read): what plimsoll audit would have
// read.
type Snapshot struct {
	// Header has the server, its version, the kubeconfig context, the
	// types read in full and the types not read, and why.
	Header cluster.Header
	// Objects are the decoded objects of the types read.
	Objects []*inventory.Object
	// Errors are objects that were read but could not be decoded.
	Errors []error
	// Only, if set, is an object at admission, among Objects in place of
	// the version the cache holds: the Auditor judges it alone, against
	// the rest of the cluster (audit.Options.Only).
	Only *inventory.Object
}

// Auditor audits a snapshot and reports, as plimsoll audit does.
type Auditor func(ctx context.Context, s *Snapshot) (*report.Report, error)

// LeaderElection configures the Lease the replicas elect their leader with.
type LeaderElection struct {
	// Namespace and Name locate the Lease.
	Namespace, Name string
	// Identity names this replica in the Lease: the pod's name.
	Identity string
	// LeaseDuration, RenewDeadline and RetryPeriod are client-go's
	// leaderelection timings; zero means 15s, 10s and 2s.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

// Options configure Run.
type Options struct {
	// Config reaches the API server. Run copies it and wraps its
	// transport to tell whether the API server is reachable.
	Config *rest.Config
	// Context is the kubeconfig context the cluster is reached through,
	// for the report; empty in a pod.
	Context string
	// Kinds are the kind keys to watch, as checks name them.
	Kinds []string
	// Audit turns a snapshot into a report.
	Audit Auditor
	// ConfigFile, if set, is the configuration file Audit was made from,
	// read again every ten seconds: a new content that loads replaces
	// Audit and re-audits; one that does not is logged and leaves Audit in
	// force.
	ConfigFile *ConfigFile
	// Sink, if set, receives the leader's reports.
	Sink Sink
	// Listener is where the HTTP server listens; Run closes it.
	Listener net.Listener
	// Webhook, if set, serves the validating admission webhook on a
	// listener of its own.
	Webhook *Webhook
	// Debounce is the least time between the starts of two audits;
	// Resync the time between audits without changes. Zero means the
	// defaults.
	Debounce, Resync time.Duration
	// Cluster, if set, is the value of a "cluster" label on every metric,
	// so that one Prometheus can hold many clusters' series apart.
	Cluster string
	// LostAfter is how long requests to the API server must have failed
	// for /readyz to answer 503. Zero means DefaultLostAfter.
	LostAfter time.Duration
	// LeaderElection, if set, elects a leader among the replicas; nil
	// makes this replica the leader.
	LeaderElection *LeaderElection
	// Log receives what happens; nil discards it.
	Log *slog.Logger
	// Clock is the one source of time: the loop's debounce, backoff,
	// retries, tick and resync, the API server's reachability and the
	// metrics' times. Nil means the real clock.
	Clock clock.WithTicker
}

func (o *Options) defaults() error {
	if o.Config == nil || o.Audit == nil || o.Listener == nil {
		return errors.New("serve: Config, Audit and Listener are required")
	}
	if o.Debounce <= 0 {
		o.Debounce = DefaultDebounce
	}
	if o.Resync <= 0 {
		o.Resync = DefaultResync
	}
	if o.LostAfter <= 0 {
		o.LostAfter = DefaultLostAfter
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if w := o.Webhook; w != nil && (w.Listener == nil || w.CertDir == "") {
		return errors.New("serve: the webhook needs a Listener and a CertDir")
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if le := o.LeaderElection; le != nil {
		if le.Namespace == "" || le.Name == "" || le.Identity == "" {
			return errors.New("serve: leader election needs a Lease namespace, a name and an identity")
		}
		if le.LeaseDuration <= 0 {
			le.LeaseDuration = 15 * time.Second
		}
		if le.RenewDeadline <= 0 {
			le.RenewDeadline = 10 * time.Second
		}
		if le.RetryPeriod <= 0 {
			le.RetryPeriod = 2 * time.Second
		}
	}
	return nil
}

// Run serves until ctx ends, then stops the informers, releases the Lease
// if it holds it, and shuts the HTTP server down, waiting at most ten
// seconds for open requests. It returns an error only when it cannot
// start or the HTTP server fails; an unreachable API server is waited for.
func Run(ctx context.Context, o Options) error {
	if err := o.defaults(); err != nil {
		return err
	}
	s, err := newServer(o)
	if err != nil {
		o.Listener.Close()
		if o.Webhook != nil {
			o.Webhook.Listener.Close()
		}
		return err
	}
	servers := []*http.Server{{Handler: s.handler(s.reg), ReadHeaderTimeout: 10 * time.Second}}
	served := make(chan error, 2)
	go func() { served <- servers[0].Serve(o.Listener) }()
	o.Log.Info("serving", "address", o.Listener.Addr().String())
	ctx, cancel := context.WithCancel(ctx)
	if s.events != nil {
		if err := s.events.start(ctx); err != nil {
			cancel()
			return fmt.Errorf("record events: %w", err)
		}
		defer s.events.broadcaster.Shutdown()
	}
	if o.Webhook != nil {
		wh := &http.Server{
			Handler:           s.webhookHandler(),
			ReadHeaderTimeout: 10 * time.Second,
			TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: s.webhook.certs.get},
		}
		servers = append(servers, wh)
		go func() { served <- wh.ServeTLS(o.Webhook.Listener, "", "") }()
		o.Log.Info("serving the admission webhook", "address", o.Webhook.Listener.Addr().String())
	}

	var wg sync.WaitGroup
	wg.Go(func() { s.loop(ctx) })
	if o.LeaderElection != nil {
		wg.Go(func() { s.elect(ctx) })
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	cancel()
	wg.Wait() // informers stopped, Lease released
	shutdown, done := context.WithTimeout(context.Background(), shutdownTimeout)
	defer done()
	for _, srv := range servers {
		if err := srv.Shutdown(shutdown); err != nil {
			return fmt.Errorf("shut the HTTP server down: %w", err)
		}
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("HTTP server: %w", serveErr)
	}
	o.Log.Info("stopped")
	return nil
}
