package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/plimsoll/plimsoll/internal/cli"
	"github.com/plimsoll/plimsoll/internal/drill"
	"github.com/plimsoll/plimsoll/internal/platform"
	"github.com/plimsoll/plimsoll/test/controlplane"
)

// The drill scenarios of the "predictions against reality" issue. Each is
// a small cluster of its own inside one control plane: a node pool (nodes
// labelled drillPool, in zones named after the scenario) and a namespace,
// both named after it, with its manifests in testdata/drill/NAME.yaml,
// whose pods select the pool. No pod of one scenario can land on, count
// against, or be disrupted with another's nodes, so the scenarios run at
// the same time.
var drillScenarios = []drillScenario{
	{name: "budget-zero", rule: "a PodDisruptionBudget allowing 0", nodes: "a1 b1", drainNodeOf: "web",
		want: map[string]string{"Deployment web": drill.Blocks, "node": drill.Blocks}},
	{name: "overlap", rule: "overlapping PodDisruptionBudgets", nodes: "a1 b1 c1", drainNodeOf: "api",
		want: map[string]string{"Deployment api": drill.Blocks, "node": drill.Blocks}},
	{name: "single", rule: "a single replica under minAvailable: 1", nodes: "a1 b1", drainNodeOf: "solo",
		want: map[string]string{"Deployment solo": drill.Blocks, "node": drill.Blocks}},
	{name: "spread", rule: "DoNotSchedule zone spread", nodes: "a1 b1 c1", drainNodeOf: "spread",
		want: map[string]string{"Deployment spread": drill.Pending, "node": drill.Drains}},
	{name: "anti", rule: "required anti-affinity with no room left", nodes: "a1 b1 c1", drainNodeOf: "db",
		want: map[string]string{"Deployment db": drill.Pending, "node": drill.Drains}},
	{name: "small-pool", rule: "a node pool too small to absorb a drain", nodes: "a1 b1", cpu: "1", drainNodeOf: "batch",
		want: map[string]string{"Deployment batch": drill.Pending, "node": drill.Drains}},
	{name: "bare", rule: "a bare pod with emptyDir data", nodes: "a1 b1", drainNodeOf: "lonely",
		want: map[string]string{"Pod lonely": drill.Outage, "node": drill.Drains + ", needs --delete-emptydir-data --force"}},
	{name: "local", rule: "an emptyDir pod (and a DaemonSet's)", nodes: "a1 b1", drainNodeOf: "cache",
		want: map[string]string{"Deployment cache": drill.Unaffected, "node": drill.Drains + ", needs --delete-emptydir-data --ignore-daemonsets"}},
	{name: "serial", rule: "budgets consumed one eviction at a time, two nodes", nodes: "a1 b1 c1", drain: []string{"a1", "b1"},
		want: map[string]string{"Deployment queue": drill.Unaffected, "node": drill.Serializes}},
	{name: "zonal", rule: "a zone lost (nodes deleted): spread, anti-affinity, a zonal PV, a single replica", nodes: "a1 a2 b1 c1", zone: "a",
		want: map[string]string{
			"Deployment spread": drill.Degraded, "Deployment anti": drill.Pending,
			"StatefulSet vol": drill.Pending, "Deployment solo": drill.Outage, "node": drill.Lost,
		}},
}

// drillPool labels the nodes of a scenario's pool.
const drillPool = "drill.plimsoll.dev/pool"

// drainTimeout is kubectl drain's --timeout: a drain that has not finished
// by then is taken as blocked.
const drainTimeout = 20 * time.Second

// drainFlags are the kubectl drain flags that let it remove pods it
// otherwise refuses; a drill says which of them each node needs.
var drainFlags = []string{"--delete-emptydir-data", "--force", "--ignore-daemonsets"}

// drillScenario is one disruption, predicted, then done for real.
type drillScenario struct {
	name, rule string
	// nodes are the pool's nodes: "a1" is node NAME-a1 in zone NAME-a.
	nodes string
	// cpu is each node's CPU, "4" when empty.
	cpu string
	// A drain: of the node of the first pod (by name) of the workload
	// drainNodeOf, or of the nodes drain (as in nodes), all cordoned
	// first, then drained one after another, as kubectl drain NODE... does.
	drainNodeOf string
	drain       []string
	// zone is the zone to lose (as in nodes): its Node objects are deleted.
	zone string
	// want are real outcomes that show the scenario's rule at work: a
	// workload's verdict, by "Kind name", and every disrupted node's
	// verdict and needs, as "node".
	want map[string]string
}

// poolNodes are the nodes of the scenario's pool.
func (sc drillScenario) poolNodes() []controlplane.Node {
	var out []controlplane.Node
	for _, n := range strings.Fields(sc.nodes) {
		out = append(out, controlplane.Node{
			Name: sc.name + "-" + n, Zone: sc.name + "-" + n[:1], Role: "worker", CPU: sc.cpu, Kubelet: kubeletVersion,
			Labels: map[string]string{drillPool: sc.name},
		})
	}
	return out
}

func (sc drillScenario) manifests() string {
	return filepath.Join(repoRoot, "test", "e2e", "testdata", "drill", sc.name+".yaml")
}

// drillOutcome is what happens to one node or workload, predicted or real.
type drillOutcome struct {
	node    bool
	verdict string
	// needs are a node's kubectl drain flags.
	needs []string
	// before, during and after count a workload's ready pods before the
	// disruption, at its lowest point and once it has settled.
	before, during, after int
	// evidence says why, for people.
	evidence string
}

func (o drillOutcome) String() string {
	if !o.node {
		return fmt.Sprintf("%s %d/%d/%d", o.verdict, o.before, o.during, o.after)
	}
	if len(o.needs) == 0 {
		return o.verdict
	}
	return o.verdict + ", needs " + strings.Join(o.needs, " ")
}

// drillEnv is what the scenarios share.
type drillEnv struct {
	cp    *controlplane.ControlPlane
	admin *client
	home  string // kubectl's HOME, for its cache
	// mu runs one drill at a time: each is an in-process run of the CLI.
	mu sync.Mutex
}

// TestDrill holds plimsoll drill's predictions to reality, on a real
// control plane (the scheduler, the disruption controller, the eviction
// API, the pod garbage collector) with kwok nodes over three zones. Every
// scenario predicts, then disrupts for real (kubectl drain with a timeout,
// or deleting a zone's nodes) while a watch counts each workload's ready
// pods, waits until things settle, and compares, per workload (verdict and
// ready counts before, at the lowest point and after) and per node
// (verdict and the kubectl drain flags it needs). Any disagreement fails.
// The table of prediction and reality is logged.
func TestDrill(t *testing.T) {
	var nodes []controlplane.Node
	var paths []string
	for _, sc := range drillScenarios {
		nodes = append(nodes, sc.poolNodes()...)
		paths = append(paths, sc.manifests())
	}
	cp, admin := platformScenario{nodes: nodes, paths: paths}.build(t)
	env := &drillEnv{cp: cp, admin: admin, home: t.TempDir()}
	rows := make([][]string, len(drillScenarios))
	// Subtests run at once from goroutines of their own rather than with
	// t.Parallel, which -parallel (GOMAXPROCS) would hold to two at a time.
	var wg sync.WaitGroup
	for i, sc := range drillScenarios {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(sc.name, func(t *testing.T) { rows[i] = sc.run(t, env) })
		}()
	}
	wg.Wait()
	t.Logf("plimsoll drill against reality (ready pods before/during/after):\n| scenario | object | prediction | reality | evidence | |\n|---|---|---|---|---|---|\n%s", strings.Join(slices.Concat(rows...), "\n"))
}

// run predicts the scenario, does it for real, compares, and returns the
// rows of the table.
func (sc drillScenario) run(t *testing.T, env *drillEnv) []string {
	replicas := replicasOf(t, readObjects(t, sc.manifests()))
	env.admin.settle(t, sc.name, replicas, nil, true, 2*time.Minute)
	floors := env.admin.budgetFloors(t, sc.name)
	w := env.admin.watchReady(t, sc.name)

	var targets []string
	args := []string{"drill"}
	switch {
	case sc.zone != "":
		args = append(args, "zone", sc.name+"-"+sc.zone, "--nodes-deleted")
		targets = env.admin.nodesWith(t, corev1.LabelTopologyZone+"="+sc.name+"-"+sc.zone)
	case sc.drainNodeOf != "":
		targets = []string{w.nodeOf(t, sc.drainNodeOf)}
		args = append(args, append([]string{"drain"}, targets...)...)
	default:
		for _, n := range sc.drain {
			targets = append(targets, sc.name+"-"+n)
		}
		args = append(args, append([]string{"drain"}, targets...)...)
	}
	predicted := env.predict(t, args)

	observed := map[string]drillOutcome{}
	var blocked map[string]bool
	var lost map[string]bool
	if sc.zone != "" {
		lost = env.loseNodes(t, w, targets, observed)
	} else {
		blocked = env.drainNodes(t, targets, observed)
	}
	settled := env.admin.settle(t, sc.name, replicas, lost, false, 3*time.Minute)
	low := w.stop(t)
	after := w.count(settled)
	for key := range w.displacedFrom(targets) {
		o := drillOutcome{before: w.before[key], during: low[key], after: after[key]}
		var pending []string
		for _, p := range settled {
			if workloadKey(&p) == key && p.Status.Phase == corev1.PodPending {
				pending = append(pending, p.Name+" Pending: "+unschedulable(&p))
			}
		}
		// The report's verdicts, the worst that applies: what each means
		// is judged here from what happened.
		switch {
		case o.before > 0 && o.during == 0:
			o.verdict, o.evidence = drill.Outage, "no ready pod at the lowest point"
		case blocked[key]:
			o.verdict, o.evidence = drill.Blocks, "a pod of it is still on the drained node"
		case len(pending) > 0:
			o.verdict, o.evidence = drill.Pending, pending[0]
		case o.during < floors[key]:
			o.verdict, o.evidence = drill.Degraded, fmt.Sprintf("below the %d its PodDisruptionBudget asks for", floors[key])
		default:
			o.verdict = drill.Unaffected
			if floors[key] > 0 {
				o.evidence = fmt.Sprintf("never below the %d its PodDisruptionBudget asks for", floors[key])
			}
		}
		observed[key] = o
	}
	return sc.compare(t, predicted, observed)
}

// compare fails on every object whose prediction and reality differ, and
// unless reality shows the scenario's rule at work; it returns the rows of
// the table.
func (sc drillScenario) compare(t *testing.T, predicted, observed map[string]drillOutcome) []string {
	var rows []string
	keys := slices.Sorted(maps.Keys(predicted))
	for _, k := range slices.Sorted(maps.Keys(observed)) {
		if _, ok := predicted[k]; !ok {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		p, pok := predicted[k]
		r, rok := observed[k]
		pred, got := p.String(), r.String()
		if !pok {
			pred = "not in the report"
		}
		if !rok {
			got = "not disrupted"
		}
		agree := "same"
		if pred != got {
			agree = "DIFFERENT"
			t.Errorf("%s: predicted %s (%s); reality %s (%s)", k, pred, p.evidence, got, r.evidence)
		}
		rows = append(rows, fmt.Sprintf("| %s | %s | %s | %s | %s | %s |", sc.name, k, pred, got, r.evidence, agree))
	}
	for k, want := range sc.want {
		found := false
		for key, r := range observed {
			got := r.verdict
			if k == "node" && r.node {
				got = r.String()
			} else if k != key {
				continue
			}
			found = true
			if got != want {
				t.Errorf("the scenario does not show %s: %s is %s in reality, want %s", sc.rule, key, got, want)
			}
		}
		if !found {
			t.Errorf("the scenario does not show %s: no %s was disrupted", sc.rule, k)
		}
	}
	return rows
}

// replicasOf returns the replicas of each controller of the manifests
// that has a scale, by "Kind name", after checking that every workload's
// pods are labelled app=NAME, by which the test knows them.
func replicasOf(t *testing.T, objs []*unstructured.Unstructured) map[string]int {
	t.Helper()
	replicas := map[string]int{}
	for _, o := range objs {
		labelPath := []string{"spec", "template", "metadata", "labels", "app"}
		switch o.GetKind() {
		case "Pod":
			labelPath = []string{"metadata", "labels", "app"}
		case "Deployment", "StatefulSet":
			n := 1
			if v, ok := o.Object["spec"].(map[string]any)["replicas"].(float64); ok {
				n = int(v) // JSON numbers, as readObjects decodes them
			}
			replicas[o.GetKind()+" "+o.GetName()] = n
		case "DaemonSet":
		default:
			continue
		}
		if app, _, _ := unstructured.NestedString(o.Object, labelPath...); app != o.GetName() {
			t.Fatalf("%s %s: its pods are labelled app=%q; the test knows a pod's workload by app=NAME", o.GetKind(), o.GetName(), app)
		}
	}
	return replicas
}

// predict runs plimsoll drill with args and returns its prediction for
// every node and workload, by "node NAME" and "Kind name".
func (env *drillEnv) predict(t *testing.T, args []string) map[string]drillOutcome {
	t.Helper()
	env.mu.Lock()
	p := runWith(t, cli.Streams{Now: time.Now}, append(args, "-o", "json", "--kubeconfig", env.cp.Kubeconfig("admin"))...)
	env.mu.Unlock()
	if p.code != 0 {
		t.Fatalf("plimsoll %s: exit %d; stderr:\n%s", strings.Join(args, " "), p.code, p.errOut)
	}
	var r drill.Report
	if err := json.Unmarshal([]byte(p.out), &r); err != nil || r.Kind != "DrillReport" {
		t.Fatalf("plimsoll %s: no DrillReport (%v):\n%s", strings.Join(args, " "), err, p.out)
	}
	out := map[string]drillOutcome{}
	for _, n := range r.Nodes {
		out["node "+n.Name] = drillOutcome{node: true, verdict: n.Verdict, needs: n.Needs, evidence: n.Reason}
	}
	for _, w := range r.Workloads {
		out[w.Kind+" "+w.Name] = drillOutcome{verdict: w.Verdict, before: w.ReadyBefore, during: w.ReadyDuring, after: w.ReadyAfter, evidence: w.Reason}
	}
	return out
}

// kubectl runs the control plane's kubectl as admin and returns its exit
// code and output.
func (env *drillEnv) kubectl(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(env.cp.BinDir, "kubectl"), append(args, "--kubeconfig", env.cp.Kubeconfig("admin"))...)
	cmd.Env = append(os.Environ(), "HOME="+env.home)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatalf("kubectl %s: %v", strings.Join(args, " "), err)
	}
	return 0, string(out)
}

// drainNodes drains the nodes for real as kubectl drain NODE... does:
// cordons them all, then drains each, with every flag and drainTimeout.
// Before that it finds the flags each node needs, as the flags without
// which kubectl refuses to drain it (in a client-side dry run), and makes
// sure that a real drain without the first of them is refused and evicts
// nothing. It records each node's outcome in observed and returns the
// workloads that still have a pod on a node whose drain failed.
func (env *drillEnv) drainNodes(t *testing.T, nodes []string, observed map[string]drillOutcome) map[string]bool {
	t.Helper()
	needs, refused := map[string][]string{}, map[string]string{}
	for _, n := range nodes {
		needs[n] = []string{}
		for _, flag := range drainFlags {
			others := slices.DeleteFunc(slices.Clone(drainFlags), func(f string) bool { return f == flag })
			code, out := env.kubectl(t, append([]string{"drain", n, "--dry-run=client"}, others...)...)
			switch {
			case code != 0 && strings.Contains(out, "(use "+flag):
				needs[n] = append(needs[n], flag)
			case code != 0:
				t.Fatalf("kubectl drain %s --dry-run=client %s: exit %d:\n%s", n, strings.Join(others, " "), code, out)
			}
		}
		if len(needs[n]) == 0 {
			continue
		}
		before := podNames(env.admin.podsOn(t, n))
		without := slices.DeleteFunc(slices.Clone(drainFlags), func(f string) bool { return f == needs[n][0] })
		code, out := env.kubectl(t, append([]string{"drain", n, "--timeout=" + drainTimeout.String()}, without...)...)
		if after := podNames(env.admin.podsOn(t, n)); code == 0 || !strings.Contains(out, "(use "+needs[n][0]) || !slices.Equal(after, before) {
			t.Errorf("kubectl drain %s without %s: want it refused and nothing evicted; exit %d, pods %v, then %v:\n%s", n, needs[n][0], code, before, after, out)
		}
		refused[n] = fmt.Sprintf("; without %s: exit %d, nothing evicted", needs[n][0], code)
	}
	if code, out := env.kubectl(t, append([]string{"cordon"}, nodes...)...); code != 0 {
		t.Fatalf("kubectl cordon: exit %d:\n%s", code, out)
	}
	blocked := map[string]bool{}
	for _, n := range nodes {
		waited := env.admin.beyondBudgets(t, n)
		start := time.Now()
		code, out := env.kubectl(t, append([]string{"drain", n, "--timeout=" + drainTimeout.String()}, drainFlags...)...)
		took := time.Since(start).Round(100 * time.Millisecond)
		retries := strings.Count(out, "(will retry after")
		o := drillOutcome{node: true, needs: needs[n], verdict: drill.Drains,
			evidence: fmt.Sprintf("kubectl drain: exit %d after %s, %d eviction(s) refused (429) and retried%s", code, took, retries, refused[n])}
		switch {
		case code != 0:
			o.verdict = drill.Blocks
			if strings.Contains(out, "more than one PodDisruptionBudget") {
				o.evidence += "; refused: the pod has more than one PodDisruptionBudget"
			}
			for _, p := range env.admin.podsOn(t, n) {
				blocked[workloadKey(&p)] = true
			}
		case retries > 0 || len(waited) > 0:
			o.verdict = drill.Serializes
			o.evidence += "; evicted " + strings.Join(waited, ", ")
		}
		observed["node "+n] = o
	}
	return blocked
}

// beyondBudgets says, for each PodDisruptionBudget that allows fewer
// disruptions now than it selects pods on the node, how many it selects
// and allows. A drain that evicts them all has waited for replacements:
// the eviction API evicts a pod only while its budget allows it (kubectl
// drain retries a refused eviction after 5 s, but rarely sees one here:
// the API server retries an eviction that lost a race for the budget every
// 500 ms, by which time kwok has made the replacement ready).
func (c *client) beyondBudgets(t *testing.T, node string) []string {
	t.Helper()
	pdbs, err := c.kube.PolicyV1().PodDisruptionBudgets("").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, b := range pdbs.Items {
		sel, err := metav1.LabelSelectorAsSelector(b.Spec.Selector)
		if err != nil {
			t.Fatal(err)
		}
		n := int32(0)
		for _, p := range c.podsOn(t, node) {
			if p.Namespace == b.Namespace && sel.Matches(labels.Set(p.Labels)) {
				n++
			}
		}
		if n > b.Status.DisruptionsAllowed {
			out = append(out, fmt.Sprintf("%d pods under PodDisruptionBudget %s, which allowed %d when the drain began", n, b.Name, b.Status.DisruptionsAllowed))
		}
	}
	return out
}

// podsOn lists the pods on a node that are not being deleted, but
// DaemonSets' pods, which a drain leaves.
func (c *client) podsOn(t *testing.T, node string) []corev1.Pod {
	t.Helper()
	pods, err := c.kube.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(pods.Items, func(p corev1.Pod) bool {
		return p.DeletionTimestamp != nil || strings.HasPrefix(workloadKey(&p), "DaemonSet ")
	})
}

// podNames returns the pods' names, sorted.
func podNames(pods []corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Namespace+"/"+p.Name)
	}
	sort.Strings(out)
	return out
}

// loseNodes deletes the nodes, as a cloud controller does once their
// machines are gone, after telling the watch that their pods are lost.
func (env *drillEnv) loseNodes(t *testing.T, w *readyWatch, nodes []string, observed map[string]drillOutcome) map[string]bool {
	t.Helper()
	lost := map[string]bool{}
	for _, n := range nodes {
		lost[n] = true
	}
	w.lose(lost)
	for _, n := range nodes {
		if err := env.admin.kube.CoreV1().Nodes().Delete(context.Background(), n, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		observed["node "+n] = drillOutcome{node: true, verdict: drill.Lost, evidence: "Node deleted; the pod garbage collector deleted its pods"}
	}
	return lost
}

// nodesWith lists the nodes a label selector matches, by name.
func (c *client) nodesWith(t *testing.T, selector string) []string {
	t.Helper()
	nodes, err := c.kube.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{LabelSelector: selector})
	if err != nil || len(nodes.Items) == 0 {
		t.Fatalf("nodes %s: %d, %v", selector, len(nodes.Items), err)
	}
	var out []string
	for _, n := range nodes.Items {
		out = append(out, n.Name)
	}
	return out
}

// budgetFloors waits until the disruption controller has observed every
// PodDisruptionBudget of the namespace with its pods as they are, and
// returns, by workload ("Kind name"), the largest desiredHealthy of the
// budgets that select its pods.
func (c *client) budgetFloors(t *testing.T, ns string) map[string]int {
	t.Helper()
	ctx := context.Background()
	var pdbs []policyv1.PodDisruptionBudget
	var pods []corev1.Pod
	waitFor(t, "PodDisruptionBudgets of "+ns+" observed", time.Minute, func() (bool, error) {
		list, err := c.kube.PolicyV1().PodDisruptionBudgets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		podList, err := c.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		pdbs, pods = list.Items, podList.Items
		for _, b := range pdbs {
			sel, err := metav1.LabelSelectorAsSelector(b.Spec.Selector)
			if err != nil {
				return false, err
			}
			healthy := int32(0)
			for _, p := range pods {
				if sel.Matches(labels.Set(p.Labels)) && platform.PodReady(&p) && p.DeletionTimestamp == nil {
					healthy++
				}
			}
			st := b.Status
			if st.ObservedGeneration != b.Generation || st.CurrentHealthy != healthy || len(st.DisruptedPods) > 0 {
				// On a pod's change the disruption controller syncs one of
				// the budgets that select it, chosen arbitrarily
				// (getPdbForPod): the other of two overlapping budgets
				// keeps a stale status until it changes itself.
				nudge := fmt.Sprintf(`{"metadata":{"annotations":{"testenv.plimsoll.dev/nudge":"%d"}}}`, time.Now().UnixNano())
				if _, err := c.kube.PolicyV1().PodDisruptionBudgets(ns).Patch(ctx, b.Name, types.MergePatchType, []byte(nudge), metav1.PatchOptions{}); err != nil {
					return false, err
				}
				return false, fmt.Errorf("PodDisruptionBudget %s: generation %d of %d, %d healthy of %d", b.Name, st.ObservedGeneration, b.Generation, st.CurrentHealthy, healthy)
			}
		}
		return true, nil
	})
	floors := map[string]int{}
	for _, b := range pdbs {
		sel, _ := metav1.LabelSelectorAsSelector(b.Spec.Selector)
		for _, p := range pods {
			if sel.Matches(labels.Set(p.Labels)) {
				key := workloadKey(&p)
				floors[key] = max(floors[key], int(b.Status.DesiredHealthy))
			}
		}
	}
	return floors
}

// settle waits until the namespace is at rest and returns its pods: none
// is being deleted or on a lost node, each controller of replicas has all
// its pods, each pod is Ready (with allReady) or Ready or Pending and
// unschedulable, and all has stayed so for five seconds (the scheduler
// retries a pod within a few seconds of a change that may let it fit).
func (c *client) settle(t *testing.T, ns string, replicas map[string]int, lost map[string]bool, allReady bool, timeout time.Duration) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	var last string
	var since time.Time
	waitFor(t, ns+" to settle", timeout, func() (bool, error) {
		list, err := c.kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		pods = list.Items
		count := map[string]int{}
		var state []string
		for _, p := range pods {
			switch {
			case p.DeletionTimestamp != nil:
				return false, fmt.Errorf("pod %s is being deleted", p.Name)
			case lost[p.Spec.NodeName]:
				return false, fmt.Errorf("pod %s is on lost node %s", p.Name, p.Spec.NodeName)
			case !platform.PodReady(&p) && (allReady || unschedulable(&p) == ""):
				return false, fmt.Errorf("pod %s is not Ready: %s", p.Name, unschedulable(&p))
			}
			count[workloadKey(&p)]++
			state = append(state, p.Name+"@"+p.Spec.NodeName)
		}
		for key, want := range replicas {
			if count[key] != want {
				return false, fmt.Errorf("%s has %d pods, want %d", key, count[key], want)
			}
		}
		sort.Strings(state)
		if s := strings.Join(state, " "); s != last {
			last, since = s, time.Now()
		}
		return time.Since(since) >= 5*time.Second, fmt.Errorf("changed %s ago", time.Since(since).Round(time.Second))
	})
	return pods
}

// unschedulable returns the scheduler's message for a pod it could not
// place, up to what it says of preemption, or "".
func unschedulable(p *corev1.Pod) string {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			msg, _, _ := strings.Cut(c.Message, ". ")
			return msg
		}
	}
	return ""
}

// workloadKey names a pod's workload as "Kind name", the kind from its
// controller reference (a Deployment for a ReplicaSet's pod, whose name
// is the app label), the name from its app label.
func workloadKey(p *corev1.Pod) string {
	kind := "Pod"
	if ref := metav1.GetControllerOf(p); ref != nil {
		kind = ref.Kind
		if kind == "ReplicaSet" {
			kind = "Deployment"
		}
	}
	return kind + " " + p.Labels["app"]
}

// readyWatch follows a namespace's pods through a disruption and counts
// each workload's ready pods after every change, so that the lowest point
// is observed, not sampled. A pod is ready when its Ready condition is
// True, it is not being deleted, and its node is not lost.
type readyWatch struct {
	initial []corev1.Pod
	before  map[string]int
	w       watch.Interface
	done    chan struct{}

	mu      sync.Mutex
	pods    map[string]*corev1.Pod
	lost    map[string]bool
	low     map[string]int
	stopped bool
	err     error
}

// watchReady lists the namespace's pods and watches them from there.
func (c *client) watchReady(t *testing.T, ns string) *readyWatch {
	t.Helper()
	ctx := context.Background()
	list, err := c.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.kube.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	rw := &readyWatch{initial: list.Items, w: w, done: make(chan struct{}), pods: map[string]*corev1.Pod{}}
	for i := range list.Items {
		rw.pods[list.Items[i].Name] = &list.Items[i]
	}
	rw.before = rw.count(list.Items)
	rw.low = maps.Clone(rw.before)
	t.Cleanup(w.Stop)
	go func() {
		defer close(rw.done)
		for ev := range w.ResultChan() {
			rw.mu.Lock()
			if rw.stopped {
				rw.mu.Unlock()
				continue // Stop closes the stream, which may come as an error
			}
			switch ev.Type {
			case watch.Added, watch.Modified:
				p := ev.Object.(*corev1.Pod)
				rw.pods[p.Name] = p
			case watch.Deleted:
				delete(rw.pods, ev.Object.(*corev1.Pod).Name)
			case watch.Error:
				rw.err = fmt.Errorf("watch error: %v", ev.Object)
			}
			rw.update()
			rw.mu.Unlock()
		}
		rw.mu.Lock()
		if !rw.stopped && rw.err == nil {
			rw.err = errors.New("the watch of pods ended before the disruption did: the lowest point may have been missed")
		}
		rw.mu.Unlock()
	}()
	return rw
}

// count counts the ready pods of each workload among pods, with every
// workload ready before at 0 or more.
func (rw *readyWatch) count(pods []corev1.Pod) map[string]int {
	out := map[string]int{}
	for k := range rw.before {
		out[k] = 0
	}
	for i := range pods {
		p := &pods[i]
		if platform.PodReady(p) && p.DeletionTimestamp == nil && !rw.lost[p.Spec.NodeName] {
			out[workloadKey(p)]++
		} else if _, ok := out[workloadKey(p)]; !ok {
			out[workloadKey(p)] = 0
		}
	}
	return out
}

// update lowers each workload's lowest count to its count now. The caller
// holds mu.
func (rw *readyWatch) update() {
	pods := make([]corev1.Pod, 0, len(rw.pods))
	for _, p := range rw.pods {
		pods = append(pods, *p)
	}
	for k, n := range rw.count(pods) {
		if old, ok := rw.low[k]; !ok || n < old {
			rw.low[k] = n
		}
	}
}

// lose marks the nodes lost: their pods count as not ready from now on.
func (rw *readyWatch) lose(nodes map[string]bool) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	rw.lost = nodes
	rw.update()
}

// stop ends the watch and returns each workload's lowest count.
func (rw *readyWatch) stop(t *testing.T) map[string]int {
	t.Helper()
	rw.mu.Lock()
	rw.stopped = true
	rw.mu.Unlock()
	rw.w.Stop()
	<-rw.done
	if rw.err != nil {
		// Nothing after the error was counted.
		t.Fatal(rw.err)
	}
	return rw.low
}

// nodeOf returns the node of the first pod, by name, of a workload.
func (rw *readyWatch) nodeOf(t *testing.T, app string) string {
	t.Helper()
	var names []string
	nodes := map[string]string{}
	for _, p := range rw.initial {
		if p.Labels["app"] == app {
			names = append(names, p.Name)
			nodes[p.Name] = p.Spec.NodeName
		}
	}
	if len(names) == 0 {
		t.Fatalf("no pod of %s", app)
	}
	return nodes[slices.Min(names)]
}

// displacedFrom returns the workloads, but DaemonSets, that had a pod on
// the nodes when the watch began.
func (rw *readyWatch) displacedFrom(nodes []string) map[string]bool {
	out := map[string]bool{}
	for _, p := range rw.initial {
		if key := workloadKey(&p); slices.Contains(nodes, p.Spec.NodeName) && !strings.HasPrefix(key, "DaemonSet ") {
			out[key] = true
		}
	}
	return out
}
