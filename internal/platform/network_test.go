package platform

import "testing"

// TestCanal: Canal's DaemonSet carries the calico/node image beside
// Flannel's, and is recognised as Canal, which enforces NetworkPolicy; so
// is RKE2's, by its name.
func TestCanal(t *testing.T) {
	inv := build(t, `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: canal, namespace: kube-system, labels: {k8s-app: canal}}
spec:
  selector: {matchLabels: {k8s-app: canal}}
  template:
    metadata: {labels: {k8s-app: canal}}
    spec:
      containers:
        - {name: calico-node, image: docker.io/calico/node:v3.29.1}
        - {name: kube-flannel, image: docker.io/flannel/flannel:v0.26.1}
`+workload("DaemonSet", "kube-system", "rke2-canal", "", "rancher/hardened-calico:v3.29.1-build20250101"))
	ms := Find(inv, CNI)
	want := []string{"Canal DaemonSet kube-system/canal (label k8s-app=canal)", "Canal DaemonSet kube-system/rke2-canal (name rke2-canal)"}
	if len(ms) != len(want) {
		t.Fatalf("got %q, want %q", Describe(ms), want)
	}
	for i, m := range ms {
		if m.String() != want[i] || m.Impl.NetworkPolicy != Enforces {
			t.Errorf("got %s (enforcement %d), want %s, which enforces", m, m.Impl.NetworkPolicy, want[i])
		}
	}
}
