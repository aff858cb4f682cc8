package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/cluster"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/report"
)

// Webhook configures serve's validating admission webhook
// (Options.Webhook).
//
// It answers admission.k8s.io/v1 AdmissionReviews at POST /validate. An
// object being created or updated is placed into the cluster as the
// informer cache holds it (in place of its stored version) and judged
// alone, with the checks and configuration of serve's audits
// (Snapshot.Only): cross-object checks see the cluster's budgets, policies
// and Services. Failures below DenyOn come back as warnings, which kubectl
// and client-go show; failures at or above it deny the request. Anything
// it cannot judge (a DELETE, a subresource, an object it cannot decode, a
// cache still being read, a check that panics) is allowed: the webhook
// fails open, like its failurePolicy: Ignore.
type Webhook struct {
	// Listener is where the webhook serves HTTPS; Run closes it.
	Listener net.Listener
	// CertDir holds tls.crt and tls.key, the serving certificate (its
	// chain) and key. They are read again when either file changes, so that
	// a rotated certificate serves from the next TLS handshake on.
	CertDir string
	// DenyOn, if set, is the least severity whose failure denies a
	// request; nil warns and never denies.
	DenyOn *check.Severity
	// Events records each denial as an Event on its object; nil records
	// events.k8s.io/v1 Events through Options.Config.
	Events Events
}

// Events records denials.
type Events interface {
	// Denied records that obj, the object of a request, was denied for
	// the reason note.
	Denied(obj *unstructured.Unstructured, note string)
}

// The verdicts the webhook counts requests by.
const (
	verdictAllowed = "allowed" // judged, nothing failed
	verdictWarned  = "warned"  // judged, allowed with warnings
	verdictDenied  = "denied"
	verdictSkipped = "skipped" // allowed without judging: see Webhook
	verdictInvalid = "invalid" // not an AdmissionReview: answered 400
)

// Limits of what the webhook answers. The API server keeps at most 4096
// runes of warnings per response (k8s.io/apiserver/pkg/endpoints/filters,
// truncateAtTotalRunes); past that it cuts every warning to 256 runes
// (truncateItemRunes) and drops the rest, and it drops a warning that holds
// a control character (net.NewWarningHeader). So each warning is one line
// of at most maxWarningRunes, and they stop, with one that counts the
// rest, before the total would pass maxWarningsRunes.
const (
	maxWarningRunes  = 256
	maxWarningsRunes = 4096
	// maxDenialFindings is how many failures a denial's message lists.
	maxDenialFindings = 10
	// maxReviewBytes bounds a request body: an UPDATE carries the object
	// twice, and etcd takes objects of up to 1.5 MiB.
	maxReviewBytes = 8 << 20
	// eventNoteBytes is the most an Event's note may hold (events.k8s.io/v1).
	eventNoteBytes = 1024
)

// webhook is the webhook's state in a server.
type webhook struct {
	o        Webhook
	certs    *certFile
	requests *prometheus.CounterVec
	duration prometheus.Histogram
	denials  *denials
}

func newWebhook(o Webhook, reg prometheus.Registerer, now func() time.Time) (*webhook, error) {
	certs, err := loadCertFile(o.CertDir)
	if err != nil {
		return nil, err
	}
	w := &webhook{
		o:     o,
		certs: certs,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plimsoll_admission_requests_total",
			Help: "Admission requests the webhook answered, by verdict: allowed (nothing failed), warned (allowed with warnings), denied, skipped (allowed unjudged: a DELETE, a subresource, an object it cannot read, a cache still being read) or invalid (not an AdmissionReview).",
		}, []string{"verdict"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "plimsoll_admission_duration_seconds",
			Help:    "Time the webhook took to answer an admission request, from its body read to its answer written.",
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5},
		}),
		denials: &denials{now: now, byObject: map[report.Object]denial{}},
	}
	for _, v := range []string{verdictAllowed, verdictWarned, verdictDenied, verdictSkipped, verdictInvalid} {
		w.requests.WithLabelValues(v)
	}
	reg.MustRegister(w.requests, w.duration)
	return w, nil
}

// validate answers one AdmissionReview.
func (s *server) validate(w http.ResponseWriter, r *http.Request) {
	start := s.o.Clock.Now()
	verdict := verdictInvalid
	defer func() {
		s.webhook.requests.WithLabelValues(verdict).Inc()
		s.webhook.duration.Observe(s.o.Clock.Since(start).Seconds())
	}()
	review, err := readReview(w, r)
	if err != nil {
		http.Error(w, "plimsoll admission webhook: "+err.Error(), http.StatusBadRequest)
		return
	}
	var resp *admissionv1.AdmissionResponse
	resp, verdict, err = s.admit(r.Context(), review.Request)
	if err != nil {
		verdict = verdictInvalid
		http.Error(w, "plimsoll admission webhook: "+err.Error(), http.StatusBadRequest)
		return
	}
	out, err := json.Marshal(admissionv1.AdmissionReview{TypeMeta: review.TypeMeta, Response: resp})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(out)
}

// readReview reads an admission.k8s.io/v1 AdmissionReview with a request.
func readReview(w http.ResponseWriter, r *http.Request) (*admissionv1.AdmissionReview, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return nil, fmt.Errorf("content type %q: want application/json", ct)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxReviewBytes))
	if err != nil {
		return nil, fmt.Errorf("read the request: %w", err)
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil {
		return nil, fmt.Errorf("not an AdmissionReview: %w", err)
	}
	if gvk := review.GroupVersionKind(); gvk != admissionv1.SchemeGroupVersion.WithKind("AdmissionReview") {
		return nil, fmt.Errorf("got %s %s, want an admission.k8s.io/v1 AdmissionReview (admissionReviewVersions: [v1])", gvk.GroupVersion(), gvk.Kind)
	}
	if review.Request == nil || review.Request.UID == "" {
		return nil, errors.New("the AdmissionReview has no request, or a request without a uid")
	}
	return &review, nil
}

// admit judges one request. It returns an error only for a request no API
// server sends: a CREATE or UPDATE without an object.
func (s *server) admit(ctx context.Context, req *admissionv1.AdmissionRequest) (*admissionv1.AdmissionResponse, string, error) {
	resp := &admissionv1.AdmissionResponse{UID: req.UID, Allowed: true}
	if (req.Operation != admissionv1.Create && req.Operation != admissionv1.Update) || req.SubResource != "" {
		return resp, verdictSkipped, nil
	}
	var content map[string]any
	if err := json.Unmarshal(req.Object.Raw, &content); err != nil || content == nil {
		return nil, "", fmt.Errorf("a %s request without an object that decodes (%v)", req.Operation, err)
	}
	u := &unstructured.Unstructured{Object: content}
	if u.GetNamespace() == "" && req.Namespace != "" {
		u.SetNamespace(req.Namespace)
	}
	// What Events and the log name: the object before it is trimmed.
	regarding := &unstructured.Unstructured{Object: map[string]any{"apiVersion": u.GetAPIVersion(), "kind": u.GetKind(), "metadata": map[string]any{
		"name": u.GetName(), "generateName": u.GetGenerateName(), "namespace": u.GetNamespace(), "uid": string(u.GetUID()),
	}}}
	cluster.Trim(content)
	obj, err := inventory.New(content, inventory.Source{Origin: "admission"})
	if err != nil {
		s.o.Log.Debug("admission: cannot read the object; allowed unjudged", "kind", u.GetKind(), "namespace", u.GetNamespace(), "name", u.GetName(), "error", err)
		return resp, verdictSkipped, nil
	}
	snap := s.cache.snapshot()
	if snap == nil {
		return resp, verdictSkipped, nil // a type is still being listed
	}
	objects := make([]*inventory.Object, 0, len(snap.Objects)+1)
	for _, o := range snap.Objects {
		if o.KindKey() != obj.KindKey() || o.Namespace != obj.Namespace || o.Name != obj.Name {
			objects = append(objects, o)
		}
	}
	snap.Objects, snap.Only = append(objects, obj), obj
	rep, err := (*s.auditor.Load())(ctx, snap)
	if err != nil {
		s.o.Log.Error("admission: audit failed; allowed unjudged", "error", err)
		return resp, verdictSkipped, nil
	}
	var warn, deny []report.Result
	for _, res := range rep.Results {
		if res.Status != "fail" {
			continue
		}
		sev, _ := check.ParseSeverity(res.Severity)
		if d := s.webhook.o.DenyOn; d != nil && sev >= *d {
			deny = append(deny, res)
		} else {
			warn = append(warn, res)
		}
	}
	bySeverity(warn)
	bySeverity(deny)
	resp.Warnings = warnings(warn)
	key := report.Object{APIVersion: obj.APIVersion, Kind: obj.Kind, Namespace: obj.Namespace, Name: obj.Name}
	if len(deny) == 0 {
		if !dryRun(req) {
			s.webhook.denials.admitted(key)
		}
		if len(warn) > 0 {
			return resp, verdictWarned, nil
		}
		return resp, verdictAllowed, nil
	}
	msg := denialMessage(obj, deny, *s.webhook.o.DenyOn)
	resp.Allowed = false
	resp.Result = &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusForbidden, Reason: metav1.StatusReasonForbidden, Message: msg}
	if !dryRun(req) {
		s.webhook.o.Events.Denied(regarding, truncateBytes(msg, eventNoteBytes))
		s.webhook.denials.denied(key, string(req.Operation), deny)
		signal(s.denied)
	}
	return resp, verdictDenied, nil
}

func dryRun(req *admissionv1.AdmissionRequest) bool { return req.DryRun != nil && *req.DryRun }

// bySeverity sorts failures most severe first, then by check ID.
func bySeverity(rs []report.Result) {
	slices.SortStableFunc(rs, func(a, b report.Result) int {
		sa, _ := check.ParseSeverity(a.Severity)
		sb, _ := check.ParseSeverity(b.Severity)
		if sa != sb {
			return int(sb - sa)
		}
		return strings.Compare(a.Check, b.Check)
	})
}

// finding is one failure in a line: "check-id (severity): message".
func finding(r report.Result) string {
	return oneLine(r.Check + " (" + r.Severity + "): " + r.Message)
}

// warnings are the failures as the API server passes warnings on whole:
// each one line of at most maxWarningRunes, together at most
// maxWarningsRunes, the last one counting those left out.
func warnings(rs []report.Result) []string {
	var out []string
	total := 0
	for i, r := range rs {
		w := truncateRunes("plimsoll: "+finding(r), maxWarningRunes)
		n := utf8.RuneCountInString(w)
		// Room is kept for the line that counts what is left out.
		if i < len(rs)-1 && total+n > maxWarningsRunes-maxWarningRunes || total+n > maxWarningsRunes {
			out = append(out, fmt.Sprintf("plimsoll: %d more failing checks; plimsoll audit lists them all", len(rs)-i))
			break
		}
		out = append(out, w)
		total += n
	}
	return out
}

// denialMessage says why obj is denied: the failures at or above the
// threshold, most severe first, at most maxDenialFindings of them.
func denialMessage(obj *inventory.Object, deny []report.Result, threshold check.Severity) string {
	var b strings.Builder
	fmt.Fprintf(&b, "plimsoll: %s fails %d check(s) at or above %s:", obj.ID(), len(deny), threshold)
	for i, r := range deny {
		if i == maxDenialFindings {
			fmt.Fprintf(&b, "; and %d more", len(deny)-i)
			break
		}
		if i > 0 {
			b.WriteString(";")
		}
		b.WriteString(" " + truncateRunes(finding(r), maxWarningRunes))
	}
	return b.String()
}

// oneLine replaces control characters (newlines, tabs) with spaces: the
// API server drops a warning that holds one.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// truncateRunes cuts s to at most n runes, ending in "…" when cut.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// truncateBytes cuts s to at most n bytes on a rune boundary, ending in
// "…" when cut.
func truncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n-len("…")]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}
