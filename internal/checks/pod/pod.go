// Package pod reads what checks of every package share: the pod spec of a
// workload or its template, its containers (init containers and sidecars
// included), the Service ports that reach them, and the kind groups that
// checks target.
package pod

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

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

// Describe names the container in findings: `init container "migrate"`
// for one that runs to completion before the others start, `container
// "web"` for an app container or a sidecar, which run beside each other.
func (c Container) Describe() string {
	if c.Init {
		return fmt.Sprintf("init container %q", c.Name)
	}
	return fmt.Sprintf("container %q", c.Name)
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
		out = append(out, Container{Container: c, Init: !IsSidecar(c), o: o, list: "initContainers", i: i})
	}
	for i := range tmpl.Spec.Containers {
		out = append(out, Container{Container: &tmpl.Spec.Containers[i], o: o, list: "containers", i: i})
	}
	return out
}

// IsSidecar reports whether an init container is a sidecar: it restarts
// always (restartPolicy: Always), and so runs beside the app containers
// for the pod's lifetime rather than to completion before them.
func IsSidecar(c *corev1.Container) bool {
	return c != nil && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
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

// Target is a port of a Service that selects a workload's pods: the
// Service's port and the port of the pod it sends that traffic to, a name
// or a number (targetPort, which defaults to the port).
type Target struct {
	Service string
	Port    int32
	To      intstr.IntOrString
}

// PortString is the Service's port, and where it sends traffic when that
// is another port: "80", "443 to https".
func (t Target) PortString() string {
	if t.To.Type == intstr.Int && t.To.IntVal == t.Port {
		return strconv.Itoa(int(t.Port))
	}
	return fmt.Sprintf("%d to %s", t.Port, t.To.String())
}

// ServiceTargets returns the ports that the Services among the inputs that
// select a workload's pods send traffic to.
func ServiceTargets(o *inventory.Object, inv *inventory.Inventory) []Target {
	var out []Target
	for _, s := range inv.Services(o) {
		svc, ok := s.Typed.(*corev1.Service)
		if !ok {
			continue
		}
		for _, p := range svc.Spec.Ports {
			to := p.TargetPort
			if to.Type == intstr.Int && to.IntVal == 0 {
				to = intstr.FromInt32(p.Port) // targetPort defaults to port
			}
			out = append(out, Target{Service: s.Name, Port: p.Port, To: to})
		}
	}
	return out
}

// DescribeTargets says which Services' ports the targets are, each once,
// grouped by Service in the order given: "Service web (ports 80 to http,
// 443 to https)".
func DescribeTargets(targets []Target) string {
	var services []string
	ports := map[string][]string{}
	for _, t := range targets {
		if !slices.Contains(services, t.Service) {
			services = append(services, t.Service)
		}
		if p := t.PortString(); !slices.Contains(ports[t.Service], p) {
			ports[t.Service] = append(ports[t.Service], p)
		}
	}
	parts := make([]string, len(services))
	for i, s := range services {
		word := "port "
		if len(ports[s]) > 1 {
			word = "ports "
		}
		parts[i] = "Service " + s + " (" + word + strings.Join(ports[s], ", ") + ")"
	}
	return strings.Join(parts, ", ")
}

// Declares reports whether a container declares a port, by name or
// number.
func Declares(c *corev1.Container, port intstr.IntOrString) bool {
	for _, cp := range c.Ports {
		if (port.Type == intstr.String && cp.Name == port.StrVal) || (port.Type == intstr.Int && cp.ContainerPort == port.IntVal) {
			return true
		}
	}
	return false
}

// Undeclared reports whether a target is a port number that no container
// running beside the others (a sidecar or an app container) declares: any
// of them may be the one listening on it. An init container that runs to
// completion has finished before the pod serves, so its ports do not
// count. A port name that no container declares gets no traffic at all
// (service-target-port reports it).
func Undeclared(o *inventory.Object, t Target) bool {
	if t.To.Type != intstr.Int {
		return false
	}
	for _, c := range RunningContainers(o) {
		if Declares(c.Container, t.To) {
			return false
		}
	}
	return true
}
