package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/config"
	"github.com/plimsoll/plimsoll/internal/pipeline"
	"github.com/plimsoll/plimsoll/internal/policyreport"
	"github.com/plimsoll/plimsoll/internal/report"
	"github.com/plimsoll/plimsoll/internal/serve"
)

// ServeDeps are what a program running plimsoll serve in-process (a test,
// a benchmark) gives it instead of what a pod has. The zero value is the
// command as run.
type ServeDeps struct {
	// Listener, if set, is served instead of listening on --listen.
	Listener net.Listener
	// Sink, if set, receives the leader's reports.
	Sink serve.Sink
	// WrapTransport, if set, wraps the API client's transport, to watch
	// the requests serve sends.
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// WebhookListener, if set, is where --webhook serves instead of
	// --webhook-listen.
	WebhookListener net.Listener
}

type serveOptions struct {
	listen         string
	configFile     string
	debounce       time.Duration
	resync         time.Duration
	cluster        string
	leaderElect    bool
	leaseNamespace string
	leaseName      string
	policyReports  bool
	reportResults  int
	reportPasses   bool
	openReports    bool
	kube           *genericclioptions.ConfigFlags
	customChecks   []string
	webhook        bool
	webhookListen  string
	webhookCerts   string
	denyOn         string
}

func newServeCommand(s Streams, deps ServeDeps) *cobra.Command {
	kube := genericclioptions.NewConfigFlags(false)
	kube.CacheDir = nil
	// serve always watches the whole cluster: no -n.
	kube.Namespace = nil
	o := &serveOptions{kube: kube}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Keep a cluster audited: metrics, a live dashboard, and reports from the leader",
		Long: `Serve watches the cluster with shared informers (the kinds 'plimsoll audit'
reads, never Secrets) and re-audits it from that cache when something
changes, with the same checks, configuration and scoring as 'plimsoll
audit'. It serves, on --listen:

  /metrics   Prometheus metrics of the latest audit (plimsoll_*), and of serve
  /          the HTML report of the latest audit, reloading itself
  /healthz   200 while the process serves HTTP
  /readyz    200 once the first audit completed, while the API server answers

Changes are coalesced: an audit starts --debounce after the previous one at
the earliest, so a burst of changes gives one audit per --debounce. Every
--resync the resource types are discovered again and the cluster is
re-audited without changes. In a pod it uses the pod's service account.

The configuration file (--config) is read again every 10 seconds, so a
mounted ConfigMap that is edited takes effect without a restart: a new
content that loads is used from the next audit, which starts at once, and
"configuration reloaded" is logged; one that does not load is logged once
and the previous configuration stays in force, with
plimsoll_config_reload_ok at 0 until the file is fixed. A configuration
that does not load at start stops serve.

With --leader-elect (the default), the replicas elect a leader with the
Lease --lease-name in --lease-namespace; the leader alone writes reports
to the cluster. Every replica serves metrics and the dashboard. SIGTERM
stops the informers, releases the Lease and shuts the server down.

With --webhook it also serves a validating admission webhook over HTTPS on
--webhook-listen, at /validate, with the certificate in --webhook-cert-dir
(tls.crt and tls.key, read again when they change). An object created or
updated is placed into the cached cluster, in place of its stored version,
and judged alone with the same checks and configuration as the audits, so
that checks across objects (a budget for a Deployment, a NetworkPolicy for
a Pod) apply. Its failures come back as warnings; those at or above
--deny-on deny the request, are recorded as an Event on the object and
appear in the PolicyReports as failures "denied at admission". DELETE,
subresources and whatever cannot be judged are allowed: the webhook fails
open, and its configuration should say failurePolicy: Ignore.`,
		Example: `  plimsoll serve                                  # in a pod: the service account
  plimsoll serve --leader-elect=false --context prod --listen 127.0.0.1:8080
  plimsoll serve --webhook --webhook-cert-dir /tls --deny-on critical`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd.Context(), s, o, deps)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", ":8080", "address to serve /metrics, /, /healthz and /readyz on")
	f.StringVar(&o.configFile, "config", "", "configuration file, read again every 10s and used from the next audit when it changes (default: "+config.FileName+" found upward from the current directory)")
	f.DurationVar(&o.debounce, "debounce", serve.DefaultDebounce, "least time between the starts of two audits; changes in between are audited together")
	f.StringVar(&o.cluster, "cluster-name", "", `a "cluster" label on every metric, to tell clusters apart when one Prometheus holds many (or set it as an external label of each cluster's Prometheus)`)
	f.DurationVar(&o.resync, "resync", serve.DefaultResync, "rediscover resource types and re-audit this often, even without changes")
	f.BoolVar(&o.leaderElect, "leader-elect", true, "elect a leader among the replicas with a Lease; only the leader writes reports (off: this process does)")
	f.StringVar(&o.leaseNamespace, "lease-namespace", "", "namespace of the leader Lease (default: $POD_NAMESPACE, else plimsoll)")
	f.StringVar(&o.leaseName, "lease-name", serve.DefaultLeaseName, "name of the leader Lease")
	f.BoolVar(&o.policyReports, "policy-reports", true, "write each audit as wgpolicyk8s.io PolicyReports (per namespace) and a ClusterPolicyReport, from the leader")
	f.IntVar(&o.reportResults, "report-max-results", policyreport.DefaultMaxResults, "most results in one PolicyReport; the most severe failures are kept and the report says it was cut")
	f.BoolVar(&o.reportPasses, "report-passes", false, "include passing results in PolicyReports (the summary always counts them)")
	f.BoolVar(&o.openReports, "openreports", false, "write openreports.io Reports and ClusterReports instead of wgpolicyk8s.io PolicyReports")
	f.BoolVar(&o.webhook, "webhook", false, "also serve a validating admission webhook (HTTPS, POST /validate) that judges objects as they are created or updated")
	f.StringVar(&o.webhookListen, "webhook-listen", ":8443", "with --webhook: address the webhook serves HTTPS on")
	f.StringVar(&o.webhookCerts, "webhook-cert-dir", "", "with --webhook: directory holding the serving certificate and key, tls.crt and tls.key, read again when they change (required)")
	f.StringVar(&o.denyOn, "deny-on", "none", "with --webhook: deny a request when a check of this severity or above fails (info, low, medium, high, critical); below it, failures are warnings; none only warns")
	kube.AddFlags(f)
	addChecksFlag(f, &o.customChecks)
	return cmd
}

// webhookOptions are the webhook's options from the flags, or nil without
// --webhook.
func webhookOptions(o *serveOptions, deps ServeDeps) (*serve.Webhook, error) {
	if !o.webhook {
		if o.webhookCerts != "" || o.denyOn != "none" {
			return nil, errors.New("--webhook-cert-dir and --deny-on need --webhook")
		}
		return nil, nil
	}
	if o.webhookCerts == "" {
		return nil, errors.New("--webhook needs --webhook-cert-dir, the directory holding tls.crt and tls.key")
	}
	w := &serve.Webhook{Listener: deps.WebhookListener, CertDir: o.webhookCerts}
	if o.denyOn != "none" {
		sev, err := check.ParseSeverity(o.denyOn)
		if err != nil {
			return nil, fmt.Errorf("--deny-on: %w, or none", err)
		}
		w.DenyOn = &sev
	}
	return w, nil
}

// Serve runs plimsoll serve with args, the flags after "serve", until ctx
// ends, with deps in place of what a pod has.
func Serve(ctx context.Context, args []string, s Streams, deps ServeDeps) error {
	cmd := newServeCommand(s.withDefaults(), deps)
	cmd.SetArgs(args)
	cmd.SetOut(s.Out)
	cmd.SetErr(s.Err)
	cmd.SilenceUsage = true
	return cmd.ExecuteContext(ctx)
}

func runServe(ctx context.Context, s Streams, o *serveOptions, deps ServeDeps) error {
	if o.debounce <= 0 || o.resync <= 0 {
		return &exitError{ExitPartial, errors.New("--debounce and --resync must be positive")}
	}
	webhook, err := webhookOptions(o, deps)
	if err != nil {
		return &exitError{ExitPartial, err}
	}
	// The custom checks are the ones loaded now: a configuration read again
	// later is judged against them, and a change to checks.custom takes a
	// restart.
	cs, err := loadChecks(o.configFile, s.Dir, o.customChecks)
	if err != nil {
		return &exitError{ExitPartial, err}
	}
	reg := cs.Registry
	audit, configFile, err := serveConfig(o.configFile, s, reg)
	if err != nil {
		return &exitError{ExitPartial, err}
	}
	rc, kubeContext, err := restConfig(s, o.kube)
	if err != nil {
		return &exitError{ExitPartial, err}
	}
	if deps.WrapTransport != nil {
		rc.Wrap(deps.WrapTransport)
	}
	sink := deps.Sink
	if sink == nil && o.policyReports {
		w, err := policyreport.NewForConfig(rc, policyreport.Options{
			MaxResults: o.reportResults, IncludePasses: o.reportPasses, OpenReports: o.openReports,
		})
		if err != nil {
			return &exitError{ExitPartial, err}
		}
		sink = reportWriter{w: w, now: s.Now}
	}
	log := slog.New(slog.NewTextHandler(s.Err, nil))
	for _, e := range cs.Custom.Errors {
		// The other checks are loaded: serve audits with them.
		log.Error("a custom check could not be loaded", "file", e.File, "line", e.Line, "err", e.Err)
	}
	if soft := serve.LimitMemory(s.Getenv); soft > 0 {
		log.Info("garbage collection limit set from the container's memory limit", "bytes", soft)
	}
	opts := serve.Options{
		Config:   rc,
		Context:  kubeContext,
		Kinds:    pipeline.Kinds(reg),
		Sink:     sink,
		Listener: deps.Listener,
		Debounce: o.debounce,
		Resync:   o.resync,
		Cluster:  o.cluster,
		Log:      log,
		Audit:    audit,
		// ConfigFile is nil without a file: there is nothing to reload.
		ConfigFile: configFile,
		Webhook:    webhook,
	}
	if o.leaderElect {
		le := &serve.LeaderElection{Namespace: o.leaseNamespace, Name: o.leaseName, Identity: s.Getenv("POD_NAME")}
		if le.Namespace == "" {
			le.Namespace = s.Getenv("POD_NAMESPACE")
		}
		if le.Namespace == "" {
			le.Namespace = "plimsoll"
		}
		if le.Identity == "" {
			if le.Identity, err = os.Hostname(); err != nil {
				return &exitError{ExitPartial, fmt.Errorf("leader election identity: no POD_NAME and no hostname: %w", err)}
			}
		}
		opts.LeaderElection = le
	}
	if opts.Listener == nil {
		if opts.Listener, err = net.Listen("tcp", o.listen); err != nil {
			return &exitError{ExitPartial, fmt.Errorf("--listen: %w", err)}
		}
	}
	if webhook != nil && webhook.Listener == nil {
		if webhook.Listener, err = net.Listen("tcp", o.webhookListen); err != nil {
			opts.Listener.Close()
			return &exitError{ExitPartial, fmt.Errorf("--webhook-listen: %w", err)}
		}
	}
	if err := serve.Run(ctx, opts); err != nil {
		return &exitError{ExitPartial, err}
	}
	return nil
}

// serveConfig loads the configuration serve starts with: file, else
// config.FileName found upward from the working directory, else the
// defaults. It returns the Auditor that audits with it and, when it came
// from a file, what serve needs to load that file again when it changes.
// A file that does not load stops serve before it starts.
func serveConfig(file string, s Streams, reg *check.Registry) (serve.Auditor, *serve.ConfigFile, error) {
	auditor := func(cfg *config.Config) serve.Auditor {
		return pipeline.Auditor(pipeline.Options{Registry: reg, Config: cfg, Now: s.Now, Version: reportVersion()})
	}
	if file == "" {
		file = config.Find(s.Dir)
	}
	if file == "" {
		return auditor(config.Default()), nil, nil
	}
	load := func(content []byte) (serve.Auditor, error) {
		cfg, err := config.Decode(bytes.NewReader(content), reg)
		if err != nil {
			return nil, fmt.Errorf("configuration %s: %w", file, err)
		}
		cfg.File = file
		return auditor(cfg), nil
	}
	content, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, fmt.Errorf("read configuration: %w", err)
	}
	a, err := load(content)
	if err != nil {
		return nil, nil, err
	}
	return a, &serve.ConfigFile{Path: file, Loaded: content, Load: load}, nil
}

// reportWriter is the Sink that writes PolicyReports, stamped with the time
// they were written.
type reportWriter struct {
	w   *policyreport.Writer
	now func() time.Time
}

func (r reportWriter) Sync(ctx context.Context, rep *report.Report) error {
	_, err := r.w.Sync(ctx, rep, r.now())
	return err
}
