package inventory_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// TestWorkloadKinds pins the lists checks derive from the table: a change
// to the table that moves a kind in or out of one changes which objects
// checks judge.
func TestWorkloadKinds(t *testing.T) {
	for _, tc := range []struct {
		name string
		keep func(inventory.WorkloadKind) bool
		want []string
	}{
		{"all", nil, []string{"CronJob", "DaemonSet", "Deployment", "Job", "Pod", "ReplicaSet", "ReplicationController", "StatefulSet"}},
		{"controllers", func(w inventory.WorkloadKind) bool { return w.Controller },
			[]string{"CronJob", "DaemonSet", "Deployment", "Job", "ReplicaSet", "ReplicationController", "StatefulSet"}},
		{"keep running", func(w inventory.WorkloadKind) bool { return !w.Finishes },
			[]string{"DaemonSet", "Deployment", "Pod", "ReplicaSet", "ReplicationController", "StatefulSet"}},
		{"replica counts", func(w inventory.WorkloadKind) bool { return w.Replicas },
			[]string{"Deployment", "ReplicaSet", "ReplicationController", "StatefulSet"}},
		{"replicated", func(w inventory.WorkloadKind) bool { return w.Replicated }, []string{"Deployment", "StatefulSet"}},
		{"through another kind", func(w inventory.WorkloadKind) bool { return w.Through != "" }, []string{"CronJob", "Deployment"}},
		{"rollouts wait for Ready", func(w inventory.WorkloadKind) bool { return w.WaitsReady }, []string{"DaemonSet", "Deployment", "StatefulSet"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, inventory.WorkloadKinds(tc.keep)); diff != "" {
				t.Errorf("WorkloadKinds (-want +got):\n%s", diff)
			}
		})
	}
	if _, ok := inventory.WorkloadKindOf("Service"); ok {
		t.Errorf("WorkloadKindOf(Service): got a workload kind, want none")
	}
}

// workloadAPIVersions are the current apiVersions of the workload kinds.
var workloadAPIVersions = map[string]string{
	"CronJob": "batch/v1", "DaemonSet": "apps/v1", "Deployment": "apps/v1", "Job": "batch/v1",
	"Pod": "v1", "ReplicaSet": "apps/v1", "ReplicationController": "v1", "StatefulSet": "apps/v1",
}

// TestWorkloadTableAgreesWithDecoding proves that each kind's properties
// are what decoding finds: a pod template where the table says the kind is
// a controller, a replica count where it says the kind has one, pods judged
// through their controller when it is one, and an object in between that is
// itself a controller.
func TestWorkloadTableAgreesWithDecoding(t *testing.T) {
	for _, key := range inventory.WorkloadKinds(nil) {
		t.Run(key, func(t *testing.T) {
			w, ok := inventory.WorkloadKindOf(key)
			if !ok || w.Kind != key {
				t.Fatalf("WorkloadKindOf(%s): got %+v, %t", key, w, ok)
			}
			apiVersion, ok := workloadAPIVersions[key]
			if !ok {
				t.Fatalf("no apiVersion for %s in the test", key)
			}
			// Each kind's pod template where its type has it: a Pod is its
			// own, a CronJob's is in its jobTemplate.
			spec := map[string]any{"template": map[string]any{}}
			switch key {
			case "Pod":
				spec = map[string]any{}
			case "CronJob":
				spec = map[string]any{"jobTemplate": map[string]any{"spec": spec}}
			}
			o, err := inventory.New(map[string]any{
				"apiVersion": apiVersion, "kind": key,
				"metadata": map[string]any{"name": "w", "namespace": "ns"},
				"spec":     spec,
			}, inventory.Source{})
			if err != nil {
				t.Fatal(err)
			}
			tmpl, path := o.PodTemplate()
			if tmpl == nil {
				t.Errorf("PodTemplate: got none, want one")
			}
			if got := path != ""; got != w.Controller {
				t.Errorf("PodTemplate path %q, but Controller is %t", path, w.Controller)
			}
			if _, got := o.Replicas(); got != w.Replicas {
				t.Errorf("Replicas: got a count %t, want %t", got, w.Replicas)
			}
			if w.Replicated && !w.Replicas {
				t.Errorf("Replicated without Replicas")
			}
			if w.Through != "" {
				if through, ok := inventory.WorkloadKindOf(w.Through); !ok || !through.Controller {
					t.Errorf("Through %s: got %+v, want a controller", w.Through, through)
				}
			}
			pod, err := inventory.New(map[string]any{
				"apiVersion": "v1", "kind": "Pod",
				"metadata": map[string]any{"name": "p", "namespace": "ns", "ownerReferences": []any{
					map[string]any{"apiVersion": apiVersion, "kind": key, "name": "w", "uid": "u", "controller": true},
				}},
			}, inventory.Source{})
			if err != nil {
				t.Fatal(err)
			}
			if got := pod.Controlled(); got != w.Controller {
				t.Errorf("a pod it controls: got Controlled %t, want %t", got, w.Controller)
			}
		})
	}
}
