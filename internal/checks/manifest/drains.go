package manifest

import (
	"slices"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/checks/pod"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

// The drains family: PodDisruptionBudgets that make the eviction API
// refuse every eviction of a pod, so that kubectl drain, node upgrades and
// the cluster autoscaler's scale-downs stall until someone intervenes.

func drainChecks() []*check.Check {
	return []*check.Check{
		{
			ID:            "pdb-single-per-pod",
			Title:         "No pod is selected by more than one PodDisruptionBudget",
			Layer:         check.Workloads,
			Severity:      check.High,
			Kinds:         pod.WorkloadKinds,
			Reads:         []string{"PodDisruptionBudget"},
			Rationale:     "The eviction API refuses to evict a pod that more than one PodDisruptionBudget selects (\"This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.\"), whatever the budgets allow: every node drain, node upgrade and autoscaler scale-down stalls on such a pod.",
			Remediation:   "Keep one PodDisruptionBudget per workload: narrow the selectors so that each pod matches one budget, or delete the extra budget.",
			ChecklistItem: checklist.PDBsRespectedByDrains,
			Run:           pdbSinglePerPodRun,
		},
		{
			ID:            "pdb-blocks-evictions",
			Title:         "PodDisruptionBudgets do not forbid every eviction",
			Layer:         check.Workloads,
			Severity:      check.High,
			Kinds:         []string{"PodDisruptionBudget"},
			Reads:         pod.WorkloadKinds,
			Rationale:     "maxUnavailable: 0 or minAvailable: 100% allows no voluntary eviction of any pod the budget selects, however many replicas run: node drains, upgrades and autoscaler scale-downs block on every one of them. It needs no workload among the inputs to be wrong; pdb-allows-disruption judges the budgets that select one against its replicas.",
			Remediation:   "Use maxUnavailable: 1 (or a percentage above 0), or a minAvailable below 100%, and run enough replicas that one can go.",
			ChecklistItem: checklist.PDBsRespectedByDrains,
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				if len(c.Inventory.Selected(o)) > 0 {
					return false, "it selects a workload among the inputs, which pdb-allows-disruption judges with its replicas"
				}
				return true, ""
			},
			Run: pdbBlocksEvictionsRun,
		},
	}
}

// pdbSinglePerPodRun is pdb-single-per-pod's Run. It mirrors
// getPodDisruptionBudgets in the eviction REST handler
// (pkg/registry/core/pod/storage/eviction.go), which refuses the eviction
// when more than one budget's selector matches the pod. A budget counts
// only when it selects every pod of the workload (SelectsEveryPod): one
// that names a label a controller sets per pod (a StatefulSet pod's name)
// selects some of them.
func pdbSinglePerPodRun(o *inventory.Object, c *check.Context) []check.Finding {
	var names []string
	for _, b := range c.Inventory.PDBs(o) {
		pdb, ok := b.Typed.(*policyv1.PodDisruptionBudget)
		if !ok || pdb.Spec.Selector == nil {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err == nil && c.Inventory.SelectsEveryPod(o, sel) {
			names = append(names, b.Name)
		}
	}
	// The same budget read twice (two copies of a file among the inputs)
	// is one budget in the cluster.
	slices.Sort(names)
	if names = slices.Compact(names); len(names) < 2 {
		return nil
	}
	return []check.Finding{check.Failf(podLabelsPath(o),
		"PodDisruptionBudgets %s all select its pods: the eviction API refuses to evict any of them (This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.), so node drains block on them",
		commaList(names))}
}

// pdbBlocksEvictionsRun is pdb-blocks-evictions's Run: a maxUnavailable
// that resolves to 0 for any number of pods (0, 0%), or a minAvailable of
// 100% or more. The disruption controller rounds percentages up, so only
// those allow no eviction whatever the pods' number.
func pdbBlocksEvictionsRun(o *inventory.Object, c *check.Context) []check.Finding {
	pdb, ok := o.Typed.(*policyv1.PodDisruptionBudget)
	if !ok {
		return nil
	}
	const blocks = "it allows no voluntary eviction of any pod it selects, however many run, so node drains and upgrades block on them"
	if mu := pdb.Spec.MaxUnavailable; mu != nil {
		if v, err := intstr.GetScaledValueFromIntOrPercent(mu, 100, true); err == nil && v == 0 {
			return []check.Finding{check.Failf("spec.maxUnavailable", "spec.maxUnavailable is %s: %s", mu.String(), blocks)}
		}
		return nil
	}
	if ma := pdb.Spec.MinAvailable; ma != nil && ma.Type == intstr.String {
		if v, err := intstr.GetScaledValueFromIntOrPercent(ma, 100, true); err == nil && v >= 100 {
			return []check.Finding{check.Failf("spec.minAvailable", "spec.minAvailable is %s: %s", ma.String(), blocks)}
		}
	}
	return nil
}
