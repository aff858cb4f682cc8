package manifest

import (
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/checks/pod"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

// The references family: objects the API server stores and that run, but
// that point at something that is not there, so what they are for does
// not happen. A binding grants nothing, a StatefulSet's pods get no DNS
// names, a claim never binds, a ServiceMonitor scrapes nothing.

func referenceChecks() []*check.Check {
	return []*check.Check{
		{
			ID:            "role-binding-role-exists",
			Title:         "Bindings refer to a Role or ClusterRole that exists",
			Layer:         check.Security,
			Severity:      check.High,
			Kinds:         []string{"ClusterRoleBinding", "RoleBinding"},
			Reads:         []string{"ClusterRole", "Role"},
			Rationale:     "The API server stores a binding whose roleRef names no role, and it grants nothing: the ServiceAccounts it was written for are refused every call the role would have allowed, and the controller or job that runs as them fails at run time. If a role of that name is created later, whoever creates it decides what the subjects may do.",
			Remediation:   "Create the Role or ClusterRole the binding names, or point roleRef at the one that exists (a binding's roleRef cannot be changed: delete and recreate the binding).",
			ChecklistItem: checklist.RBACLeastPrivilege,
			Run:           roleBindingRoleExistsRun,
		},
		{
			ID:            "statefulset-service-headless",
			Title:         "StatefulSets name a headless Service that selects their pods",
			Layer:         check.Workloads,
			Severity:      check.Medium,
			Kinds:         []string{"StatefulSet"},
			Reads:         append(lookupReads("Service"), pod.WorkloadKinds...),
			Rationale:     "A StatefulSet's pods get their stable DNS names (<pod>.<serviceName>) only from a headless Service (clusterIP: None) that selects them. Without one the pods run, but nothing can reach a given member by name: the members of a database or a queue that find each other that way fail to cluster, in ways that look like network trouble.",
			Remediation:   "Create a Service with clusterIP: None named as spec.serviceName, in the StatefulSet's namespace, whose selector matches the pod template's labels.",
			ChecklistItem: checklist.ClusterDNS,
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				if s, ok := o.Typed.(*appsv1.StatefulSet); !ok || s.Spec.ServiceName == "" {
					return false, "it names no governing Service (spec.serviceName)"
				}
				return true, ""
			},
			Run: statefulSetServiceHeadlessRun,
		},
		{
			ID:            "storage-class-exists",
			Title:         "Claims name a StorageClass that exists",
			Layer:         check.Workloads,
			Severity:      check.High,
			Kinds:         []string{"PersistentVolumeClaim", "StatefulSet"},
			Reads:         append(lookupReads("StorageClass"), "PersistentVolume."),
			Rationale:     "A claim whose storageClassName names no StorageClass, and no PersistentVolume of that class, is never bound: it stays Pending, and so does every pod that mounts it.",
			Remediation:   "Use the name of a StorageClass the cluster has (kubectl get storageclass), create the StorageClass, or leave storageClassName unset to use the default class.",
			ChecklistItem: checklist.SharedStorage,
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				if len(claimClasses(o)) == 0 {
					return false, "it names no StorageClass (the default class, or none, is used)"
				}
				return true, ""
			},
			Run: storageClassExistsRun,
		},
		{
			ID:            "servicemonitor-selects-services",
			Title:         "ServiceMonitors select a Service and one of its ports",
			Layer:         check.Workloads,
			Severity:      check.Medium,
			Kinds:         []string{"ServiceMonitor.monitoring.coreos.com"},
			Reads:         []string{"Service"},
			AllNamespaces: true,
			Rationale:     "A ServiceMonitor whose selector matches no Service, or whose endpoint port is a name none of the selected Services has, makes Prometheus scrape nothing for it: the application has no metrics and its alerts never fire, and nothing reports an error.",
			Remediation:   "Make spec.selector match the labels of the application's Service (in a namespace spec.namespaceSelector names), and spec.endpoints[].port the name of one of its ports.",
			ChecklistItem: checklist.Monitoring,
			Run:           serviceMonitorSelectsServicesRun,
		},
	}
}

// roleBindingRoleExistsRun is role-binding-role-exists's Run. Among
// manifests the built-in ClusterRoles and Roles are taken to exist
// (lookupKinds).
func roleBindingRoleExistsRun(o *inventory.Object, c *check.Context) []check.Finding {
	ref, ok := roleRef(o)
	if !ok {
		return nil
	}
	var f found
	switch {
	case ref.Kind == "ClusterRole":
		f = lookup(c.Inventory, "ClusterRole", "", ref.Name)
	case ref.Kind == "Role" && o.KindKey() == "RoleBinding":
		f = lookup(c.Inventory, "Role", o.Namespace, ref.Name)
	default:
		return nil // a ClusterRoleBinding of a Role: the API server refuses it
	}
	switch {
	case f.unknown != "":
		return []check.Finding{check.NotAssessedf("%s", f.unknown)}
	case f.missing != "":
		var who []string
		for _, s := range bindingSubjects(o) {
			who = append(who, describeSubject(s, o.Namespace))
		}
		subjects := "its subjects"
		if len(who) > 0 {
			subjects = commaList(who)
		}
		return []check.Finding{check.Failf("roleRef.name", "roleRef: %s: the binding grants %s nothing", f.missing, subjects)}
	}
	return nil
}

// statefulSetServiceHeadlessRun is statefulset-service-headless's Run.
func statefulSetServiceHeadlessRun(o *inventory.Object, c *check.Context) []check.Finding {
	name := o.Typed.(*appsv1.StatefulSet).Spec.ServiceName
	const consequence = "its pods get no stable DNS names (<pod>.%s)"
	f := lookup(c.Inventory, "Service", o.Namespace, name)
	switch {
	case f.unknown != "":
		return []check.Finding{check.NotAssessedf("%s", f.unknown)}
	case f.missing != "":
		return []check.Finding{check.Failf("spec.serviceName", "serviceName: %s: "+consequence, f.missing, name)}
	case f.object == nil:
		return nil // made by an operator, as it sees fit
	}
	svc, ok := f.object.Typed.(*corev1.Service)
	if !ok {
		return nil
	}
	if svc.Spec.ClusterIP != corev1.ClusterIPNone {
		how := "it sets no clusterIP: None, so it gets a cluster IP"
		if svc.Spec.ClusterIP != "" {
			how = "its clusterIP is " + svc.Spec.ClusterIP
		}
		return []check.Finding{check.Failf("spec.serviceName", "serviceName names Service %q, which is not headless (%s): "+consequence, name, how, name)}
	}
	if len(svc.Spec.Selector) > 0 && !slices.Contains(c.Inventory.Selected(f.object), o) {
		return []check.Finding{check.Failf("spec.serviceName", "serviceName names the headless Service %q, but its selector %s does not select the StatefulSet's pods: "+consequence,
			name, labels.Set(svc.Spec.Selector).String(), name)}
	}
	return nil
}

// claimClass is a storage class a claim, or a StatefulSet's claim
// template, names, with the field path of the name.
type claimClass struct{ name, path string }

// claimClasses returns the StorageClasses a claim or a StatefulSet's claim
// templates name, leaving out claims bound already or bound to a named
// PersistentVolume, and those with no class or the empty class.
func claimClasses(o *inventory.Object) []claimClass {
	var out []claimClass
	add := func(pvc *corev1.PersistentVolumeClaim, path string) {
		if pvc.Spec.VolumeName != "" || pvc.Status.Phase == corev1.ClaimBound {
			return
		}
		name, at := "", path+".storageClassName"
		if pvc.Spec.StorageClassName != nil {
			name = *pvc.Spec.StorageClassName
		} else if a, ok := pvc.Annotations[corev1.BetaStorageClassAnnotation]; ok {
			name, at = a, "metadata.annotations"
		}
		if name != "" {
			out = append(out, claimClass{name, at})
		}
	}
	switch t := o.Typed.(type) {
	case *corev1.PersistentVolumeClaim:
		add(t, "spec")
	case *appsv1.StatefulSet:
		for i := range t.Spec.VolumeClaimTemplates {
			add(&t.Spec.VolumeClaimTemplates[i], fmt.Sprintf("spec.volumeClaimTemplates[%d].spec", i))
		}
	}
	return out
}

// storageClassExistsRun is storage-class-exists's Run. A class with no
// StorageClass object is still bound to when a PersistentVolume of that
// class exists: static provisioning names classes that way.
func storageClassExistsRun(o *inventory.Object, c *check.Context) []check.Finding {
	var out []check.Finding
	for _, cc := range claimClasses(o) {
		f := lookup(c.Inventory, "StorageClass", "", cc.name)
		if f.missing != "" && volumeOfClass(c.Inventory, cc.name) {
			continue
		}
		switch {
		case f.unknown != "":
			out = append(out, check.NotAssessedf("%s", f.unknown))
		case f.missing != "":
			none := "no PersistentVolume has that class"
			if c.Inventory.Mode == inventory.FromManifests {
				none = "nor is it the class of a PersistentVolume among them"
			}
			out = append(out, check.Failf(cc.path, "storageClassName: %s, %s: the claim stays Pending, and so does every pod that mounts it", f.missing, none))
		}
	}
	return out
}

// volumeOfClass reports whether a PersistentVolume of the class exists.
// The classes of the PersistentVolumes are gathered once per inventory,
// not scanned again for every claim.
func volumeOfClass(inv *inventory.Inventory, class string) bool {
	classes := inventory.Memo(inv, "checks/manifest.volumeClasses", func(inv *inventory.Inventory) map[string]bool {
		classes := map[string]bool{}
		for _, pv := range inv.OfKind("PersistentVolume.") {
			classes[pv.FieldString("spec", "storageClassName")] = true
		}
		return classes
	})
	return classes[class]
}

// serviceMonitorSpec is what servicemonitor-selects-services reads of a
// ServiceMonitor.
type serviceMonitorSpec struct {
	Selector          metav1.LabelSelector `json:"selector"`
	NamespaceSelector struct {
		Any        bool     `json:"any"`
		MatchNames []string `json:"matchNames"`
	} `json:"namespaceSelector"`
	Endpoints []struct {
		Port string `json:"port"`
	} `json:"endpoints"`
}

// serviceMonitorSelectsServicesRun is servicemonitor-selects-services's
// Run. It selects as the Prometheus Operator does: Services of the
// ServiceMonitor's namespace, or of those namespaceSelector names (any:
// every namespace), whose labels match spec.selector. Among manifests a
// namespace with no Service among the inputs cannot be judged.
func serviceMonitorSelectsServicesRun(o *inventory.Object, c *check.Context) []check.Finding {
	specMap, _ := o.Content["spec"].(map[string]any)
	var spec serviceMonitorSpec
	if runtime.DefaultUnstructuredConverter.FromUnstructured(specMap, &spec) != nil {
		return nil
	}
	sel, err := metav1.LabelSelectorAsSelector(&spec.Selector)
	if err != nil {
		return nil // the operator refuses it; nothing is scraped either way
	}
	manifests := c.Inventory.Mode == inventory.FromManifests
	var candidates []*inventory.Object
	var unknown []string
	namespaces := spec.NamespaceSelector.MatchNames
	switch {
	case spec.NamespaceSelector.Any:
		candidates = c.Inventory.OfKind("Service")
		if manifests {
			unknown = append(unknown, "namespaces that are not among the inputs")
		}
	case len(namespaces) == 0:
		namespaces = []string{o.Namespace}
	}
	for _, ns := range namespaces {
		svcs := c.Inventory.InNamespace("Service", ns)
		if made := madeObjects(c.Inventory, "Service", ns); len(made) > 0 {
			svcs = append(slices.Clip(svcs), made...)
		}
		if manifests && len(svcs) == 0 {
			unknown = append(unknown, "namespace "+namespaceName(ns))
		}
		candidates = append(candidates, svcs...)
	}
	var selected []*corev1.Service
	for _, s := range candidates {
		if svc, ok := s.Typed.(*corev1.Service); ok && sel.Matches(labels.Set(s.Labels)) {
			selected = append(selected, svc)
		}
	}
	if len(selected) == 0 {
		if who := mayBeMade(c.Inventory, "Service", sel); who != "" {
			return []check.Finding{check.NotAssessedf("no Service among the inputs matches its selector %s, but it may select one that %s, which the inputs do not show", selectorText(sel), who)}
		}
		if len(unknown) > 0 {
			return []check.Finding{check.NotAssessedf("no Service among the inputs matches its selector, and the inputs show no Service of %s", commaList(unknown))}
		}
		where := "in namespace " + namespaceName(o.Namespace)
		if len(spec.NamespaceSelector.MatchNames) > 0 {
			where = "in namespaces " + commaList(spec.NamespaceSelector.MatchNames)
		}
		if manifests {
			where = "among the inputs " + where
		}
		return []check.Finding{check.Failf("spec.selector", "selector %s matches no Service %s: Prometheus scrapes nothing for it", selectorText(sel), where)}
	}
	var out []check.Finding
	for i, e := range spec.Endpoints {
		if e.Port == "" || slices.ContainsFunc(selected, func(s *corev1.Service) bool {
			return slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == e.Port })
		}) {
			continue
		}
		var names []string
		for _, s := range selected {
			names = append(names, fmt.Sprintf("Service %s has %s", s.Name, describeServicePorts(s)))
		}
		out = append(out, check.Failf(fmt.Sprintf("spec.endpoints[%d].port", i), "port %q is the name of no port of the Services it selects (%s): Prometheus scrapes nothing at this endpoint", e.Port, strings.Join(names, "; ")))
	}
	return out
}

func selectorText(sel labels.Selector) string {
	if sel.Empty() {
		return "{} (every Service)"
	}
	return sel.String()
}
