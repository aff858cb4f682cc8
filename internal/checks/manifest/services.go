package manifest

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/checks/pod"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

// awsUseAnnotation is the port name with which the AWS Load Balancer
// Controller marks a backend that is an action defined in an annotation,
// not a Service.
const awsUseAnnotation = "use-annotation"

func serviceChecks() []*check.Check {
	return []*check.Check{
		{
			ID:            "service-selector-matches",
			Title:         "Service selectors match a workload",
			Layer:         check.Workloads,
			Severity:      check.Medium,
			Kinds:         []string{"Service"},
			Reads:         pod.WorkloadKinds,
			Rationale:     "A Service whose selector matches no pod has no endpoints: clients get connection refused or time out, and nothing in the Service itself says why. A label renamed in the Deployment but not in the Service is the usual cause.",
			Remediation:   "Make spec.selector match the labels of the pod template of the workload the Service fronts.",
			ChecklistItem: checklist.IngressEncryptsTraffic,
			Applies:       ServiceWithSelector,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				svc := o.Typed.(*corev1.Service)
				if selectsPods(c.Inventory, o) {
					return nil
				}
				return []check.Finding{check.Failf("spec.selector", "selector %s matches no workload pod template among the inputs in namespace %s", labels.Set(svc.Spec.Selector).String(), namespaceName(o.Namespace))}
			},
		},
		{
			ID:            "service-target-port",
			Title:         "Named Service target ports exist on the selected pods",
			Layer:         check.Workloads,
			Severity:      check.High,
			Kinds:         []string{"Service"},
			Reads:         pod.WorkloadKinds,
			Rationale:     "A Service port whose targetPort names a port that no selected container declares gets no endpoints for that port: the Service exists, its pods are Ready, and every connection to the port fails.",
			Remediation:   "Use as targetPort the name of a port the selected containers declare (with the same protocol), or a port number.",
			ChecklistItem: checklist.IngressEncryptsTraffic,
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				if ok, reason := ServiceWithSelector(o, c); !ok {
					return false, reason
				}
				if len(c.Inventory.Selected(o)) == 0 {
					return false, "the Service selects no workload among the inputs"
				}
				return true, ""
			},
			Run: serviceTargetPortRun,
		},
		{
			ID:            "ingress-backend-service",
			Title:         "Ingress backends name existing Services and ports",
			Layer:         check.Workloads,
			Severity:      check.High,
			Kinds:         []string{"Ingress"},
			Reads:         lookupReads("Service"),
			Rationale:     "An Ingress backend that names a missing Service, or a port the Service does not have, answers its path with 503 errors from the ingress controller.",
			Remediation:   "Point every Ingress backend at a Service in the Ingress's namespace and at a port name or number that Service declares.",
			ChecklistItem: checklist.IngressSimpleConfiguration,
			Run:           ingressBackendServiceRun,
		},
		{
			ID:            "naked-pod",
			Title:         "Pods are run by a controller",
			Layer:         check.Workloads,
			Severity:      check.Medium,
			Kinds:         []string{"Pod"},
			Rationale:     "A Pod created directly has no controller: when its node fails, is drained or upgraded, or the pod is evicted, nothing recreates it and the service it provided is gone until someone notices.",
			Remediation:   "Run the pod through a controller: a Deployment for long-running services, a StatefulSet for stable identity, a Job for run-to-completion work.",
			ChecklistItem: checklist.SelfHealing,
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				for _, a := range []string{"helm.sh/hook", "argocd.argoproj.io/hook"} {
					if _, ok := o.Annotations[a]; ok {
						return false, "a deployment hook (" + a + ") that runs once by design"
					}
				}
				if _, ok := o.Annotations[corev1.MirrorPodAnnotationKey]; ok {
					return false, "a static pod, which the kubelet restarts"
				}
				return true, ""
			},
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				for _, ref := range o.OwnerRefs {
					if ref.Controller != nil && *ref.Controller {
						// Some controller (a custom one, or a Node for a
						// mirror pod) manages it.
						return nil
					}
				}
				return []check.Finding{check.Failf("metadata.ownerReferences", "no controller owns Pod %q: nothing recreates it when its node fails, is drained, or the pod is evicted", o.Name)}
			},
		},
	}
}

// serviceTargetPortRun is service-target-port's Run.
func serviceTargetPortRun(o *inventory.Object, c *check.Context) []check.Finding {
	svc := o.Typed.(*corev1.Service)
	selected := c.Inventory.Selected(o)
	var out []check.Finding
	for i, p := range svc.Spec.Ports {
		if p.TargetPort.Type != intstr.String || p.TargetPort.StrVal == "" {
			// Numeric ports, and an unset targetPort (the port
			// number itself), need no declaration.
			continue
		}
		proto := protocolOrTCP(p.Protocol)
		if workloadsDeclarePort(selected, p.TargetPort.StrVal, proto) {
			continue
		}
		out = append(out, check.Failf(fmt.Sprintf("spec.ports[%d].targetPort", i), "port %s targets the named port %q (%s), which no container of %s declares", servicePortLabel(p), p.TargetPort.StrVal, proto, objectIDs(selected)))
	}
	return out
}

// ingressBackendServiceRun is ingress-backend-service's Run.
func ingressBackendServiceRun(o *inventory.Object, c *check.Context) []check.Finding {
	ing, ok := o.Typed.(*networkingv1.Ingress)
	if !ok {
		return nil
	}
	var out []check.Finding
	for _, b := range ingressBackends(o, ing) {
		if f, bad := checkIngressBackend(c.Inventory, o.Namespace, b); bad && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// ServiceWithSelector is the Applies of the Service checks: a Service
// without selector has its endpoints managed by someone else (manual
// Endpoints or EndpointSlices), and an ExternalName Service has none.
func ServiceWithSelector(o *inventory.Object, c *check.Context) (bool, string) {
	svc, ok := o.Typed.(*corev1.Service)
	if !ok {
		return false, "not a decoded Service"
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return false, "an ExternalName Service has no pods"
	}
	if len(svc.Spec.Selector) == 0 {
		return false, "the Service has no selector: its endpoints are managed outside it"
	}
	return true, ""
}

// selectsPods reports whether a Service, PodDisruptionBudget or
// NetworkPolicy selects the pods of a workload or of a custom resource
// among the inputs (an Argo Rollout, a Prometheus), as the inventory
// matches them: with the labels controllers add to pods.
func selectsPods(inv *inventory.Inventory, o *inventory.Object) bool {
	return len(inv.Selected(o)) > 0 || len(inv.SelectedCustom(o)) > 0
}

func protocolOrTCP(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

// workloadsDeclarePort reports whether a container of any of the workloads
// declares a port of that name and protocol. The endpoints controller looks
// in app containers and sidecars (restartable init containers), as
// RunningContainers returns them.
func workloadsDeclarePort(workloads []*inventory.Object, name string, proto corev1.Protocol) bool {
	for _, w := range workloads {
		for _, ct := range pod.RunningContainers(w) {
			for _, p := range ct.Ports {
				if p.Name == name && protocolOrTCP(p.Protocol) == proto {
					return true
				}
			}
		}
	}
	return false
}

func servicePortLabel(p corev1.ServicePort) string {
	if p.Name != "" {
		return fmt.Sprintf("%q (%d)", p.Name, p.Port)
	}
	return fmt.Sprintf("%d", p.Port)
}

func objectIDs(objs []*inventory.Object) string {
	ids := make([]string, len(objs))
	for i, o := range objs {
		ids[i] = o.ID()
	}
	return strings.Join(ids, ", ")
}

func namespaceName(ns string) string {
	if ns == "" {
		return "(none)"
	}
	return ns
}

// ingressBackend is one Service backend of an Ingress, with the field paths
// of the manifest's apiVersion.
type ingressBackend struct {
	svc      *networkingv1.IngressServiceBackend
	path     string // of the backend's service name
	portPath string
}

// ingressBackends returns the Service backends of an Ingress: the default
// backend, then every rule's paths. Resource backends are left out: they
// name custom objects no check here can judge.
func ingressBackends(o *inventory.Object, ing *networkingv1.Ingress) []ingressBackend {
	// A v1beta1 Ingress was converted to the v1 shape; its findings still
	// name the fields as its manifest spells them.
	old := strings.HasSuffix(o.APIVersion, "/v1beta1")
	at := func(base string) ingressBackend {
		if old {
			return ingressBackend{path: base + ".serviceName", portPath: base + ".servicePort"}
		}
		return ingressBackend{path: base + ".service.name", portPath: base + ".service.port"}
	}
	var out []ingressBackend
	add := func(b *networkingv1.IngressBackend, base string) {
		if b == nil || b.Service == nil {
			return
		}
		ib := at(base)
		ib.svc = b.Service
		out = append(out, ib)
	}
	if old {
		add(ing.Spec.DefaultBackend, "spec.backend")
	} else {
		add(ing.Spec.DefaultBackend, "spec.defaultBackend")
	}
	for i, r := range ing.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for j := range r.HTTP.Paths {
			add(&r.HTTP.Paths[j].Backend, fmt.Sprintf("spec.rules[%d].http.paths[%d].backend", i, j))
		}
	}
	return out
}

// checkIngressBackend returns a finding when the backend's Service does
// not exist (lookup) or lacks the port the backend names, or says why that
// cannot be told.
func checkIngressBackend(inv *inventory.Inventory, namespace string, b ingressBackend) (check.Finding, bool) {
	if b.svc.Port.Name == awsUseAnnotation {
		return check.Finding{}, false
	}
	f := lookup(inv, "Service", namespace, b.svc.Name)
	switch {
	case f.unknown != "":
		return check.NotAssessedf("%s", f.unknown), true
	case f.missing != "":
		return check.Failf(b.path, "backend: %s: the ingress controller answers its paths with errors (503)", f.missing), true
	case f.object == nil:
		return check.Finding{}, false // made by an operator, as it sees fit
	}
	svc, ok := f.object.Typed.(*corev1.Service)
	if !ok || svc.Spec.Type == corev1.ServiceTypeExternalName {
		// An ExternalName Service need not declare ports: controllers
		// that support it use the backend's port as given.
		return check.Finding{}, false
	}
	port := b.svc.Port
	for _, p := range svc.Spec.Ports {
		if (port.Name != "" && p.Name == port.Name) || (port.Name == "" && port.Number != 0 && p.Port == port.Number) {
			return check.Finding{}, false
		}
	}
	switch {
	case port.Name != "":
		return check.Failf(b.portPath, "backend service %q has no port named %q (it has %s)", b.svc.Name, port.Name, describeServicePorts(svc)), true
	case port.Number != 0:
		return check.Failf(b.portPath, "backend service %q has no port %d (it has %s)", b.svc.Name, port.Number, describeServicePorts(svc)), true
	}
	return check.Finding{}, false
}

func describeServicePorts(svc *corev1.Service) string {
	if len(svc.Spec.Ports) == 0 {
		return "no ports"
	}
	var ps []string
	for _, p := range svc.Spec.Ports {
		if p.Name != "" {
			ps = append(ps, fmt.Sprintf("%d/%s", p.Port, p.Name))
		} else {
			ps = append(ps, fmt.Sprintf("%d", p.Port))
		}
	}
	return strings.Join(ps, ", ")
}
