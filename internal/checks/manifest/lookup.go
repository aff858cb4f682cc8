package manifest

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/plimsoll/plimsoll/internal/checks/pod"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// The checks of references (does the ServiceAccount, ConfigMap, Role a
// workload or binding names exist?) share one rule for what "does not
// exist" means. On a cluster or a snapshot it is a fact: the kind was
// listed (a check declares it in Reads, and is not assessed where it
// could not be), and the object is not there. Among manifests it means
// "not among the inputs", and that is judged only where the inputs hold
// the kind at all: other objects of that kind in the same namespace (for a
// cluster-scoped kind, anywhere). With none, the inputs do not show that
// kind (a chart that expects its ServiceAccount to be made elsewhere), and
// the reference cannot be judged. Nor can it where a ServiceAccount among
// the inputs may create objects of the kind there: Argo CD's redis makes
// its own password Secret at start, operators make ConfigMaps and Secrets
// for what they run. And some objects exist without being declared at all
// (lookupKind.made): the platform makes them in every cluster, or an
// operator makes them for a custom resource among the inputs.

// lookupKind is a kind that references name, and what lookup knows of it.
type lookupKind struct {
	// kind names it in messages.
	kind string
	// group and resource are its API group and resource, for the roles
	// that may create it.
	group, resource string
	clusterScoped   bool
	// shownBy, when set, are the kind keys whose objects among the
	// inputs show that the inputs hold a namespace's objects of this kind
	// (the workloads an HPA may scale); otherwise the kind itself.
	shownBy []string
	// made are the objects of the kind that exist without being declared.
	made []made
}

// made describes objects of a kind that exist without being declared. On a
// cluster they are listed like any other object, and one that is not
// there is missing; among manifests lookup takes them to exist.
type made struct {
	// by says who makes them; for objects with labels, who makes them
	// and where ("the Prometheus Operator makes for ...").
	by string
	// namespace is the namespace they are made in: "" for every namespace
	// (and for a cluster-scoped kind).
	namespace string
	// names are their names; one that ends in "*" stands for every name
	// of that prefix.
	names []string
	// object is the object, where selectors need its labels and ports (a
	// ServiceMonitor selects Services by label).
	object *inventory.Object
	// maker, when set, finds the custom resource among the inputs whose
	// operator makes the object of that namespace and name, and says who
	// makes it; nil when none does.
	maker func(inv *inventory.Inventory, ns, name string) *inventory.Object
	// labels, for objects that an operator makes where its configuration
	// says (which the inputs need not show), are labels they carry: a
	// selector that requires some of them, and nothing else of their keys,
	// may select such an object, and cannot be judged among manifests.
	labels map[string]string
}

// kubernetesService is the Service every API server makes for itself,
// default/kubernetes, as ServiceMonitors of the API server select it.
var kubernetesService = func() *inventory.Object {
	meta := metav1.ObjectMeta{Name: "kubernetes", Namespace: "default", Labels: map[string]string{"component": "apiserver", "provider": "kubernetes"}}
	return &inventory.Object{
		APIVersion: "v1", Kind: "Service", Namespace: meta.Namespace, Name: meta.Name, Labels: meta.Labels,
		Typed: &corev1.Service{ObjectMeta: meta, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "https", Port: 443}}}},
	}
}()

// lookupKinds are the kinds lookup finds, by kind key. Kinds not listed
// (a custom scale target) are namespaced, and none of theirs is made.
var lookupKinds = map[string]lookupKind{
	"ServiceAccount": {kind: "ServiceAccount", resource: "serviceaccounts",
		made: []made{{by: "the ServiceAccount controller, in every namespace", names: []string{"default"}}}},
	"ConfigMap": {kind: "ConfigMap", resource: "configmaps",
		made: []made{
			{by: "the controller-manager's root CA publisher, in every namespace", names: []string{"kube-root-ca.crt"}},
			{by: "istiod, in every namespace of the mesh", names: []string{"istio-ca-root-cert"}},
		}},
	"Secret": {kind: "Secret", resource: "secrets",
		made: []made{{maker: func(inv *inventory.Inventory, ns, name string) *inventory.Object {
			return platform.SecretMakerOf(inv, ns, name, false)
		}}}},
	"PersistentVolumeClaim": {kind: "PersistentVolumeClaim", resource: "persistentvolumeclaims"},
	"Service": {kind: "Service", resource: "services",
		made: []made{
			{by: "the API server", namespace: "default", names: []string{"kubernetes"}, object: kubernetesService},
			{by: "the Prometheus Operator makes for what it runs (prometheus-operated, alertmanager-operated)",
				labels: map[string]string{"app.kubernetes.io/managed-by": "prometheus-operator"}},
			{by: "the Prometheus Operator makes for the kubelets where its --kubelet-service flag says (kube-system/kubelet)",
				labels: map[string]string{"k8s-app": "kubelet", "app.kubernetes.io/name": "kubelet", "app.kubernetes.io/managed-by": "prometheus-operator"}},
		}},
	"PriorityClass.scheduling.k8s.io": {kind: "PriorityClass", group: "scheduling.k8s.io", resource: "priorityclasses", clusterScoped: true,
		made: []made{{by: "the API server", names: []string{"system-cluster-critical", "system-node-critical"}}}},
	"RuntimeClass.node.k8s.io": {kind: "RuntimeClass", group: "node.k8s.io", resource: "runtimeclasses", clusterScoped: true},
	"StorageClass":             {kind: "StorageClass", group: "storage.k8s.io", resource: "storageclasses", clusterScoped: true},
	// The bootstrap policy's roles (k8s.io/kubernetes/plugin/pkg/auth/
	// authorizer/rbac/bootstrappolicy): the user-facing ClusterRoles and
	// the system: ones; namespaced, the system: Roles of kube-system and
	// kube-public and the authentication reader extension API servers
	// bind.
	"ClusterRole": {kind: "ClusterRole", group: "rbac.authorization.k8s.io", resource: "clusterroles", clusterScoped: true,
		made: []made{{by: "the API server", names: []string{"cluster-admin", "admin", "edit", "view", "system:*"}}}},
	"Role": {kind: "Role", group: "rbac.authorization.k8s.io", resource: "roles",
		made: []made{
			{by: "the API server", namespace: "kube-system", names: []string{"extension-apiserver-authentication-reader", "system:*"}},
			{by: "the API server", namespace: "kube-public", names: []string{"system:*"}},
		}},
	"Deployment":            {kind: "Deployment", group: "apps", resource: "deployments", shownBy: pod.ScaleTargetKinds},
	"StatefulSet":           {kind: "StatefulSet", group: "apps", resource: "statefulsets", shownBy: pod.ScaleTargetKinds},
	"ReplicaSet":            {kind: "ReplicaSet", group: "apps", resource: "replicasets", shownBy: pod.ScaleTargetKinds},
	"ReplicationController": {kind: "ReplicationController", resource: "replicationcontrollers", shownBy: pod.ScaleTargetKinds},
}

// kindOf is what lookup knows of a kind key.
func kindOf(key string) lookupKind {
	if k, ok := lookupKinds[key]; ok {
		return k
	}
	kind, _, _ := strings.Cut(key, ".")
	return lookupKind{kind: kind}
}

// matches reports whether the object of that namespace and name is one of
// these.
func (m made) matches(ns, name string) bool {
	if m.namespace != "" && m.namespace != ns {
		return false
	}
	for _, n := range m.names {
		if prefix, ok := strings.CutSuffix(n, "*"); ok && strings.HasPrefix(name, prefix) || n == name {
			return true
		}
	}
	return false
}

// madeBy says who makes the object of kind key, namespace and name
// without its being declared, or "".
func madeBy(inv *inventory.Inventory, key, ns, name string) string {
	for _, m := range kindOf(key).made {
		if m.maker != nil {
			if o := m.maker(inv, ns, name); o != nil {
				return o.ID()
			}
		} else if m.matches(ns, name) {
			return m.by
		}
	}
	return ""
}

// builtin reports whether an object is one the platform makes in every
// cluster (a bootstrap role, the default ServiceAccount): not the user's
// own, whether or not the inputs hold a copy of it.
func builtin(o *inventory.Object) bool {
	for _, m := range kindOf(o.KindKey()).made {
		if m.maker == nil && m.matches(o.Namespace, o.Name) {
			return true
		}
	}
	return false
}

// madeObjects returns, among manifests, the objects of kind key in a
// namespace that exist without being declared and whose labels are known,
// for a selector to match against.
func madeObjects(inv *inventory.Inventory, key, ns string) []*inventory.Object {
	if inv.Mode != inventory.FromManifests {
		return nil
	}
	var out []*inventory.Object
	for _, m := range kindOf(key).made {
		if m.object != nil && m.object.Namespace == ns {
			out = append(out, m.object)
		}
	}
	return out
}

// mayBeMade says, among manifests, who may make objects of kind key that a
// selector selects where configuration the inputs need not show says (the
// Prometheus Operator's kubelet Service), or "". The selector must
// require some of their labels and nothing else of their keys.
func mayBeMade(inv *inventory.Inventory, key string, sel labels.Selector) string {
	if inv.Mode != inventory.FromManifests {
		return ""
	}
	reqs, _ := sel.Requirements()
	for _, m := range kindOf(key).made {
		if m.labels == nil {
			continue
		}
		named, contrary := false, false
		for _, r := range reqs {
			if _, ok := m.labels[r.Key()]; !ok {
				continue
			}
			if r.Matches(labels.Set(m.labels)) {
				named = true
			} else {
				contrary = true
			}
		}
		if named && !contrary {
			return m.by
		}
	}
	return ""
}

// found is what a lookup of a reference found.
type found struct {
	// object is the object the reference names, or nil: it is missing,
	// cannot be told, or is made without being declared (made).
	object *inventory.Object
	// made, when set, says who makes the object the inputs do not declare.
	made string
	// missing, when set, says that the object does not exist, in words
	// that fit the inputs: "ServiceAccount \"api\" is not among the inputs
	// in namespace \"shop\"", or "... does not exist in namespace shop".
	missing string
	// unknown, when set, says why the reference cannot be judged.
	unknown string
}

// lookup finds the object of kind key in namespace ns (ignored for a
// cluster-scoped kind) and of that name.
func lookup(inv *inventory.Inventory, key, ns, name string) found {
	k := kindOf(key)
	if k.clusterScoped {
		ns = ""
	}
	if o := inv.Get(key, ns, name); o != nil {
		return found{object: o}
	}
	ref := fmt.Sprintf("%s %q", k.kind, name)
	if inv.Mode == inventory.FromCluster {
		if k.clusterScoped {
			return found{missing: ref + " does not exist"}
		}
		return found{missing: fmt.Sprintf("%s does not exist in namespace %s", ref, ns)}
	}
	for _, m := range k.made {
		if m.object != nil && m.matches(ns, name) {
			return found{object: m.object}
		}
	}
	if by := madeBy(inv, key, ns, name); by != "" {
		return found{made: by}
	}
	if who := creator(inv, key, ns, k.clusterScoped); who != "" {
		return found{unknown: fmt.Sprintf("%s may create %ss %s, so whether %s exists cannot be told", who, k.kind, where(ns, k.clusterScoped), ref)}
	}
	if k.clusterScoped {
		if len(inv.OfKind(key)) == 0 {
			return found{unknown: fmt.Sprintf("no %s is among the inputs, so whether %s exists cannot be told", k.kind, ref)}
		}
		return found{missing: ref + " is not among the inputs"}
	}
	if !k.shown(inv, ns, key) {
		return found{unknown: fmt.Sprintf("no %s is among the inputs %s, so whether %s exists cannot be told", k.shownWhat(), inNamespace(ns), ref)}
	}
	return found{missing: fmt.Sprintf("%s is not among the inputs %s", ref, inNamespace(ns))}
}

// shown reports whether the inputs hold a namespace's objects of the kind.
func (k lookupKind) shown(inv *inventory.Inventory, ns, key string) bool {
	if len(k.shownBy) == 0 {
		return len(inv.InNamespace(key, ns)) > 0
	}
	for _, by := range k.shownBy {
		if len(inv.InNamespace(by, ns)) > 0 {
			return true
		}
	}
	return false
}

// shownWhat names what shown looks for, in messages.
func (k lookupKind) shownWhat() string {
	if len(k.shownBy) == 0 {
		return k.kind
	}
	return strings.Join(k.shownBy, ", ")
}

func where(ns string, clusterScoped bool) string {
	if clusterScoped {
		return "in the cluster"
	}
	return inNamespace(ns)
}

// lookupReads are the kinds lookup consults to find objects of kind key:
// the kind itself (or those that show it), those whose operators make it,
// and the roles and bindings that say who may create it.
func lookupReads(key string) []string {
	k := kindOf(key)
	reads := []string{key}
	if len(k.shownBy) > 0 {
		reads = append([]string{}, k.shownBy...)
	}
	if key == "Secret" {
		reads = append(reads, platform.SecretMakerKinds...)
	}
	if k.clusterScoped {
		return append(reads, "ClusterRole", "ClusterRoleBinding")
	}
	return append(reads, "ClusterRole", "Role", "RoleBinding")
}

// creator names a ServiceAccount that a binding among the inputs lets
// create objects of kind key in namespace ns, or returns "": a RoleBinding
// of the namespace, or for a cluster-scoped kind a ClusterRoleBinding.
// Only ServiceAccounts count: they are what workloads run as, where a
// person's grant says nothing about what the inputs make. A
// ClusterRoleBinding that lets an operator create Secrets or ConfigMaps in
// every namespace does not count: operators make them for their custom
// resources (a Certificate's Secret), which are judged as such, and
// counting it would leave no reference in any namespace judged.
//
// The answer is the same for every reference of a kind in a namespace, and
// finding it reads every binding there, so it is found once per inventory.
func creator(inv *inventory.Inventory, key, ns string, clusterScoped bool) string {
	return inventory.Memo(inv, fmt.Sprintf("checks/manifest.creator %s %s %t", key, ns, clusterScoped), func(inv *inventory.Inventory) string {
		return findCreator(inv, key, ns, clusterScoped)
	})
}

func findCreator(inv *inventory.Inventory, key, ns string, clusterScoped bool) string {
	k := kindOf(key)
	if k.resource == "" {
		return ""
	}
	var bindings []*inventory.Object
	if clusterScoped {
		bindings = inv.OfKind("ClusterRoleBinding")
	} else {
		bindings = inv.InNamespace("RoleBinding", ns)
	}
	for _, b := range bindings {
		var sa *rbacv1.Subject
		for _, s := range bindingSubjects(b) {
			if s.Kind == rbacv1.ServiceAccountKind {
				sa = &s
				break
			}
		}
		if sa == nil || !mayCreate(inv, b, k.group, k.resource) {
			continue
		}
		return fmt.Sprintf("ServiceAccount %s/%s (%s %s)", subjectNamespace(*sa, b.Namespace), sa.Name, b.Kind, b.Name)
	}
	return ""
}

// mayCreate reports whether a binding's role grants create on a resource:
// a role among the inputs with such a rule, or one of the built-in roles
// that grant it (cluster-admin anything; admin and edit the core and apps
// kinds lookup finds, and admin Roles).
func mayCreate(inv *inventory.Inventory, binding *inventory.Object, group, resource string) bool {
	ref, _ := roleRef(binding)
	role := inv.RoleOf(binding)
	if role == nil {
		switch {
		case ref.Kind != "ClusterRole":
			return false
		case ref.Name == "cluster-admin":
			return true
		case ref.Name == "admin" && resource == "roles":
			return true
		case ref.Name == "admin" || ref.Name == "edit":
			return (group == "" || group == "apps") && resource != "roles"
		}
		return false
	}
	for _, r := range roleRules(role) {
		if (ruleHas(r.Verbs, "create") || ruleHas(r.Verbs, rbacv1.VerbAll)) && coversResource(r, group, resource) {
			return true
		}
	}
	return false
}
