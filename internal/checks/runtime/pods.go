package runtime

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/checks/pod"
	"github.com/plimsoll/plimsoll/internal/checks/say"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// The runtime checks judge what a cluster shows right now, so they are
// assessed only on a live cluster or a snapshot. Controlled objects get no
// results in this engine, so what their pods show is reported on the
// top-level workload that runs them.
//
// Checks have no clock: a pod that started a moment ago and is not Ready
// yet looks like one that never will be. A Deployment whose rollout is in
// progress is left to runtime-deployment-available, which reports it once
// the rollout passes its progress deadline; otherwise audit a settled
// cluster.

func runtimePodChecks() []*check.Check {
	return []*check.Check{
		{
			ID:            "runtime-pods-ready",
			Title:         "Workload pods are Ready",
			Layer:         check.Workloads,
			Severity:      check.High,
			Kinds:         pod.WorkloadKinds,
			Rationale:     "A pod that is not Ready receives no traffic and counts for nothing in the workload's availability: the workload runs below the capacity it was given, and the reason (an unschedulable pod, a failing readiness probe, a container that cannot start) is usually one the cluster cannot fix by itself.",
			Remediation:   "Find why each pod named is not Ready (kubectl describe pod shows its conditions and events) and fix the cause: capacity or constraints for an unschedulable pod, the application or its probe for a failing one. Pods still starting show here too (only a Deployment's rollout is waited for), so audit a settled cluster.",
			ChecklistItem: checklist.SelfHealing,
			Requires:      check.Cluster,
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				if reason, ok := rolloutInProgress(o); ok {
					return false, "a rollout is in progress (" + reason + "); runtime-deployment-available reports it if it passes its progress deadline"
				}
				return runsPods(o, c)
			},
			Run: runtimePodsReadyRun,
		},
		{
			ID:            "runtime-pods-crashloop",
			Title:         "Containers are not crash-looping",
			Layer:         check.Workloads,
			Severity:      check.High,
			Kinds:         pod.WorkloadKinds,
			Rationale:     "A container in CrashLoopBackOff exits as soon as it starts and the kubelet waits ever longer, up to five minutes, before starting it again: the pod serves nothing, and restarting it does not help until the cause is fixed.",
			Remediation:   "Read the container's previous logs (kubectl logs --previous) and its last termination reason, and fix the crash: a bad configuration or missing dependency, an OOMKilled container that needs a higher memory limit, or a liveness probe that kills a healthy container.",
			ChecklistItem: checklist.Alerting,
			Requires:      check.Cluster,
			Applies:       runsPods,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				return byContainer(o, c.Inventory, "is in CrashLoopBackOff", withRestartHistory(func(cs corev1.ContainerStatus) bool {
					return cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff"
				}))
			},
		},
		{
			ID:            "runtime-pods-image-pull",
			Title:         "Container images can be pulled",
			Layer:         check.Workloads,
			Severity:      check.High,
			Kinds:         pod.WorkloadKinds,
			Rationale:     "A container whose image cannot be pulled never starts: a tag that does not exist, a registry that refuses the node's credentials or cannot be reached leaves the pod waiting in ErrImagePull and ImagePullBackOff, and a rollout that needs it stalls.",
			Remediation:   "Fix the image reference or make it pullable: push the tag, give the pod an imagePullSecret (or the node an identity) the registry accepts, or open the network path to the registry.",
			ChecklistItem: checklist.RegistryCredentials,
			Requires:      check.Cluster,
			Applies:       runsPods,
			Run:           runtimePodsImagePullRun,
		},
		{
			ID:            "runtime-pods-restarts",
			Title:         "Containers do not restart often",
			Layer:         check.Workloads,
			Severity:      check.Medium,
			Kinds:         pod.WorkloadKinds,
			Rationale:     "A container that keeps restarting drops its in-flight work and its connections each time, even when it is Ready between restarts: memory limits set too low (OOMKilled), liveness probes that fail under load and crashes on rare inputs show up as restart counts long before they show up as an outage.",
			Remediation:   "Look at the last termination reason of each container named (kubectl describe pod) and fix it: raise a memory limit that gets OOMKilled, relax a liveness probe that fails under load, or fix the crash. The count resets only when the pod is replaced; the threshold is the parameter maxRestarts.",
			ChecklistItem: checklist.PodRestarts,
			Requires:      check.Cluster,
			Applies:       runsPods,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				limit := c.Params.MaxRestarts
				return byContainer(o, c.Inventory, fmt.Sprintf("restarted more than %d times", limit), withRestartHistory(func(cs corev1.ContainerStatus) bool {
					return cs.RestartCount > limit
				}))
			},
		},
		{
			ID:            "runtime-replicas-across-nodes",
			Title:         "Ready replicas do not all run on one node",
			Layer:         check.Workloads,
			Severity:      check.Medium,
			Kinds:         pod.ReplicatedKinds,
			Reads:         []string{"Pod", "ReplicaSet"},
			Rationale:     "Replicas protect against the loss of a node only if they run on different nodes. When every ready pod of a workload sits on one node, a node failure, a drain or a kernel upgrade takes the whole workload down, however many replicas it has.",
			Remediation:   "Add topologySpreadConstraints over kubernetes.io/hostname (or a podAntiAffinity term) selecting the workload's own pods, make sure the cluster has room on other nodes, and let the pods be rescheduled (kubectl rollout restart).",
			ChecklistItem: checklist.DevIsNotProduction,
			Requires:      check.Cluster,
			Applies:       twoReadyPods,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				ready := readyPods(o, c.Inventory)
				node := ready[0].Spec.NodeName
				for _, p := range ready {
					if p.Spec.NodeName != node || node == "" {
						return nil
					}
				}
				return []check.Finding{check.Failf(o.SpecPath("topologySpreadConstraints"), "%s ready pods run on node %s (%s): losing that node takes every replica down",
					allOf(len(ready)), node, say.List(podNames(ready), ", "))}
			},
		},
		{
			ID:            "runtime-replicas-across-zones",
			Title:         "Ready replicas do not all run in one zone",
			Layer:         check.Workloads,
			Severity:      check.Medium,
			Kinds:         pod.ReplicatedKinds,
			Reads:         []string{"Node", "Pod", "ReplicaSet"},
			Rationale:     "In a cluster whose nodes span several zones, replicas survive the loss of a zone only if they run in more than one. When every ready pod sits in one zone, a zone outage takes the workload down although the cluster itself survives.",
			Remediation:   "Add topologySpreadConstraints over topology.kubernetes.io/zone selecting the workload's own pods, make sure other zones have room, and let the pods be rescheduled (kubectl rollout restart).",
			ChecklistItem: checklist.MultiZoneNodeGroups,
			Requires:      check.Cluster,
			Applies:       runtimeReplicasAcrossZonesApplies,
			Run:           runtimeReplicasAcrossZonesRun,
		},
	}
}

// runtimePodsReadyRun is runtime-pods-ready's Run.
func runtimePodsReadyRun(o *inventory.Object, c *check.Context) []check.Finding {
	pods := livePods(o, c.Inventory)
	var notReady []string
	for _, p := range pods {
		if !platform.PodReady(p) {
			notReady = append(notReady, fmt.Sprintf("%s (%s)", p.Name, notReadyReason(p)))
		}
	}
	switch {
	case len(notReady) == 0:
		return nil
	case o.KindKey() == "Pod":
		return []check.Finding{check.Failf(readyPath(o), "pod is not Ready: %s", notReadyReason(pods[0]))}
	}
	return []check.Finding{check.Failf(readyPath(o), "%d of %s not Ready: %s", len(notReady), say.Count(len(pods), "pod", "pods"), say.List(notReady, "; "))}
}

// runtimePodsImagePullRun is runtime-pods-image-pull's Run.
func runtimePodsImagePullRun(o *inventory.Object, c *check.Context) []check.Finding {
	return byContainer(o, c.Inventory, "cannot pull its image", func(p *corev1.Pod, cs corev1.ContainerStatus) (string, bool) {
		w := cs.State.Waiting
		if w == nil || !imagePullReasons[w.Reason] {
			return "", false
		}
		what := w.Reason
		if w.Reason != "ImagePullBackOff" && w.Message != "" {
			// ImagePullBackOff only repeats the image; the
			// other reasons carry the registry's answer.
			what += ": " + say.Brief(w.Message)
		}
		return fmt.Sprintf("image %s, %s", podImage(p, cs.Name), what), true
	})
}

// runtimeReplicasAcrossZonesApplies is runtime-replicas-across-zones's Applies.
func runtimeReplicasAcrossZonesApplies(o *inventory.Object, c *check.Context) (bool, string) {
	if ok, why := twoReadyPods(o, c); !ok {
		return false, why
	}
	if !spansZones(c.Inventory) {
		return false, "the cluster's nodes are not known to span more than one zone (no two Nodes with different " + corev1.LabelTopologyZone + " labels among the inputs)"
	}
	ready := readyPods(o, c.Inventory)
	nodes := map[string]bool{}
	for _, p := range ready {
		if _, ok := nodeZone(c.Inventory, p.Spec.NodeName); !ok {
			return false, fmt.Sprintf("the zone of pod %s is not known: its node %q is not among the inputs or has no zone label", p.Name, p.Spec.NodeName)
		}
		nodes[p.Spec.NodeName] = true
	}
	if len(nodes) == 1 {
		return false, "every ready pod runs on one node; runtime-replicas-across-nodes reports it"
	}
	return true, ""
}

// runtimeReplicasAcrossZonesRun is runtime-replicas-across-zones's Run.
func runtimeReplicasAcrossZonesRun(o *inventory.Object, c *check.Context) []check.Finding {
	ready := readyPods(o, c.Inventory)
	zone, _ := nodeZone(c.Inventory, ready[0].Spec.NodeName)
	nodes := map[string]bool{}
	for _, p := range ready {
		if z, _ := nodeZone(c.Inventory, p.Spec.NodeName); z != zone {
			return nil
		}
		nodes[p.Spec.NodeName] = true
	}
	return []check.Finding{check.Failf(o.SpecPath("topologySpreadConstraints"), "%s ready pods run in zone %s (on nodes %s), while the cluster's nodes span zones %s: losing that zone takes every replica down",
		allOf(len(ready)), zone, strings.Join(slices.Sorted(maps.Keys(nodes)), ", "), strings.Join(clusterZones(c.Inventory), ", "))}
}

// imagePullReasons are the waiting reasons of a container whose image the
// kubelet cannot pull.
var imagePullReasons = map[string]bool{
	"ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true, "ErrImageNeverPull": true,
}

// livePods returns the pods of a workload that count now: not being
// deleted, not Succeeded, and not Failed unless the workload is a bare Pod.
// A controller replaces its failed pods (an evicted pod lingers until
// garbage-collected, its replacement running), and a Job's failures are
// runtime-job-succeeded's to judge.
func livePods(o *inventory.Object, inv *inventory.Inventory) []*corev1.Pod {
	var out []*corev1.Pod
	for _, obj := range inv.PodsOf(o) {
		p, ok := obj.Typed.(*corev1.Pod)
		if !ok || p.DeletionTimestamp != nil {
			continue
		}
		switch p.Status.Phase {
		case corev1.PodSucceeded:
			continue
		case corev1.PodFailed:
			if o.KindKey() != "Pod" {
				continue
			}
		}
		out = append(out, p)
	}
	return out
}

// runsPods is the Applies of the pod checks: a workload with no live pod
// (scaled to zero, a CronJob between runs) shows nothing to judge.
func runsPods(o *inventory.Object, c *check.Context) (bool, string) {
	if len(livePods(o, c.Inventory)) == 0 {
		return false, "no pod of it is running now"
	}
	return true, ""
}

// readyPods returns the live pods of a workload that are Ready.
func readyPods(o *inventory.Object, inv *inventory.Inventory) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range livePods(o, inv) {
		if platform.PodReady(p) {
			out = append(out, p)
		}
	}
	return out
}

func twoReadyPods(o *inventory.Object, c *check.Context) (bool, string) {
	if n := len(readyPods(o, c.Inventory)); n < 2 {
		return false, fmt.Sprintf("%s Ready: spreading needs at least 2", say.Count(n, "pod", "pods"))
	}
	return true, ""
}

// rolloutInProgress reports whether a Deployment is rolling out, and the
// controller's reason: its new pods may not be Ready yet, and the
// deployment controller's progress deadline is the grace they get.
func rolloutInProgress(o *inventory.Object) (string, bool) {
	d, ok := o.Typed.(*appsv1.Deployment)
	if !ok {
		return "", false
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionTrue {
			switch c.Reason {
			case "NewReplicaSetCreated", "FoundNewReplicaSet", "ReplicaSetUpdated":
				return "Progressing: " + c.Reason, true
			}
		}
	}
	return "", false
}

// readyPath is the status field that counts a workload's ready pods.
func readyPath(o *inventory.Object) string {
	switch o.KindKey() {
	case "Pod":
		return "status.conditions"
	case "DaemonSet":
		return "status.numberReady"
	case "Job":
		return "status.ready"
	case "CronJob":
		return "status.active"
	}
	return "status.readyReplicas"
}

// spansZones reports whether the cluster's Nodes are in more than one zone.
// It stops at the second zone: the zone check asks it for every workload.
func spansZones(inv *inventory.Inventory) bool {
	first := ""
	for _, n := range inv.OfKind("Node") {
		if z, ok := zoneLabel(n); ok {
			if first != "" && z != first {
				return true
			}
			first = z
		}
	}
	return false
}

// clusterZones returns the zones the cluster's Nodes are in, sorted.
func clusterZones(inv *inventory.Inventory) []string {
	zones := map[string]bool{}
	for _, n := range inv.OfKind("Node") {
		if z, ok := zoneLabel(n); ok {
			zones[z] = true
		}
	}
	return slices.Sorted(maps.Keys(zones))
}

// nodeZone returns the zone of a Node by name, and whether it is known.
func nodeZone(inv *inventory.Inventory, name string) (string, bool) {
	if name == "" {
		return "", false
	}
	n := inv.Get("Node", "", name)
	if n == nil {
		return "", false
	}
	return zoneLabel(n)
}

// zoneLabel reads a Node's zone, from the deprecated beta label when the
// current one is not set (some providers still set only that).
func zoneLabel(n *inventory.Object) (string, bool) {
	for _, k := range []string{corev1.LabelTopologyZone, corev1.LabelFailureDomainBetaZone} {
		if z, ok := n.Label(k); ok && z != "" {
			return z, true
		}
	}
	return "", false
}

func podNames(pods []*corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}

// allOf is "both" or "all n", for messages about every one of n items.
func allOf(n int) string {
	if n == 2 {
		return "both"
	}
	return fmt.Sprintf("all %d", n)
}

func orUnknown(s string) string {
	if s == "" {
		return "(no reason)"
	}
	return s
}
