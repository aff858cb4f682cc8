package manifest

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

func exposureChecks() []*check.Check {
	return []*check.Check{
		{
			ID:            "ingress-tls",
			Title:         "Ingresses terminate TLS",
			Layer:         check.Security,
			Severity:      check.Medium,
			Kinds:         []string{"Ingress"},
			Rationale:     "An Ingress without TLS serves its hosts over plain HTTP: credentials and session cookies cross the network in clear text.",
			Remediation:   "Add a spec.tls entry covering the Ingress's hosts, with a certificate secret managed by cert-manager or an equivalent.",
			ChecklistItem: checklist.IngressEncryptsTraffic,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				ing := o.Typed.(*networkingv1.Ingress)
				if len(ing.Spec.TLS) > 0 {
					return nil
				}
				return []check.Finding{check.Failf("spec.tls", "Ingress %s has no spec.tls: its hosts are served over plain HTTP", o.Name)}
			},
		},
		{
			ID:            "service-type-exposed",
			Title:         "Services exposed outside the cluster are deliberate",
			Layer:         check.Security,
			Severity:      check.Info,
			Kinds:         []string{"Service"},
			Rationale:     "A NodePort or LoadBalancer Service opens a port on every node or an external load balancer, bypassing the ingress controller's TLS, authentication and logging; each one should be a deliberate choice.",
			Remediation:   "Use a ClusterIP Service behind the ingress controller, or keep the NodePort or LoadBalancer type only where it is deliberate and exempt it with a reason.",
			ChecklistItem: checklist.IngressExposesServices,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				svc := o.Typed.(*corev1.Service)
				switch svc.Spec.Type {
				case corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
					return []check.Finding{check.Failf("spec.type", "Service %s is of type %s: it is reachable from outside the cluster", o.Name, svc.Spec.Type)}
				}
				return nil
			},
		},
	}
}
