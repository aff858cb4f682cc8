package manifest

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/pod"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

const itemProbes = "Complete Checklist: Health probes (readiness, liveness and startup probes on all Deployments) (from the “Production Readiness” book chapter)"

func probeChecks() []*check.Check {
	return []*check.Check{
		{
			ID:            "container-readiness-probe",
			Title:         "Serving containers have a readiness probe",
			Layer:         check.Workloads,
			Severity:      check.High,
			Kinds:         pod.ServiceKinds,
			Reads:         []string{"Service"},
			Rationale:     "Without a readiness probe a pod receives traffic as soon as its process starts, before it can serve, and keeps receiving it when it can no longer serve; rollouts and dependency failures turn into user-facing errors.",
			Remediation:   "Add a readinessProbe to every container that serves traffic, checking that the application can serve requests.",
			ChecklistItem: itemProbes,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				var out []check.Finding
				for _, ct := range pod.RunningContainers(o) {
					if ct.ReadinessProbe == nil && pod.Serving(o, ct, c.Inventory) {
						out = append(out, check.Failf(ct.Path()+".readinessProbe", "container %q serves traffic but has no readiness probe", ct.Name))
					}
				}
				return out
			},
		},
		{
			ID:            "container-liveness-probe",
			Title:         "Long-running containers have a liveness probe",
			Layer:         check.Workloads,
			Severity:      check.Medium,
			Kinds:         pod.ServiceKinds,
			Rationale:     "A process that deadlocks or hangs keeps running and keeps its pod Ready in name only; a liveness probe lets the kubelet restart it.",
			Remediation:   "Add a livenessProbe to every long-running container that checks only that the process itself is alive, such as a lightweight /healthz endpoint.",
			ChecklistItem: itemProbes,
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
						out = append(out, check.Failf(ct.Path()+".livenessProbe", "container %q has no liveness probe", ct.Name))
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
			ChecklistItem: "Health Probes: keep readiness and liveness probes different (from the “Production Readiness” book chapter)",
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				var out []check.Finding
				for _, ct := range pod.RunningContainers(o) {
					if ct.LivenessProbe != nil && ct.ReadinessProbe != nil && equality.Semantic.DeepEqual(ct.LivenessProbe.ProbeHandler, ct.ReadinessProbe.ProbeHandler) {
						out = append(out, check.Failf(ct.Path()+".livenessProbe", "container %q: liveness probe checks the same thing as its readiness probe (%s)", ct.Name, describeHandler(ct.LivenessProbe.ProbeHandler)))
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
			ChecklistItem: itemProbes,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				var out []check.Finding
				for _, ct := range pod.RunningContainers(o) {
					lp := ct.LivenessProbe
					if lp != nil && ct.StartupProbe == nil && lp.InitialDelaySeconds >= c.Params.SlowStartSeconds {
						out = append(out, check.Failf(ct.Path()+".livenessProbe.initialDelaySeconds", "container %q waits %ds before its first liveness probe but has no startup probe", ct.Name, lp.InitialDelaySeconds))
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
			Rationale:     "A probe that names a port the container does not declare can never succeed: the pod never becomes Ready, or is restarted forever.",
			Remediation:   "Use a port name from the container's ports list, or a port number.",
			ChecklistItem: itemProbes,
			Run:           probePortDeclaredRun,
		},
	}
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
			if port == nil || port.Type != intstr.String || hasPortName(ct.Container, port.StrVal) {
				continue
			}
			out = append(out, check.Failf(ct.Path()+"."+p.field+"."+path, "container %q: %s uses port %q, which the container does not declare", ct.Name, p.field, port.StrVal))
		}
	}
	return out
}

func probePort(p *corev1.Probe) (*intstr.IntOrString, string) {
	switch {
	case p == nil:
		return nil, ""
	case p.HTTPGet != nil:
		return &p.HTTPGet.Port, "httpGet.port"
	case p.TCPSocket != nil:
		return &p.TCPSocket.Port, "tcpSocket.port"
	}
	return nil, ""
}

func hasPortName(c *corev1.Container, name string) bool {
	for _, p := range c.Ports {
		if p.Name == name {
			return true
		}
	}
	return false
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
