package serve

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

const (
	// tick is how often the loop looks again at what it waits for: types
	// still being listed, a lost API server, a sink to retry. It reads
	// local state only.
	tick = time.Second
	// sinkRetry is how long after a failed Sync it is tried again, doubling
	// while it keeps failing, up to maxSinkBackoff. A sink that fails for
	// good (the PolicyReport CRDs are not installed) is then tried a few
	// times an hour, and said so once.
	sinkRetry      = 10 * time.Second
	maxSinkBackoff = 5 * time.Minute
	// maxDiscoveryBackoff caps the wait between failed discoveries.
	maxDiscoveryBackoff = 30 * time.Second
	// refusedRetry is how long after a type was refused it is discovered
	// and listed again, doubling while it stays refused, up to Resync. A
	// refusal may be passing: an API server just restarted refuses until
	// its authorizer has read the RBAC objects.
	refusedRetry = 15 * time.Second
)

// server is one replica's state.
type server struct {
	o       Options
	config  *rest.Config // o.Config with the reachability wrapper
	cache   informers
	health  *reachability
	metrics *metrics
	reg     *prometheus.Registry
	// registerer is reg, with the cluster label when there is one.
	registerer prometheus.Registerer
	latest     atomic.Pointer[published]
	// auditor is the Auditor in force: Options.Audit, or the one made
	// from the configuration file's latest content. The loop sets it; the
	// loop and the admission webhook audit with it.
	auditor atomic.Pointer[Auditor]
	// webhook is the admission webhook's state; nil when it is off.
	webhook *webhook
	// denied tells the loop that a denial should reach the sink.
	denied chan struct{}
	// events, when serve made it, records the webhook's denials.
	events *eventRecorder

	// wake tells the loop the cache changed; rediscover that a
	// CustomResourceDefinition did; leading hands it the context of a
	// leadership just won.
	wake, rediscover chan struct{}
	leading          chan context.Context
}

// informers is what the loop needs of the informer cache: to make the
// informers match the served types, the types' state, the objects to
// audit, and to stop.
type informers interface {
	discover(ctx context.Context) error
	state() state
	snapshot() *Snapshot
	stop()
}

func newServer(o Options) (*server, error) {
	s := newLocalServer(o)
	s.config = rest.CopyConfig(o.Config)
	s.config.Wrap(s.health.wrap)
	dyn, err := dynamic.NewForConfig(s.config)
	if err != nil {
		return nil, err
	}
	disco, err := discovery.NewDiscoveryClientForConfig(s.config)
	if err != nil {
		return nil, err
	}
	s.cache = &cache{
		dyn: dyn, disco: disco, server: s.config.Host, context: o.Context, kinds: o.Kinds, log: o.Log,
		changed:    func() { signal(s.wake) },
		crdChanged: func() { signal(s.rediscover) },
		sources:    map[string]*source{},
	}
	if w := o.Webhook; w != nil {
		if w.Events == nil {
			rec, err := newEventRecorder(s.config)
			if err != nil {
				return nil, err
			}
			w.Events, s.events = rec, rec
		}
		if s.webhook, err = newWebhook(*w, s.registerer, o.Clock.Now); err != nil {
			return nil, err
		}
		s.webhook.certs.log = o.Log
	}
	return s, nil
}

// newLocalServer makes what of a server needs no API client: its channels,
// reachability, registry and metrics. The cache is left to the caller.
func newLocalServer(o Options) *server {
	s := &server{
		o:          o,
		denied:     make(chan struct{}, 1),
		wake:       make(chan struct{}, 1),
		rediscover: make(chan struct{}, 1),
		leading:    make(chan context.Context),
	}
	s.auditor.Store(&o.Audit)
	s.health = &reachability{now: o.Clock.Now, recovered: func() { signal(s.wake) }}
	s.reg = prometheus.NewRegistry()
	var reg prometheus.Registerer = s.reg
	if o.Cluster != "" {
		reg = prometheus.WrapRegistererWith(prometheus.Labels{"cluster": o.Cluster}, s.reg)
	}
	s.registerer = reg
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
	s.metrics = newMetrics(reg)
	registerState(reg, func() state { return s.cache.state() }, func() bool { return s.health.lostFor() < o.LostAfter })
	return s
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// loop discovers, audits and syncs until ctx ends, then stops the
// informers. It alone calls the Auditor and the Sink. It reads the time
// from s.o.Clock only; what to wait for is decided by auditDelay, backoff
// and refusals.
func (s *server) loop(ctx context.Context) {
	defer s.cache.stop()
	clk := s.o.Clock
	var (
		dirty        = true // an audit is due
		discover     = true // a discovery is due
		discoverWait = newBackoff(time.Second, maxDiscoveryBackoff)
		discoverAt   time.Time // when a failed discovery may be tried again
		lastStart    time.Time
		timer        = clk.NewTimer(0) // fires at once: discover
		armed        = true
		leaderCtx    context.Context // set while leading
		unsynced     bool            // the latest report has not reached the sink
		syncRetryAt  time.Time       // while a sink fails, when to try again
		syncWait     = newBackoff(sinkRetry, maxSinkBackoff)
		syncFailures int    // failed Syncs in a row
		syncError    string // the last one's error, said once
		retryRefused = newRefusals(s.o.Resync)
	)
	ticker := clk.NewTicker(tick)
	defer ticker.Stop()
	resync := clk.NewTicker(s.o.Resync)
	defer resync.Stop()
	var reload <-chan time.Time // ticks while there is a configuration file to read again
	watch := &configWatch{}
	if f := s.o.ConfigFile; f != nil {
		watch = &configWatch{file: f, seen: f.Loaded}
		s.metrics.configLoaded(clk.Now())
		poll := clk.NewTicker(configPoll)
		defer poll.Stop()
		reload = poll.C()
	}
	if s.o.LeaderElection == nil {
		leaderCtx = ctx
		s.metrics.leader.Set(1)
	}
	// arm schedules an audit (auditDelay). A timer already set is left
	// alone, so a stream of changes cannot put the audit off.
	arm := func() {
		if armed {
			return
		}
		timer.Reset(auditDelay(clk.Now(), lastStart, discoverAt, s.o.Debounce))
		armed = true
	}
	leading := func() bool { return leaderCtx != nil && leaderCtx.Err() == nil }
	// push hands the latest report to the sink. While the sink fails, a
	// new report waits for the retry, so a sink that cannot work (no CRDs)
	// is not tried on every change.
	push := func() {
		p := s.latest.Load()
		if p == nil || !leading() || s.o.Sink == nil {
			unsynced = false
			return
		}
		if syncFailures > 0 && clk.Now().Before(syncRetryAt) {
			unsynced = true
			return
		}
		if err := s.o.Sink.Sync(leaderCtx, s.sinkReport(p.report)); err != nil {
			s.metrics.syncs.WithLabelValues("error").Inc()
			s.metrics.sinkOK.Set(0)
			wait := syncWait.take()
			syncFailures++
			// Said once per error: the same error again is only debug.
			level := slog.LevelDebug
			if err.Error() != syncError {
				level = slog.LevelError
			}
			syncError = err.Error()
			s.o.Log.Log(ctx, level, "report sink failed; retrying with a wait that grows to minutes", "error", err, "in", wait, "failures", syncFailures)
			unsynced, syncRetryAt = true, clk.Now().Add(wait)
			return
		}
		s.metrics.syncs.WithLabelValues("ok").Inc()
		s.metrics.sinkOK.Set(1)
		if syncFailures > 0 {
			s.o.Log.Info("report sink works again", "after failures", syncFailures)
		}
		syncWait.reset()
		syncFailures, syncError, unsynced = 0, "", false
	}

	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
			dirty = true
			arm()
		case <-s.rediscover:
			discover, dirty = true, true
			arm()
		case <-resync.C():
			discover, dirty = true, true
			arm()
		case <-reload:
			if s.reloadConfig(ctx, watch) {
				dirty = true
				arm()
			}
		case <-s.denied:
			push()
		case lctx := <-s.leading:
			leaderCtx = lctx
			push()
		case <-ticker.C():
			if retryRefused.due(s.cache.state().refused > 0, clk.Now()) {
				discover, dirty = true, true
			}
			if dirty {
				arm()
			}
			if unsynced && clk.Now().After(syncRetryAt) {
				push()
			}
		case <-timer.C():
			armed = false
			if discover {
				if err := s.cache.discover(ctx); err != nil {
					wait := discoverWait.take()
					s.o.Log.Error("discovery failed; retrying", "error", err, "in", wait)
					discoverAt = clk.Now().Add(wait)
					arm()
					continue
				}
				discover, discoverAt = false, time.Time{}
				discoverWait.reset()
			}
			if !dirty || s.health.lostFor() > 0 {
				continue // a lost server's cache has nothing new; its recovery wakes the loop
			}
			snap := s.cache.snapshot()
			if snap == nil {
				continue // a type is still being listed; the ticker looks again
			}
			dirty = false
			lastStart = clk.Now()
			s.audit(ctx, snap)
			push()
		}
	}
}

// audit audits a snapshot and publishes the report.
func (s *server) audit(ctx context.Context, snap *Snapshot) {
	start := s.o.Clock.Now()
	r, err := (*s.auditor.Load())(ctx, snap)
	d := s.o.Clock.Since(start)
	if err != nil {
		s.metrics.audited(nil, d, s.o.Clock.Now())
		s.o.Log.Error("audit failed", "error", err)
		return
	}
	first := s.latest.Load() == nil
	s.latest.Store(&published{report: r})
	s.metrics.audited(r, d, s.o.Clock.Now())
	if first {
		s.o.Log.Info("first audit done", "objects", r.Summary.Objects, "fail", r.Summary.Fail, "seconds", d.Seconds())
	}
}
