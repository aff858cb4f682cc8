package serve

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus/testutil"
	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	testclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks"
	"github.com/plimsoll/plimsoll/internal/config"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/platform"
	"github.com/plimsoll/plimsoll/internal/policyreport"
	"github.com/plimsoll/plimsoll/internal/report"
)

// The handler's tests run serve's webhook against a cache that holds a
// fixed cluster, with the built-in checks and an auditor that audits as
// pipeline.Auditor does (pipeline imports this package, so it cannot be
// used here; test/e2e/webhook runs the real one).

// cachedCluster is the cluster the cache holds: a namespace, and in it a
// single-replica Deployment "old" that an UPDATE may replace.
var cachedCluster = []map[string]any{
	{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "shop"}},
	{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{"name": "default", "namespace": "shop"}},
	deployment("old", 1, "registry.example/web:1.0", nil),
}

// deployment is a Deployment whose container has requests, limits and
// probes, so that what fails is what a test sets: replicas, image,
// annotations.
func deployment(name string, replicas int64, image string, annotations map[string]any) map[string]any {
	meta := map[string]any{"name": name, "namespace": "shop", "labels": map[string]any{"app": name}}
	if annotations != nil {
		meta["annotations"] = annotations
	}
	probe := map[string]any{"httpGet": map[string]any{"path": "/healthz", "port": int64(8080)}}
	return map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
		"spec": map[string]any{
			"replicas": replicas,
			"selector": map[string]any{"matchLabels": map[string]any{"app": name}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"app": name}},
				"spec": map[string]any{"containers": []any{map[string]any{
					"name": "web", "image": image,
					"ports":          []any{map[string]any{"containerPort": int64(8080)}},
					"readinessProbe": probe, "livenessProbe": probe,
					"resources": map[string]any{
						"requests": map[string]any{"cpu": "100m", "memory": "128Mi"},
						"limits":   map[string]any{"memory": "128Mi"},
					},
				}}},
			},
		},
	}
}

// snapshotCache is an informers that holds a fixed snapshot.
type snapshotCache struct{ objects []*inventory.Object }

func (c *snapshotCache) discover(context.Context) error { return nil }
func (c *snapshotCache) state() state                   { return state{synced: 1} }
func (c *snapshotCache) stop()                          {}
func (c *snapshotCache) snapshot() *Snapshot {
	return &Snapshot{Objects: slices.Clone(c.objects)}
}

// recordedEvents records denials.
type recordedEvents struct {
	mu    sync.Mutex
	notes []string
}

func (r *recordedEvents) Denied(obj *unstructured.Unstructured, note string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, obj.GetKind()+" "+obj.GetNamespace()+"/"+obj.GetName()+": "+note)
}

func (r *recordedEvents) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.notes)
}

var webhookNow = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// webhookServer is a server with the webhook on, its cache holding
// cachedCluster, auditing with cfg.
func webhookServer(t testing.TB, cfg *config.Config, denyOn *check.Severity) (*server, *recordedEvents) {
	t.Helper()
	reg := builtinRegistry(t)
	auditor := func(_ context.Context, snap *Snapshot) (*report.Report, error) {
		a := audit.Run(platform.Inventory(inventory.FromCluster, snap.Objects), audit.Options{
			Registry: reg, Config: cfg, Now: webhookNow, Only: snap.Only,
		})
		return report.Build(a, report.Input{Tool: "plimsoll", Version: "test"}), nil
	}
	clk := testclock.NewFakeClock(webhookNow)
	s := newLocalServer(Options{Audit: auditor, Clock: clk, LostAfter: DefaultLostAfter, Log: slog.New(slog.DiscardHandler)})
	c := &snapshotCache{}
	for _, m := range cachedCluster {
		o, err := inventory.New(runtime.DeepCopyJSON(m), inventory.Source{Origin: "cluster"})
		if err != nil {
			t.Fatal(err)
		}
		c.objects = append(c.objects, o)
	}
	s.cache = c
	events := &recordedEvents{}
	dir := t.TempDir()
	writeCert(t, dir, "first")
	var err error
	s.webhook, err = newWebhook(Webhook{CertDir: dir, DenyOn: denyOn, Events: events}, s.registerer, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	return s, events
}

func builtinRegistry(t testing.TB) *check.Registry {
	t.Helper()
	reg, err := check.NewRegistry(checks.All())
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// review is an AdmissionReview of op on obj.
func review(op admissionv1.Operation, obj map[string]any, dryRun bool) []byte {
	raw, _ := json.Marshal(obj)
	u := unstructured.Unstructured{Object: obj}
	r := admissionv1.AdmissionReview{Request: &admissionv1.AdmissionRequest{
		UID: types.UID("uid-1"), Operation: op, Namespace: u.GetNamespace(), Name: u.GetName(),
		DryRun: ptr.To(dryRun),
	}}
	r.APIVersion, r.Kind = "admission.k8s.io/v1", "AdmissionReview"
	if op == admissionv1.Delete {
		r.Request.OldObject.Raw = raw
	} else {
		r.Request.Object.Raw = raw
	}
	out, _ := json.Marshal(r)
	return out
}

// post sends body to the webhook and returns the status and the response.
func post(t *testing.T, s *server, body []byte) (int, *admissionv1.AdmissionResponse, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	s.webhookHandler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return rec.Code, nil, rec.Body.String()
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("the answer is no AdmissionReview: %v: %s", err, rec.Body.String())
	}
	if out.APIVersion != "admission.k8s.io/v1" || out.Kind != "AdmissionReview" || out.Response == nil || out.Response.UID != "uid-1" {
		t.Fatalf("got %s", rec.Body.String())
	}
	return rec.Code, out.Response, rec.Body.String()
}

var findingRE = regexp.MustCompile(`([a-z0-9-]+) \((?:info|low|medium|high|critical)\): `)

// checksNamed are the IDs a set of warnings or a denial names, in order.
func checksNamed(lines ...string) []string {
	var ids []string
	for _, l := range lines {
		for _, m := range findingRE.FindAllStringSubmatch(l, -1) {
			ids = append(ids, m[1])
		}
	}
	return ids
}

func verdicts(s *server) map[string]float64 {
	out := map[string]float64{}
	for _, v := range []string{verdictAllowed, verdictWarned, verdictDenied, verdictSkipped, verdictInvalid} {
		out[v] = testutil.ToFloat64(s.webhook.requests.WithLabelValues(v))
	}
	return out
}

// TestWebhookWarns: a Deployment that fails checks is allowed with one
// warning per failure, cross-object checks included (three replicas and no
// PodDisruptionBudget in the cluster), and no Event.
func TestWebhookWarns(t *testing.T) {
	s, events := webhookServer(t, config.Default(), nil)
	code, resp, body := post(t, s, review(admissionv1.Create, deployment("web", 3, "nginx:latest", nil), false))
	if code != http.StatusOK || !resp.Allowed {
		t.Fatalf("got %d %s, want allowed", code, body)
	}
	got := checksNamed(resp.Warnings...)
	for _, want := range []string{"image-tag-latest", "pdb-coverage", "pod-network-policy"} {
		if !slices.Contains(got, want) {
			t.Errorf("warnings %q do not name %s", resp.Warnings, want)
		}
	}
	for _, notAtAdmission := range []string{"runtime-deployment-available", "drill-node-drain"} {
		if slices.Contains(got, notAtAdmission) {
			t.Errorf("warnings name %s, a check of what the cluster reports, which an object at admission does not have", notAtAdmission)
		}
	}
	if events.count() != 0 {
		t.Errorf("got %d Events, want none for an allowed request", events.count())
	}
	if v := verdicts(s); v[verdictWarned] != 1 {
		t.Errorf("verdicts %v, want one warned", v)
	}
}

// TestWebhookDenies: with a threshold, failures at or above it deny with a
// message that names them, the rest stay warnings, and the denial is
// recorded as an Event and reaches the sink's report (the PolicyReports);
// a dry run is judged alike but leaves neither; a threshold above every
// failure only warns.
func TestWebhookDenies(t *testing.T) {
	high := check.High
	s, events := webhookServer(t, config.Default(), &high)
	web := deployment("web", 3, "nginx:latest", nil)

	_, resp, _ := post(t, s, review(admissionv1.Create, web, true))
	if resp.Allowed || events.count() != 0 || len(s.webhook.denials.results()) != 0 {
		t.Fatalf("dry run: allowed %v, %d Events, %d denials; want denied, none, none", resp.Allowed, events.count(), len(s.webhook.denials.results()))
	}

	_, resp, body := post(t, s, review(admissionv1.Create, web, false))
	if resp.Allowed || resp.Result == nil || resp.Result.Code != http.StatusForbidden {
		t.Fatalf("got %s, want a denial with code 403", body)
	}
	denied := checksNamed(resp.Result.Message)
	for _, want := range []string{"image-tag-latest", "pdb-coverage"} { // both high
		if !slices.Contains(denied, want) {
			t.Errorf("denial %q does not name %s", resp.Result.Message, want)
		}
	}
	warned := checksNamed(resp.Warnings...)
	if !slices.Contains(warned, "pod-network-policy") || slices.Contains(warned, "pdb-coverage") {
		t.Errorf("warnings %q: want the medium pod-network-policy and not the high pdb-coverage", resp.Warnings)
	}
	if events.count() != 1 || !strings.HasPrefix(events.notes[0], "Deployment shop/web: plimsoll: Deployment shop/web fails") {
		t.Errorf("Events %q, want one on Deployment shop/web", events.notes)
	}

	// The denial reaches the sink's report, and so the PolicyReports.
	rep := s.sinkReport(&report.Report{})
	var inReports []string
	for _, pr := range policyreport.Build(rep, webhookNow, policyreport.Options{}) {
		results, _ := pr.Object["results"].([]any)
		for _, r := range results {
			m := r.(map[string]any)
			if msg, _ := m["message"].(string); strings.HasPrefix(msg, "denied at admission (CREATE, 2026-11-21T12:00:00Z)") {
				inReports = append(inReports, pr.GetNamespace()+" "+m["policy"].(string))
			}
		}
	}
	if !slices.Contains(inReports, "shop pdb-coverage") || !slices.Contains(inReports, "shop image-tag-latest") {
		t.Errorf("PolicyReports hold denials %q, want pdb-coverage and image-tag-latest in shop", inReports)
	}
	// Once the object is admitted, the denial leaves the reports.
	fixed := deployment("web", 3, "nginx:latest", map[string]any{audit.IgnoreAnnotation: "*"})
	if _, resp, _ := post(t, s, review(admissionv1.Create, fixed, false)); !resp.Allowed {
		t.Fatalf("the fixed Deployment was denied: %s", resp.Result.Message)
	}
	if rs := s.webhook.denials.results(); len(rs) != 0 {
		t.Errorf("after admission, %d denial results remain", len(rs))
	}

	critical := check.Critical
	s, _ = webhookServer(t, config.Default(), &critical)
	if _, resp, _ := post(t, s, review(admissionv1.Create, web, false)); !resp.Allowed || len(resp.Warnings) == 0 {
		t.Errorf("--deny-on critical: allowed %v with %d warnings, want allowed with warnings", resp.Allowed, len(resp.Warnings))
	}
}

// TestWebhookUpdateReplacesCachedObject: an UPDATE is judged as the new
// version, not beside the old one: the cached single replica would make
// workload-min-replicas fail, the update's three do not.
func TestWebhookUpdateReplacesCachedObject(t *testing.T) {
	s, _ := webhookServer(t, config.Default(), nil)
	_, resp, _ := post(t, s, review(admissionv1.Update, deployment("old", 3, "registry.example/web:1.0", nil), false))
	if got := checksNamed(resp.Warnings...); slices.Contains(got, "workload-min-replicas") {
		t.Errorf("warnings %q name workload-min-replicas: the old version was judged", resp.Warnings)
	}
	_, resp, _ = post(t, s, review(admissionv1.Update, deployment("old", 1, "registry.example/web:1.0", nil), false))
	if got := checksNamed(resp.Warnings...); !slices.Contains(got, "workload-min-replicas") {
		t.Errorf("warnings %q do not name workload-min-replicas for one replica", resp.Warnings)
	}
}

// TestWebhookHonoursConfiguration: exemptions (configuration and
// annotation) and severities set in configuration apply at admission as
// in audits.
func TestWebhookHonoursConfiguration(t *testing.T) {
	high := check.High
	t.Run("annotation", func(t *testing.T) {
		s, events := webhookServer(t, config.Default(), &high)
		web := deployment("web", 3, "nginx:latest", map[string]any{
			audit.IgnoreAnnotation: "*", audit.IgnoreReasonAnnotation: "a test",
		})
		_, resp, _ := post(t, s, review(admissionv1.Create, web, false))
		if !resp.Allowed || len(resp.Warnings) != 0 || events.count() != 0 {
			t.Errorf("allowed %v, warnings %q, %d Events; want allowed, none, none", resp.Allowed, resp.Warnings, events.count())
		}
	})
	t.Run("configuration", func(t *testing.T) {
		cfg, err := config.Decode(strings.NewReader(`
checks:
  severity:
    pod-network-policy: critical
exemptions:
  - checks: [image-tag-latest, pdb-coverage]
    namespaces: [shop]
    reason: a test
`), builtinRegistry(t))
		if err != nil {
			t.Fatal(err)
		}
		s, _ := webhookServer(t, cfg, &high)
		_, resp, body := post(t, s, review(admissionv1.Create, deployment("web", 3, "nginx:latest", nil), false))
		if resp.Allowed {
			t.Fatalf("got %s, want pod-network-policy, made critical, to deny", body)
		}
		if got := checksNamed(resp.Result.Message); !slices.Equal(got, []string{"pod-network-policy"}) {
			t.Errorf("denial names %q, want only pod-network-policy (the others are exempted)", got)
		}
	})
}

// TestWebhookSkips: DELETE, a subresource and an object it cannot read are
// allowed untouched.
func TestWebhookSkips(t *testing.T) {
	high := check.High
	s, events := webhookServer(t, config.Default(), &high)
	web := deployment("web", 3, "nginx:latest", nil)
	status := review(admissionv1.Update, web, false)
	status = bytes.Replace(status, []byte(`"operation":"UPDATE"`), []byte(`"subResource":"status","operation":"UPDATE"`), 1)
	unreadable := deployment("web", 3, "nginx:latest", nil)
	unreadable["spec"].(map[string]any)["replicas"] = "three"
	for name, body := range map[string][]byte{
		"delete":      review(admissionv1.Delete, web, false),
		"subresource": status,
		"unreadable":  review(admissionv1.Create, unreadable, false),
	} {
		t.Run(name, func(t *testing.T) {
			_, resp, got := post(t, s, body)
			if !resp.Allowed || len(resp.Warnings) != 0 || resp.Result != nil {
				t.Errorf("got %s, want allowed untouched", got)
			}
		})
	}
	if v := verdicts(s); v[verdictSkipped] != 3 || events.count() != 0 {
		t.Errorf("verdicts %v and %d Events, want three skipped and none", v, events.count())
	}
}

// TestWebhookRefusesMalformedReviews: what is not an admission.k8s.io/v1
// AdmissionReview with a request gets a 400 that says what is wrong.
func TestWebhookRefusesMalformedReviews(t *testing.T) {
	s, _ := webhookServer(t, config.Default(), nil)
	v1beta1 := bytes.Replace(review(admissionv1.Create, deployment("web", 1, "x:1", nil), false), []byte("admission.k8s.io/v1"), []byte("admission.k8s.io/v1beta1"), 1)
	for _, c := range []struct{ name, body, want string }{
		{"not JSON", "{", "not an AdmissionReview"},
		{"v1beta1", string(v1beta1), "want an admission.k8s.io/v1 AdmissionReview"},
		{"no request", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`, "has no request"},
		{"no object", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE"}}`, "a CREATE request without an object"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, body := post(t, s, []byte(c.body))
			if code != http.StatusBadRequest || !strings.Contains(body, c.want) {
				t.Errorf("got %d %q, want 400 saying %q", code, body, c.want)
			}
		})
	}
	if v := verdicts(s); v[verdictInvalid] != 4 {
		t.Errorf("verdicts %v, want four invalid", v)
	}
}

// TestWarningsFitTheAPIServer: warnings are single lines of at most 256
// runes, together at most 4096, so that the API server passes each on
// whole, and say how many were left out.
func TestWarningsFitTheAPIServer(t *testing.T) {
	var rs []report.Result
	for i := range 40 {
		rs = append(rs, report.Result{Check: "check-" + strings.Repeat("x", i), Severity: "medium",
			Message: "line one\nline two\t" + strings.Repeat("é", 300)})
	}
	ws := warnings(rs)
	total := 0
	for _, w := range ws {
		n := utf8.RuneCountInString(w)
		total += n
		if n > maxWarningRunes || strings.ContainsFunc(w, unicode.IsControl) {
			t.Errorf("warning of %d runes, or with a control character: %q", n, w)
		}
	}
	if total > maxWarningsRunes {
		t.Errorf("warnings total %d runes, want at most %d", total, maxWarningsRunes)
	}
	last := ws[len(ws)-1]
	if want := len(rs) - (len(ws) - 1); !strings.HasPrefix(last, "plimsoll: "+itoa(want)+" more failing checks") {
		t.Errorf("last warning %q, want it to count the %d left out", last, want)
	}
	if got := warnings(rs[:3]); len(got) != 3 {
		t.Errorf("three failures gave %d warnings", len(got))
	}
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }

// TestCertificateReloads: a certificate written over the old one serves
// from the next handshake; a pair that does not load leaves the old one.
func TestCertificateReloads(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, dir, "first")
	c, err := loadCertFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	serial := func() string {
		t.Helper()
		cert, err := c.get(nil)
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return leaf.Subject.CommonName
	}
	if got := serial(); got != "first" {
		t.Fatalf("got %s, want first", got)
	}
	writeCert(t, dir, "second")
	if got := serial(); got != "second" {
		t.Errorf("after rotation got %s, want second", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), []byte("half written"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := serial(); got != "second" {
		t.Errorf("with a broken key got %s, want the previous certificate", got)
	}
	if _, err := loadCertFile(t.TempDir()); err == nil {
		t.Error("a directory without a certificate loaded")
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1 named cn, and
// its key, to dir as tls.crt and tls.key, replacing the files as the
// kubelet does: a new file renamed into place.
func writeCert(t testing.TB, dir, cn string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for name, block := range map[string]*pem.Block{
		"tls.crt": {Type: "CERTIFICATE", Bytes: der},
		"tls.key": {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		tmp := filepath.Join(dir, name+".tmp")
		if err := os.WriteFile(tmp, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkAdmission is what one admission costs with a cache of
// b's size: the snapshot, the inventory of the whole cluster and the
// checks of the one object. Run with -bench Admission -benchmem.
func BenchmarkAdmission(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		b.Run(strconv.Itoa(n)+"-deployments", func(b *testing.B) {
			s, _ := webhookServer(b, config.Default(), nil)
			c := s.cache.(*snapshotCache)
			for i := range n {
				d := deployment("d"+strconv.Itoa(i), 2, "registry.example/web:1.0", nil)
				d["metadata"].(map[string]any)["namespace"] = "ns" + strconv.Itoa(i%50)
				o, err := inventory.New(d, inventory.Source{Origin: "cluster"})
				if err != nil {
					b.Fatal(err)
				}
				c.objects = append(c.objects, o)
			}
			body := review(admissionv1.Create, deployment("web", 3, "nginx:latest", nil), false)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(body))
				s.webhookHandler().ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatal(rec.Body.String())
				}
			}
		})
	}
}
