package checks

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// Kind groups that checks target.
var (
	// workloadKinds run pods; the engine hands checks only the top-level
	// ones (a Deployment, not its ReplicaSets and Pods).
	workloadKinds = []string{"CronJob", "DaemonSet", "Deployment", "Job", "Pod", "ReplicaSet", "ReplicationController", "StatefulSet"}
	// serviceKinds run pods that are meant to keep running.
	serviceKinds = []string{"DaemonSet", "Deployment", "Pod", "ReplicaSet", "ReplicationController", "StatefulSet"}
	// replicatedKinds have a replica count.
	replicatedKinds = []string{"Deployment", "StatefulSet"}
	// scaleTargetKinds are the built-in kinds an HPA can scale.
	scaleTargetKinds = []string{"Deployment", "ReplicaSet", "ReplicationController", "StatefulSet"}
)

// container is one container of a workload's pod, with its field path.
type container struct {
	*corev1.Container
	Path string
	// Init marks an init container that runs to completion before the
	// others start. Sidecars (init containers that restart always) are not
	// Init: they run alongside the app.
	Init bool
}

// containers returns the containers of a workload's pod: init containers
// first, then the app containers, each with its field path.
func containers(o *inventory.Object) []container {
	tmpl, _ := o.PodTemplate()
	if tmpl == nil {
		return nil
	}
	var out []container
	for i := range tmpl.Spec.InitContainers {
		c := &tmpl.Spec.InitContainers[i]
		sidecar := c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
		out = append(out, container{c, o.SpecPath(fmt.Sprintf("initContainers[%d]", i)), !sidecar})
	}
	for i := range tmpl.Spec.Containers {
		out = append(out, container{&tmpl.Spec.Containers[i], o.SpecPath(fmt.Sprintf("containers[%d]", i)), false})
	}
	return out
}

// runningContainers returns the containers that run for the pod's lifetime:
// app containers and sidecars, not init containers.
func runningContainers(o *inventory.Object) []container {
	var out []container
	for _, c := range containers(o) {
		if !c.Init {
			out = append(out, c)
		}
	}
	return out
}

// podSpec returns a workload's pod spec, or nil.
func podSpec(o *inventory.Object) *corev1.PodSpec {
	tmpl, _ := o.PodTemplate()
	if tmpl == nil {
		return nil
	}
	return &tmpl.Spec
}

// serving reports whether a container serves traffic: it declares a port,
// or a Service selects its pod.
func serving(o *inventory.Object, c container, inv *inventory.Inventory) bool {
	return len(c.Ports) > 0 || len(inv.Services(o)) > 0
}
