package manifest

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/checks/pod"
	"github.com/plimsoll/plimsoll/internal/checks/say"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

func probeChecks() []*check.Check {
	return []*check.Check{
		{
			ID:            "container-readiness-probe",
			Title:         "Serving containers have a readiness probe",
			Layer:         check.Workloads,
			Severity:      check.High,
			Kinds:         pod.ServiceKinds,
			Reads:         []string{"Service"},
			Rationale:     "Without a readiness probe a pod receives traffic as soon as its process starts, before it can serve, and keeps receiving it when it can no longer serve; rollouts and dependency failures turn into user-facing errors. A pod is Ready only when all its containers are, so one probe guards the containers beside it that no Service sends traffic to.",
			Remediation:   "Add a readinessProbe to every container that a Service sends traffic to, checking that the application can serve requests.",
			ChecklistItem: checklist.HealthProbes,
			Applies:       containerReadinessProbeApplies,
			Run:           containerReadinessProbeRun,
		},
		{
			ID:            "container-liveness-probe",
			Title:         "Long-running containers have a liveness probe",
			Layer:         check.Workloads,
			Severity:      check.Medium,
			Kinds:         pod.ServiceKinds,
			Rationale:     "A process that deadlocks or hangs keeps running and keeps its pod Ready in name only; a liveness probe lets the kubelet restart it.",
			Remediation:   "Add a livenessProbe to every long-running container that checks only that the process itself is alive, such as a lightweight /healthz endpoint.",
			ChecklistItem: checklist.HealthProbes,
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				// A bare Pod can run to completion, as a Job's pods do.
				if spec := pod.Spec(o); o.Kind == "Pod" && spec != nil && spec.RestartPolicy != "" && spec.RestartPolicy != corev1.RestartPolicyAlways {
					return false, fmt.Sprintf("the pod runs to completion (restartPolicy %s)", spec.RestartPolicy)
				}
				return true, ""
			},
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				var out []check.Finding
				for _, ct := range pod.RunningContainers(o) {
					if ct.LivenessProbe == nil {
						out = append(out, check.Failf(ct.Path()+".livenessProbe", "%s has no liveness probe", ct.Describe()))
					}
				}
				return out
			},
		},
		{
			ID:            "liveness-readiness-probes-differ",
			Title:         "Liveness and readiness probes are not identical",
			Layer:         check.Workloads,
			Severity:      check.Medium,
			Kinds:         pod.ServiceKinds,
			Rationale:     "A readiness probe checks that the app can serve, dependencies included; a liveness probe must check only the process. When they are the same, a database outage fails liveness and Kubernetes restarts every pod, which cannot fix the database and starts a restart storm.",
			Remediation:   "Point the liveness probe at a check of the process alone (for example /healthz) and keep dependency checks in the readiness probe.",
			ChecklistItem: checklist.ProbesDiffer,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				var out []check.Finding
				for _, ct := range pod.RunningContainers(o) {
					if ct.LivenessProbe != nil && ct.ReadinessProbe != nil && equality.Semantic.DeepEqual(ct.LivenessProbe.ProbeHandler, ct.ReadinessProbe.ProbeHandler) {
						out = append(out, check.Failf(ct.Path()+".livenessProbe", "%s: liveness probe checks the same thing as its readiness probe (%s)", ct.Describe(), describeHandler(ct.LivenessProbe.ProbeHandler)))
					}
				}
				return out
			},
		},
		{
			ID:            "startup-probe-for-slow-start",
			Title:         "Slow-starting containers use a startup probe",
			Layer:         check.Workloads,
			Severity:      check.Low,
			Kinds:         pod.ServiceKinds,
			Rationale:     "A long liveness initialDelaySeconds is a guess at start-up time: too short and slow starts are killed in a loop, too long and a hung container goes unnoticed for that long after every restart. A startup probe waits exactly as long as start-up takes.",
			Remediation:   "Replace the long liveness initialDelaySeconds with a startupProbe (failureThreshold × periodSeconds covering the worst start-up) and drop the delay.",
			ChecklistItem: checklist.HealthProbes,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				var out []check.Finding
				for _, ct := range pod.RunningContainers(o) {
					lp := ct.LivenessProbe
					if lp != nil && ct.StartupProbe == nil && lp.InitialDelaySeconds >= c.Params.SlowStartSeconds {
						out = append(out, check.Failf(ct.Path()+".livenessProbe.initialDelaySeconds", "%s waits %ds before its first liveness probe but has no startup probe", ct.Describe(), lp.InitialDelaySeconds))
					}
				}
				return out
			},
		},
		{
			ID:            "probe-port-declared",
			Title:         "Probes name ports the container declares",
			Layer:         check.Workloads,
			Severity:      check.High,
			Kinds:         pod.ServiceKinds,
			Rationale:     "A probe that names a port the container does not declare can never succeed, and neither can an HTTP or TCP probe, which connects over TCP, on a name that stands for a UDP port: the pod never becomes Ready, or is restarted forever.",
			Remediation:   "Use a port name from the container's ports list (a TCP port for HTTP and TCP probes), or a port number.",
			ChecklistItem: checklist.HealthProbes,
			Run:           probePortDeclaredRun,
		},
	}
}

// containerReadinessProbeApplies is container-readiness-probe's Applies:
// readiness matters to a Service that selects the pods and to a rollout
// that waits on them, and to nothing else. A bare Pod that no Service
// selects is Ready or not to no effect.
func containerReadinessProbeApplies(o *inventory.Object, c *check.Context) (bool, string) {
	if w, _ := inventory.WorkloadKindOf(o.KindKey()); w.WaitsReady || len(c.Inventory.Services(o)) > 0 {
		return true, ""
	}
	return false, "no Service among the inputs selects its pods and no rollout waits for them to be Ready"
}

// containerReadinessProbeRun is container-readiness-probe's Run. A pod is
// Ready when all its containers are, so one readiness probe guards it:
// a container without one fails when a Service sends it traffic by a port
// it declares, or when no container has a probe and it may be the one
// serving (an undeclared target port, or its own ports when no Service
// port reaches the pod).
func containerReadinessProbeRun(o *inventory.Object, c *check.Context) []check.Finding {
	p := newReadinessPod(o, c.Inventory)
	var out []check.Finding
	for _, ct := range p.running {
		if ct.ReadinessProbe != nil {
			continue
		}
		if msg := p.unguarded(ct); msg != "" {
			out = append(out, check.Failf(ct.Path()+".readinessProbe", "%s %s", ct.Describe(), msg))
		}
	}
	return out
}

// readinessPod is what container-readiness-probe sees of a workload's pod:
// its running containers, the Service ports that select it, whether some
// container's readiness probe guards it, and whether any Service port
// reaches it at all.
type readinessPod struct {
	o       *inventory.Object
	running []pod.Container
	targets []pod.Target
	guarded bool
	reached bool
}

func newReadinessPod(o *inventory.Object, inv *inventory.Inventory) readinessPod {
	p := readinessPod{o: o, running: pod.RunningContainers(o), targets: pod.ServiceTargets(o, inv)}
	for _, ct := range p.running {
		p.guarded = p.guarded || ct.ReadinessProbe != nil
	}
	for _, t := range p.targets {
		p.reached = p.reached || pod.Undeclared(o, t) || slices.ContainsFunc(p.running, func(ct pod.Container) bool { return pod.Declares(ct.Container, t.To) })
	}
	return p
}

// unguarded says how traffic reaches a container that has no readiness
// probe without a probe to guard it, or "". A port number no container
// declares reaches the container when it is the pod's only one.
func (p readinessPod) unguarded(ct pod.Container) string {
	var declared, undeclared []pod.Target
	for _, t := range p.targets {
		switch {
		case pod.Declares(ct.Container, t.To) || (len(p.running) == 1 && pod.Undeclared(p.o, t)):
			declared = append(declared, t)
		case pod.Undeclared(p.o, t):
			undeclared = append(undeclared, t)
		}
	}
	switch {
	case len(declared) > 0:
		return fmt.Sprintf("receives the traffic of %s but has no readiness probe", pod.DescribeTargets(declared))
	case p.guarded:
		return ""
	case len(undeclared) > 0:
		return fmt.Sprintf("may be the one serving %s: no container declares that port, and none has a readiness probe", pod.DescribeTargets(undeclared))
	case !p.reached && len(ct.Ports) > 0:
		return fmt.Sprintf("declares %s and no container of the pod has a readiness probe, so the pod counts as Ready as soon as it starts", describePorts(ct.Ports))
	}
	return ""
}

// describePorts lists declared ports as "port 8080" or "ports http (8080), 9090".
func describePorts(ports []corev1.ContainerPort) string {
	var ps []string
	for _, p := range ports {
		if p.Name != "" {
			ps = append(ps, fmt.Sprintf("%s (%d)", p.Name, p.ContainerPort))
		} else {
			ps = append(ps, fmt.Sprintf("%d", p.ContainerPort))
		}
	}
	if len(ps) == 1 {
		return "port " + ps[0]
	}
	return "ports " + say.List(ps, ", ")
}

// probePortDeclaredRun is probe-port-declared's Run.
func probePortDeclaredRun(o *inventory.Object, c *check.Context) []check.Finding {
	var out []check.Finding
	for _, ct := range pod.RunningContainers(o) {
		for _, p := range []struct {
			field string
			probe *corev1.Probe
		}{{"readinessProbe", ct.ReadinessProbe}, {"livenessProbe", ct.LivenessProbe}, {"startupProbe", ct.StartupProbe}} {
			port, path := probePort(p.probe)
			if port.Type != intstr.String {
				continue
			}
			if msg := namedProbePortProblem(ct.Container, p.field, port.StrVal); msg != "" {
				out = append(out, check.Failf(ct.Path()+"."+p.field+"."+path, "%s: %s", ct.Describe(), msg))
			}
		}
	}
	return out
}

// namedProbePortProblem says why an HTTP or TCP probe on a named port can
// never succeed, or "". The kubelet resolves the name to the number of the
// container's port of that name, whatever its protocol (findPortByName in
// k8s.io/kubernetes/pkg/probe/util.go), and connects over TCP: a name that
// stands for a UDP or SCTP port is answered only when the container also
// declares that number over TCP, as a DNS server does.
func namedProbePortProblem(c *corev1.Container, field, name string) string {
	var named *corev1.ContainerPort
	for i := range c.Ports {
		if c.Ports[i].Name == name {
			named = &c.Ports[i]
			break
		}
	}
	switch {
	case named == nil:
		return fmt.Sprintf("%s uses port %q, which the container does not declare", field, name)
	case protocolOrTCP(named.Protocol) == corev1.ProtocolTCP:
		return ""
	}
	for _, p := range c.Ports {
		if p.ContainerPort == named.ContainerPort && protocolOrTCP(p.Protocol) == corev1.ProtocolTCP {
			return ""
		}
	}
	return fmt.Sprintf("%s connects over TCP to port %q, which the container declares as %d/%s and not over TCP", field, name, named.ContainerPort, named.Protocol)
}

// probePort returns the port a probe connects to, and the field path of
// it within the probe; a zero port and "" for an exec probe or none.
func probePort(p *corev1.Probe) (intstr.IntOrString, string) {
	switch {
	case p == nil:
		return intstr.IntOrString{}, ""
	case p.HTTPGet != nil:
		return p.HTTPGet.Port, "httpGet.port"
	case p.TCPSocket != nil:
		return p.TCPSocket.Port, "tcpSocket.port"
	case p.GRPC != nil:
		return intstr.FromInt32(p.GRPC.Port), "grpc.port"
	}
	return intstr.IntOrString{}, ""
}

func describeHandler(h corev1.ProbeHandler) string {
	switch {
	case h.HTTPGet != nil:
		return fmt.Sprintf("HTTP GET %s on port %s", h.HTTPGet.Path, h.HTTPGet.Port.String())
	case h.TCPSocket != nil:
		return "TCP connect to port " + h.TCPSocket.Port.String()
	case h.GRPC != nil:
		return fmt.Sprintf("gRPC on port %d", h.GRPC.Port)
	case h.Exec != nil:
		return fmt.Sprintf("exec %q", h.Exec.Command)
	}
	return "no handler"
}
