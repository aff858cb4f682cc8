package controlplane_test

import (
	"context"
	"fmt"
	"maps"
	"net"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/plimsoll/plimsoll/test/controlplane"
)

// viewer is bound to the built-in "view" ClusterRole, which reads most
// things but not Secrets.
var viewer = controlplane.User{Name: "viewer", Groups: []string{"plimsoll:viewers"}}

func TestMain(m *testing.M) { controlplane.Main(m, viewer) }

func TestNetworkIsolation(t *testing.T) {
	// InNetns ran this copy of the test binary in a namespace of its own,
	// unless the binary was started in an isolated namespace already.
	if name := os.Getenv(controlplane.NetnsEnv); name != "" {
		self := stat(t, "/proc/self/ns/net")
		if !os.SameFile(self, stat(t, "/run/netns/"+name)) {
			t.Errorf("not in network namespace %s", name)
		}
		if os.SameFile(self, stat(t, fmt.Sprintf("/proc/%d/ns/net", os.Getppid()))) {
			t.Error("in the same network namespace as the process that started this one")
		}
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range ifaces {
		names = append(names, i.Name)
	}
	if !slices.Equal(names, []string{"lo"}) {
		t.Errorf("network interfaces %v, want only lo", names)
	}
	entries, err := os.ReadDir("/sys/class/net")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "lo" {
		t.Errorf("/sys/class/net has %v, want only lo", entries)
	}
	// The kubernetes Service IP and a public address are unreachable.
	for _, addr := range []string{"10.0.0.1:443", "1.1.1.1:443"} {
		if conn, err := net.DialTimeout("tcp", addr, 5*time.Second); err == nil {
			conn.Close()
			t.Errorf("dialled %s", addr)
		}
	}
}

// runs numbers the runs of TestControlPlane (go test -count), whose nodes
// and cluster-scoped objects stay in the shared control plane.
var runs atomic.Int32

func TestControlPlane(t *testing.T) {
	run := "-" + strconv.Itoa(int(runs.Add(1)))
	cp := controlplane.Shared()
	admin := clientset(t, cp.RESTConfig(controlplane.AdminUser))
	ctx := t.Context()

	t.Run("version", func(t *testing.T) {
		v, err := admin.Discovery().ServerVersion()
		if err != nil {
			t.Fatal(err)
		}
		if v.GitVersion != "v1.36.3" {
			t.Errorf("API server version %s, want v1.36.3", v.GitVersion)
		}
	})

	zones := []string{"zone-a", "zone-b", "zone-c"}
	nodesOK := t.Run("nodes", func(t *testing.T) {
		var nodes []controlplane.Node
		for i, zone := range zones {
			nodes = append(nodes, controlplane.Node{Name: "worker-" + zone + run, Zone: zone, Role: "worker", CPU: []string{"2", "4", "8"}[i]})
		}
		if err := cp.AddNodes(ctx, nodes...); err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes {
			node, err := admin.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if s := readyStatus(node); s != corev1.ConditionTrue {
				t.Errorf("node %s: Ready %q", n.Name, s)
			}
			for k, v := range map[string]string{corev1.LabelTopologyZone: n.Zone, corev1.LabelOSStable: "linux", "node-role.kubernetes.io/worker": ""} {
				if got, ok := node.Labels[k]; !ok || got != v {
					t.Errorf("node %s: label %s=%q, want %q", n.Name, k, got, v)
				}
			}
			if cpu := node.Status.Allocatable.Cpu().String(); cpu != n.CPU {
				t.Errorf("node %s: allocatable cpu %s, want %s", n.Name, cpu, n.CPU)
			}
		}
	})

	t.Run("deployment", func(t *testing.T) {
		if !nodesOK {
			t.Skip("no nodes")
		}
		ns := namespace(t, admin, "deployment")
		labels := map[string]string{"app": "web"}
		deployment := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "web"},
			Spec: appsv1.DeploymentSpec{
				Replicas: new(int32(3)),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{
						Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}},
						TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{
							MaxSkew: 1, TopologyKey: corev1.LabelTopologyZone,
							WhenUnsatisfiable: corev1.DoNotSchedule,
							LabelSelector:     &metav1.LabelSelector{MatchLabels: labels},
						}},
					},
				},
			},
		}
		if _, err := admin.AppsV1().Deployments(ns).Create(ctx, deployment, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		var pods []corev1.Pod
		eventually(t, "3 Running pods", func(ctx context.Context) (bool, error) {
			list, err := admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, err
			}
			pods = list.Items
			running := 0
			for _, p := range pods {
				if p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" {
					running++
				}
			}
			return running == 3 && len(pods) == 3, nil
		})
		seen := map[string]bool{}
		for _, p := range pods {
			node, err := admin.CoreV1().Nodes().Get(ctx, p.Spec.NodeName, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("pod %s on node %q: %v", p.Name, p.Spec.NodeName, err)
			}
			seen[node.Labels[corev1.LabelTopologyZone]] = true
		}
		for _, zone := range zones {
			if !seen[zone] {
				t.Errorf("no pod in %s; pods in %v", zone, seen)
			}
		}
	})

	t.Run("rbac", func(t *testing.T) {
		_, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "plimsoll-viewers" + run},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: viewer.Groups[0]}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pods := []rbacv1.PolicyRule{{Verbs: []string{"list"}, Resources: []string{"pods"}}}
		if err := controlplane.AwaitRBAC(ctx, admin, viewer.Name, viewer.Groups, "", pods); err != nil {
			t.Fatal(err)
		}
		config, err := clientcmd.BuildConfigFromFlags("", cp.Kubeconfig(viewer.Name))
		if err != nil {
			t.Fatal(err)
		}
		client := clientset(t, config)
		if _, err := client.CoreV1().Pods("").List(ctx, metav1.ListOptions{}); err != nil {
			t.Errorf("viewer lists pods: %v", err)
		}
		_, err = client.CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
		if !apierrors.IsForbidden(err) {
			t.Errorf("viewer lists secrets: got %v, want Forbidden", err)
		}
	})

	t.Run("node not ready", func(t *testing.T) {
		flaky := "flaky" + run
		if err := cp.AddNodes(ctx, controlplane.Node{Name: flaky, Zone: "zone-a"}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			status corev1.ConditionStatus
			taint  string
		}{
			{corev1.ConditionFalse, corev1.TaintNodeNotReady},
			{corev1.ConditionTrue, ""},
			{corev1.ConditionUnknown, corev1.TaintNodeUnreachable},
			{corev1.ConditionTrue, ""},
		} {
			if err := cp.SetNodeReady(ctx, flaky, c.status); err != nil {
				t.Fatal(err)
			}
			// SetNodeReady returns only once the node has settled.
			node, err := admin.CoreV1().Nodes().Get(ctx, flaky, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			keys, want := map[string]bool{}, map[string]bool{}
			for _, taint := range node.Spec.Taints {
				keys[taint.Key] = true
			}
			if c.taint != "" {
				want[c.taint] = true
			}
			if got := readyStatus(node); got != c.status || !maps.Equal(keys, want) {
				t.Errorf("after SetNodeReady(%s): Ready %s, taints %v; want taints %v", c.status, got, keys, want)
			}
		}
	})

	t.Run("etcd compaction expires continue tokens", func(t *testing.T) {
		ns := namespace(t, admin, "compaction")
		for _, name := range []string{"a", "b", "c", "d"} {
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}
			if _, err := admin.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		page, err := admin.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if page.Continue == "" {
			t.Fatal("no continue token")
		}
		if err := cp.CompactEtcd(ctx); err != nil {
			t.Fatal(err)
		}
		_, err = admin.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{Limit: 2, Continue: page.Continue})
		if !apierrors.IsResourceExpired(err) {
			t.Errorf("continue after compaction: got %v, want 410 Expired", err)
		}
		if _, err := admin.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{}); err != nil {
			t.Errorf("a new list after compaction: %v", err)
		}
	})

}

// TestStopAPIServer starts a control plane of its own, since it breaks it.
func TestStopAPIServer(t *testing.T) {
	cp, err := controlplane.Start(t.Context(), controlplane.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Stop()
	admin := clientset(t, cp.RESTConfig(controlplane.AdminUser))
	if _, err := admin.Discovery().ServerVersion(); err != nil {
		t.Fatal(err)
	}
	if err := cp.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Discovery().ServerVersion(); err == nil {
		t.Error("the API server still answers")
	}
	if _, err := admin.CoreV1().Nodes().List(t.Context(), metav1.ListOptions{}); err == nil {
		t.Error("the API server still lists nodes")
	}
}

func stat(t *testing.T, path string) os.FileInfo {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

func clientset(t *testing.T, config *rest.Config) *kubernetes.Clientset {
	t.Helper()
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// namespace creates a namespace named after prefix for the test.
func namespace(t *testing.T, client kubernetes.Interface, prefix string) string {
	t.Helper()
	ns, err := client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// eventually polls done until it says so, failing the test after two
// minutes: a deadline for a slow machine, not a timing assertion.
func eventually(t *testing.T, what string, done func(context.Context) (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var last error
	err := wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		ok, err := done(ctx)
		last = err
		return ok, nil
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v (last error: %v)", what, err, last)
	}
}

func readyStatus(node *corev1.Node) corev1.ConditionStatus {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status
		}
	}
	return ""
}
