package serve

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/plimsoll/plimsoll/internal/report"
	internalserve "github.com/plimsoll/plimsoll/internal/serve"
	"github.com/plimsoll/plimsoll/test/controlplane"
)

// TestServe follows one serve through a cluster's life: it first agrees
// with plimsoll audit, then sees a Deployment fixed and a namespace
// deleted, and rides out an API server restart.
func TestServe(t *testing.T) {
	cp, admin := cluster(t)
	ctx := t.Context()
	for _, o := range []struct {
		ns, name string
		probes   bool
	}{{"serve-apps", "web", false}, {"serve-apps", "api", true}, {"serve-doomed", "old", false}} {
		create(t, admin, o.ns, o.name, o.probes)
	}
	in := start(t, cp, serveUser, map[string]string{"POD_NAME": "serve-0", "POD_NAMESPACE": leaseNamespace})
	in.awaitReady(t)

	t.Run("same as audit", func(t *testing.T) {
		agree(t, cp, in, serveUser)
		mfs, err := in.metrics()
		if err != nil {
			t.Fatal(err)
		}
		for _, check := range []string{"container-readiness-probe", "container-liveness-probe"} {
			if n := results(mfs, check, "fail", "serve-apps"); n != 1 {
				t.Errorf("got %v %s failures in serve-apps, want 1 (Deployment web)", n, check)
			}
		}
		code, page, err := in.get("/")
		if err != nil || code != http.StatusOK || !strings.Contains(page, "<html") || !strings.Contains(page, "serve-apps") {
			t.Errorf("GET / = %d, %v; want 200 and the HTML report naming serve-apps", code, err)
		}
		if code, _, _ := in.get("/nothing-here"); code != http.StatusNotFound {
			t.Errorf("GET /nothing-here = %d, want 404", code)
		}
	})

	t.Run("a Deployment fixed", func(t *testing.T) {
		updateDeployment(t, admin, "serve-apps", "web", func(dep *appsv1.Deployment) {
			addProbes(&dep.Spec.Template.Spec.Containers[0])
		})
		waitFor(t, "web's probe failures to leave the metrics and the report", 2*time.Minute, func() (bool, error) {
			mfs, err := in.metrics()
			if err != nil {
				return false, err
			}
			r := in.sink.latest(t)
			for _, check := range []string{"container-readiness-probe", "container-liveness-probe"} {
				if n := results(mfs, check, "fail", "serve-apps"); n != 0 {
					return false, fmt.Errorf("metrics: %v %s failures in serve-apps", n, check)
				}
				for _, res := range r.Results {
					if res.Check == check && res.Status == "fail" && res.Object.Namespace == "serve-apps" {
						return false, fmt.Errorf("report: %s fails on %s", check, res.Object.ID())
					}
				}
			}
			return true, nil
		})
	})

	t.Run("a namespace deleted", func(t *testing.T) {
		mfs, err := in.metrics()
		if err != nil {
			t.Fatal(err)
		}
		if n := series(mfs, "serve-doomed"); n == 0 {
			t.Fatal("no metrics of serve-doomed before its deletion")
		}
		if err := admin.CoreV1().Namespaces().Delete(ctx, "serve-doomed", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "serve-doomed to leave the metrics and the report", 3*time.Minute, func() (bool, error) {
			mfs, err := in.metrics()
			if err != nil {
				return false, err
			}
			if n := series(mfs, "serve-doomed"); n > 0 {
				return false, fmt.Errorf("metrics: %d series of serve-doomed", n)
			}
			for _, res := range in.sink.latest(t).Results {
				if res.Object.ScoreNamespace() == "serve-doomed" {
					return false, fmt.Errorf("report: a result on %s", res.Object.ID())
				}
			}
			return true, nil
		})
	})

	t.Run("API server restart", func(t *testing.T) {
		p := poll(in)
		if err := cp.StopAPIServer(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "/readyz to fail while the API server is down", time.Minute, func() (bool, error) {
			return p.lastReady() == http.StatusServiceUnavailable, nil
		})
		if err := cp.StartAPIServer(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "/readyz to pass once the API server is back", 2*time.Minute, func() (bool, error) {
			return p.lastReady() == http.StatusOK, nil
		})
		p.stop()
		if p.healthFailures > 0 {
			t.Errorf("/healthz failed %d of %d times during the restart, want never", p.healthFailures, p.polls)
		}
		if !p.sawReady || !p.sawUnready {
			t.Errorf("/readyz answered 200 first: %v, then 503: %v; want both", p.sawReady, p.sawUnready)
		}
		// The informers watch again: a change after the restart is seen.
		create(t, admin, "serve-apps", "after-restart", false)
		waitFor(t, "a Deployment created after the restart in the metrics", 2*time.Minute, func() (bool, error) {
			mfs, err := in.metrics()
			if err != nil {
				return false, err
			}
			return results(mfs, "container-readiness-probe", "fail", "serve-apps") == 1, nil
		})
		agree(t, cp, in, serveUser)
	})
}

// TestServeLeaderElection runs two replicas: both serve metrics, exactly
// one hands reports to its sink, and when it stops the other takes over.
func TestServeLeaderElection(t *testing.T) {
	cp, admin := cluster(t)
	a := start(t, cp, serveUser, map[string]string{"POD_NAME": "serve-a", "POD_NAMESPACE": leaseNamespace})
	b := start(t, cp, serveUser, map[string]string{"POD_NAME": "serve-b", "POD_NAMESPACE": leaseNamespace})
	a.awaitReady(t)
	b.awaitReady(t)
	waitFor(t, "a leader to hand a report to its sink", time.Minute, func() (bool, error) {
		return a.sink.count()+b.sink.count() > 0, nil
	})
	// Both audit on their own; give a follower time to misbehave.
	time.Sleep(5 * time.Second)
	leader, follower := a, b
	if b.sink.count() > 0 {
		leader, follower = b, a
	}
	if n := follower.sink.count(); n != 0 {
		t.Fatalf("both replicas called their sinks (%d and %d reports)", leader.sink.count(), n)
	}
	for _, x := range []struct {
		in   *instance
		want float64
	}{{leader, 1}, {follower, 0}} {
		mfs, err := x.in.metrics()
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := gauge(mfs, "plimsoll_leader"); !ok || v != x.want {
			t.Errorf("plimsoll_leader = %v (%v), want %v", v, ok, x.want)
		}
		if _, ok := gauge(mfs, "plimsoll_coverage_percent"); !ok {
			t.Error("a replica serves no report metrics")
		}
	}
	if err := leader.stop(); err != nil {
		t.Fatal(err)
	}
	// The leader released the Lease as it stopped, so the other takes it
	// at its next retry (2 s, with jitter) rather than once the Lease (15 s)
	// expires. The wait below is generous for a loaded machine, so the
	// release is asserted on its own.
	lease, err := admin.CoordinationV1().Leases(leaseNamespace).Get(t.Context(), internalserve.DefaultLeaseName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if h := ptr.Deref(lease.Spec.HolderIdentity, ""); h == leader.pod {
		t.Errorf("the stopped leader %s still holds the Lease", h)
	}
	waitFor(t, "the other replica to take over", time.Minute, func() (bool, error) {
		return follower.sink.count() > 0, nil
	})
}

// TestServeAtRest: once synced, serve only watches and renews its Lease;
// it lists nothing.
func TestServeAtRest(t *testing.T) {
	cp, _ := cluster(t)
	in := start(t, cp, serveUser, map[string]string{"POD_NAME": "serve-rest", "POD_NAMESPACE": leaseNamespace})
	in.awaitReady(t)
	waitFor(t, "the first report", time.Minute, func() (bool, error) { return in.sink.count() > 0, nil })
	_, n := in.requests.since(0)
	time.Sleep(30 * time.Second)
	reqs, _ := in.requests.since(n)
	var watches, leases int
	for _, r := range reqs {
		switch {
		case strings.Contains(r, "watch=true"):
			watches++
		case strings.Contains(r, "/apis/coordination.k8s.io/v1/namespaces/"+leaseNamespace+"/leases/"):
			leases++
		default:
			t.Errorf("at rest, serve sent %s; want only watches and Lease renewals", r)
		}
	}
	t.Logf("in 30 s at rest: %d watch requests, %d Lease requests", watches, leases)
	if leases == 0 {
		t.Error("no Lease renewal in 30 s")
	}
}

// TestServeForbiddenKind runs serve as a user who may not list
// NetworkPolicies: the checks that need them are not assessed, as in
// plimsoll audit, the rest is audited, and the refused type is tried again
// only now and then.
func TestServeForbiddenKind(t *testing.T) {
	cp, _ := cluster(t)
	in := start(t, cp, limitedUser, nil, "--leader-elect=false")
	in.awaitReady(t)
	agree(t, cp, in, limitedUser)
	mfs, err := in.metrics()
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := labelled(mfs, "plimsoll_check_assessed", map[string]string{"check": "namespace-default-deny-ingress"}); !ok || v != 0 {
		t.Errorf("plimsoll_check_assessed{check=namespace-default-deny-ingress} = %v (%v), want 0", v, ok)
	}
	if v, ok := labelled(mfs, "plimsoll_resource_types", map[string]string{"state": "unread"}); !ok || v < 1 {
		t.Errorf("plimsoll_resource_types{state=unread} = %v (%v), want 1 or more", v, ok)
	}
	r := in.sink.latest(t)
	if !r.Partial {
		t.Error("the report is not marked partial")
	}
	// Tried again after 15 s, then 30 s: at most twice in 40 s.
	_, n := in.requests.since(0)
	time.Sleep(40 * time.Second)
	reqs, _ := in.requests.since(n)
	var again []string
	for _, q := range reqs {
		if strings.Contains(q, "networkpolicies") {
			again = append(again, q)
		}
	}
	if len(again) > 2 {
		t.Errorf("serve listed the refused type %d times in 40 s, want 2 at most:\n%s", len(again), strings.Join(again, "\n"))
	}
}

// agree waits until serve's latest report equals plimsoll audit's of the
// same cluster, and its metrics show the same: the cluster moves (kwok
// heartbeats), so both are read again until they do.
func agree(t *testing.T, cp *controlplane.ControlPlane, in *instance, user string) {
	t.Helper()
	waitFor(t, "serve's report and metrics to match plimsoll audit's", 2*time.Minute, func() (bool, error) {
		want := audit(t, cp, user)
		got := in.sink.latest(t)
		if got == nil {
			return false, errors.New("no report in the sink yet")
		}
		if d := cmp.Diff(want, got); d != "" {
			return false, fmt.Errorf("the sink's report differs from plimsoll audit's (-audit +serve):\n%s", d)
		}
		mfs, err := in.metrics()
		if err != nil {
			return false, err
		}
		return metricsMatch(mfs, want)
	})
}

// metricsMatch compares the metrics with a report: fail results by check,
// layer scores, overall score and coverage.
func metricsMatch(mfs map[string]*dto.MetricFamily, r *report.Report) (bool, error) {
	wantFails := map[string]float64{}
	for _, res := range r.Results {
		if res.Status == "fail" {
			wantFails[res.Check]++
		}
	}
	gotFails := map[string]float64{}
	for _, m := range family(mfs, "plimsoll_results") {
		if l := labels(m); l["status"] == "fail" {
			gotFails[l["check"]] += m.GetGauge().GetValue()
		}
	}
	if d := cmp.Diff(wantFails, gotFails); d != "" {
		return false, fmt.Errorf("fail results by check (-report +metrics):\n%s", d)
	}
	wantLayers := map[string]float64{}
	for _, l := range r.Score.Layers {
		if l.Score != nil {
			wantLayers[l.Layer] = *l.Score
		}
	}
	gotLayers := map[string]float64{}
	for _, m := range family(mfs, "plimsoll_layer_score") {
		gotLayers[labels(m)["layer"]] = m.GetGauge().GetValue()
	}
	if d := cmp.Diff(wantLayers, gotLayers); d != "" {
		return false, fmt.Errorf("layer scores (-report +metrics):\n%s", d)
	}
	if v, _ := gauge(mfs, "plimsoll_coverage_percent"); v != r.Score.Coverage.Percent {
		return false, fmt.Errorf("coverage: metrics %v, report %v", v, r.Score.Coverage.Percent)
	}
	if v, ok := gauge(mfs, "plimsoll_score"); r.Score.Overall == nil && ok || r.Score.Overall != nil && v != *r.Score.Overall {
		return false, fmt.Errorf("overall score: metrics %v (%v), report %v", v, ok, r.Score.Overall)
	}
	return true, nil
}

func family(mfs map[string]*dto.MetricFamily, name string) []*dto.Metric {
	if f := mfs[name]; f != nil {
		return f.GetMetric()
	}
	return nil
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// gauge is the value of an unlabelled gauge.
func gauge(mfs map[string]*dto.MetricFamily, name string) (float64, bool) {
	return labelled(mfs, name, nil)
}

// labelled is the value of the first series of name with the labels.
func labelled(mfs map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	for _, m := range family(mfs, name) {
		l := labels(m)
		match := true
		for k, v := range want {
			match = match && l[k] == v
		}
		if match {
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

// results sums plimsoll_results of a check, status and namespace.
func results(mfs map[string]*dto.MetricFamily, check, status, ns string) float64 {
	var n float64
	for _, m := range family(mfs, "plimsoll_results") {
		if l := labels(m); l["check"] == check && l["status"] == status && l["namespace"] == ns {
			n += m.GetGauge().GetValue()
		}
	}
	return n
}

// series counts the series that name a namespace.
func series(mfs map[string]*dto.MetricFamily, ns string) int {
	n := 0
	for name := range mfs {
		for _, m := range family(mfs, name) {
			if labels(m)["namespace"] == ns {
				n++
			}
		}
	}
	return n
}

// poller polls /healthz and /readyz every 100 ms until stopped.
type poller struct {
	quit chan struct{}
	wg   sync.WaitGroup

	mu                   sync.Mutex
	ready                int
	sawReady, sawUnready bool
	polls                int
	healthFailures       int
}

func poll(in *instance) *poller {
	p := &poller{quit: make(chan struct{})}
	p.wg.Go(func() {
		for {
			select {
			case <-p.quit:
				return
			case <-time.After(100 * time.Millisecond):
			}
			health, _, herr := in.get("/healthz")
			ready, _, _ := in.get("/readyz")
			p.mu.Lock()
			p.polls++
			if herr != nil || health != http.StatusOK {
				p.healthFailures++
			}
			p.ready = ready
			p.sawUnready = p.sawUnready || ready == http.StatusServiceUnavailable
			p.sawReady = p.sawReady || (p.sawUnready && ready == http.StatusOK)
			p.mu.Unlock()
		}
	})
	return p
}

func (p *poller) lastReady() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ready
}

func (p *poller) stop() {
	close(p.quit)
	p.wg.Wait()
}

func namespace(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

// create makes a Deployment of two replicas in ns (and ns, if it is new),
// with or without probes.
// updateDeployment reads a Deployment, changes it and writes it back.
func updateDeployment(t *testing.T, admin kubernetes.Interface, ns, name string, change func(*appsv1.Deployment)) {
	t.Helper()
	dep, err := admin.AppsV1().Deployments(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	change(dep)
	if _, err := admin.AppsV1().Deployments(ns).Update(t.Context(), dep, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func create(t *testing.T, admin kubernetes.Interface, ns, name string, probes bool) {
	t.Helper()
	ctx := t.Context()
	if _, err := admin.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
		if _, err := admin.CoreV1().Namespaces().Create(ctx, namespace(ns), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	labels := map[string]string{"app": name}
	c := corev1.Container{
		Name: "app", Image: "registry.example.com/" + name + ":1.0",
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("16Mi")},
		},
	}
	if probes {
		addProbes(&c)
	}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(2)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{c}},
			},
		},
	}
	if _, err := admin.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func addProbes(c *corev1.Container) {
	c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromString("http")}}}
	c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/live", Port: intstr.FromString("http")}}, PeriodSeconds: 20}
}
