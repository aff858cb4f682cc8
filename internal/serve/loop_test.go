package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	testclock "k8s.io/utils/clock/testing"

	"github.com/plimsoll/plimsoll/internal/report"
)

// The loop's tests run it against fakes of its boundaries on a fake clock,
// in a synctest bubble: after each step of the clock, synctest.Wait
// returns once the loop has done all that step made due and waits again,
// so what it did is read without sleeping, and the same on a loaded
// machine as on an idle one. The fakes record each call with the fake
// clock's time since t0, as "1.1s audit".

// t0 is when the fake clock starts.
var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// fakes stand for the loop's boundaries: the informer cache (informers),
// the Auditor (audit) and the Sink. They record what the loop asks of
// them, and fail as told.
type fakes struct {
	clk *testclock.FakeClock

	mu     sync.Mutex
	events []string
	// discoveryFailures and syncFailures are how many of the next
	// discoveries and syncs fail; refused whether a type is refused.
	discoveryFailures, syncFailures int
	refused                         bool
}

func newFakes() *fakes { return &fakes{clk: testclock.NewFakeClock(t0)} }

// call records a call named what, and fails it with err while failures
// (one of the fakes' counts, or nil) is above zero, counting it down.
func (f *fakes) call(what string, failures *int, err error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if failures == nil || *failures == 0 {
		err = nil
	} else {
		*failures--
		what += " failed"
	}
	f.events = append(f.events, fmt.Sprintf("%v %s", f.clk.Since(t0), what))
	return err
}

func (f *fakes) discover(context.Context) error {
	return f.call("discover", &f.discoveryFailures, errors.New("connection refused"))
}

func (f *fakes) state() state {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refused {
		return state{unread: 1, refused: 1}
	}
	return state{synced: 1}
}

func (f *fakes) snapshot() *Snapshot { return &Snapshot{} }

func (f *fakes) stop() {}

func (f *fakes) audit(context.Context, *Snapshot) (*report.Report, error) {
	return &report.Report{}, f.call("audit", nil, nil)
}

func (f *fakes) Sync(context.Context, *report.Report) error {
	return f.call("sync", &f.syncFailures, errors.New("the API server refused the report"))
}

// set changes how the fakes answer from now on.
func (f *fakes) set(change func(*fakes)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

// timeline returns the events recorded whose name starts with prefix.
func (f *fakes) timeline(prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var got []string
	for _, e := range f.events {
		if _, name, _ := strings.Cut(e, " "); strings.HasPrefix(name, prefix) {
			got = append(got, e)
		}
	}
	return got
}

// runLoop runs the loop of a server with o, the fakes and their clock,
// in a bubble, from t0 to until after it, moving the clock grid at a time.
// After each step, once the loop acted, it calls at with the server and
// the time since t0, if at is set. The loop's first timer is set to fire
// at once, as it does on the real clock: a first step of 0 fires it.
func runLoop(t *testing.T, o Options, f *fakes, until, grid time.Duration, at func(s *server, at time.Duration)) {
	synctest.Test(t, func(*testing.T) {
		o.Clock, o.Audit = f.clk, f.audit
		if o.Log == nil {
			o.Log = slog.New(slog.DiscardHandler)
		}
		s := newLocalServer(o)
		s.cache = f
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.loop(ctx)
		}()
		synctest.Wait()
		f.clk.Step(0)
		synctest.Wait()
		for f.clk.Since(t0) < until {
			f.clk.Step(grid)
			synctest.Wait()
			if at != nil {
				at(s, f.clk.Since(t0))
				synctest.Wait()
			}
		}
		cancel()
		<-done
	})
}

// changeAt returns an at for runLoop that tells the loop of a change at
// each of times, as the cache does.
func changeAt(times ...time.Duration) func(*server, time.Duration) {
	return func(s *server, at time.Duration) {
		if slices.Contains(times, at) {
			signal(s.wake)
		}
	}
}

// crdChangeAt returns an at for runLoop that tells the loop of a changed
// CustomResourceDefinition at each of times, as the cache does.
func crdChangeAt(times ...time.Duration) func(*server, time.Duration) {
	return func(s *server, at time.Duration) {
		if slices.Contains(times, at) {
			signal(s.rediscover)
		}
	}
}

// started is the timeline of the loop's start, followed by then.
func started(then ...string) []string { return append([]string{"0s discover", "0s audit"}, then...) }

func expect(t *testing.T, got, want []string) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("got %q,\nwant %q\n(-want +got):\n%s", got, want, d)
	}
}

// every returns the times from first to last, period apart.
func every(first, last, period time.Duration) []time.Duration {
	var at []time.Duration
	for d := first; d <= last; d += period {
		at = append(at, d)
	}
	return at
}

// TestLoopDebounce: a change is audited after the settling delay
// (Debounce/20, 100 ms), not sooner, and no sooner than Debounce after the
// previous audit started; a burst gives one audit per Debounce, and a
// constant stream of changes one every Debounce, the timer never pushed
// back. The clock moves 10 ms at a time.
func TestLoopDebounce(t *testing.T) {
	for _, c := range []struct {
		name    string
		changes []time.Duration
		want    []string
	}{
		{"a change to a quiet cluster", []time.Duration{5 * time.Second}, []string{"5.1s audit"}},
		{"a change 0.4s after an audit", []time.Duration{5 * time.Second, 5500 * time.Millisecond}, []string{"5.1s audit", "7.1s audit"}},
		{"a burst within the settling delay", every(5*time.Second, 5090*time.Millisecond, 10*time.Millisecond), []string{"5.1s audit"}},
		{"a burst of a second", every(5*time.Second, 6*time.Second, 10*time.Millisecond), []string{"5.1s audit", "7.1s audit"}},
		{"a constant stream", every(5*time.Second, 15*time.Second, 50*time.Millisecond), []string{
			"5.1s audit", "7.1s audit", "9.1s audit", "11.1s audit", "13.1s audit", "15.1s audit",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakes()
			runLoop(t, Options{Debounce: 2 * time.Second, Resync: time.Hour}, f, 20*time.Second, 10*time.Millisecond, changeAt(c.changes...))
			expect(t, f.timeline(""), started(c.want...))
		})
	}
}

// TestLoopDiscoveryBackoff: a failed discovery is tried again after 1 s,
// then 2 s, 4 s, ... up to maxDiscoveryBackoff (30 s), with no audit before
// one succeeds; after a success, the next failure waits 1 s again.
func TestLoopDiscoveryBackoff(t *testing.T) {
	f := newFakes()
	f.discoveryFailures = 7
	crdChange := crdChangeAt(2 * time.Minute)
	runLoop(t, Options{Debounce: 2 * time.Second, Resync: time.Hour}, f, 3*time.Minute, 100*time.Millisecond, func(s *server, at time.Duration) {
		if at == 2*time.Minute {
			f.set(func(f *fakes) { f.discoveryFailures = 2 })
		}
		crdChange(s, at)
	})
	expect(t, f.timeline(""), []string{
		"0s discover failed", "1s discover failed", "3s discover failed", "7s discover failed",
		"15s discover failed", "31s discover failed", "1m1s discover failed",
		"1m31s discover", "1m31s audit",
		"2m0.1s discover failed", "2m1.1s discover failed", "2m3.1s discover", "2m3.1s audit",
	})
}

// TestLoopRefusedRetry: while a type is refused, the types are discovered
// again refusedRetry (15 s) after a tick first saw the refusal, then 30 s,
// 60 s, ... up to Resync (100 s here), each at the first tick after the
// wait and the settling delay after that tick; Resync's own rediscoveries
// come between. Once a tick sees nothing refused, the next refusal waits
// 15 s again.
func TestLoopRefusedRetry(t *testing.T) {
	f := newFakes()
	f.refused = true
	runLoop(t, Options{Debounce: 2 * time.Second, Resync: 100 * time.Second}, f, 310*time.Second, 100*time.Millisecond, func(_ *server, at time.Duration) {
		switch at {
		case 250 * time.Second:
			f.set(func(f *fakes) { f.refused = false })
		case 260 * time.Second:
			f.set(func(f *fakes) { f.refused = true })
		}
	})
	expect(t, f.timeline("discover"), []string{
		"0s discover",      // a tick at 1s sees the refusal: retry after 15s
		"17.1s discover",   // after the tick at 17s; at 18s: retry after 30s
		"49.1s discover",   // at 50s: retry after 60s
		"1m40.1s discover", // Resync
		"1m51.1s discover", // at 112s: retry after 100s, Resync
		"3m20.1s discover", // Resync
		"3m33.1s discover", // nothing refused from 250s; refused again from 260s, seen at 261s: retry after 15s
		"4m37.1s discover", // at 278s: retry after 30s
		"5m0.1s discover",  // Resync
		"5m9.1s discover",
	})
}

// TestLoopSinkRetry: a failed Sync is tried again with the latest report
// at the first tick after sinkRetry (10 s), then after twice as long while
// it fails; a new report before then waits for the retry too, so a sink
// that cannot work is not tried on every change.
func TestLoopSinkRetry(t *testing.T) {
	for _, c := range []struct {
		name     string
		failures int
		changes  []time.Duration
		want     []string
	}{
		{"one failure", 1, nil, []string{"0s sync failed", "11s sync"}},
		{"three failures", 3, nil, []string{"0s sync failed", "11s sync failed", "32s sync failed", "1m13s sync"}},
		{"a new report before the retry", 1, []time.Duration{3 * time.Second}, []string{"0s sync failed", "3.1s audit", "11s sync"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakes()
			f.syncFailures = c.failures
			runLoop(t, Options{Debounce: 2 * time.Second, Resync: time.Hour, Sink: f}, f, 2*time.Minute, 100*time.Millisecond, changeAt(c.changes...))
			expect(t, f.timeline(""), started(c.want...))
		})
	}
}

// TestLoopSinkDown: a sink that keeps failing (the PolicyReport CRDs are
// not installed) is tried with waits that grow to maxSinkBackoff, said
// once as an error and then only at debug level, and its recovery is
// said; plimsoll_report_sink_ok follows it.
func TestLoopSinkDown(t *testing.T) {
	f := newFakes()
	f.syncFailures = 12
	var logs strings.Builder
	o := Options{Debounce: 2 * time.Second, Resync: 24 * time.Hour, Sink: f,
		Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	var okWhileFailing, okAfter float64 = -1, -1
	runLoop(t, o, f, time.Hour, time.Second, func(s *server, at time.Duration) {
		switch at {
		case 5 * time.Second:
			okWhileFailing = testutil.ToFloat64(s.metrics.sinkOK)
		case 59 * time.Minute:
			okAfter = testutil.ToFloat64(s.metrics.sinkOK)
		}
	})
	syncs := f.timeline("sync")
	if len(syncs) != 13 {
		t.Fatalf("got %d syncs, want 12 failed and one done: %v", len(syncs), syncs)
	}
	var last time.Duration
	for i, e := range syncs {
		at, err := time.ParseDuration(strings.Fields(e)[0])
		if err != nil {
			t.Fatal(err)
		}
		if wait := at - last; i > 0 && (wait < sinkRetry || wait > maxSinkBackoff+tick) {
			t.Errorf("sync %d came %v after the one before, want between %v and %v", i, wait, sinkRetry, maxSinkBackoff+tick)
		}
		last = at
	}
	if last < 30*time.Minute {
		t.Errorf("the 13th sync came at %v: the waits do not grow to minutes", last)
	}
	text := logs.String()
	if n := strings.Count(text, "level=ERROR"); n != 1 {
		t.Errorf("%d errors logged, want the failing sink said once:\n%s", n, text)
	}
	if n := strings.Count(text, "level=DEBUG msg=\"report sink failed"); n != 11 {
		t.Errorf("%d failures logged at debug level, want 11", n)
	}
	if !strings.Contains(text, "report sink works again") {
		t.Errorf("the recovery is not said:\n%s", text)
	}
	if okWhileFailing != 0 || okAfter != 1 {
		t.Errorf("plimsoll_report_sink_ok was %v while failing and %v after, want 0 and 1", okWhileFailing, okAfter)
	}
}

// TestLoopRediscover: every Resync the types are discovered again and the
// cluster re-audited, without a change; a change to a
// CustomResourceDefinition rediscovers after the settling delay.
func TestLoopRediscover(t *testing.T) {
	for _, c := range []struct {
		name string
		crds []time.Duration // when a CustomResourceDefinition changes
		want []string
	}{
		{"at rest", nil, []string{"5m0.1s discover", "5m0.1s audit", "10m0.1s discover", "10m0.1s audit"}},
		{"a CustomResourceDefinition changed", []time.Duration{30 * time.Second}, []string{
			"30.1s discover", "30.1s audit", "5m0.1s discover", "5m0.1s audit", "10m0.1s discover", "10m0.1s audit",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakes()
			runLoop(t, Options{Debounce: 2 * time.Second, Resync: 5 * time.Minute}, f, 11*time.Minute, 100*time.Millisecond, crdChangeAt(c.crds...))
			expect(t, f.timeline(""), started(c.want...))
		})
	}
}

// TestLoopLostAPIServer: while every request to the API server fails, a
// change is not audited; the first answer after that audits at once (after
// the settling delay), with or without a change in between.
func TestLoopLostAPIServer(t *testing.T) {
	for _, c := range []struct {
		name    string
		changes []time.Duration
	}{
		{"a change while lost", []time.Duration{10500 * time.Millisecond}},
		{"no change", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakes()
			change := changeAt(c.changes...)
			runLoop(t, Options{Debounce: 2 * time.Second, Resync: time.Hour}, f, 30*time.Second, 100*time.Millisecond, func(s *server, at time.Duration) {
				switch at {
				case 10 * time.Second:
					s.health.record(false) // a request failed at the transport
				case 20500 * time.Millisecond:
					s.health.record(true) // a request got an answer
				}
				change(s, at)
			})
			expect(t, f.timeline(""), started("20.6s audit"))
		})
	}
}

// mountedConfig is a configuration file as the kubelet mounts a ConfigMap's
// key: name -> ..data/name, ..data -> a directory of the current content.
type mountedConfig struct {
	dir, name string
	version   int
}

func newMountedConfig(t *testing.T, name, content string) *mountedConfig {
	m := &mountedConfig{dir: t.TempDir(), name: name}
	m.write(t, content)
	if err := os.Symlink(filepath.Join("..data", name), filepath.Join(m.dir, name)); err != nil {
		t.Fatal(err)
	}
	return m
}

func (m *mountedConfig) path() string { return filepath.Join(m.dir, m.name) }

// write puts content in a new directory and points ..data at it, as the
// kubelet does: through a ..data_tmp symlink renamed over ..data, so that
// a reader sees the old content or the new one, never a mix.
func (m *mountedConfig) write(t *testing.T, content string) {
	m.version++
	ts := fmt.Sprintf("..2026_11_21_12_00_%02d.%d", m.version, m.version)
	if err := os.Mkdir(filepath.Join(m.dir, ts), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(m.dir, ts, m.name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(m.dir, "..data_tmp")
	if err := os.Symlink(ts, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(m.dir, "..data")); err != nil {
		t.Fatal(err)
	}
}

// TestLoopReloadConfig: the configuration file, a mounted ConfigMap whose
// symlink the kubelet swaps, is read every configPoll (10 s). A new content
// that loads is audited with from an audit at the next settling delay, and
// said; one that does not load leaves the previous one in force, is said
// once however often it is read, and sets plimsoll_config_reload_ok to 0
// until a content that loads.
func TestLoopReloadConfig(t *testing.T) {
	f := newFakes()
	m := newMountedConfig(t, "plimsoll.yaml", "a")
	// Load accepts one-word contents; the Auditor it makes records the
	// content it audits with.
	load := func(content []byte) (Auditor, error) {
		c := string(content)
		if strings.ContainsAny(c, " \n") {
			return nil, fmt.Errorf("configuration %s: %q is not one word", m.path(), c)
		}
		return func(context.Context, *Snapshot) (*report.Report, error) {
			return &report.Report{}, f.call("audit "+c, nil, nil)
		}, nil
	}
	var logs strings.Builder
	o := Options{Debounce: 2 * time.Second, Resync: time.Hour, Log: slog.New(slog.NewTextHandler(&logs, nil)),
		ConfigFile: &ConfigFile{Path: m.path(), Loaded: []byte("a"), Load: load}}
	ok := map[time.Duration]float64{}
	var loadedAt float64
	runLoop(t, o, f, 2*time.Minute, 100*time.Millisecond, func(s *server, at time.Duration) {
		switch at {
		case 5 * time.Second:
			loadedAt = testutil.ToFloat64(s.metrics.configTime)
		case 15 * time.Second:
			m.write(t, "b")
		case 35 * time.Second:
			m.write(t, "not valid")
		case 75 * time.Second:
			m.write(t, "c")
		}
		ok[at] = testutil.ToFloat64(s.metrics.configOK)
	})
	expect(t, f.timeline(""), started(
		"20.1s audit b", // read at 20s, audited after the settling delay
		"1m20.1s audit c",
	))
	if want := float64(t0.Unix()); loadedAt != want {
		t.Errorf("plimsoll_config_last_reload_success_timestamp_seconds was %v at start, want %v", loadedAt, want)
	}
	for at, want := range map[time.Duration]float64{30 * time.Second: 1, 40 * time.Second: 0, 70 * time.Second: 0, 80 * time.Second: 1} {
		if ok[at] != want {
			t.Errorf("plimsoll_config_reload_ok was %v at %v, want %v", ok[at], at, want)
		}
	}
	text := logs.String()
	if n := strings.Count(text, "configuration reloaded"); n != 2 {
		t.Errorf("%q said %d times, want 2 (b and c):\n%s", "configuration reloaded", n, text)
	}
	if n := strings.Count(text, "level=ERROR msg=\"configuration not reloaded"); n != 1 {
		t.Errorf("the content that does not load said %d times, want once:\n%s", n, text)
	}
}
