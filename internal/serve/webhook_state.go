package serve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"

	"github.com/plimsoll/plimsoll/internal/report"
)

// certFile is the webhook's serving certificate, read again when tls.crt
// or tls.key changes. A change is seen by stat at each TLS handshake (the
// API server keeps its connections, so handshakes are few): a new
// modification time, size or file, which covers cert-manager's Secret
// mounted by the kubelet (a symlink swapped to a new directory) and a file
// written in place. A pair that does not load (one file written, the
// other not yet) leaves the previous certificate serving and is tried
// again at the next handshake.
type certFile struct {
	crtPath, keyPath string
	log              *slog.Logger

	mu       sync.Mutex
	crt, key os.FileInfo
	cert     *tls.Certificate
	said     string // the last reload error logged
}

func loadCertFile(dir string) (*certFile, error) {
	c := &certFile{crtPath: filepath.Join(dir, "tls.crt"), keyPath: filepath.Join(dir, "tls.key"), log: slog.New(slog.DiscardHandler)}
	if _, err := c.get(nil); err != nil {
		return nil, fmt.Errorf("webhook serving certificate: %w", err)
	}
	return c, nil
}

// get is tls.Config.GetCertificate.
func (c *certFile) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	crt, err1 := os.Stat(c.crtPath)
	key, err2 := os.Stat(c.keyPath)
	err := errors.Join(err1, err2)
	if err == nil && c.cert != nil && sameFile(c.crt, crt) && sameFile(c.key, key) {
		return c.cert, nil
	}
	var cert tls.Certificate
	if err == nil {
		cert, err = tls.LoadX509KeyPair(c.crtPath, c.keyPath)
	}
	if err != nil {
		if c.cert == nil {
			return nil, err
		}
		if err.Error() != c.said {
			c.log.Error("webhook serving certificate not reloaded; serving the previous one", "dir", filepath.Dir(c.crtPath), "error", err)
			c.said = err.Error()
		}
		return c.cert, nil
	}
	if c.cert != nil {
		c.log.Info("webhook serving certificate reloaded", "dir", filepath.Dir(c.crtPath))
	}
	c.crt, c.key, c.cert, c.said = crt, key, &cert, ""
	return c.cert, nil
}

func sameFile(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size()
}

// eventRecorder records denials as events.k8s.io/v1 Events, through
// client-go's broadcaster: asynchronously, so that an answer never waits
// for the API server, and with its correlation, so that the same denial
// repeated becomes one Event with a series rather than many.
type eventRecorder struct {
	broadcaster events.EventBroadcaster
	recorder    events.EventRecorder
}

// EventReason is the reason of the Events that record denials.
const EventReason = "AdmissionDenied"

func newEventRecorder(c *rest.Config) (*eventRecorder, error) {
	cs, err := kubernetes.NewForConfig(c)
	if err != nil {
		return nil, err
	}
	b := events.NewBroadcaster(&events.EventSinkImpl{Interface: cs.EventsV1()})
	return &eventRecorder{broadcaster: b, recorder: b.NewRecorder(scheme.Scheme, "plimsoll")}, nil
}

func (e *eventRecorder) Denied(obj *unstructured.Unstructured, note string) {
	e.recorder.Eventf(obj, nil, corev1.EventTypeWarning, EventReason, "Admit", "%s", note)
}

func (e *eventRecorder) start(ctx context.Context) error {
	return e.broadcaster.StartRecordingToSinkWithContext(ctx)
}

// Denials reach the leader's reports (PolicyReports) as failures of their
// checks on the object denied, their message saying so, until the object
// is admitted, or for denialTTL; at most maxDenials objects are kept, the
// latest. A denied object is not in the cluster (or not as it was asked
// to be), so its audit cannot report it.
const (
	denialTTL  = time.Hour
	maxDenials = 100
)

type denial struct {
	at      time.Time
	results []report.Result
}

// denials are the latest denial of each object, by object.
type denials struct {
	now func() time.Time

	mu       sync.Mutex
	byObject map[report.Object]denial
}

func (d *denials) denied(key report.Object, operation string, rs []report.Result) {
	at := d.now()
	out := make([]report.Result, len(rs))
	for i, r := range rs {
		r.Message = fmt.Sprintf("denied at admission (%s, %s): %s", operation, at.UTC().Format(time.RFC3339), r.Message)
		r.Object = &key
		out[i] = r
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.byObject[key] = denial{at: at, results: out}
	for len(d.byObject) > maxDenials {
		var oldest report.Object
		first := true
		for k, v := range d.byObject {
			if first || v.at.Before(d.byObject[oldest].at) {
				oldest, first = k, false
			}
		}
		delete(d.byObject, oldest)
	}
}

func (d *denials) admitted(key report.Object) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.byObject, key)
}

// results are the denials' results, those older than denialTTL dropped,
// sorted by object.
func (d *denials) results() []report.Result {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	var keys []report.Object
	for k, v := range d.byObject {
		if now.Sub(v.at) > denialTTL {
			delete(d.byObject, k)
			continue
		}
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b report.Object) int {
		return slices.Compare([]string{a.Namespace, a.Kind, a.Name, a.APIVersion}, []string{b.Namespace, b.Kind, b.Name, b.APIVersion})
	})
	var out []report.Result
	for _, k := range keys {
		out = append(out, d.byObject[k].results...)
	}
	return out
}

// sinkReport is the report the sink receives: r, with the webhook's
// denials when there are any.
func (s *server) sinkReport(r *report.Report) *report.Report {
	if s.webhook == nil {
		return r
	}
	rs := s.webhook.denials.results()
	if len(rs) == 0 {
		return r
	}
	c := *r
	c.Results = append(slices.Clip(r.Results), rs...)
	return &c
}
