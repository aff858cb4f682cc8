package fleet

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/plimsoll/plimsoll/internal/report"
	"github.com/plimsoll/plimsoll/test/controlplane"
)

// cluster is one member of the fleet.
type cluster struct {
	name  string
	cp    *controlplane.ControlPlane
	admin kubernetes.Interface
	serve *server
}

// TestFleet runs three clusters with different workloads, a plimsoll serve
// for each, and three fleet views of them (one Prometheus scraping the
// three; a global Prometheus federating from a Prometheus per cluster;
// Thanos Query over a sidecar per cluster), and holds each view's PromQL
// to plimsoll audit of each cluster, before and after a change in one of
// them.
func TestFleet(t *testing.T) {
	ctx := t.Context()
	began := time.Now()
	fleet := startFleet(t)
	a, b, c := fleet[0], fleet[1], fleet[2]

	// a: a ready Deployment of two replicas, probes and a PDB, on three
	// nodes in three zones.
	addNodes(t, a, "a", 3, 3)
	deploy(t, a, "shop", "web", 2, true)
	pdb(t, a, "shop", "web")
	// b: one replica without probes, on one node.
	addNodes(t, b, "b", 1, 1)
	deploy(t, b, "app", "api", 1, false)
	// c: several namespaces, some ready, some not, on two nodes in two
	// zones.
	addNodes(t, c, "c", 2, 2)
	deploy(t, c, "team-1", "front", 2, true)
	pdb(t, c, "team-1", "front")
	deploy(t, c, "team-1", "worker", 1, false)
	deploy(t, c, "team-2", "cache", 3, false)
	deploy(t, c, "team-3", "batch", 2, true)

	for _, cl := range fleet {
		awaitAvailable(t, cl)
	}

	// a and b name themselves (serve --cluster-name); c does not, and the
	// Prometheus that scrapes it names it: the direct one by a target
	// label, c's own by its external label.
	var targets []string
	for _, cl := range fleet {
		cl.serve = startServe(t, cl.cp, cl.name, cl != c)
		targets = append(targets, cl.serve.addr)
	}
	// One Prometheus scraping every serve; and the federation recipe: a
	// Prometheus per cluster, and a global one federating from them.
	prom := startPrometheus(t, "prometheus", scrapeConfig(targets, map[string]string{c.serve.addr: "cluster: c"}))
	var perCluster []*prometheus
	var perClusterAddrs []string
	for _, cl := range fleet {
		p := startPrometheus(t, "prometheus of "+cl.name, clusterConfig(cl.name, cl.serve.addr))
		perCluster = append(perCluster, p)
		perClusterAddrs = append(perClusterAddrs, p.addr)
	}
	global := startPrometheus(t, "global prometheus", globalConfig(perClusterAddrs))
	// The Thanos recipe: a sidecar beside each cluster's Prometheus, and
	// one Thanos Query over them.
	thanos, sidecars := startThanos(t, perCluster)
	fleetViews := []*prometheus{prom, global, thanos}
	for _, cl := range fleet {
		cl.serve.awaitReady(t)
	}
	t.Logf("three clusters, their serves, %d Prometheus servers and %d Thanos processes ready after %s", 2+len(perCluster), len(sidecars)+1, time.Since(began).Round(time.Second))

	t.Run("same as audit", func(t *testing.T) {
		for _, view := range fleetViews {
			for _, cl := range fleet {
				agree(t, view, cl)
			}
		}
	})
	if t.Failed() {
		return
	}

	t.Run("a change within two scrapes", func(t *testing.T) {
		before := map[string]fleetState{}
		for _, cl := range fleet[1:] {
			before[cl.name] = stateOf(t, prom, cl.name)
		}
		old, err := a.serve.score()
		if err != nil {
			t.Fatal(err)
		}
		deleted := time.Now()
		if err := a.admin.PolicyV1().PodDisruptionBudgets("shop").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		// Watch serve's own metrics for the new score, every 50 ms: the
		// change happened after the last request that still saw the old
		// one was sent (lastOld) and before the first answer with the new
		// one arrived (seen).
		lastOld := deleted
		var seen time.Time
		var now float64
		for seen.IsZero() {
			sent := time.Now()
			v, err := a.serve.score()
			switch {
			case err != nil:
				t.Fatal(err)
			case v != old:
				now, seen = v, time.Now()
			case time.Since(deleted) > 2*time.Minute:
				t.Fatalf("serve a's score still %v two minutes after its PDB was deleted", v)
			default:
				lastOld = sent
				time.Sleep(50 * time.Millisecond)
			}
		}
		t.Logf("serve a: score %v -> %v, changed between %s and %s", old, now, lastOld.Format(time.StampMilli), seen.Format(time.StampMilli))

		// Let Prometheus scrape a twice more, then read back every sample
		// it took of a's score since just before the change, with its
		// timestamp, and whether each scrape of a succeeded.
		var samples, ups []point
		waitFor(t, "Prometheus to scrape serve a twice after the change was seen", 2*time.Minute, func() (bool, error) {
			samples, err = series(prom, `plimsoll_score{cluster="a"}[5m]`)
			if err != nil {
				return false, err
			}
			return len(after(samples, seen)) >= 2, fmt.Errorf("%d samples since the change was seen", len(after(samples, seen)))
		})
		if ups, err = series(prom, fmt.Sprintf(`up{job="plimsoll",instance=%q}[5m]`, a.serve.addr)); err != nil {
			t.Fatal(err)
		}
		for _, u := range after(ups, lastOld) {
			if u.V != 1 {
				t.Errorf("a scrape of serve a at %s failed (up %v)", u.time().Format(time.StampMilli), u.V)
			}
		}
		// Prometheus stamps a sample with the scrape's start, aligned to
		// the interval by up to a few milliseconds.
		const slack = 25 * time.Millisecond
		var window []point // the samples after the last sight of the old score
		for _, s := range samples {
			if s.time().After(lastOld.Add(-slack)) {
				window = append(window, s)
			}
		}
		first := -1
		for i, s := range window {
			if s.V == now && first < 0 {
				first = i
			}
			if first >= 0 && s.V != now {
				t.Errorf("sample at %s is %v after the new score %v had arrived", s.time().Format(time.StampMilli), s.V, now)
			}
			if first < 0 && s.V != old {
				t.Errorf("sample at %s is %v, neither the old score %v nor the new %v", s.time().Format(time.StampMilli), s.V, old, now)
			}
		}
		sinceSeen := after(window, seen.Add(slack))
		switch {
		case first < 0:
			t.Fatalf("Prometheus has no sample of the new score %v of a; samples since the change: %v", now, window)
		case len(sinceSeen) >= 2 && window[first].time().After(sinceSeen[1].time()):
			t.Errorf("the new score first shows at %s, after the second scrape (%s) since serve showed it at %s",
				window[first].time().Format(time.StampMilli), sinceSeen[1].time().Format(time.StampMilli), seen.Format(time.StampMilli))
		}
		t.Logf("Prometheus: %d scrapes of a between the last sight of the old score and the first sample of the new one, %d between the change being seen in serve and that sample; %d scrapes from the PDB's deletion to it (%s, with serve's debounce and audit)",
			first, countBetween(window, seen.Add(slack), window[first].time()),
			countBetween(samples, deleted, window[first].time())+1, window[first].time().Sub(deleted).Round(time.Millisecond))

		// The fleet query shows the new score for a, and b and c as they were.
		scores, err := prom.query("plimsoll_score")
		if err != nil {
			t.Fatal(err)
		}
		if got := byLabel(scores, "cluster")["a"]; got != now {
			t.Errorf("fleet query: a's score %v, want %v", got, now)
		}
		for _, cl := range fleet[1:] {
			if got := stateOf(t, prom, cl.name); got != before[cl.name] {
				t.Errorf("cluster %s changed with a: %+v, was %+v", cl.name, got, before[cl.name])
			}
			// Every sample of b and c since the change is the one before it.
			s, err := series(prom, fmt.Sprintf(`plimsoll_score{cluster=%q}[5m]`, cl.name))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range after(s, lastOld) {
				if p.V != before[cl.name].score {
					t.Errorf("cluster %s's score was %v at %s, want %v throughout", cl.name, p.V, p.time().Format(time.StampMilli), before[cl.name].score)
				}
			}
		}
		agree(t, prom, a)

		// The other fleet views show it too, and b and c as they were.
		for _, view := range fleetViews[1:] {
			waitFor(t, view.name+" to show a's new score", 2*time.Minute, func() (bool, error) {
				s, err := fleetStateOf(view, "a")
				return err == nil && s.hasScore && s.score == now, err
			})
			t.Logf("%s: a's new score %v shows %s after serve showed it", view.name, now, time.Since(seen).Round(100*time.Millisecond))
			agree(t, view, a)
			for _, cl := range fleet[1:] {
				if got := stateOf(t, view, cl.name); got != before[cl.name] {
					t.Errorf("%s: cluster %s changed with a: %+v, was %+v", view.name, cl.name, got, before[cl.name])
				}
			}
		}
	})

	t.Run("measure", func(t *testing.T) {
		plimsollSeries, err := prom.query(`count by (cluster) ({__name__=~"plimsoll_.+"})`)
		if err != nil {
			t.Fatal(err)
		}
		all, err := prom.query(`count by (cluster) ({job="plimsoll"})`)
		if err != nil {
			t.Fatal(err)
		}
		counts, total := byLabel(plimsollSeries, "cluster"), byLabel(all, "cluster")
		for _, cl := range fleet {
			t.Logf("cluster %s: %v plimsoll_* series, %v series in all (with go_ and process_)", cl.name, counts[cl.name], total[cl.name])
		}
		federated, err := global.query(`count by (cluster) ({job="plimsoll"})`)
		if err != nil {
			t.Fatal(err)
		}
		// The global view holds each cluster's series and no more: none
		// that a cluster stopped exporting with the change lingers.
		for cluster, n := range byLabel(federated, "cluster") {
			if want := counts[cluster]; n != want {
				t.Errorf("global prometheus: %v series of cluster %s, want %v as its serve exports", n, cluster, want)
			}
		}
		for _, p := range append([]*prometheus{prom, global}, perCluster...) {
			logSelf(t, p.name, p.url, "process_resident_memory_bytes", "go_memstats_heap_inuse_bytes", "prometheus_tsdb_head_series")
		}
		for i, url := range sidecars {
			logSelf(t, "thanos sidecar of "+fleet[i].name, url, "process_resident_memory_bytes", "go_memstats_heap_inuse_bytes")
		}
		logSelf(t, thanos.name, thanos.url, "process_resident_memory_bytes", "go_memstats_heap_inuse_bytes")
	})
	t.Logf("the fleet test took %s", time.Since(began).Round(time.Second))
}

// logSelf logs the values of metrics in the /metrics of the process at
// url.
func logSelf(t *testing.T, name, url string, metrics ...string) {
	t.Helper()
	var figures []string
	for _, m := range metrics {
		v, err := selfMetric(url, m)
		if err != nil {
			t.Error(err)
			continue
		}
		figures = append(figures, fmt.Sprintf("%s %.0f", m, v))
	}
	t.Logf("%s: %s", name, strings.Join(figures, ", "))
}

// startFleet returns the package's control plane as cluster a and starts
// two more, b and c, in the same network namespace. The test's cleanup
// stops b and c.
func startFleet(t *testing.T) []*cluster {
	t.Helper()
	fleet := []*cluster{{name: "a", cp: controlplane.Shared()}, {name: "b"}, {name: "c"}}
	var wg sync.WaitGroup
	errs := make([]error, len(fleet))
	for i, cl := range fleet[1:] {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
			defer cancel()
			cl.cp, errs[i+1] = controlplane.Start(ctx, controlplane.Options{})
		})
	}
	wg.Wait()
	for i, cl := range fleet {
		if cl.cp != nil && i > 0 {
			t.Cleanup(cl.cp.Stop)
		}
		if errs[i] != nil {
			t.Fatalf("start control plane %s: %v", cl.name, errs[i])
		}
		cl.admin = kubernetes.NewForConfigOrDie(cl.cp.RESTConfig(controlplane.AdminUser))
	}
	return fleet
}

// addNodes adds n worker nodes over zones zones to cl.
func addNodes(t *testing.T, cl *cluster, prefix string, n, zones int) {
	t.Helper()
	var nodes []controlplane.Node
	for i := range n {
		nodes = append(nodes, controlplane.Node{Name: fmt.Sprintf("%s-node-%d", prefix, i), Zone: fmt.Sprintf("zone-%d", i%zones), Role: "worker"})
	}
	if err := cl.cp.AddNodes(t.Context(), nodes...); err != nil {
		t.Fatal(err)
	}
}

// deploy creates a Deployment in ns (and ns, if it is new) with requests
// and a memory limit, with or without probes.
func deploy(t *testing.T, cl *cluster, ns, name string, replicas int32, probes bool) {
	t.Helper()
	ctx := t.Context()
	if _, err := cl.admin.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
		if _, err := cl.admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
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
		c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromString("http")}}}
		c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/live", Port: intstr.FromString("http")}}, PeriodSeconds: 20}
	}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{c}},
			},
		},
	}
	if _, err := cl.admin.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// awaitAvailable waits until every Deployment of cl has all its replicas
// ready, so that the clusters hold still while the test compares them.
func awaitAvailable(t *testing.T, cl *cluster) {
	t.Helper()
	waitFor(t, "the Deployments of cluster "+cl.name+" to be ready", 3*time.Minute, func() (bool, error) {
		deps, err := cl.admin.AppsV1().Deployments("").List(t.Context(), metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, d := range deps.Items {
			if d.Status.ObservedGeneration != d.Generation || d.Status.ReadyReplicas != *d.Spec.Replicas || d.Status.UpdatedReplicas != *d.Spec.Replicas {
				return false, fmt.Errorf("%s/%s: %d of %d replicas ready", d.Namespace, d.Name, d.Status.ReadyReplicas, *d.Spec.Replicas)
			}
		}
		return true, nil
	})
}

// pdb creates a PodDisruptionBudget named app for the pods of app that
// keeps one available.
func pdb(t *testing.T, cl *cluster, ns, app string) {
	t.Helper()
	p := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: app, Namespace: ns},
		Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: ptr.To(intstr.FromInt32(1)),
			Selector:     &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}},
		},
	}
	if _, err := cl.admin.PolicyV1().PodDisruptionBudgets(ns).Create(t.Context(), p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// fleetState is what the fleet queries say of one cluster.
type fleetState struct {
	score      float64
	hasScore   bool
	fail       float64
	bySeverity string // severity=count, sorted
}

// stateOf reads cluster's score and fail results from Prometheus, with the
// queries a fleet dashboard would use (over every cluster at once).
func stateOf(t *testing.T, prom *prometheus, cluster string) fleetState {
	t.Helper()
	s, err := fleetStateOf(prom, cluster)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fleetStateOf(prom *prometheus, cluster string) (fleetState, error) {
	var s fleetState
	scores, err := prom.query(`plimsoll_score`)
	if err != nil {
		return s, err
	}
	s.score, s.hasScore = byLabel(scores, "cluster")[cluster]
	fails, err := prom.query(`sum by (cluster) (plimsoll_results{status="fail"})`)
	if err != nil {
		return s, err
	}
	s.fail = byLabel(fails, "cluster")[cluster] // none: no series, 0
	bySeverity, err := prom.query(`sum by (cluster, severity) (plimsoll_results{status="fail"})`)
	if err != nil {
		return s, err
	}
	counts := map[string]float64{}
	for _, x := range bySeverity {
		if x.Metric["cluster"] == cluster && x.Value.V != 0 {
			counts[x.Metric["severity"]] = x.Value.V
		}
	}
	s.bySeverity = severities(counts)
	return s, nil
}

// reportState is what plimsoll audit's report says, as a fleetState.
func reportState(r *report.Report) fleetState {
	s := fleetState{fail: float64(r.Summary.Fail)}
	if r.Score.Overall != nil {
		s.score, s.hasScore = *r.Score.Overall, true
	}
	f := r.Summary.Failures
	counts := map[string]float64{}
	for sev, n := range map[string]int{"critical": f.Critical, "high": f.High, "medium": f.Medium, "low": f.Low, "info": f.Info} {
		if n != 0 {
			counts[sev] = float64(n)
		}
	}
	s.bySeverity = severities(counts)
	return s
}

func severities(counts map[string]float64) string {
	var out []string
	for sev, n := range counts {
		out = append(out, fmt.Sprintf("%s=%v", sev, n))
	}
	sort.Strings(out)
	return fmt.Sprint(out)
}

// agree waits until Prometheus says of cl what plimsoll audit of cl says:
// the overall score (exactly: Prometheus's API gives a float64's shortest
// form), the fail results, and the fail results by severity. Pods start and
// become ready meanwhile, so both are read again until they agree.
func agree(t *testing.T, prom *prometheus, cl *cluster) {
	t.Helper()
	var want, got fleetState
	waitFor(t, fmt.Sprintf("%s to say of cluster %s what plimsoll audit says", prom.name, cl.name), 3*time.Minute, func() (bool, error) {
		want = reportState(audit(t, cl.cp))
		var err error
		if got, err = fleetStateOf(prom, cl.name); err != nil {
			return false, err
		}
		if got != want {
			return false, fmt.Errorf("Prometheus %+v, plimsoll audit %+v", got, want)
		}
		return true, nil
	})
	t.Logf("%s, cluster %s: score %v, %v fail results %s: PromQL and plimsoll audit agree", prom.name, cl.name, want.score, want.fail, want.bySeverity)
}

// series returns the samples of the one series a range query selects.
func series(prom *prometheus, expr string) ([]point, error) {
	r, err := prom.query(expr)
	if err != nil {
		return nil, err
	}
	if len(r) != 1 {
		return nil, fmt.Errorf("%s: %d series, want 1", expr, len(r))
	}
	return r[0].Values, nil
}

// after returns the points stamped after t.
func after(points []point, t time.Time) []point {
	var out []point
	for _, p := range points {
		if p.time().After(t) {
			out = append(out, p)
		}
	}
	return out
}

// countBetween counts the points stamped after from and before to.
func countBetween(points []point, from, to time.Time) int {
	n := 0
	for _, p := range points {
		if p.time().After(from) && p.time().Before(to) {
			n++
		}
	}
	return n
}
