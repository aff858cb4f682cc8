package runtime

import (
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	policyv1 "k8s.io/api/policy/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/checks/manifest"
	"github.com/plimsoll/plimsoll/internal/checks/say"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

// runtimeChecks judge the state a cluster reports for objects other than
// pods; pods.go has those that look at pods.
func runtimeChecks() []*check.Check {
	return []*check.Check{
		{
			ID:            "runtime-pdb-disruptions-allowed",
			Title:         "PodDisruptionBudgets allow an eviction now",
			Layer:         check.Workloads,
			Severity:      check.Medium,
			Kinds:         []string{"PodDisruptionBudget"},
			Rationale:     "A budget that allows no disruption right now blocks every voluntary eviction of its pods: node drains hang, and node upgrades and cluster autoscaler scale-downs stall. Unlike pdb-allows-disruption, which judges the spec, this is what the disruption controller computed from the pods' health: a sound budget over unhealthy pods blocks too.",
			Remediation:   "Make the budget's pods healthy again (the pods not Ready are what keep currentHealthy low), or, when the spec leaves no slack, use maxUnavailable: 1 or a minAvailable below the replica count.",
			ChecklistItem: checklist.PDBsRespectedByDrains,
			Requires:      check.Cluster,
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				pdb, ok := o.Typed.(*policyv1.PodDisruptionBudget)
				if !ok || pdb.Status.ExpectedPods == 0 {
					return false, "expects no pods (status.expectedPods is 0): there is nothing to evict"
				}
				return true, ""
			},
			Run: runtimePdbDisruptionsAllowedRun,
		},
		{
			ID:            "runtime-service-endpoints",
			Title:         "Services with a selector have a ready endpoint",
			Layer:         check.Workloads,
			Severity:      check.High,
			Kinds:         []string{"Service"},
			Reads:         []string{"EndpointSlice"},
			Rationale:     "A Service without a ready endpoint refuses or drops every connection: its pods are missing, not Ready, or not matched by its selector. Clients see an outage although the Service itself looks fine.",
			Remediation:   "Make the pods the Service selects Ready (runtime-pods-ready names why they are not), or fix the selector so it matches them.",
			ChecklistItem: checklist.IngressEncryptsTraffic,
			Requires:      check.Cluster,
			Applies:       manifest.ServiceWithSelector,
			Run:           runtimeServiceEndpointsRun,
		},
		{
			ID:            "runtime-deployment-available",
			Title:         "Deployments are available and their rollouts progress",
			Layer:         check.Workloads,
			Severity:      check.High,
			Kinds:         []string{"Deployment"},
			Rationale:     "A Deployment whose Available condition is False runs fewer ready pods than its rolling update strategy allows, and one whose Progressing condition says ProgressDeadlineExceeded has a rollout that stopped: its new pods do not become ready, and nothing rolls it back.",
			Remediation:   "Look at the Deployment's newest ReplicaSet and its pods (kubectl rollout status, kubectl describe) and fix what keeps them from becoming ready, or roll back with kubectl rollout undo.",
			ChecklistItem: checklist.SelfHealing,
			Requires:      check.Cluster,
			Run:           runtimeDeploymentAvailableRun,
		},
		{
			ID:            "runtime-node-ready",
			Title:         "Nodes are Ready",
			Layer:         check.Infrastructure,
			Severity:      check.High,
			Kinds:         []string{"Node"},
			Rationale:     "A node that is not Ready runs nothing new, and after a few minutes its pods are evicted and rescheduled elsewhere: the cluster runs with less capacity than it was sized for, and workloads whose replicas sat on the node lose them.",
			Remediation:   "Find why the node is not Ready (kubectl describe node: the kubelet, the container runtime, the network plugin or the machine itself) and repair or replace it; a managed node group usually replaces it when its health check fails.",
			ChecklistItem: checklist.Alerting,
			Requires:      check.Cluster,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				for i, cond := range o.Typed.(*corev1.Node).Status.Conditions {
					if cond.Type == corev1.NodeReady && cond.Status != corev1.ConditionTrue {
						return []check.Finding{ConditionFinding(i, string(cond.Type), cond.Status, cond.Reason, cond.Message, "")}
					}
				}
				return nil
			},
		},
		{
			ID:            "runtime-node-pressure",
			Title:         "Nodes are under no memory, disk or PID pressure",
			Layer:         check.Infrastructure,
			Severity:      check.Medium,
			Kinds:         []string{"Node"},
			Rationale:     "A node under memory, disk or PID pressure has crossed the kubelet's eviction threshold: it evicts pods, BestEffort and over-request ones first, and takes no new ones until the pressure passes.",
			Remediation:   "Free or add the resource under pressure: set memory requests and limits that match use, clean up images and logs or grow the disk, find the process leaking PIDs; or add nodes so the load spreads.",
			ChecklistItem: checklist.Alerting,
			Requires:      check.Cluster,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				var out []check.Finding
				for i, cond := range o.Typed.(*corev1.Node).Status.Conditions {
					switch cond.Type {
					case corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure:
						if cond.Status == corev1.ConditionTrue {
							out = append(out, ConditionFinding(i, string(cond.Type), cond.Status, cond.Reason, cond.Message, ""))
						}
					}
				}
				return out
			},
		},
		{
			ID:            "runtime-pvc-bound",
			Title:         "PersistentVolumeClaims are bound",
			Layer:         check.Workloads,
			Severity:      check.High,
			Kinds:         []string{"PersistentVolumeClaim"},
			Reads:         []string{"StorageClass"},
			Rationale:     "A pod that mounts a claim with no volume bound to it cannot start: a claim left Pending (no matching volume, a provisioner failing, a class that does not exist) or Lost (its volume is gone) keeps a database or a StatefulSet replica down.",
			Remediation:   "Find why no volume is bound (kubectl describe pvc shows the provisioner's events): name an existing StorageClass, fix its provisioner, or create a matching PersistentVolume; a Lost claim needs its volume restored from backup.",
			ChecklistItem: checklist.PersistentState,
			Requires:      check.Cluster,
			Applies:       runtimePvcBoundApplies,
			Run:           runtimePvcBoundRun,
		},
		{
			ID:            "runtime-job-succeeded",
			Title:         "Jobs, and the latest runs of CronJobs, did not fail",
			Layer:         check.Workloads,
			Severity:      check.Medium,
			Kinds:         []string{"CronJob", "Job"},
			Reads:         []string{"Pod"},
			Rationale:     "A failed Job is work that did not happen: a backup not taken, a report not sent, a migration not run. Kubernetes records the failure and retries nothing more; until someone looks, the next run of a CronJob is the first chance it succeeds.",
			Remediation:   "Read the logs of the failed pods (kubectl logs job/<name>) and fix the cause, then run the work again (kubectl create job --from=cronjob/<name>) rather than wait for the next schedule.",
			ChecklistItem: checklist.Alertmanager,
			Requires:      check.Cluster,
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				if o.KindKey() == "CronJob" && LatestJob(o, c.Inventory) == nil {
					return false, "no Job of it is among the inputs: it has not run yet, or its Jobs were cleaned up"
				}
				return true, ""
			},
			Run: runtimeJobSucceededRun,
		},
	}
}

// runtimePdbDisruptionsAllowedRun is runtime-pdb-disruptions-allowed's Run.
func runtimePdbDisruptionsAllowedRun(o *inventory.Object, c *check.Context) []check.Finding {
	st := o.Typed.(*policyv1.PodDisruptionBudget).Status
	if st.DisruptionsAllowed > 0 {
		return nil
	}
	why := fmt.Sprintf("%d of %d expected pods are healthy and %d must stay healthy", st.CurrentHealthy, st.ExpectedPods, st.DesiredHealthy)
	for _, cond := range st.Conditions {
		if cond.Type == policyv1.DisruptionAllowedCondition && cond.Reason == policyv1.SyncFailedReason {
			why = "the disruption controller could not compute it" + say.Reason(cond.Reason, cond.Message)
		}
	}
	return []check.Finding{check.Failf("status.disruptionsAllowed", "status.disruptionsAllowed is 0 (%s): no pod may be evicted now, so node drains block", why)}
}

// runtimeServiceEndpointsRun is runtime-service-endpoints's Run.
func runtimeServiceEndpointsRun(o *inventory.Object, c *check.Context) []check.Finding {
	var endpoints []string
	for _, s := range c.Inventory.InNamespace("EndpointSlice", o.Namespace) {
		slice, ok := s.Typed.(*discoveryv1.EndpointSlice)
		if !ok || s.Labels[discoveryv1.LabelServiceName] != o.Name {
			continue
		}
		for _, ep := range slice.Endpoints {
			if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
				return nil
			}
			endpoints = append(endpoints, describeEndpoint(ep))
		}
	}
	sel := labels.Set(o.Typed.(*corev1.Service).Spec.Selector).String()
	if len(endpoints) == 0 {
		return []check.Finding{check.Failf("spec.selector", "no EndpointSlice (label %s=%s) lists an endpoint: no pod matching selector %s is running",
			discoveryv1.LabelServiceName, o.Name, sel)}
	}
	return []check.Finding{check.Failf("spec.selector", "none of the %d endpoints of selector %s is ready: %s",
		len(endpoints), sel, say.List(endpoints, "; "))}
}

// runtimeDeploymentAvailableRun is runtime-deployment-available's Run.
func runtimeDeploymentAvailableRun(o *inventory.Object, c *check.Context) []check.Finding {
	d := o.Typed.(*appsv1.Deployment)
	var out []check.Finding
	for i, cond := range d.Status.Conditions {
		stuck := cond.Type == appsv1.DeploymentProgressing && cond.Status == corev1.ConditionFalse && cond.Reason == "ProgressDeadlineExceeded"
		unavailable := cond.Type == appsv1.DeploymentAvailable && cond.Status == corev1.ConditionFalse
		if !stuck && !unavailable {
			continue
		}
		out = append(out, ConditionFinding(i, string(cond.Type), cond.Status, cond.Reason, cond.Message,
			fmt.Sprintf(" (%d of %s ready, %d available)", d.Status.ReadyReplicas, say.Replicas(deploymentReplicas(d)), d.Status.AvailableReplicas)))
	}
	return out
}

// runtimePvcBoundApplies is runtime-pvc-bound's Applies.
func runtimePvcBoundApplies(o *inventory.Object, c *check.Context) (bool, string) {
	pvc := o.Typed.(*corev1.PersistentVolumeClaim)
	if pvc.Status.Phase != corev1.ClaimPending {
		return true, ""
	}
	sc := claimClass(pvc, c.Inventory)
	if sc == nil || sc.VolumeBindingMode == nil || *sc.VolumeBindingMode != storagev1.VolumeBindingWaitForFirstConsumer {
		return true, ""
	}
	if _, scheduled := o.Annotations["volume.kubernetes.io/selected-node"]; scheduled {
		return true, ""
	}
	return false, fmt.Sprintf("StorageClass %s binds a volume only once a pod using the claim is scheduled, and none is yet", sc.Name)
}

// runtimePvcBoundRun is runtime-pvc-bound's Run.
func runtimePvcBoundRun(o *inventory.Object, c *check.Context) []check.Finding {
	pvc := o.Typed.(*corev1.PersistentVolumeClaim)
	var why string
	switch pvc.Status.Phase {
	case corev1.ClaimPending:
		why = "no volume is bound to it"
	case corev1.ClaimLost:
		why = fmt.Sprintf("its PersistentVolume %s is gone", orUnknown(pvc.Spec.VolumeName))
	default:
		return nil
	}
	size := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	return []check.Finding{check.Failf("status.phase", "status.phase is %s: %s (requests %s; %s)", pvc.Status.Phase, why, size.String(), describeClass(pvc, c.Inventory))}
}

// runtimeJobSucceededRun is runtime-job-succeeded's Run.
func runtimeJobSucceededRun(o *inventory.Object, c *check.Context) []check.Finding {
	job := o
	if o.KindKey() == "CronJob" {
		job = LatestJob(o, c.Inventory)
	}
	i, cond := JobFailed(job.Typed.(*batchv1.Job))
	if cond == nil {
		return nil
	}
	path, what := fmt.Sprintf("status.conditions[%d]", i), "condition Failed is True"
	if job != o {
		path, what = "status.lastScheduleTime", "its latest Job "+job.Name+" failed"
	}
	msg := what + say.Reason(cond.Reason, cond.Message)
	if pods := failedPods(job, c.Inventory); len(pods) > 0 {
		msg += "; failed pods: " + say.List(pods, "; ")
	}
	return []check.Finding{check.Failf(path, "%s", msg)}
}

// ConditionFinding reports the status condition at index i, as its
// object's status shows it, with what else the message should say.
func ConditionFinding(i int, typ string, status corev1.ConditionStatus, reason, message, more string) check.Finding {
	return check.Failf(fmt.Sprintf("status.conditions[%d]", i), "condition %s is %s%s%s", typ, status, say.Reason(reason, message), more)
}

// describeEndpoint names an endpoint that is not ready: its first address,
// the pod behind it, its node, and whether it is terminating.
func describeEndpoint(ep discoveryv1.Endpoint) string {
	var parts []string
	if ep.TargetRef != nil {
		parts = append(parts, strings.ToLower(ep.TargetRef.Kind)+" "+ep.TargetRef.Name)
	}
	if ep.NodeName != nil {
		parts = append(parts, "node "+*ep.NodeName)
	}
	if ep.Conditions.Terminating != nil && *ep.Conditions.Terminating {
		parts = append(parts, "terminating")
	}
	addr := "(no address)"
	if len(ep.Addresses) > 0 {
		addr = ep.Addresses[0]
	}
	if len(parts) == 0 {
		return addr
	}
	return addr + " (" + strings.Join(parts, ", ") + ")"
}

func deploymentReplicas(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

// claimClass returns the StorageClass a claim uses: the one it names, or
// the cluster's default when it names none. A class not among the inputs,
// or an empty name (which asks for no class), gives nil.
func claimClass(pvc *corev1.PersistentVolumeClaim, inv *inventory.Inventory) *storagev1.StorageClass {
	if name := pvc.Spec.StorageClassName; name != nil {
		if o := inv.Get("StorageClass", "", *name); o != nil {
			return o.Typed.(*storagev1.StorageClass)
		}
		return nil
	}
	for _, o := range inv.OfKind("StorageClass") {
		if o.Annotations["storageclass.kubernetes.io/is-default-class"] == "true" {
			return o.Typed.(*storagev1.StorageClass)
		}
	}
	return nil
}

// describeClass names the StorageClass a claim uses, for messages.
func describeClass(pvc *corev1.PersistentVolumeClaim, inv *inventory.Inventory) string {
	name := pvc.Spec.StorageClassName
	if sc := claimClass(pvc, inv); sc != nil {
		return "StorageClass " + sc.Name
	}
	switch {
	case name == nil:
		return "the default StorageClass, which is not among the inputs"
	case *name == "":
		return "no StorageClass: it waits for a matching PersistentVolume"
	}
	return fmt.Sprintf("StorageClass %q, which is not among the inputs", *name)
}

// LatestJob returns the Job of a CronJob that started last, or nil.
func LatestJob(cron *inventory.Object, inv *inventory.Inventory) *inventory.Object {
	var latest *inventory.Object
	var latestStart time.Time
	for _, o := range inv.OwnedBy(cron, "Job") {
		j, ok := o.Typed.(*batchv1.Job)
		if !ok {
			continue
		}
		start := j.CreationTimestamp.Time
		if j.Status.StartTime != nil {
			start = j.Status.StartTime.Time
		}
		// Jobs come sorted by name, so among equal times the last name wins.
		if latest == nil || !start.Before(latestStart) {
			latest, latestStart = o, start
		}
	}
	return latest
}

// JobFailed returns a Job's Failed condition, and its index, when it is
// True.
func JobFailed(j *batchv1.Job) (int, *batchv1.JobCondition) {
	for i, c := range j.Status.Conditions {
		if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
			return i, &j.Status.Conditions[i]
		}
	}
	return 0, nil
}

// failedPods describes a Job's failed pods by how their containers ended.
func failedPods(job *inventory.Object, inv *inventory.Inventory) []string {
	var out []string
	for _, o := range inv.OwnedBy(job, "Pod") {
		p, ok := o.Typed.(*corev1.Pod)
		if !ok || p.Status.Phase != corev1.PodFailed {
			continue
		}
		var ends []string
		for _, cs := range containerStatuses(p) {
			if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
				ends = append(ends, fmt.Sprintf("container %s: %s, exit code %d", cs.Name, orUnknown(t.Reason), t.ExitCode))
			}
		}
		if len(ends) == 0 {
			ends = append(ends, "Failed"+say.Reason(p.Status.Reason, p.Status.Message))
		}
		out = append(out, p.Name+" ("+strings.Join(ends, ", ")+")")
	}
	return out
}
