package platform

import (
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/manifest"
)

func build(t *testing.T, yaml string) *inventory.Inventory {
	t.Helper()
	res := manifest.Parse("test.yaml", []byte(yaml), inventory.Source{File: "test.yaml"})
	for _, e := range res.Errors {
		t.Fatal(e)
	}
	return Inventory(inventory.FromCluster, res.Objects)
}

func workload(kind, ns, name, labels, image string) string {
	return `---
apiVersion: apps/v1
kind: ` + kind + `
metadata: {name: ` + name + `, namespace: ` + ns + `, labels: {` + labels + `}}
spec:
  selector: {matchLabels: {x: y}}
  template:
    metadata: {labels: {x: y}}
    spec: {containers: [{name: c, image: "` + image + `"}]}
`
}

func TestRecognise(t *testing.T) {
	inv := build(t, workload("StatefulSet", "monitoring", "prometheus-k8s", "app.kubernetes.io/name: prometheus", "quay.io/prometheus/prometheus:v2.53.0")+
		workload("Deployment", "monitoring", "kps-grafana", "", "example.com/custom:1")+
		workload("Deployment", "kube-system", "coredns", "k8s-app: kube-dns", "registry.k8s.io/coredns/coredns:v1.11.1")+
		workload("DaemonSet", "logging", "shipper", "", "cr.fluentbit.io/fluent/fluent-bit:3.0@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")+
		workload("Deployment", "logging", "fluent-bit", "", "busybox")+
		workload("Deployment", "shop", "web", "app: web", "nginx:1.27"))
	cases := []struct {
		c    Component
		want string
	}{
		{Prometheus, "Prometheus StatefulSet monitoring/prometheus-k8s (label app.kubernetes.io/name=prometheus)"},
		{Grafana, "Grafana Deployment monitoring/kps-grafana (name kps-grafana)"},
		// The CoreDNS entry comes before kube-dns, which shares its label.
		{DNS, "CoreDNS Deployment kube-system/coredns (image registry.k8s.io/coredns/coredns:v1.11.1)"},
		// A shipper must be a DaemonSet: the Deployment of the same name
		// is not one.
		{LogShipper, "Fluent Bit DaemonSet logging/shipper (image cr.fluentbit.io/fluent/fluent-bit:3.0@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08)"},
		{IngressController, ""},
	}
	for _, c := range cases {
		if got := Describe(Find(inv, c.c)); got != c.want {
			t.Errorf("%s: got %q, want %q", c.c, got, c.want)
		}
	}
}

func TestTableIsWellFormed(t *testing.T) {
	names := map[string]bool{}
	for _, impl := range Implementations {
		if impl.Name == "" || impl.Component == "" || names[impl.Name] {
			t.Errorf("%+v: needs a unique name and a component", impl)
		}
		names[impl.Name] = true
		if len(impl.Labels)+len(impl.Images)+len(impl.Names) == 0 {
			t.Errorf("%s: no signal recognises its workloads", impl.Name)
		}
		for _, crd := range impl.CRDs {
			if strings.Count(crd, ".") < 2 {
				t.Errorf("%s: CRD %q is not plural.group", impl.Name, crd)
			}
		}
		if impl.Component == CNI && !impl.DaemonSet {
			t.Errorf("%s: a CNI runs as a DaemonSet", impl.Name)
		}
	}
}

// TestTableLabelSets: every label set in the table parses, so none is
// silently never matched.
func TestTableLabelSets(t *testing.T) {
	if _, err := parseLabelSets(Implementations); err != nil {
		t.Error(err)
	}
}

// TestParseLabelSets: a malformed label set is an error and matches
// nothing; the others match labels that have all their pairs.
func TestParseLabelSets(t *testing.T) {
	impls := []Implementation{{Name: "ok", Labels: []string{"app=web", "app.kubernetes.io/name=web,app.kubernetes.io/component=api"}}}
	for _, bad := range []string{"", "app", "app=web,", "app=a=b", "app=a b", "-app=web", "app=web,app=api"} {
		impls = append(impls, Implementation{Name: "bad", Labels: []string{bad}})
	}
	selectors, err := parseLabelSets(impls)
	if err == nil {
		t.Fatal("got no error for the malformed label sets")
	}
	for i, impl := range impls[1:] {
		if !strings.Contains(err.Error(), strconv.Quote(impl.Labels[0])) {
			t.Errorf("the error does not name label set %q: %v", impl.Labels[0], err)
		}
		if selectors[i+1][0].Matches(labels.Set{"app": "web", "app.kubernetes.io/name": "web"}) {
			t.Errorf("malformed label set %q matches", impl.Labels[0])
		}
	}
	if strings.Contains(err.Error(), "ok:") {
		t.Errorf("the error names a well-formed label set: %v", err)
	}
	have := labels.Set{"app": "web", "app.kubernetes.io/name": "web", "app.kubernetes.io/component": "api", "tier": "front"}
	if !selectors[0][0].Matches(have) || !selectors[0][1].Matches(have) {
		t.Errorf("the label sets do not match %v", have)
	}
	delete(have, "app.kubernetes.io/component")
	if selectors[0][1].Matches(have) {
		t.Errorf("a label set matches %v, which lacks one of its pairs", have)
	}
}

func TestRepository(t *testing.T) {
	const digest = "@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	for in, want := range map[string]string{
		"nginx":                             "nginx",
		"nginx:1.27":                        "nginx",
		"docker.io/library/nginx:1.27":      "docker.io/library/nginx",
		"localhost:5000/team/app:v1":        "localhost:5000/team/app",
		"localhost:5000/team/app":           "localhost:5000/team/app",
		"quay.io/x/y" + digest:              "quay.io/x/y",
		"quay.io/x/y:v1" + digest:           "quay.io/x/y",
		"registry.k8s.io/coredns/coredns:1": "registry.k8s.io/coredns/coredns",
		// Shapes the corpus holds: a registry with a hyphen and a deep
		// path, a path that looks like Docker Hub's under another
		// registry, a tag with a digest.
		"us-central1-docker.pkg.dev/online-boutique-ci/microservices-demo/adservice:v0.10.6": "us-central1-docker.pkg.dev/online-boutique-ci/microservices-demo/adservice",
		"public.ecr.aws/docker/library/haproxy:3.0.8-alpine":                                 "public.ecr.aws/docker/library/haproxy",
		"registry.k8s.io/ingress-nginx/controller:v1.11.3" + digest:                          "registry.k8s.io/ingress-nginx/controller",
		// Not valid references, which the kubelet refuses to pull: upper
		// case in the repository, a digest too short, no tag after the
		// colon, a placeholder, nothing.
		"quay.io/X/y:1":           "",
		"quay.io/x/y@sha256:0123": "",
		"nginx:":                  "",
		"<image_url>":             "",
		"<YOUR-CONTAINER>":        "",
		"":                        "",
	} {
		if got := Repository(in); got != want {
			t.Errorf("Repository(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestGaps judges a node agent against every node whose logs and metrics
// matter: a control-plane node whose taint it does not tolerate is a gap,
// with the taint; a cordoned node is not (the DaemonSet controller
// tolerates it); a node outside its nodeSelector is, with the selector; a
// virtual node does not count.
func TestGaps(t *testing.T) {
	nodes := `
apiVersion: v1
kind: Node
metadata: {name: cp, labels: {node-role.kubernetes.io/control-plane: ""}}
spec: {taints: [{key: node-role.kubernetes.io/control-plane, effect: NoSchedule}]}
---
apiVersion: v1
kind: Node
metadata: {name: a, labels: {pool: apps}}
---
apiVersion: v1
kind: Node
metadata: {name: b, labels: {pool: apps}}
---
apiVersion: v1
kind: Node
metadata: {name: cordoned, labels: {pool: apps}}
spec: {unschedulable: true, taints: [{key: node.kubernetes.io/unschedulable, effect: NoSchedule}]}
---
apiVersion: v1
kind: Node
metadata: {name: batch, labels: {pool: batch}}
---
apiVersion: v1
kind: Node
metadata: {name: fargate-1, labels: {eks.amazonaws.com/compute-type: fargate}}
`
	agent := func(spec string) string {
		return `
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: exporter, namespace: mon, uid: ds-1}
spec:
  selector: {matchLabels: {x: y}}
  template:
    metadata: {labels: {x: y}}
    spec: {containers: [{name: c, image: prom/node-exporter}]` + spec + `}
---
apiVersion: v1
kind: Pod
metadata:
  name: exporter-a
  namespace: mon
  ownerReferences: [{apiVersion: apps/v1, kind: DaemonSet, name: exporter, uid: ds-1, controller: true}]
spec: {nodeName: a, containers: [{name: c, image: prom/node-exporter}]}
status: {conditions: [{type: Ready, status: "True"}]}
`
	}
	tests := []struct {
		name, spec string
		want       []Gap
	}{
		{"no tolerations", "", []Gap{
			{"b", "no ready pod"}, {"batch", "no ready pod"},
			{"cordoned", "no ready pod"},
			{"cp", "taint node-role.kubernetes.io/control-plane:NoSchedule not tolerated"},
		}},
		{"a nodeSelector", ", nodeSelector: {pool: apps}, tolerations: [{operator: Exists}]", []Gap{
			{"b", "no ready pod"}, {"batch", "nodeSelector pool=apps"},
			{"cordoned", "no ready pod"}, {"cp", "nodeSelector pool=apps"},
		}},
		{"required node affinity", ", affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: pool, operator: NotIn, values: [batch]}]}]}}}", []Gap{
			{"b", "no ready pod"}, {"batch", "required node affinity"},
			{"cordoned", "no ready pod"},
			{"cp", "taint node-role.kubernetes.io/control-plane:NoSchedule not tolerated"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := build(t, nodes+agent(tt.spec))
			gaps, n := Gaps(inv, inv.Get("DaemonSet", "mon", "exporter"))
			if n != 5 {
				t.Errorf("got %d nodes that matter, want 5 (the Fargate node runs no DaemonSet pod)", n)
			}
			if diff := cmp.Diff(tt.want, gaps); diff != "" {
				t.Errorf("gaps (-want +got):\n%s", diff)
			}
		})
	}
}

func TestManaged(t *testing.T) {
	eks := build(t, `
apiVersion: v1
kind: Node
metadata: {name: ip-10-0-0-1, labels: {eks.amazonaws.com/nodegroup: ng-1, topology.kubernetes.io/zone: eu-west-1a}}
`)
	if p := Managed(eks); p == nil || p.Name != "Amazon EKS" || p.Evidence != "Node ip-10-0-0-1 label eks.amazonaws.com/nodegroup" {
		t.Errorf("got %+v, want Amazon EKS from the node label", p)
	}
	kubeadm := build(t, `
apiVersion: v1
kind: Node
metadata: {name: cp-1, labels: {node-role.kubernetes.io/control-plane: ""}}
`)
	if p := Managed(kubeadm); p != nil {
		t.Errorf("got %+v for a kubeadm cluster, want none", p)
	}
}

// TestSchedulable: a cordoned node, or one with a NoSchedule or NoExecute
// taint, takes no ordinary pod; a PreferNoSchedule taint only discourages.
func TestSchedulable(t *testing.T) {
	taint := func(effect corev1.TaintEffect) []corev1.Taint {
		return []corev1.Taint{{Key: "dedicated", Value: "gpu", Effect: effect}}
	}
	for name, tt := range map[string]struct {
		spec corev1.NodeSpec
		want bool
	}{
		"plain":            {corev1.NodeSpec{}, true},
		"cordoned":         {corev1.NodeSpec{Unschedulable: true}, false},
		"NoSchedule":       {corev1.NodeSpec{Taints: taint(corev1.TaintEffectNoSchedule)}, false},
		"NoExecute":        {corev1.NodeSpec{Taints: taint(corev1.TaintEffectNoExecute)}, false},
		"PreferNoSchedule": {corev1.NodeSpec{Taints: taint(corev1.TaintEffectPreferNoSchedule)}, true},
	} {
		if got := Schedulable(&corev1.Node{Spec: tt.spec}); got != tt.want {
			t.Errorf("%s: got %v, want %v", name, got, tt.want)
		}
	}
}
