package drill

import (
	"strings"
	"testing"

	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The disruption controller's arithmetic, case by case, as its own tests
// in k8s.io/kubernetes pkg/controller/disruption/disruption_test.go pose
// them: percentages round up, integer minAvailable counts pods, and the
// other forms count the controllers' scale.
func TestExpectedPodCount(t *testing.T) {
	deploy := func(replicas int32) *workload {
		return &workload{kind: "Deployment", replicas: replicas, scale: scaleKnown}
	}
	podsOf := func(w *workload, n int) []*pod {
		out := make([]*pod, n)
		for i := range out {
			out[i] = &pod{name: "p", workload: w}
		}
		return out
	}
	intOrString := func(s string) *intstr.IntOrString {
		v := intstr.Parse(s)
		return &v
	}
	ten := deploy(10)
	for _, tc := range []struct {
		name                  string
		minAvailable, maxUnav string
		pods                  []*pod
		expected, desired     int32
		healthy, allowed      int32
		failure, unknown      string
	}{
		{name: "maxUnavailable 1 of 3", maxUnav: "1", pods: podsOf(deploy(3), 3), expected: 3, desired: 2, healthy: 3, allowed: 1},
		{name: "maxUnavailable 30% of 10 rounds up to 3", maxUnav: "30%", pods: podsOf(ten, 10), expected: 10, desired: 7, healthy: 10, allowed: 3},
		{name: "minAvailable 28% of 10 rounds up to 3", minAvailable: "28%", pods: podsOf(ten, 10), expected: 10, desired: 3, healthy: 10, allowed: 7},
		{name: "the scale counts, not the pods", maxUnav: "1", pods: podsOf(deploy(5), 3), expected: 5, desired: 4, healthy: 3, allowed: 0},
		{name: "integer minAvailable counts pods", minAvailable: "3", pods: podsOf(deploy(5), 2), expected: 2, desired: 3, healthy: 2, allowed: 0},
		{name: "maxUnavailable above the scale", maxUnav: "5", pods: podsOf(deploy(2), 2), expected: 2, desired: 0, healthy: 2, allowed: 2},
		{name: "maxUnavailable 0", maxUnav: "0", pods: podsOf(deploy(3), 3), expected: 3, desired: 3, healthy: 3, allowed: 0},
		{name: "no pods", maxUnav: "1", expected: 0, desired: 0, healthy: 0, allowed: 0},
		{name: "bare pods are left out of the scale", maxUnav: "1", pods: podsOf(&workload{scale: scaleUnmanaged}, 2), expected: 0, healthy: 2, allowed: 0},
		{name: "a DaemonSet's pods fail the sync", maxUnav: "1", pods: podsOf(&workload{kind: "DaemonSet", scale: scaleNone}, 2), healthy: 2, allowed: 0, failure: "finds no scale"},
		{name: "integer minAvailable needs no scale", minAvailable: "1", pods: podsOf(&workload{kind: "DaemonSet", scale: scaleNone}, 2), expected: 2, desired: 1, healthy: 2, allowed: 1},
		{name: "a custom controller's scale is unknown", minAvailable: "50%", pods: podsOf(&workload{kind: "Rollout", scale: scaleUnknown}, 2), unknown: "custom controller"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &policyv1.PodDisruptionBudget{}
			if tc.minAvailable != "" {
				b.Spec.MinAvailable = intOrString(tc.minAvailable)
			}
			if tc.maxUnav != "" {
				b.Spec.MaxUnavailable = intOrString(tc.maxUnav)
			}
			d := &pdb{obj: b}
			d.expected, d.desired, d.failure, d.unknown = expectedPodCount(b, tc.pods)
			if d.expected != tc.expected || d.desired != tc.desired {
				t.Errorf("expected %d, desired %d; want %d, %d", d.expected, d.desired, tc.expected, tc.desired)
			}
			if got := d.allowed(tc.healthy); got != tc.allowed {
				t.Errorf("allowed with %d healthy: %d, want %d", tc.healthy, got, tc.allowed)
			}
			if !contains(d.failure, tc.failure) || !contains(d.unknown, tc.unknown) {
				t.Errorf("failure %q, unknown %q; want %q, %q", d.failure, d.unknown, tc.failure, tc.unknown)
			}
		})
	}
}

func contains(s, sub string) bool {
	if sub == "" {
		return s == ""
	}
	return strings.Contains(s, sub)
}

// An unready pod leaves without using the budget under AlwaysAllow, or
// under IfHealthyBudget while the budget is healthy; otherwise it needs a
// disruption the budget allows, as the eviction API decides.
func TestEvictingUnhealthyPods(t *testing.T) {
	for _, tc := range []struct {
		name        string
		desired     int32
		healthy     int32
		alwaysAllow bool
		want        bool
	}{
		{"healthy budget", 2, 2, false, true},
		{"unhealthy budget", 3, 2, false, false},
		{"unhealthy budget, AlwaysAllow", 3, 2, true, true},
		{"a budget that asks for none", 0, 0, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &pdb{name: "b", obj: &policyv1.PodDisruptionBudget{}, expected: 3, desired: tc.desired, alwaysAllow: tc.alwaysAllow}
			w := &workload{}
			p := &pod{workload: w, pdbs: []*pdb{d}, phase: "Running"}
			s := &state{ready: []bool{false}, deleting: []bool{false}, healthy: map[*pdb]int32{d: tc.healthy}, inWay: map[*pdb]bool{}, unsure: map[*workload]string{}}
			if ok, _, why := s.evictable(p); ok != tc.want {
				t.Errorf("evictable %v (%s), want %v", ok, why, tc.want)
			}
		})
	}
}
