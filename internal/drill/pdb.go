package drill

import (
	"fmt"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// buildPDBs links every PodDisruptionBudget to the pods it selects, as the
// eviction API finds them (getPodDisruptionBudgets in k8s.io/kubernetes
// pkg/registry/core/pod/storage/eviction.go: same namespace, selector
// matches the pod's labels; a selector that does not parse matches
// nothing), and computes what the disruption controller expects of it.
func (m *model) buildPDBs(inv *inventory.Inventory) {
	byNamespace := map[string][]*pod{}
	for _, p := range m.pods {
		byNamespace[p.namespace] = append(byNamespace[p.namespace], p)
	}
	for _, o := range inv.OfKind("PodDisruptionBudget") {
		b, ok := o.Typed.(*policyv1.PodDisruptionBudget)
		if !ok {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(b.Spec.Selector)
		if err != nil {
			sel = labels.Nothing()
		}
		d := &pdb{name: b.Name, namespace: b.Namespace, obj: b, selector: sel}
		d.alwaysAllow = b.Spec.UnhealthyPodEvictionPolicy != nil && *b.Spec.UnhealthyPodEvictionPolicy == policyv1.AlwaysAllow
		seen := map[*workload]bool{}
		for _, p := range byNamespace[b.Namespace] {
			if sel.Matches(labels.Set(p.obj.Labels)) {
				d.pods = append(d.pods, p)
				p.pdbs = append(p.pdbs, d)
				if !seen[p.workload] {
					seen[p.workload] = true
					p.workload.pdbs = append(p.workload.pdbs, d)
				}
			}
		}
		d.expected, d.desired, d.failure, d.unknown = expectedPodCount(b, d.pods)
		m.pdbs = append(m.pdbs, d)
	}
}

// expectedPodCount mirrors getExpectedPodCount and getExpectedScale of the
// disruption controller (k8s.io/kubernetes pkg/controller/disruption):
//   - maxUnavailable: expected is the sum of the scales of the pods'
//     controllers; desired is expected minus maxUnavailable, a percentage
//     of expected rounded up, and never below 0;
//   - an integer minAvailable: expected is the number of pods, desired is
//     minAvailable;
//   - a percentage minAvailable: expected is the sum of the scales,
//     desired the percentage of it rounded up.
//
// Pods without a controller are left out of the scales. A pod whose
// controller has no scale (a DaemonSet, a Job) makes the controller fail
// to sync the budget, and then it allows no disruption (failSafe): failure
// says so. unknown says plimsoll cannot read a custom controller's scale.
func expectedPodCount(b *policyv1.PodDisruptionBudget, pods []*pod) (expected, desired int32, failure, unknown string) {
	needScale := b.Spec.MaxUnavailable != nil || (b.Spec.MinAvailable != nil && b.Spec.MinAvailable.Type == intstr.String)
	if needScale {
		seen := map[*workload]bool{}
		for _, p := range pods {
			w := p.workload
			if seen[w] {
				continue
			}
			seen[w] = true
			switch w.scale {
			case scaleKnown:
				expected += w.replicas
			case scaleNone:
				return 0, 0, fmt.Sprintf("its disruption controller finds no scale for pod %s (a %s has none), so it allows no disruption", p.name, w.kind), ""
			case scaleUnknown:
				return 0, 0, "", fmt.Sprintf("the scale of %s %s (a custom controller) is not read", w.kind, w.name)
			}
		}
	}
	switch {
	case b.Spec.MaxUnavailable != nil:
		maxUnavailable, err := intstr.GetScaledValueFromIntOrPercent(b.Spec.MaxUnavailable, int(expected), true)
		if err != nil {
			return 0, 0, "maxUnavailable " + err.Error(), ""
		}
		desired = max(expected-int32(maxUnavailable), 0)
	case b.Spec.MinAvailable != nil && b.Spec.MinAvailable.Type == intstr.Int:
		desired = b.Spec.MinAvailable.IntVal
		expected = int32(len(pods))
	case b.Spec.MinAvailable != nil:
		minAvailable, err := intstr.GetScaledValueFromIntOrPercent(b.Spec.MinAvailable, int(expected), true)
		if err != nil {
			return 0, 0, "minAvailable " + err.Error(), ""
		}
		desired = int32(minAvailable)
	}
	return expected, desired, "", ""
}

// allowed is the controller's disruptionsAllowed for a count of healthy
// pods (updatePdbStatus): healthy minus desired, and 0 when that is not
// positive or when the budget expects no pods.
func (d *pdb) allowed(healthy int32) int32 {
	if d.failure != "" || d.expected <= 0 || healthy-d.desired <= 0 {
		return 0
	}
	return healthy - d.desired
}

// describe says what the budget asks, for reasons.
func (d *pdb) describe() string {
	s := d.obj.Spec
	switch {
	case s.MaxUnavailable != nil:
		return "maxUnavailable " + s.MaxUnavailable.String()
	case s.MinAvailable != nil:
		return "minAvailable " + s.MinAvailable.String()
	}
	return "no minAvailable or maxUnavailable"
}

// PDBStatus is a budget's status as plimsoll recomputes it, beside the
// status the cluster recorded, when they disagree.
type PDBStatus struct {
	Namespace          string `json:"namespace"`
	Name               string `json:"name"`
	ExpectedPods       int32  `json:"expectedPods"`
	DesiredHealthy     int32  `json:"desiredHealthy"`
	CurrentHealthy     int32  `json:"currentHealthy"`
	DisruptionsAllowed int32  `json:"disruptionsAllowed"`
	// Cluster is the status the cluster recorded, when it differs.
	Cluster *PDBClusterStatus `json:"cluster,omitempty"`
	// Problem says why the budget cannot be met or computed.
	Problem string `json:"problem,omitempty"`
}

// PDBClusterStatus is the part of a budget's recorded status a drill
// recomputes.
type PDBClusterStatus struct {
	ExpectedPods       int32 `json:"expectedPods"`
	DesiredHealthy     int32 `json:"desiredHealthy"`
	CurrentHealthy     int32 `json:"currentHealthy"`
	DisruptionsAllowed int32 `json:"disruptionsAllowed"`
}

// status recomputes the budget's status for the pods as the model holds
// them before any drill: the healthy pods are the ready ones not being
// deleted (countHealthyPods).
func (d *pdb) status() PDBStatus {
	var healthy int32
	for _, p := range d.pods {
		if p.ready && !p.terminating {
			healthy++
		}
	}
	s := PDBStatus{
		Namespace: d.namespace, Name: d.name,
		ExpectedPods: d.expected, DesiredHealthy: d.desired, CurrentHealthy: healthy,
		DisruptionsAllowed: d.allowed(healthy),
		Problem:            d.failure,
	}
	if d.unknown != "" {
		s.Problem = "not computed: " + d.unknown
	}
	c := d.obj.Status
	recorded := PDBClusterStatus{c.ExpectedPods, c.DesiredHealthy, c.CurrentHealthy, c.DisruptionsAllowed}
	if d.unknown == "" && recorded != (PDBClusterStatus{s.ExpectedPods, s.DesiredHealthy, s.CurrentHealthy, s.DisruptionsAllowed}) {
		s.Cluster = &recorded
	}
	return s
}
