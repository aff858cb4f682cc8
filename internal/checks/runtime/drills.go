package runtime

import (
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/checks/say"
	"github.com/plimsoll/plimsoll/internal/drill"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

// drillKinds are the workloads a drill judges: those whose pods a drain
// moves and a controller replaces. A DaemonSet's pods go with their node.
var drillKinds = []string{"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController", "Pod"}

// drillReads are the kinds a drill reads besides the workloads.
var drillReads = slices.DeleteFunc(slices.Clone(drill.Kinds), func(k string) bool { return slices.Contains(drillKinds, k) })

// drillChecks run plimsoll drill over the whole cluster (internal/drill):
// every node drained alone, and the loss of each zone.
func drillChecks() []*check.Check {
	return []*check.Check{
		{
			ID:            "drill-node-drain",
			Title:         "Every node can be drained alone without an outage or a blocked drain",
			Layer:         check.Upgrade,
			Severity:      check.High,
			Kinds:         drillKinds,
			Reads:         drillReads,
			Rationale:     "Node upgrades, autoscaler scale-downs and repairs drain nodes one by one. A workload whose every ready pod sits on one node has no ready pod until its replacement starts elsewhere; one whose PodDisruptionBudget allows no disruption, or whose pods two budgets select, stops the drain, and with it the upgrade. plimsoll drains each node alone in simulation, with the eviction API's and the scheduler's rules, and reports the workloads that would suffer.",
			Remediation:   "Run two or more replicas spread over nodes (topologySpreadConstraints or pod anti-affinity), give each workload one PodDisruptionBudget that allows a disruption (maxUnavailable: 1), and make sure replacements fit on the nodes that remain. 'plimsoll drill drain NODE' shows the whole prediction for one node.",
			ChecklistItem: checklist.PDBsRespectedByDrains,
			Requires:      check.Cluster,
			Applies:       placed,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				harms := drill.SurveyOf(c.Inventory).Drains[workloadID(o)]
				return drillFindings(harms, "draining node", drill.Outage, drill.Blocks)
			},
		},
		{
			ID:            "drill-zone-loss",
			Title:         "Workloads survive the loss of any one zone without an outage",
			Layer:         check.Workloads,
			Severity:      check.High,
			Kinds:         drillKinds,
			Reads:         drillReads,
			Rationale:     "A zone goes down at once: every pod in it stops, and no PodDisruptionBudget holds anything back. A workload with all its ready pods in one zone is down until its replacements run elsewhere, if they can: a zonal volume cannot follow its pod, a DoNotSchedule spread over zones still counts the lost zone, and a StatefulSet's pods on unreachable nodes are not replaced at all until someone deletes them. plimsoll loses each zone in simulation and reports the workloads with no ready pod left.",
			Remediation:   "Spread replicas over zones (topologySpreadConstraints on topology.kubernetes.io/zone), run at least one replica per zone for what must stay up, and keep state replicated across zones rather than on one zonal volume. 'plimsoll drill zone ZONE' shows the whole prediction.",
			ChecklistItem: checklist.ChaosEngineering,
			Requires:      check.Cluster,
			Applies:       placed,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				s := drill.SurveyOf(c.Inventory)
				if len(s.ZoneNames) < 2 {
					return []check.Finding{check.NotAssessedf("the nodes are in %s: there is no other zone to survive in (see nodes-workers-ha)", say.Count(len(s.ZoneNames), "zone", "zones"))}
				}
				return drillFindings(s.Zones[workloadID(o)], "losing zone", drill.Outage)
			},
		},
	}
}

// placed says whether a workload has a pod on a node, which is all a drill
// can move.
func placed(o *inventory.Object, c *check.Context) (bool, string) {
	for _, p := range c.Inventory.PodsOf(o) {
		if pod, ok := p.Typed.(*corev1.Pod); ok && pod.Spec.NodeName != "" {
			return true, ""
		}
	}
	return false, "no pod placed on a node: a drill has nothing of it to move"
}

func workloadID(o *inventory.Object) string { return o.Kind + " " + o.Namespace + "/" + o.Name }

// drillFindings fails on the harms whose verdict fails the check; with
// none, it says that a harm could not be judged, or passes.
func drillFindings(harms []drill.Harm, what string, failing ...string) []check.Finding {
	var out []check.Finding
	var unknown *drill.Harm
	for i, h := range harms {
		switch {
		case slices.Contains(failing, h.Result.Verdict):
			out = append(out, check.Failf("", "%s %s: %s (%d ready before, %d at the lowest): %s", what, h.Scenario, h.Result.Verdict, h.Result.ReadyBefore, h.Result.ReadyDuring, h.Result.Reason))
		case h.Result.Verdict == drill.Undetermined && unknown == nil:
			unknown = &harms[i]
		}
	}
	switch {
	case len(out) > 0:
		return out
	case unknown != nil:
		return []check.Finding{check.NotAssessedf("%s %s: %s", what, unknown.Scenario, unknown.Result.Reason)}
	}
	return []check.Finding{check.Passf("no %s leaves it without a ready pod or stops on it", what)}
}
