package runtime

// Reading a pod's status: its conditions, its containers' states and
// restarts, and why it is not Ready, in the words findings use.

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/pod"
	"github.com/plimsoll/plimsoll/internal/checks/say"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

func podCondition(p *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// notReadyReason says why a pod is not Ready, as specifically as its
// status shows: failed, not scheduled, or which containers are not ready
// and in what state.
func notReadyReason(p *corev1.Pod) string {
	if p.Status.Phase == corev1.PodFailed {
		return "Failed" + say.Reason(p.Status.Reason, p.Status.Message)
	}
	if c := podCondition(p, corev1.PodScheduled); c != nil && c.Status == corev1.ConditionFalse {
		return "Pending, not scheduled" + say.Reason(c.Reason, c.Message)
	}
	// While an init container has not finished, the app containers only
	// wait for it.
	for _, group := range []struct {
		what     string
		statuses []corev1.ContainerStatus
	}{{"init container", p.Status.InitContainerStatuses}, {"container", p.Status.ContainerStatuses}} {
		var parts []string
		for _, cs := range group.statuses {
			// Init containers that completed, and running sidecars, are
			// Ready.
			if !cs.Ready {
				finishes := group.what == "init container" && !pod.IsSidecar(initContainer(p, cs.Name))
				parts = append(parts, group.what+" "+cs.Name+": "+containerState(cs, finishes))
			}
		}
		if len(parts) > 0 {
			return strings.Join(parts, "; ")
		}
	}
	if c := podCondition(p, corev1.PodReady); c != nil {
		return "Ready is " + string(c.Status) + say.Reason(c.Reason, c.Message)
	}
	return string(p.Status.Phase) + ", no Ready condition"
}

// containerStatuses returns the statuses of init containers, then of app
// Containers.
func containerStatuses(p *corev1.Pod) []corev1.ContainerStatus {
	return append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
}

// containerState describes a container's current state for messages. A
// running container that is meant to finish (an init container) has not
// yet; one meant to keep running and not ready fails its readiness probe.
func containerState(cs corev1.ContainerStatus, finishes bool) string {
	var s string
	switch st := cs.State; {
	case st.Waiting != nil:
		s = st.Waiting.Reason
		if st.Waiting.Reason != "CrashLoopBackOff" && st.Waiting.Message != "" {
			// CrashLoopBackOff's message only repeats the back-off.
			s += ": " + say.Brief(st.Waiting.Message)
		}
	case st.Running != nil && finishes:
		s = "running, not finished"
	case st.Running != nil:
		s = "running, not ready"
	case st.Terminated != nil:
		s = "terminated" + say.Reason(st.Terminated.Reason, fmt.Sprintf("exit code %d", st.Terminated.ExitCode))
	default:
		s = "not started"
	}
	if cs.RestartCount > 0 {
		s += ", " + say.Count(int(cs.RestartCount), "restart", "restarts")
	}
	return s
}

// initContainer returns a pod's init container of that name, or nil.
func initContainer(p *corev1.Pod, name string) *corev1.Container {
	for i := range p.Spec.InitContainers {
		if p.Spec.InitContainers[i].Name == name {
			return &p.Spec.InitContainers[i]
		}
	}
	return nil
}

// withRestartHistory makes a byContainer match of a test on a container's
// status that describes the matching ones by their restarts.
func withRestartHistory(bad func(corev1.ContainerStatus) bool) func(*corev1.Pod, corev1.ContainerStatus) (string, bool) {
	return func(_ *corev1.Pod, cs corev1.ContainerStatus) (string, bool) {
		if !bad(cs) {
			return "", false
		}
		return restartHistory(cs), true
	}
}

// restartHistory says how often a container restarted and how it ended
// the last time it ran.
func restartHistory(cs corev1.ContainerStatus) string {
	s := say.Count(int(cs.RestartCount), "restart", "restarts")
	if t := cs.LastTerminationState.Terminated; t != nil {
		s += fmt.Sprintf(", last terminated: %s, exit code %d", orUnknown(t.Reason), t.ExitCode)
	}
	return s
}

// byContainer reports, per container of the workload, the live pods in
// which match says the container shows a problem, with what it found: one
// finding per container, at the container's field path in the template.
func byContainer(o *inventory.Object, inv *inventory.Inventory, problem string, match func(*corev1.Pod, corev1.ContainerStatus) (string, bool)) []check.Finding {
	pods := livePods(o, inv)
	found := map[string][]string{} // container -> "pod (what)"
	single := map[string]string{}  // container -> what, for a bare Pod
	init := map[string]bool{}
	for _, p := range pods {
		for _, cs := range containerStatuses(p) {
			if what, ok := match(p, cs); ok {
				found[cs.Name] = append(found[cs.Name], p.Name+" ("+what+")")
				single[cs.Name] = what
				if c := initContainer(p, cs.Name); c != nil && !pod.IsSidecar(c) {
					init[cs.Name] = true
				}
			}
		}
	}
	var out []check.Finding
	for _, name := range slices.Sorted(maps.Keys(found)) {
		what := "container " + name
		if init[name] {
			what = "init container " + name
		}
		msg := fmt.Sprintf("%s %s in %d of %s: %s", what, problem, len(found[name]), say.Count(len(pods), "pod", "pods"), say.List(found[name], "; "))
		if o.KindKey() == "Pod" {
			msg = fmt.Sprintf("%s %s: %s", what, problem, single[name])
		}
		out = append(out, check.Failf(containerPath(o, name), "%s", msg))
	}
	return out
}

// containerPath is the field path of a named container in a workload's pod
// template, or of the containers list when the template has none of that
// name (the pod runs an older template).
func containerPath(o *inventory.Object, name string) string {
	for _, c := range pod.Containers(o) {
		if c.Name == name {
			return c.Path()
		}
	}
	return o.SpecPath("containers")
}

// podImage returns the image a pod's container runs.
func podImage(p *corev1.Pod, container string) string {
	for _, list := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for _, c := range list {
			if c.Name == container {
				return c.Image
			}
		}
	}
	return "(unknown)"
}
