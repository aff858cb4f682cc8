package manifest

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/checks/pod"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

// defaultHPACPUUtilization is the target the HPA controller uses when an HPA
// declares no metrics at all.
const defaultHPACPUUtilization = 80

func hpaChecks() []*check.Check {
	hpaKinds := []string{"HorizontalPodAutoscaler"}
	return []*check.Check{
		{
			ID:            "hpa-min-replicas",
			Title:         "HorizontalPodAutoscalers keep at least two replicas",
			Layer:         check.Workloads,
			Severity:      check.Medium,
			Kinds:         hpaKinds,
			Rationale:     "An HPA scales down to minReplicas whenever load is low, and minReplicas defaults to 1: at quiet hours the workload runs a single pod, and a node failure, eviction or rollout takes it down.",
			Remediation:   "Set spec.minReplicas to at least 2 so the workload survives the loss of one pod at its lowest scale.",
			ChecklistItem: checklist.DisasterRecovery,
			Run:           hpaMinReplicasRun,
		},
		{
			ID:            "hpa-target-cpu-requests",
			Title:         "HPAs scaling on CPU utilization target containers with CPU requests",
			Layer:         check.Workloads,
			Severity:      check.High,
			Kinds:         hpaKinds,
			Reads:         append(append([]string{}, pod.ScaleTargetKinds...), "LimitRange"),
			Rationale:     "CPU utilization is usage divided by the CPU request. When a container of the target pod has no CPU request, the HPA cannot compute utilization, reports FailedGetResourceMetric and never scales: the autoscaling that was relied on does not happen.",
			Remediation:   "Set resources.requests.cpu on every container of the scaled workload (or a namespace LimitRange defaultRequest for cpu), or scale on a metric that does not depend on requests.",
			ChecklistItem: checklist.ResourceLimitsPerApp,
			Applies:       hpaTargetCpuRequestsApplies,
			Run:           hpaTargetCpuRequestsRun,
		},
		{
			ID:            "hpa-target-exists",
			Title:         "HPA scale targets exist",
			Layer:         check.Workloads,
			Severity:      check.High,
			Kinds:         hpaKinds,
			Reads:         lookupReads("Deployment"),
			Rationale:     "An HPA whose scaleTargetRef names no existing workload scales nothing: a typo or a renamed Deployment silently leaves the real workload at a fixed replica count.",
			Remediation:   "Point spec.scaleTargetRef at the kind, apiVersion and name of the workload the HPA should scale, in the HPA's namespace.",
			ChecklistItem: checklist.ClusterPerformance,
			Run:           hpaTargetExistsRun,
		},
		{
			ID:            "hpa-replicas-field",
			Title:         "Workloads scaled by an HPA do not set spec.replicas",
			Layer:         check.Workloads,
			Severity:      check.Low,
			Kinds:         pod.ReplicatedKinds,
			Reads:         []string{"HorizontalPodAutoscaler"},
			Rationale:     "When an HPA scales a workload whose manifest still sets spec.replicas, every apply (kubectl apply, a GitOps sync, a Helm upgrade) resets the replica count to the declared value, undoing the HPA's decision: a workload scaled out under load drops back mid-peak.",
			Remediation:   "Remove spec.replicas from the manifest of a workload that an HPA scales and let the HPA own the replica count.",
			ChecklistItem: checklist.GitSingleSourceOfTruth,
			// The API server always fills in spec.replicas, so a live
			// object cannot show whether a manifest sets it.
			Requires: check.Declared,
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				if len(c.Inventory.HPAs(o)) == 0 {
					return false, "no HorizontalPodAutoscaler scales it"
				}
				return true, ""
			},
			Run: hpaReplicasFieldRun,
		},
	}
}

// hpaMinReplicasRun is hpa-min-replicas's Run.
func hpaMinReplicasRun(o *inventory.Object, c *check.Context) []check.Finding {
	hpa, ok := o.Typed.(*autoscalingv2.HorizontalPodAutoscaler)
	if !ok {
		return nil
	}
	want := minReplicasWanted(c.Params)
	if hpa.Spec.MinReplicas == nil {
		if want <= 1 {
			return nil
		}
		return []check.Finding{check.Failf("spec.minReplicas", "minReplicas is not set and defaults to 1 (want at least %d): at low load the HPA scales the workload down to a single pod", want)}
	}
	if got := *hpa.Spec.MinReplicas; got < want {
		return []check.Finding{check.Failf("spec.minReplicas", "minReplicas is %d (want at least %d): at low load the HPA scales the workload down to %s", got, want, podCount(got))}
	}
	return nil
}

// hpaTargetCpuRequestsApplies is hpa-target-cpu-requests's Applies.
func hpaTargetCpuRequestsApplies(o *inventory.Object, c *check.Context) (bool, string) {
	hpa, ok := o.Typed.(*autoscalingv2.HorizontalPodAutoscaler)
	if !ok {
		return false, "not a decoded HorizontalPodAutoscaler"
	}
	target := hpaScaleTarget(c.Inventory, o, hpa)
	if target == nil {
		// hpa-target-exists reports it.
		return false, fmt.Sprintf("scale target %s is not among the inputs", describeScaleRef(hpa.Spec.ScaleTargetRef))
	}
	if tmpl, _ := target.PodTemplate(); tmpl == nil {
		return false, fmt.Sprintf("scale target %s has no pod template plimsoll can read", target.ID())
	}
	if len(cpuUtilizationMetrics(hpa)) == 0 {
		return false, "the HPA does not scale on CPU utilization"
	}
	return true, ""
}

// hpaTargetCpuRequestsRun is hpa-target-cpu-requests's Run.
func hpaTargetCpuRequestsRun(o *inventory.Object, c *check.Context) []check.Finding {
	hpa := o.Typed.(*autoscalingv2.HorizontalPodAutoscaler)
	target := hpaScaleTarget(c.Inventory, o, hpa)
	defaults, _ := limitRangeDefaults(c.Inventory, target.Namespace)
	_, defaulted := defaults[corev1.ResourceCPU]
	spec := pod.Spec(target)
	var out []check.Finding
	for _, m := range cpuUtilizationMetrics(hpa) {
		if m.container == "" && podLevelCPU(spec) {
			// Pod-level requests replace the per-container sum.
			continue
		}
		for _, ct := range pod.RunningContainers(target) {
			if m.container != "" && ct.Name != m.container {
				continue
			}
			if defaulted || requested(ct.Container, corev1.ResourceCPU) {
				continue
			}
			out = append(out, check.Failf(m.path, "%s; %s of %s has no CPU request (%s.resources.requests.cpu), so utilization cannot be computed and the HPA never scales", m.describe, ct.Describe(), target.ID(), ct.Path()))
		}
	}
	return out
}

// hpaTargetExistsRun is hpa-target-exists's Run.
func hpaTargetExistsRun(o *inventory.Object, c *check.Context) []check.Finding {
	hpa, ok := o.Typed.(*autoscalingv2.HorizontalPodAutoscaler)
	if !ok || hpaScaleTarget(c.Inventory, o, hpa) != nil {
		return nil
	}
	if c.Inventory.Mode == inventory.FromCluster && customScaleTarget(hpa.Spec.ScaleTargetRef) {
		// A cluster read lists only the kinds checks name, so a
		// custom target (an Argo Rollout) is not among the
		// objects; the HPA's own status says whether it found it.
		for _, cond := range hpa.Status.Conditions {
			if cond.Type == autoscalingv2.AbleToScale && cond.Status == corev1.ConditionFalse && cond.Reason == "FailedGetScale" {
				return []check.Finding{check.Failf("status.conditions", "the HPA cannot get its scale target %s: %s", describeScaleRef(hpa.Spec.ScaleTargetRef), cond.Message)}
			}
		}
		return nil
	}
	f := lookup(c.Inventory, scaleTargetKey(hpa.Spec.ScaleTargetRef), o.Namespace, hpa.Spec.ScaleTargetRef.Name)
	switch {
	case f.unknown != "":
		return []check.Finding{check.NotAssessedf("%s", f.unknown)}
	case f.missing != "":
		return []check.Finding{check.Failf("spec.scaleTargetRef", "scale target: %s: the HPA scales nothing", f.missing)}
	}
	return nil
}

// hpaReplicasFieldRun is hpa-replicas-field's Run.
func hpaReplicasFieldRun(o *inventory.Object, c *check.Context) []check.Finding {
	var replicas *int32
	switch t := o.Typed.(type) {
	case *appsv1.Deployment:
		replicas = t.Spec.Replicas
	case *appsv1.StatefulSet:
		replicas = t.Spec.Replicas
	}
	if replicas == nil {
		return nil
	}
	var hpas []string
	for _, h := range c.Inventory.HPAs(o) {
		hpas = append(hpas, h.ID())
	}
	return []check.Finding{check.Failf("spec.replicas", "spec.replicas is %d while %s scales it: every apply resets the replica count the HPA chose", *replicas, strings.Join(hpas, ", "))}
}

func podCount(n int32) string {
	if n == 1 {
		return "a single pod"
	}
	return fmt.Sprintf("%d pods", n)
}

// minReplicasWanted is the replica count below which a workload is a single
// point of failure; it follows the minReplicas parameter other replica
// checks read, so one setting governs both.
func minReplicasWanted(p *check.Params) int32 {
	if p == nil || p.MinReplicas <= 0 {
		return 2
	}
	return p.MinReplicas
}

// hpaScaleTarget returns the workload an HPA scales, or nil when it is not
// among the inputs. The inventory resolves built-in kinds; a target of a
// custom kind (an Argo Rollout, say) is looked up under its Kind.group key,
// so it is not reported missing when it is there.
func hpaScaleTarget(inv *inventory.Inventory, o *inventory.Object, hpa *autoscalingv2.HorizontalPodAutoscaler) *inventory.Object {
	if sel := inv.Selected(o); len(sel) > 0 {
		return sel[0]
	}
	ref := hpa.Spec.ScaleTargetRef
	return inv.Get(scaleTargetKey(ref), o.Namespace, ref.Name)
}

// scaleTargetKey is the kind key of an HPA's scale target: its kind for a
// built-in kind, Kind.group for a custom one.
func scaleTargetKey(ref autoscalingv2.CrossVersionObjectReference) string {
	if !customScaleTarget(ref) {
		return ref.Kind
	}
	return inventory.KindKeyOf(ref.APIVersion, ref.Kind)
}

// customScaleTarget reports whether an HPA scales a kind plimsoll does not
// decode, such as an Argo Rollout.
func customScaleTarget(ref autoscalingv2.CrossVersionObjectReference) bool {
	return ref.APIVersion != "" && inventory.NewTyped(ref.APIVersion, ref.Kind) == nil
}

func describeScaleRef(ref autoscalingv2.CrossVersionObjectReference) string {
	kind := ref.Kind
	if kind == "" {
		kind = "(no kind)"
	}
	return fmt.Sprintf("%s %q", kind, ref.Name)
}

// cpuMetric is one way an HPA scales on CPU utilization.
type cpuMetric struct {
	// Container is the container a ContainerResource metric reads, or
	// empty for the whole pod.
	container string
	path      string
	describe  string
}

// cpuUtilizationMetrics returns the HPA's metrics that divide CPU usage by
// CPU requests. An HPA without metrics scales on 80% CPU utilization.
func cpuUtilizationMetrics(hpa *autoscalingv2.HorizontalPodAutoscaler) []cpuMetric {
	if len(hpa.Spec.Metrics) == 0 {
		return []cpuMetric{{path: "spec.metrics", describe: fmt.Sprintf("the HPA declares no metrics and so scales on %d%% CPU utilization", defaultHPACPUUtilization)}}
	}
	var out []cpuMetric
	for i, m := range hpa.Spec.Metrics {
		path := fmt.Sprintf("spec.metrics[%d]", i)
		switch {
		case m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil &&
			m.Resource.Name == corev1.ResourceCPU && m.Resource.Target.Type == autoscalingv2.UtilizationMetricType:
			out = append(out, cpuMetric{path: path, describe: "the HPA scales on CPU utilization" + utilizationSuffix(m.Resource.Target)})
		case m.Type == autoscalingv2.ContainerResourceMetricSourceType && m.ContainerResource != nil &&
			m.ContainerResource.Name == corev1.ResourceCPU && m.ContainerResource.Target.Type == autoscalingv2.UtilizationMetricType:
			out = append(out, cpuMetric{container: m.ContainerResource.Container, path: path,
				describe: fmt.Sprintf("the HPA scales on CPU utilization of container %q%s", m.ContainerResource.Container, utilizationSuffix(m.ContainerResource.Target))})
		}
	}
	return out
}

func utilizationSuffix(t autoscalingv2.MetricTarget) string {
	if t.AverageUtilization == nil {
		return ""
	}
	return fmt.Sprintf(" (%d%%)", *t.AverageUtilization)
}

// podLevelCPU reports whether the pod sets pod-level CPU resources, which
// the HPA uses instead of the containers' requests.
func podLevelCPU(spec *corev1.PodSpec) bool {
	if spec == nil || spec.Resources == nil {
		return false
	}
	_, req := spec.Resources.Requests[corev1.ResourceCPU]
	_, lim := spec.Resources.Limits[corev1.ResourceCPU]
	return req || lim
}
