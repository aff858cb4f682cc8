package manifest

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/checks/pod"
	"github.com/plimsoll/plimsoll/internal/checks/say"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

func availabilityChecks() []*check.Check {
	return []*check.Check{
		{
			ID:            "workload-min-replicas",
			Title:         "Deployments and StatefulSets run enough replicas",
			Layer:         check.Workloads,
			Severity:      check.High,
			Kinds:         pod.ReplicatedKinds,
			Reads:         []string{"HorizontalPodAutoscaler"},
			Rationale:     "A single replica is a single point of failure: a node failure, an eviction, a node drain or a crash takes the application down until a new pod is scheduled and ready.",
			Remediation:   "Run at least the minimum number of replicas (parameter minReplicas), or set the HorizontalPodAutoscaler's minReplicas to at least that.",
			ChecklistItem: checklist.SingleReplicaWithPDB,
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				return notScaledToZero(o, c.Inventory)
			},
			Run: workloadMinReplicasRun,
		},
		{
			ID:            "pdb-coverage",
			Title:         "Multi-replica workloads have a PodDisruptionBudget",
			Layer:         check.Workloads,
			Severity:      check.High,
			Kinds:         pod.ReplicatedKinds,
			Reads:         []string{"HorizontalPodAutoscaler", "PodDisruptionBudget"},
			Rationale:     "Without a PodDisruptionBudget a node drain, a cluster autoscaler scale-down or a node upgrade may evict every replica of a workload at once, and the replicas that were meant to keep it available all go down together.",
			Remediation:   "Add a PodDisruptionBudget whose selector matches the workload's pod labels, with maxUnavailable: 1 or a minAvailable below the replica count.",
			ChecklistItem: checklist.PDBs,
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				return multiReplica(o, c.Inventory)
			},
			Run: pdbCoverageRun,
		},
		{
			ID:            "pdb-allows-disruption",
			Title:         "PodDisruptionBudgets allow at least one eviction, and not every one",
			Layer:         check.Workloads,
			Severity:      check.High,
			Kinds:         []string{"PodDisruptionBudget"},
			Reads:         append(append([]string{}, pod.WorkloadKinds...), "HorizontalPodAutoscaler"),
			Rationale:     "A PodDisruptionBudget that can never be satisfied by evicting a pod blocks every voluntary disruption: node drains hang, node upgrades and cluster autoscaler scale-downs stall until someone deletes the budget by hand. One that sets neither minAvailable nor maxUnavailable, or minAvailable 0, or maxUnavailable 100%, limits nothing: every pod it selects may be evicted at once.",
			Remediation:   "Use maxUnavailable: 1, or a minAvailable below the replica count, and run at least 2 replicas of anything that needs PDB protection.",
			ChecklistItem: checklist.SingleReplicaWithPDB,
			Applies:       pdbAllowsDisruptionApplies,
			Run:           runPDBAllowsDisruption,
		},
		{
			ID:            "pdb-selects-pods",
			Title:         "PodDisruptionBudgets select pods",
			Layer:         check.Workloads,
			Severity:      check.Medium,
			Kinds:         []string{"PodDisruptionBudget"},
			Reads:         pod.WorkloadKinds,
			Rationale:     "A PodDisruptionBudget whose selector matches no pods protects nothing: the workload it was written for is evicted as if it had none, usually because its labels changed.",
			Remediation:   "Make spec.selector match the pod template labels of the workload the budget protects.",
			ChecklistItem: checklist.PDBs,
			Run:           pdbSelectsPodsRun,
		},
		{
			ID:            "workload-spread",
			Title:         "Replicas are spread across nodes or zones",
			Layer:         check.Workloads,
			Severity:      check.Medium,
			Kinds:         pod.ReplicatedKinds,
			Reads:         []string{"HorizontalPodAutoscaler", "Namespace"},
			Rationale:     "Replicas protect against a node or zone failure only if they run on different nodes or zones. The scheduler's default spreading is a soft preference that gives way to packing, so without an explicit rule all replicas may land on one node.",
			Remediation:   "Add topologySpreadConstraints over kubernetes.io/hostname (and topology.kubernetes.io/zone), or a podAntiAffinity term over one of those keys, selecting the workload's own pods.",
			ChecklistItem: checklist.DevIsNotProduction,
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				return multiReplica(o, c.Inventory)
			},
			Run: workloadSpreadRun,
		},
		{
			ID:            "pod-graceful-shutdown",
			Title:         "Pods get a sensible time to shut down",
			Layer:         check.Workloads,
			Severity:      check.Low,
			Kinds:         pod.ServiceKinds,
			Rationale:     "On deletion a pod gets SIGTERM, then SIGKILL after terminationGracePeriodSeconds. With 0 it is killed mid-request; with hours, a pod that ignores SIGTERM holds up node drains and rollouts for that long. A preStop hook shows the shutdown is handled on purpose.",
			Remediation:   "Leave terminationGracePeriodSeconds at its default of 30 or set it to the time in-flight work needs to finish (at most the parameter maxGracePeriodSeconds), or add a preStop hook that drains the container.",
			ChecklistItem: checklist.DevIsNotProduction,
			Run:           podGracefulShutdownRun,
		},
		{
			ID:            "rolling-update-max-unavailable",
			Title:         "Rolling updates keep some pods available",
			Layer:         check.Workloads,
			Severity:      check.High,
			Kinds:         []string{"DaemonSet", "Deployment"},
			Reads:         []string{"HorizontalPodAutoscaler"},
			Rationale:     "A rolling update whose maxUnavailable covers every pod may take all of them down at once, before any new pod is ready: each rollout is an outage, and a bad image leaves nothing running.",
			Remediation:   "Set rollingUpdate.maxUnavailable below the replica count (the default 25%, or 1), and run enough replicas that a rollout keeps some available.",
			ChecklistItem: checklist.DevIsNotProduction,
			Applies:       rollingUpdateMaxUnavailableApplies,
			Run:           runRollingUpdate,
		},
	}
}

// workloadMinReplicasRun is workload-min-replicas's Run.
func workloadMinReplicasRun(o *inventory.Object, c *check.Context) []check.Finding {
	s := minScale(o, c.Inventory)
	if s.n >= c.Params.MinReplicas {
		return nil
	}
	if s.hpa != nil {
		field := "spec.minReplicas"
		if hpa, ok := s.hpa.Typed.(*autoscalingv2.HorizontalPodAutoscaler); ok && hpa.Spec.MinReplicas == nil {
			field = "spec.minReplicas is not set and defaults to 1"
		}
		return []check.Finding{check.Failf("spec.replicas", "HorizontalPodAutoscaler %s may scale it down to %s (%s), below the minimum of %d",
			s.hpa.Name, say.Replicas(s.n), field, c.Params.MinReplicas)}
	}
	if replicasField(o) == nil {
		return []check.Finding{check.Failf("spec.replicas", "spec.replicas is not set and defaults to 1, below the minimum of %d", c.Params.MinReplicas)}
	}
	return []check.Finding{check.Failf("spec.replicas", "spec.replicas is %d, below the minimum of %d", s.n, c.Params.MinReplicas)}
}

// pdbCoverageRun is pdb-coverage's Run. Any budget that selects the
// workload's pods covers it: one that limits nothing is
// pdb-allows-disruption's finding, once, on the budget.
func pdbCoverageRun(o *inventory.Object, c *check.Context) []check.Finding {
	if len(c.Inventory.PDBs(o)) > 0 {
		return nil
	}
	return []check.Finding{check.Failf(podLabelsPath(o), "%s, but no PodDisruptionBudget among the inputs selects its pods",
		describeScale(o, c.Inventory))}
}

// unlimitedBudget returns the field and why a PodDisruptionBudget lets
// every pod it selects be evicted at once, or "" when it limits
// evictions. The disruption controller's desiredHealthy stays 0 when
// neither minAvailable nor maxUnavailable is set, for minAvailable 0, and
// for maxUnavailable 100% (getExpectedPodCount in
// k8s.io/kubernetes/pkg/controller/disruption/disruption.go), and then
// every healthy pod is an allowed disruption.
func unlimitedBudget(pdb *policyv1.PodDisruptionBudget) (field, why string) {
	mu, ma := pdb.Spec.MaxUnavailable, pdb.Spec.MinAvailable
	switch {
	case mu == nil && ma == nil:
		return "spec", "sets neither spec.minAvailable nor spec.maxUnavailable"
	case mu != nil:
		// An integer maxUnavailable limits nothing only when it reaches
		// the replica count, which may change; a percentage of 100 always.
		if v, err := intstr.GetScaledValueFromIntOrPercent(mu, 100, true); err == nil && mu.Type == intstr.String && v >= 100 {
			return "spec.maxUnavailable", "has spec.maxUnavailable " + mu.String()
		}
	default:
		if v, err := intstr.GetScaledValueFromIntOrPercent(ma, 100, true); err == nil && v == 0 {
			return "spec.minAvailable", "has spec.minAvailable " + ma.String()
		}
	}
	return "", ""
}

// pdbAllowsDisruptionApplies is pdb-allows-disruption's Applies: a budget
// that limits nothing is judged whatever it selects.
func pdbAllowsDisruptionApplies(o *inventory.Object, c *check.Context) (bool, string) {
	if pdb, ok := o.Typed.(*policyv1.PodDisruptionBudget); ok {
		if _, why := unlimitedBudget(pdb); why != "" {
			return true, ""
		}
	}
	if len(c.Inventory.Selected(o)) == 0 {
		return false, "selects no workload among the inputs"
	}
	return true, ""
}

// pdbSelectsPodsRun is pdb-selects-pods's Run.
func pdbSelectsPodsRun(o *inventory.Object, c *check.Context) []check.Finding {
	pdb, ok := o.Typed.(*policyv1.PodDisruptionBudget)
	if !ok || selectsPods(c.Inventory, o) {
		return nil
	}
	sel := pdb.Spec.Selector
	switch {
	case sel == nil:
		return []check.Finding{check.Failf("spec.selector", "spec.selector is not set, so the budget selects no pods")}
	case len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0:
		return []check.Finding{check.Failf("spec.selector", "spec.selector is empty and selects every pod %s, but no workload among the inputs runs there", inNamespace(o.Namespace))}
	}
	if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
		return []check.Finding{check.Failf("spec.selector", "spec.selector is invalid and selects no pods: %v", err)}
	}
	return []check.Finding{check.Failf("spec.selector", "spec.selector %s matches the pods of no workload among the inputs %s",
		metav1.FormatLabelSelector(sel), inNamespace(o.Namespace))}
}

// podGracefulShutdownRun is pod-graceful-shutdown's Run.
func podGracefulShutdownRun(o *inventory.Object, c *check.Context) []check.Finding {
	spec := pod.Spec(o)
	if spec == nil || spec.TerminationGracePeriodSeconds == nil {
		return nil
	}
	var bare []string
	for _, ct := range pod.RunningContainers(o) {
		if ct.Lifecycle == nil || ct.Lifecycle.PreStop == nil {
			bare = append(bare, fmt.Sprintf("%q", ct.Name))
		}
	}
	if len(bare) == 0 {
		return nil
	}
	who := "container " + bare[0] + " has"
	if len(bare) > 1 {
		who = "containers " + strings.Join(bare, ", ") + " have"
	}
	grace := *spec.TerminationGracePeriodSeconds
	limit := c.Params.MaxGracePeriodSeconds
	path := o.SpecPath("terminationGracePeriodSeconds")
	switch {
	case grace == 0:
		return []check.Finding{check.Failf(path, "terminationGracePeriodSeconds is 0 and %s no preStop hook: the pod is killed without time to finish in-flight work",
			who)}
	case limit > 0 && grace > limit:
		return []check.Finding{check.Failf(path, "terminationGracePeriodSeconds is %d, above the maximum of %d, and %s no preStop hook that needs the time: a pod that ignores SIGTERM holds up node drains and rollouts that long",
			grace, limit, who)}
	}
	return nil
}

// rollingUpdateMaxUnavailableApplies is rolling-update-max-unavailable's Applies.
func rollingUpdateMaxUnavailableApplies(o *inventory.Object, c *check.Context) (bool, string) {
	switch t := o.Typed.(type) {
	case *appsv1.Deployment:
		if t.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
			return false, "uses the Recreate strategy, which replaces every pod at once by design"
		}
		return notScaledToZero(o, c.Inventory)
	case *appsv1.DaemonSet:
		if t.Spec.UpdateStrategy.Type == appsv1.OnDeleteDaemonSetStrategyType {
			return false, "uses the OnDelete strategy: pods are replaced only when deleted"
		}
	}
	return true, ""
}

func runPDBAllowsDisruption(o *inventory.Object, c *check.Context) []check.Finding {
	pdb, ok := o.Typed.(*policyv1.PodDisruptionBudget)
	if !ok {
		return nil
	}
	if field, why := unlimitedBudget(pdb); why != "" {
		return []check.Finding{check.Failf(field, "the budget %s: it limits nothing, and every pod it selects may be evicted at once", why)}
	}
	// The disruption controller counts the pods of every workload the
	// budget selects together, so the replicas are summed. DaemonSets, Jobs
	// and CronJobs have no replica count the inputs show.
	selected := c.Inventory.Selected(o)
	var total int32
	known := true
	var parts []string
	autoscaled := false
	for _, w := range selected {
		s := minScale(w, c.Inventory)
		if !s.known {
			known = false
			continue
		}
		total += s.n
		autoscaled = autoscaled || s.hpa != nil
		parts = append(parts, w.ID()+" "+describeScale(w, c.Inventory))
	}
	if known && total == 0 {
		// Scaled to zero: there is nothing to evict.
		return nil
	}
	who := strings.Join(parts, " and ")
	if len(parts) > 1 {
		who += fmt.Sprintf(", %s in all", say.Replicas(total))
	}
	blocks := "no pod may ever be evicted, so node drains and upgrades block"
	if autoscaled {
		blocks = fmt.Sprintf("at %s no pod may be evicted, so node drains and upgrades block", say.Replicas(total))
	}

	if mu := pdb.Spec.MaxUnavailable; mu != nil {
		// Percentages are rounded up, as the disruption controller does,
		// so only zero allows no eviction.
		if v, err := intstr.GetScaledValueFromIntOrPercent(mu, 100, true); err == nil && v == 0 {
			return []check.Finding{check.Failf("spec.maxUnavailable", "spec.maxUnavailable is %s: %s", mu.String(), blocks)}
		}
		return nil
	}
	ma := pdb.Spec.MinAvailable
	if ma == nil {
		return nil
	}
	if !known {
		// Without a replica count only a minAvailable of 100% is sure to
		// block.
		if ma.Type == intstr.String {
			if v, err := intstr.GetScaledValueFromIntOrPercent(ma, 100, true); err == nil && v >= 100 {
				return []check.Finding{check.Failf("spec.minAvailable", "spec.minAvailable is %s: %s", ma.String(), blocks)}
			}
		}
		return nil
	}
	need, err := intstr.GetScaledValueFromIntOrPercent(ma, int(total), true)
	if err != nil || need < int(total) {
		return nil
	}
	return []check.Finding{check.Failf("spec.minAvailable", "spec.minAvailable is %s but %s: %s", ma.String(), who, blocks)}
}

func runRollingUpdate(o *inventory.Object, c *check.Context) []check.Finding {
	switch t := o.Typed.(type) {
	case *appsv1.Deployment:
		// Defaults as the API server sets them.
		mu, ms := intstr.FromString("25%"), intstr.FromString("25%")
		if ru := t.Spec.Strategy.RollingUpdate; ru != nil {
			if ru.MaxUnavailable != nil {
				mu = *ru.MaxUnavailable
			}
			if ru.MaxSurge != nil {
				ms = *ru.MaxSurge
			}
		}
		s := minScale(o, c.Inventory)
		n := int(s.n)
		// As the deployment controller resolves them: surge rounds up,
		// unavailable rounds down, and when both come to zero one pod may
		// be unavailable so the rollout can progress.
		surge, err1 := intstr.GetScaledValueFromIntOrPercent(&ms, n, true)
		unavailable, err2 := intstr.GetScaledValueFromIntOrPercent(&mu, n, false)
		if err1 != nil || err2 != nil || n < 1 {
			return nil
		}
		fencepost := false
		if surge == 0 && unavailable == 0 {
			unavailable, fencepost = 1, true
		}
		if unavailable < n {
			return nil
		}
		what := "maxUnavailable is " + mu.String()
		if fencepost {
			what = fmt.Sprintf("maxUnavailable %s rounds down to 0 and maxSurge is %s, so the controller lets 1 pod be unavailable,", mu.String(), ms.String())
		}
		when := "a rollout may take every pod down at once"
		if s.hpa != nil {
			when = fmt.Sprintf("at %s a rollout may take every pod down at once", say.Replicas(s.n))
		}
		return []check.Finding{check.Failf("spec.strategy.rollingUpdate.maxUnavailable",
			"%s and the Deployment %s: %s", what, describeScale(o, c.Inventory), when)}
	case *appsv1.DaemonSet:
		ru := t.Spec.UpdateStrategy.RollingUpdate
		if ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.Type != intstr.String {
			// The default is 1; a number cannot be judged without knowing
			// how many nodes run the DaemonSet.
			return nil
		}
		if v, err := intstr.GetScaledValueFromIntOrPercent(ru.MaxUnavailable, 100, false); err == nil && v >= 100 {
			return []check.Finding{check.Failf("spec.updateStrategy.rollingUpdate.maxUnavailable",
				"maxUnavailable is %s: a rollout may take the pod down on every node at once", ru.MaxUnavailable.String())}
		}
	}
	return nil
}

// scale is the fewest replicas a workload runs, as far as the inputs show.
type scale struct {
	n int32
	// max is the HPA's maxReplicas.
	max int32
	// hpa is the HorizontalPodAutoscaler whose minReplicas n is, or nil.
	hpa *inventory.Object
	// known is false for kinds without a replica count (DaemonSet, Job).
	known bool
}

// minScale returns the replica count of a workload, or the minReplicas of
// the HorizontalPodAutoscaler that scales it, which then owns the count.
func minScale(o *inventory.Object, inv *inventory.Inventory) scale {
	if o.KindKey() == "Pod" {
		return scale{n: 1, known: true}
	}
	r, ok := o.Replicas()
	if !ok {
		return scale{}
	}
	// An HPA does not scale a target whose replicas are zero.
	if r == 0 {
		return scale{n: 0, known: true}
	}
	var out *scale
	for _, h := range inv.HPAs(o) {
		hpa, ok := h.Typed.(*autoscalingv2.HorizontalPodAutoscaler)
		if !ok {
			continue
		}
		lo := int32(1)
		if hpa.Spec.MinReplicas != nil {
			lo = *hpa.Spec.MinReplicas
		}
		// Two autoscalers on one target is a conflict; take the lower bound.
		if out == nil || lo < out.n {
			out = &scale{n: lo, max: hpa.Spec.MaxReplicas, hpa: h, known: true}
		}
	}
	if out != nil {
		return *out
	}
	return scale{n: r, known: true}
}

// describeScale says how many replicas a workload runs, for messages.
func describeScale(o *inventory.Object, inv *inventory.Inventory) string {
	s := minScale(o, inv)
	if s.hpa != nil {
		return fmt.Sprintf("scales between %d and %s (HorizontalPodAutoscaler %s)", s.n, say.Replicas(s.max), s.hpa.Name)
	}
	if r, ok := o.Replicas(); ok && r == 1 && replicasField(o) == nil {
		return "does not set spec.replicas, which defaults to 1"
	}
	return "runs " + say.Replicas(s.n)
}

// multiReplica says whether a check about spreading replicas applies: it
// does to workloads that run at least 2.
func multiReplica(o *inventory.Object, inv *inventory.Inventory) (bool, string) {
	if ok, reason := notScaledToZero(o, inv); !ok {
		return false, reason
	}
	r, _ := o.Replicas()
	if s := minScale(o, inv); r < 2 && s.n < 2 {
		if s.hpa == nil && replicasField(o) == nil {
			return false, "spec.replicas is not set and defaults to 1, a single replica (workload-min-replicas judges that)"
		}
		return false, "runs a single replica (workload-min-replicas judges that)"
	}
	return true, ""
}

// notScaledToZero skips workloads scaled to zero on purpose.
func notScaledToZero(o *inventory.Object, inv *inventory.Inventory) (bool, string) {
	s := minScale(o, inv)
	switch {
	case !s.known || s.n > 0:
		return true, ""
	case s.hpa != nil:
		return false, fmt.Sprintf("HorizontalPodAutoscaler %s may scale it to zero on purpose", s.hpa.Name)
	}
	return false, "scaled to zero on purpose (spec.replicas is 0)"
}

// replicasField returns the spec.replicas of a workload kind that has one,
// or nil when it is not set (and defaults to 1) or the kind has none.
func replicasField(o *inventory.Object) *int32 {
	switch t := o.Typed.(type) {
	case *appsv1.Deployment:
		return t.Spec.Replicas
	case *appsv1.StatefulSet:
		return t.Spec.Replicas
	case *appsv1.ReplicaSet:
		return t.Spec.Replicas
	case *corev1.ReplicationController:
		return t.Spec.Replicas
	}
	return nil
}
