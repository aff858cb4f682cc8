package platform

import (
	"strings"
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// snapshotTime is when examples/production was taken.
var snapshotTime = time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)

// auditClusterLines audits objects read as a cluster with every check,
// and returns the results of one check, each as "Kind ns/name: status:
// message", the status "unassessed" for a skip because the check could not
// be judged.
func auditClusterLines(t *testing.T, objects []*inventory.Object, id string) []string {
	t.Helper()
	results, _ := resultsOf(auditObjects(t, objects, snapshotTime), id)
	var out []string
	for _, r := range results {
		status := r.Status.String()
		if r.Unassessed {
			status = "unassessed"
		}
		out = append(out, r.Object.ID()+": "+status+": "+r.Message)
	}
	return out
}

// TestNetworkChecksDoNotGuess covers what pass and fail fixtures cannot:
// where the cluster does not show enough, the check says not assessed, and
// why.
func TestNetworkChecksDoNotGuess(t *testing.T) {
	const awsNode = `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: aws-node, namespace: kube-system, labels: {k8s-app: aws-node}}
spec:
  selector: {matchLabels: {k8s-app: aws-node}}
  template:
    metadata: {labels: {k8s-app: aws-node}}
    spec:
      containers: [{name: aws-node, image: 602401143452.dkr.ecr.eu-west-1.amazonaws.com/amazon-k8s-cni:v1.19.0-eksbuild.1}]
status: {desiredNumberScheduled: 3, numberReady: 3}
`
	const eksNode = `apiVersion: v1
kind: Node
metadata: {name: ip-10-0-1-17.eu-west-1.compute.internal, labels: {eks.amazonaws.com/nodegroup: general}}
`
	const gkeIngress = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop, annotations: {kubernetes.io/ingress.class: gce}}
spec:
  defaultBackend: {service: {name: web, port: {number: 80}}}
status: {loadBalancer: {ingress: [{ip: 203.0.113.20}]}}
`
	const albClass = `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: alb}
spec: {controller: ingress.k8s.aws/alb}
`
	for _, tc := range []struct {
		name, id, yaml, want string
	}{
		{"the AWS VPC CNI's policy agent is configuration", "cni-enforces-networkpolicy", awsNode,
			"Cluster cluster: unassessed: not assessed: AWS VPC CNI DaemonSet kube-system/aws-node (label k8s-app=aws-node) enforces NetworkPolicy only when its configuration enables it"},
		{"no CNI recognised on EKS", "cni-enforces-networkpolicy", eksNode,
			"Cluster cluster: unassessed: not assessed: the CNI was not identified; the cluster runs on Amazon EKS (Node ip-10-0-1-17.eu-west-1.compute.internal label eks.amazonaws.com/nodegroup)"},
		{"no CNI recognised", "cni-enforces-networkpolicy", albClass,
			"Cluster cluster: unassessed: not assessed: the CNI was not identified: no DaemonSet is a recognised CNI (Canal, Calico, "},
		{"a controller served from outside the cluster", "ingress-controller", gkeIngress,
			"Cluster cluster: unassessed: not assessed: no recognised ingress controller (ingress-nginx, Traefik, HAProxy Kubernetes Ingress, Kong, Istio ingress gateway, Envoy Gateway) runs, but Ingress shop/web has the address 203.0.113.20"},
		{"an IngressClass of an unrecognised controller", "ingress-controller", albClass,
			"Cluster cluster: unassessed: not assessed: no recognised ingress controller (ingress-nginx, Traefik, HAProxy Kubernetes Ingress, Kong, Istio ingress gateway, Envoy Gateway) runs, but IngressClass alb (controller ingress.k8s.aws/alb) names one"},
		{"the old annotation names no IngressClass", "ingress-class-exists", gkeIngress,
			`Ingress shop/web: unassessed: not assessed: annotation kubernetes.io/ingress.class is "gce", which no IngressClass declares (the cluster has no IngressClass)`},
		{"no cluster DNS recognised", "dns-ha", eksNode,
			"Cluster cluster: unassessed: not assessed: no cluster DNS was recognised (CoreDNS, kube-dns)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := auditClusterLines(t, parseCluster(t, tc.yaml), tc.id)
			if len(got) != 1 || !strings.HasPrefix(got[0], tc.want) {
				t.Errorf("got %q, want one result starting %q", got, tc.want)
			}
		})
	}
}
