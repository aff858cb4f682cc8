// Package perf measures a live audit of a big cluster against the floor of
// reading the same resource types with kubectl. It has a control plane of
// its own, so the thousands of pods it creates disturb no other test.
//
//	go test ./test/e2e/perf -run '^$' -bench . -benchtime 3x -timeout 60m
package perf

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/plimsoll/plimsoll/internal/cluster"
	"github.com/plimsoll/plimsoll/test/controlplane"
)

func TestMain(m *testing.M) { controlplane.Main(m) }

// scale is the shape of a populated cluster.
type scale struct {
	nodes, namespaces, deployments, replicas int
}

func (s scale) pods() int { return s.namespaces * s.deployments * s.replicas }

var populated = map[scale]bool{}

// populate creates kwok nodes over three zones and, in each namespace,
// Deployments with a headless Service each, and waits until every pod is
// Running. The scheduler places the pods and kwok runs them.
func populate(tb testing.TB, cp *controlplane.ControlPlane, s scale, prefix string) {
	tb.Helper()
	if populated[s] {
		return
	}
	ctx := context.Background()
	cfg := cp.RESTConfig("admin")
	cfg.QPS, cfg.Burst = 200, 400 // thousands of objects to create
	kube := kubernetes.NewForConfigOrDie(cfg)
	var nodes []controlplane.Node
	for i := 0; i < s.nodes; i++ {
		nodes = append(nodes, controlplane.Node{
			Name: fmt.Sprintf("%s-node-%03d", prefix, i), Zone: fmt.Sprintf("zone-%c", 'a'+i%3), Role: "worker",
			CPU: "64", Memory: "256Gi",
		})
	}
	if err := cp.AddNodes(ctx, nodes...); err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, s.namespaces)
	for n := 0; n < s.namespaces; n++ {
		wg.Add(1)
		go func(ns string) {
			defer wg.Done()
			errs <- createNamespace(ctx, kube, ns, s)
		}(fmt.Sprintf("%s-ns-%03d", prefix, n))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			tb.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Minute)
	for {
		running, err := runningPods(ctx, kube)
		if err != nil {
			tb.Fatal(err)
		}
		if running >= s.pods() {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d pods Running after 30 minutes", running, s.pods())
		}
		time.Sleep(2 * time.Second)
	}
	populated[s] = true
}

func createNamespace(ctx context.Context, kube kubernetes.Interface, ns string, s scale) error {
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"team": "bench"}}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	for d := 0; d < s.deployments; d++ {
		name := fmt.Sprintf("app-%03d", d)
		labels := map[string]string{"app": name}
		dep := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To(int32(s.replicas)),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{
						Name: "app", Image: "registry.example.com/app:1.0",
						Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
						Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
							corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi"),
						}},
						ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromString("http")}}},
					}}},
				},
			},
		}
		if _, err := kube.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
			return err
		}
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec:       corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: labels, Ports: []corev1.ServicePort{{Name: "http", Port: 8080}}},
		}
		if _, err := kube.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	return nil
}

func runningPods(ctx context.Context, kube kubernetes.Interface) (int, error) {
	n, cont := 0, ""
	for {
		list, err := kube.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "status.phase=Running", Limit: 5000, Continue: cont})
		if err != nil {
			return 0, err
		}
		n += len(list.Items)
		if cont = list.Continue; cont == "" {
			return n, nil
		}
	}
}

// measurement is one run of a command: wall time and peak RSS.
type measurement struct {
	wall time.Duration
	rss  int64 // bytes
}

// measure runs a command with its output thrown away and returns its wall
// time and peak resident memory.
func measure(tb testing.TB, name string, args ...string) measurement {
	tb.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = nil, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	// An audit exits 0 (no gate) or 1; anything else is a failure.
	if err != nil && cmd.ProcessState.ExitCode() != 1 {
		tb.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return measurement{wall: wall, rss: cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss * 1024}
}

// tools builds plimsoll and finds kubectl, and returns the resource types
// an audit lists, as kubectl names them.
func tools(tb testing.TB, cp *controlplane.ControlPlane) (plimsoll, kubectl string, types []string) {
	tb.Helper()
	dir := tb.TempDir()
	plimsoll = filepath.Join(dir, "plimsoll")
	build := exec.Command("go", "build", "-o", plimsoll, "./cmd/plimsoll")
	build.Dir = filepath.Join("..", "..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("build plimsoll: %v\n%s", err, out)
	}
	snap := filepath.Join(dir, "snap.json")
	measure(tb, plimsoll, "snapshot", "--kubeconfig", cp.Kubeconfig("admin"), "-o", snap)
	h, err := cluster.ReadSnapshot(snap, func(map[string]any) error { return nil })
	if err != nil {
		tb.Fatal(err)
	}
	for _, t := range h.Types {
		types = append(types, t.Name())
	}
	os.Remove(snap)
	return plimsoll, filepath.Join(cp.BinDir, "kubectl"), types
}

// compare runs the audit and the kubectl floor once each and returns both.
func compare(tb testing.TB, cp *controlplane.ControlPlane, plimsoll, kubectl string, types []string) (audit, floor measurement) {
	kc := cp.Kubeconfig("admin")
	floor = measure(tb, kubectl, "--kubeconfig", kc, "get", strings.Join(types, ","), "-A", "-o", "json")
	audit = measure(tb, plimsoll, "audit", "--kubeconfig", kc, "-o", "json")
	return audit, floor
}

// TestBenchmarkHarness runs the benchmark's code on a small cluster, so
// that it keeps working between the (long) benchmark runs.
func TestBenchmarkHarness(t *testing.T) {
	cp := controlplane.Shared()
	s := scale{nodes: 3, namespaces: 2, deployments: 2, replicas: 2}
	populate(t, cp, s, "small")
	plimsoll, kubectl, types := tools(t, cp)
	for _, want := range []string{"pods", "deployments.apps", "replicasets.apps", "services", "nodes"} {
		if !strings.Contains(","+strings.Join(types, ",")+",", ","+want+",") {
			t.Errorf("types listed %v lack %s", types, want)
		}
	}
	audit, floor := compare(t, cp, plimsoll, kubectl, types)
	if audit.wall <= 0 || audit.rss <= 0 || floor.wall <= 0 {
		t.Errorf("got audit %+v, floor %+v; want real measurements", audit, floor)
	}
}

// BenchmarkLiveAudit10kPods audits a cluster of 100 nodes and 10,000
// Running pods (50 namespaces of 20 Deployments of 10 replicas, each with a
// Service), and reports the audit's wall time and peak RSS beside those of
// `kubectl get <the same types> -A -o json`, the floor.
func BenchmarkLiveAudit10kPods(b *testing.B) {
	cp := controlplane.Shared()
	populate(b, cp, scale{nodes: 100, namespaces: 50, deployments: 20, replicas: 10}, "big")
	plimsoll, kubectl, types := tools(b, cp)
	b.ResetTimer()
	var audit, floor measurement
	for i := 0; i < b.N; i++ {
		a, f := compare(b, cp, plimsoll, kubectl, types)
		audit.wall += a.wall
		floor.wall += f.wall
		audit.rss = max(audit.rss, a.rss)
		floor.rss = max(floor.rss, f.rss)
	}
	n := float64(b.N)
	b.ReportMetric(audit.wall.Seconds()/n, "audit-s")
	b.ReportMetric(floor.wall.Seconds()/n, "kubectl-s")
	b.ReportMetric(audit.wall.Seconds()/floor.wall.Seconds(), "audit/kubectl")
	b.ReportMetric(float64(audit.rss)/(1<<20), "audit-peak-MB")
	b.ReportMetric(float64(floor.rss)/(1<<20), "kubectl-peak-MB")
}
