// Package pod reads what checks of every package share: the pod spec of a
// workload or its template, its containers (init containers and sidecars
// included), whether a container serves traffic, and the kind groups that
// checks target.
package pod

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// Kind groups that checks target, derived from the inventory's table of
// workload kinds (inventory.WorkloadKinds).
var (
	// WorkloadKinds run pods; the engine hands checks only the top-level
	// ones (a Deployment, not its ReplicaSets and Pods).
	WorkloadKinds = inventory.WorkloadKinds(nil)
	// ServiceKinds run pods that are meant to keep running.
	ServiceKinds = inventory.WorkloadKinds(func(w inventory.WorkloadKind) bool { return !w.Finishes })
	// ReplicatedKinds are declared to run a replicated service: they have
	// a replica count and roll their pods out.
	ReplicatedKinds = inventory.WorkloadKinds(func(w inventory.WorkloadKind) bool { return w.Replicated })
	// ScaleTargetKinds are the built-in kinds an HPA can scale.
	ScaleTargetKinds = inventory.WorkloadKinds(func(w inventory.WorkloadKind) bool { return w.Replicas })
)

// Container is one container of a workload's pod, with where it is.
type Container struct {
	*corev1.Container
	// Init marks an init container that runs to completion before the
	// others start. Sidecars (init containers that restart always) are not
	// Init: they run alongside the app.
	Init bool
	o    *inventory.Object
	list string // "initContainers" or "containers"
	i    int
}

// Path is the container's field path. It is made only for a finding: most
// Containers pass, and checks ask for the containers many times over.
func (c Container) Path() string {
	return c.o.SpecPath(c.list + "[" + strconv.Itoa(c.i) + "]")
}

// Containers returns the containers of a workload's pod: init containers
// first, then the app containers, each with its field path.
func Containers(o *inventory.Object) []Container {
	tmpl, _ := o.PodTemplate()
	if tmpl == nil {
		return nil
	}
	out := make([]Container, 0, len(tmpl.Spec.InitContainers)+len(tmpl.Spec.Containers))
	for i := range tmpl.Spec.InitContainers {
		c := &tmpl.Spec.InitContainers[i]
		sidecar := c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
		out = append(out, Container{Container: c, Init: !sidecar, o: o, list: "initContainers", i: i})
	}
	for i := range tmpl.Spec.Containers {
		out = append(out, Container{Container: &tmpl.Spec.Containers[i], o: o, list: "containers", i: i})
	}
	return out
}

// RunningContainers returns the containers that run for the pod's lifetime:
// app containers and sidecars, not init containers.
func RunningContainers(o *inventory.Object) []Container {
	all := Containers(o)
	out := all[:0]
	for _, c := range all {
		if !c.Init {
			out = append(out, c)
		}
	}
	return out
}

// Spec returns a workload's pod spec, or nil.
func Spec(o *inventory.Object) *corev1.PodSpec {
	tmpl, _ := o.PodTemplate()
	if tmpl == nil {
		return nil
	}
	return &tmpl.Spec
}

// Serving reports whether a container serves traffic: it declares a port,
// or a Service that selects its pod sends traffic to a port number that no
// Container of the pod declares, which any of them may be listening on. A
// Container without ports beside the ones a Service targets (a config
// reloader beside its server) does not serve, and neither does one behind
// a port name that no container declares: no traffic reaches the pod by
// that name (service-target-port reports it).
func Serving(o *inventory.Object, c Container, inv *inventory.Inventory) bool {
	if len(c.Ports) > 0 {
		return true
	}
	spec := Spec(o)
	for _, s := range inv.Services(o) {
		svc, ok := s.Typed.(*corev1.Service)
		if !ok {
			continue
		}
		for _, p := range svc.Spec.Ports {
			target := p.TargetPort
			if target.Type == intstr.Int && target.IntVal == 0 {
				target = intstr.FromInt32(p.Port) // targetPort defaults to port
			}
			if target.Type == intstr.Int && !declaresPort(spec, target) {
				return true
			}
		}
	}
	return false
}

// declaresPort reports whether a container of the pod (a sidecar or an
// app container) declares the port, by name or number.
func declaresPort(spec *corev1.PodSpec, port intstr.IntOrString) bool {
	for _, list := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for _, c := range list {
			for _, cp := range c.Ports {
				if (port.Type == intstr.String && cp.Name == port.StrVal) || (port.Type == intstr.Int && cp.ContainerPort == port.IntVal) {
					return true
				}
			}
		}
	}
	return false
}
