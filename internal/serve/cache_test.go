package serve

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestFingerprint: a write that changes only the resourceVersion, or only a
// Node's heartbeat times, is no change; anything else is, heartbeat times
// of other kinds included; and the objects are left as they were.
func TestFingerprint(t *testing.T) {
	object := func(kind, rv, heartbeat, ready string) map[string]any {
		return map[string]any{
			"apiVersion": "v1", "kind": kind,
			"metadata": map[string]any{"name": "n1", "resourceVersion": rv},
			"status": map[string]any{"conditions": []any{
				map[string]any{"type": "Ready", "status": ready, "lastHeartbeatTime": heartbeat},
			}},
		}
	}
	const t0, t1 = "2026-11-21T12:00:00Z", "2026-11-21T12:00:40Z"
	for _, c := range []struct {
		name string
		a, b map[string]any
		same bool
	}{
		{"a new resourceVersion", object("Node", "1", t0, "True"), object("Node", "2", t0, "True"), true},
		{"a heartbeat", object("Node", "1", t0, "True"), object("Node", "2", t1, "True"), true},
		{"a condition", object("Node", "1", t0, "True"), object("Node", "2", t1, "False"), false},
		{"a heartbeat time on another kind", object("Other", "1", t0, "True"), object("Other", "1", t1, "True"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, b := runtime.DeepCopyJSON(c.a), runtime.DeepCopyJSON(c.b)
			if got := fingerprint(c.a) == fingerprint(c.b); got != c.same {
				t.Errorf("got the same fingerprint %v, want %v", got, c.same)
			}
			if d := cmp.Diff(a, c.a) + cmp.Diff(b, c.b); d != "" {
				t.Errorf("fingerprint changed an object:\n%s", d)
			}
		})
	}
}
