package platform

import (
	"strings"
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

// fixtureNow is the time the fixtures describe.
var fixtureNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestBackupEtcdNotAssessed covers what fixtures cannot show: where plimsoll
// cannot see etcd's backups (a managed control plane, a distribution that
// snapshots etcd itself, a control plane out of sight) backup-etcd is not
// assessed, and says why, rather than pass or fail.
func TestBackupEtcdNotAssessed(t *testing.T) {
	const cluster = "---\napiVersion: plimsoll.dev/v1alpha1\nkind: Cluster\nmetadata: {name: cluster}\nstatus: {kubernetesVersion: %s}\n"
	node := func(name, labels string) string {
		return "---\napiVersion: v1\nkind: Node\nmetadata: {name: " + name + ", labels: {" + labels + "}}\n"
	}
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"EKS-labelled nodes", node("ip-10-0-1-17.eu-west-1.compute.internal", "eks.amazonaws.com/nodegroup: general, topology.kubernetes.io/zone: eu-west-1a"),
			"provider-managed: Amazon EKS (Node ip-10-0-1-17.eu-west-1.compute.internal label eks.amazonaws.com/nodegroup) backs up etcd"},
		{"k3s", strings.Replace(cluster, "%s", "v1.33.1+k3s1", 1) + node("server-1", "node-role.kubernetes.io/control-plane: \"true\""),
			"k3s (API server version v1.33.1+k3s1) snapshots etcd itself"},
		{"control plane out of sight", node("worker-a", "kubernetes.io/hostname: worker-a"),
			"the control plane is not visible: no Node has label node-role.kubernetes.io/control-plane"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			results, st := resultsOf(auditObjects(t, parseCluster(t, tc.yaml), fixtureNow), "backup-etcd")
			if len(results) != 1 {
				t.Fatalf("got %d results, want 1", len(results))
			}
			r := results[0]
			if r.Status != audit.Skip || !r.Unassessed || !strings.Contains(r.Message, tc.want) {
				t.Errorf("got %s (unassessed %v) %q, want a skip, not assessed, saying %q", r.Status, r.Unassessed, r.Message, tc.want)
			}
			if st == nil || st.Assessed || !strings.Contains(st.Reason, tc.want) {
				t.Errorf("got check state %+v, want not assessed because %q", st, tc.want)
			}
		})
	}
}

// TestVeleroChecksSkipWithoutVelero: without Velero, the checks of its
// schedules and restores are not applicable; backup-velero alone fails.
func TestVeleroChecksSkipWithoutVelero(t *testing.T) {
	a := auditObjects(t, parseCluster(t, shopWeb), fixtureNow)
	for id, want := range map[string]audit.Status{"backup-velero": audit.Fail, "backup-schedule-coverage": audit.Skip, "backup-restore-tested": audit.Skip} {
		results, _ := resultsOf(a, id)
		for _, r := range results {
			if r.Status != want || (want == audit.Skip && !strings.Contains(r.Message, "Velero is not installed: backup-velero reports it")) {
				t.Errorf("%s on %s: got %s %q, want %s", id, r.Object.ID(), r.Status, r.Message, want)
			}
		}
		if len(results) == 0 {
			t.Errorf("%s: got no results, want one", id)
		}
	}
}

func TestScheduleInterval(t *testing.T) {
	for _, tc := range []struct {
		schedule string
		want     time.Duration // 0: does not parse
	}{
		{"0 2 * * *", 24 * time.Hour},
		{"0 */6 * * *", 6 * time.Hour},
		{"@every 4h", 4 * time.Hour},
		{"0 2 * * 1-5", 72 * time.Hour}, // over the weekend
		{"0 3 * * 0", 7 * 24 * time.Hour},
		{"0 2 1 * *", 31 * 24 * time.Hour}, // December has 31 days
		{"0 0 1 1 *", 365 * 24 * time.Hour},
		{"every night", 0},
		{"", 0},
	} {
		s := &inventory.Object{Content: map[string]any{"spec": map[string]any{"schedule": tc.schedule}}}
		got, ok := scheduleInterval(s, fixtureNow)
		if got != tc.want || ok != (tc.want != 0) {
			t.Errorf("scheduleInterval(%q) = %v, %v; want %v", tc.schedule, got, ok, tc.want)
		}
	}
}

// shopWeb is the shop's web Deployment, running.
const shopWeb = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: registry.example.com/shop/web:1.4.2}]}
status: {replicas: 1, readyReplicas: 1}
`
