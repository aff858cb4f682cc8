package fix

import (
	"fmt"
	"slices"
	"strings"

	"github.com/distribution/reference"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	psaapi "k8s.io/pod-security-admission/api"
	psa "k8s.io/pod-security-admission/policy"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// fixers are the fixes, by the ID of the check whose failures they fix.
var fixers = map[string]Fixer{
	"pdb-coverage": {
		Summary: "creates a PodDisruptionBudget with maxUnavailable: 1 and unhealthyPodEvictionPolicy: AlwaysAllow selecting exactly the workload's pods, unless it would select pods another budget already selects",
		Fix:     pdbFix,
	},
	"namespace-default-deny-ingress": {
		Summary: "creates a default-deny ingress NetworkPolicy in the namespace, and says which workloads' traffic it cuts",
		Fix:     denyFix(networkingv1.PolicyTypeIngress),
	},
	"namespace-default-deny-egress": {
		Summary: "creates a default-deny egress NetworkPolicy and one allowing DNS to kube-dns over UDP and TCP 53, and says which workloads' traffic it cuts",
		Fix:     denyFix(networkingv1.PolicyTypeEgress),
	},
	"namespace-limitrange": {
		Summary: "creates a LimitRange whose container defaults are the largest requests and limits the namespace's containers declare (or marked values to review)",
		Fix:     limitRangeFix,
	},
	"namespace-resourcequota": {
		Summary: "creates a ResourceQuota of twice what the namespace's workloads request and limit at their replicas (or marked values to review)",
		Fix:     quotaFix,
	},
	"namespace-pss-enforce": {
		Summary: "labels the namespace pod-security.kubernetes.io/enforce with the strictest level every workload in it already passes (k8s.io/pod-security-admission), so the label rejects none of them",
		Fix:     pssEnforceFix,
	},
	"pss-restricted": {
		Summary: "sets allowPrivilegeEscalation: false, capabilities.drop: [ALL] and seccompProfile RuntimeDefault where unset, and runAsNonRoot where the pod names a non-root user",
		Fix:     hardenFix,
	},
	"automount-service-account-token": {
		Summary: "sets automountServiceAccountToken: false on the pod spec when no binding grants its service account anything",
		Fix:     automountFix,
	},
	"workload-min-replicas": {
		Summary: "raises spec.replicas to 2",
		Fix:     replicasFix,
	},
	"rolling-update-max-unavailable": {
		Summary: "sets a Deployment's rollingUpdate.maxUnavailable to 0 (and maxSurge to 1 where it comes to 0), so a rollout starts a new pod before it stops an old one; a DaemonSet's maxUnavailable to 1, the default",
		Fix:     rollingUpdateFix,
	},
	"api-removed": {
		Summary: "rewrites the object at its replacement API version where the two read alike field for field (a workload gains the selector the old version defaulted from its pod labels); Ingress, webhook configurations, CRDs and the other kinds whose fields changed are left to a person",
		Fix:     migrateFix,
	},
	"hpa-min-replicas": {
		Summary: "raises the HorizontalPodAutoscaler's minReplicas to 2",
		Fix:     hpaMinFix,
	},
	"container-readiness-probe": {
		Summary:  "a readiness probe on the container's first port (httpGet /ready when the port is named http, else tcpSocket): which endpoint says ready is the team's decision",
		Decision: true,
		Fix:      probeFix("container-readiness-probe", "readinessProbe", "/ready"),
	},
	"container-liveness-probe": {
		Summary:  "a liveness probe on the container's first port (httpGet /healthz when the port is named http, else tcpSocket): which endpoint says alive is the team's decision",
		Decision: true,
		Fix:      probeFix("container-liveness-probe", "livenessProbe", "/healthz"),
	},
	"image-tag-latest": {
		Summary:  "the tag pin-a-version in place of latest (or no tag) on each container's image: which version to run is the team's decision",
		Decision: true,
		Fix:      imageTagFix,
	},
	"container-cpu-request": {
		Summary:  "a CPU request of 100m as a placeholder: the number is the team's decision, from what the container uses",
		Decision: true,
		Fix:      resourceFix("container-cpu-request", "requests", corev1.ResourceCPU, "100m"),
	},
	"container-memory-request": {
		Summary:  "a memory request of 128Mi as a placeholder: the number is the team's decision, from what the container uses",
		Decision: true,
		Fix:      resourceFix("container-memory-request", "requests", corev1.ResourceMemory, "128Mi"),
	},
	"container-memory-limit": {
		Summary:  "a memory limit of twice the request (256Mi when none) as a placeholder: the number is the team's decision",
		Decision: true,
		Fix:      resourceFix("container-memory-limit", "limits", corev1.ResourceMemory, "256Mi"),
	},
	"workload-spread": {
		Summary: "adds topology spread over zones and nodes, whenUnsatisfiable: ScheduleAnyway, selecting the workload's pods",
		Fix:     spreadFix,
	},
}

// pdbFix makes a budget for a replicated workload that has none. Its
// selector must select the workload's pods and no other workload's: the
// eviction API refuses a pod two budgets select, and another workload may
// get a budget of its own. The workload's selector is tried first, then
// all its pod template's labels.
func pdbFix(o *inventory.Object, c *Context) []Change {
	sel := pdbSelector(o, c)
	if sel == nil {
		return nil
	}
	name := o.Name
	if c.Inventory.Get("PodDisruptionBudget", o.Namespace, name) != nil {
		name += "-pdb"
	}
	pdb := object("policy/v1", "PodDisruptionBudget", o.Namespace, name, map[string]any{
		"spec": map[string]any{
			"maxUnavailable":             int64(1),
			"unhealthyPodEvictionPolicy": "AlwaysAllow",
			"selector":                   selectorMap(sel),
		},
	})
	return []Change{{
		Target: Ref{APIVersion: "policy/v1", Kind: "PodDisruptionBudget", Namespace: o.Namespace, Name: name},
		Create: pdb, File: fileName("pdb", o.Namespace, name),
		Summary: fmt.Sprintf("a PodDisruptionBudget for %s: one pod at a time may be evicted", o.ID()),
		Fixes:   findingOn("pdb-coverage", o),
	}}
}

// pdbSelector is the selector of a budget for a workload: its own, else all
// its pod template's labels, the first that selects no other workload's
// pods; nil when neither does.
func pdbSelector(o *inventory.Object, c *Context) *metav1.LabelSelector {
	tmpl, _ := o.PodTemplate()
	if tmpl == nil {
		return nil
	}
	for _, cand := range []*metav1.LabelSelector{selectorOf(o), {MatchLabels: tmpl.Labels}} {
		if cand != nil && len(cand.MatchLabels)+len(cand.MatchExpressions) > 0 && selectsOnly(c.Inventory, o, cand) {
			return cand
		}
	}
	return nil
}

// selectsOnly reports whether a selector selects the workload's pods and
// none of another workload of its namespace.
func selectsOnly(inv *inventory.Inventory, o *inventory.Object, sel *metav1.LabelSelector) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	if t, _ := o.PodTemplate(); !s.Matches(labels.Set(t.Labels)) {
		return false
	}
	for _, w := range inv.Workloads(o.Namespace) {
		if t, _ := w.PodTemplate(); w != o && t != nil && s.Matches(labels.Set(t.Labels)) {
			return false
		}
	}
	return true
}

// denyFix makes a namespace's default-deny policy of one direction, and
// for egress the policy that lets every pod reach the cluster's DNS.
func denyFix(dir networkingv1.PolicyType) func(o *inventory.Object, c *Context) []Change {
	return func(o *inventory.Object, c *Context) []Change {
		ns := o.Name
		if allowsAll(c.Inventory, ns, dir) {
			return nil // policies add up: a default deny would change nothing
		}
		name := "default-deny-" + strings.ToLower(string(dir))
		deny := object("networking.k8s.io/v1", "NetworkPolicy", ns, name, map[string]any{
			"spec": map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{string(dir)}},
		})
		check := "namespace-default-deny-" + strings.ToLower(string(dir))
		out := []Change{{
			Target: Ref{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy", Namespace: ns, Name: name},
			Create: deny, File: fileName("networkpolicy", ns, name),
			Summary: fmt.Sprintf("denies all %s traffic of namespace %s that no policy allows", strings.ToLower(string(dir)), ns),
			Note:    cuts(c.Inventory, ns, dir),
			Fixes:   findingOn(check, o),
		}}
		if dir == networkingv1.PolicyTypeEgress {
			dns := object("networking.k8s.io/v1", "NetworkPolicy", ns, "allow-dns", map[string]any{
				"spec": map[string]any{
					"podSelector": map[string]any{},
					"policyTypes": []any{"Egress"},
					"egress": []any{map[string]any{
						"to": []any{map[string]any{
							"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "kube-system"}},
							"podSelector":       map[string]any{"matchLabels": map[string]any{"k8s-app": "kube-dns"}},
						}},
						"ports": []any{
							map[string]any{"port": int64(53), "protocol": "UDP"},
							map[string]any{"port": int64(53), "protocol": "TCP"},
						},
					}},
				},
			})
			out = append(out, Change{
				Target: Ref{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy", Namespace: ns, Name: "allow-dns"},
				Create: dns, File: fileName("networkpolicy", ns, "allow-dns"),
				Summary: fmt.Sprintf("lets every pod of namespace %s reach the cluster DNS (kube-dns) over UDP and TCP 53", ns),
				Fixes:   findingOn("egress-allows-dns", o),
			})
		}
		return out
	}
}

// cuts says which workloads' traffic a default deny cuts: all of it for
// those no policy of that direction selects, the rest of what their
// policies allow for the others.
// allowsAll reports whether a NetworkPolicy of the namespace selects all
// its pods and allows all traffic in a direction, by an empty rule.
func allowsAll(inv *inventory.Inventory, ns string, dir networkingv1.PolicyType) bool {
	for _, p := range inv.InNamespace("NetworkPolicy", ns) {
		np, ok := p.Typed.(*networkingv1.NetworkPolicy)
		if !ok || len(np.Spec.PodSelector.MatchLabels)+len(np.Spec.PodSelector.MatchExpressions) > 0 || !slices.Contains(policyTypes(np), dir) {
			continue
		}
		if dir == networkingv1.PolicyTypeIngress && slices.ContainsFunc(np.Spec.Ingress, func(r networkingv1.NetworkPolicyIngressRule) bool { return len(r.From)+len(r.Ports) == 0 }) {
			return true
		}
		if dir == networkingv1.PolicyTypeEgress && slices.ContainsFunc(np.Spec.Egress, func(r networkingv1.NetworkPolicyEgressRule) bool { return len(r.To)+len(r.Ports) == 0 }) {
			return true
		}
	}
	return false
}

func cuts(inv *inventory.Inventory, ns string, dir networkingv1.PolicyType) string {
	var all, limited []string
	for _, w := range inv.Workloads(ns) {
		covered := false
		for _, p := range inv.NetworkPolicies(w) {
			if np, ok := p.Typed.(*networkingv1.NetworkPolicy); ok && slices.Contains(policyTypes(np), dir) {
				covered = true
			}
		}
		if covered {
			limited = append(limited, w.ID())
		} else {
			all = append(all, w.ID())
		}
	}
	d := strings.ToLower(string(dir))
	var parts []string
	if len(all) > 0 {
		parts = append(parts, fmt.Sprintf("cuts all %s of %s: no policy allows any", d, strings.Join(all, ", ")))
	}
	if len(limited) > 0 {
		parts = append(parts, fmt.Sprintf("%s's %s stays what their own policies allow", strings.Join(limited, ", "), d))
	}
	if len(parts) == 0 {
		return "no workload of the namespace is among the inputs: it cuts the traffic of whatever runs there later"
	}
	return strings.Join(parts, "; ")
}

// policyTypes are a policy's directions, with the API server's default
// when unset: Ingress, and Egress when it has egress rules.
func policyTypes(np *networkingv1.NetworkPolicy) []networkingv1.PolicyType {
	if len(np.Spec.PolicyTypes) > 0 {
		return np.Spec.PolicyTypes
	}
	out := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	if len(np.Spec.Egress) > 0 {
		out = append(out, networkingv1.PolicyTypeEgress)
	}
	return out
}

// declared sums the requests and limits of a namespace's containers, and
// the largest of each, at the workloads' replicas.
type declared struct {
	largest, total map[string]map[corev1.ResourceName]resource.Quantity // "requests", "limits"
	pods           int64
}

func declaredIn(inv *inventory.Inventory, ns string) declared {
	d := declared{largest: map[string]map[corev1.ResourceName]resource.Quantity{"requests": {}, "limits": {}},
		total: map[string]map[corev1.ResourceName]resource.Quantity{"requests": {}, "limits": {}}}
	for _, w := range inv.Workloads(ns) {
		tmpl, _ := w.PodTemplate()
		if tmpl == nil {
			continue
		}
		replicas := int64(1)
		if r, ok := w.Replicas(); ok {
			replicas = int64(r)
		}
		d.pods += replicas
		for _, ctr := range tmpl.Spec.Containers {
			for kind, list := range map[string]corev1.ResourceList{"requests": ctr.Resources.Requests, "limits": ctr.Resources.Limits} {
				for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
					q, ok := list[r]
					if !ok {
						continue
					}
					if cur, ok := d.largest[kind][r]; !ok || q.Cmp(cur) > 0 {
						d.largest[kind][r] = q.DeepCopy()
					}
					t := d.total[kind][r]
					for range replicas {
						t.Add(q)
					}
					d.total[kind][r] = t
				}
			}
		}
	}
	return d
}

// review marks placeholder values a person must look at.
const review = "values to review: the namespace's containers declare none to size them from"

func limitRangeFix(o *inventory.Object, c *Context) []Change {
	d := declaredIn(c.Inventory, o.Name)
	value := func(kind string, r corev1.ResourceName, fallback string) (string, bool) {
		if q, ok := d.largest[kind][r]; ok {
			return q.String(), true
		}
		return fallback, false
	}
	cpuReq, a := value("requests", corev1.ResourceCPU, "100m")
	memReq, b := value("requests", corev1.ResourceMemory, "128Mi")
	cpuLim, e := value("limits", corev1.ResourceCPU, "500m")
	memLim, f := value("limits", corev1.ResourceMemory, "512Mi")
	note := ""
	if !a || !b || !e || !f {
		note = "some " + review
	}
	lr := object("v1", "LimitRange", o.Name, "container-defaults", map[string]any{
		"spec": map[string]any{"limits": []any{map[string]any{
			"type":           "Container",
			"defaultRequest": map[string]any{"cpu": cpuReq, "memory": memReq},
			"default":        map[string]any{"cpu": cpuLim, "memory": memLim},
		}}},
	})
	return []Change{{
		Target: Ref{APIVersion: "v1", Kind: "LimitRange", Namespace: o.Name, Name: "container-defaults"},
		Create: lr, File: fileName("limitrange", o.Name, "container-defaults"),
		Summary: fmt.Sprintf("container defaults for namespace %s: requests cpu %s, memory %s; limits cpu %s, memory %s", o.Name, cpuReq, memReq, cpuLim, memLim),
		Note:    note,
		Fixes:   findingOn("namespace-limitrange", o),
	}}
}

func quotaFix(o *inventory.Object, c *Context) []Change {
	d := declaredIn(c.Inventory, o.Name)
	hard := map[string]any{}
	note := ""
	double := func(q resource.Quantity) string {
		q.Add(q)
		return q.String()
	}
	for _, kind := range []string{"requests", "limits"} {
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if q, ok := d.total[kind][r]; ok {
				hard[kind+"."+string(r)] = double(q)
			}
		}
	}
	if len(hard) < 4 {
		note = "some " + review
		for k, v := range map[string]string{"requests.cpu": "4", "requests.memory": "8Gi", "limits.cpu": "8", "limits.memory": "16Gi"} {
			if _, ok := hard[k]; !ok {
				hard[k] = v
			}
		}
	}
	hard["pods"] = fmt.Sprint(max(2*d.pods, 10))
	rq := object("v1", "ResourceQuota", o.Name, "namespace-quota", map[string]any{"spec": map[string]any{"hard": hard}})
	return []Change{{
		Target: Ref{APIVersion: "v1", Kind: "ResourceQuota", Namespace: o.Name, Name: "namespace-quota"},
		Create: rq, File: fileName("resourcequota", o.Name, "namespace-quota"),
		Summary: fmt.Sprintf("a quota for namespace %s of twice what its workloads declare, room for a rolling update", o.Name),
		Note:    note,
		Fixes:   findingOn("namespace-resourcequota", o),
	}}
}

// StrictestLevel is the strictest Pod Security level every workload of a
// namespace passes, judged by the library's own evaluator
// (k8s.io/pod-security-admission).
func StrictestLevel(inv *inventory.Inventory, namespace string) psaapi.Level {
	eval, err := psa.NewEvaluator(psa.DefaultChecks(), nil)
	if err != nil {
		return psaapi.LevelPrivileged
	}
	allowed := func(l psaapi.Level, tmpl *corev1.PodTemplateSpec) bool {
		return psa.AggregateCheckResults(eval.EvaluatePod(psaapi.LevelVersion{Level: l, Version: psaapi.LatestVersion()}, &tmpl.ObjectMeta, &tmpl.Spec)).Allowed
	}
	level := psaapi.LevelRestricted
	for _, w := range inv.Workloads(namespace) {
		if tmpl, _ := w.PodTemplate(); tmpl != nil {
			for level != psaapi.LevelPrivileged && !allowed(level, tmpl) {
				level = lower(level)
			}
		}
	}
	return level
}

// pssEnforceFix labels a namespace with the strictest Pod Security level
// all its workloads already pass, so the label rejects none of them.
func pssEnforceFix(o *inventory.Object, c *Context) []Change {
	level := StrictestLevel(c.Inventory, o.Name)
	if level == psaapi.LevelPrivileged {
		return nil // a label that enforces nothing is no fix: the workloads must change first
	}
	sets := []Set{
		{Path: path("metadata", "labels", psaapi.EnforceLevelLabel), Value: string(level)},
		{Path: path("metadata", "labels", psaapi.EnforceVersionLabel), Value: "latest"},
	}
	ch := Change{
		Target: RefOf(o), Sets: sets,
		Summary: fmt.Sprintf("enforces Pod Security level %s in namespace %s, the strictest every workload there already passes", level, o.Name),
		Fixes:   findingOn("namespace-pss-enforce", o),
	}
	if o.Implied {
		// No file declares the namespace: create it.
		ch.Sets, ch.Target.File, ch.Target.Line = nil, "", 0
		ch.Create = object("v1", "Namespace", "", o.Name, map[string]any{})
		ch.Create["metadata"].(map[string]any)["labels"] = map[string]any{psaapi.EnforceLevelLabel: string(level), psaapi.EnforceVersionLabel: "latest"}
		ch.Target = Ref{APIVersion: "v1", Kind: "Namespace", Name: o.Name}
		ch.File = fileName("namespace", "", o.Name)
	}
	return []Change{ch}
}

func lower(l psaapi.Level) psaapi.Level {
	if l == psaapi.LevelRestricted {
		return psaapi.LevelBaseline
	}
	return psaapi.LevelPrivileged
}

// hardenFix sets the securityContext fields that cannot break a workload:
// no privilege escalation, no capabilities beyond what it adds itself, the
// runtime's default seccomp profile, and runAsNonRoot where the pod runs
// as a numbered user other than root.
func hardenFix(o *inventory.Object, c *Context) []Change {
	tmpl, _ := o.PodTemplate()
	if tmpl == nil {
		return nil
	}
	base := specSteps(o)
	var sets []Set
	spec := tmpl.Spec
	podSC := spec.SecurityContext
	if podSC == nil || podSC.SeccompProfile == nil {
		seccompOnAll := len(spec.Containers) > 0
		for _, ctr := range spec.Containers {
			if ctr.SecurityContext == nil || ctr.SecurityContext.SeccompProfile == nil {
				seccompOnAll = false
			}
		}
		if !seccompOnAll {
			sets = append(sets, Set{Path: join(base, "securityContext", "seccompProfile", "type"), Value: "RuntimeDefault"})
		}
	}
	podUser := podSC != nil && podSC.RunAsUser != nil && *podSC.RunAsUser > 0
	for _, list := range []struct {
		key  string
		ctrs []corev1.Container
	}{{"initContainers", spec.InitContainers}, {"containers", spec.Containers}} {
		for i, ctr := range list.ctrs {
			sc := ctr.SecurityContext
			if sc != nil && sc.Privileged != nil && *sc.Privileged {
				continue // a decision for a person
			}
			at := append(slices.Clone(base), Step{Key: list.key}, Step{Index: i, Name: ctr.Name}, Step{Key: "securityContext"})
			if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				sets = append(sets, Set{Path: join(at, "allowPrivilegeEscalation"), Value: false})
			}
			if sc == nil || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
				drop := []any{"ALL"}
				if sc != nil && sc.Capabilities != nil {
					for _, d := range sc.Capabilities.Drop {
						if d != "ALL" {
							drop = append(drop, string(d))
						}
					}
				}
				sets = append(sets, Set{Path: join(at, "capabilities", "drop"), Value: drop})
			}
			user := podUser || (sc != nil && sc.RunAsUser != nil && *sc.RunAsUser > 0)
			if user && (sc == nil || sc.RunAsNonRoot == nil) && (podSC == nil || podSC.RunAsNonRoot == nil) {
				sets = append(sets, Set{Path: join(at, "runAsNonRoot"), Value: true})
			}
		}
	}
	if len(sets) == 0 {
		return nil
	}
	return []Change{{
		Target: RefOf(o), Sets: sets,
		Summary: fmt.Sprintf("hardens the securityContext of %s's containers where that cannot break them", o.ID()),
		Fixes:   findingOn("pss-restricted", o),
	}}
}

// automountFix stops mounting a token that grants nothing.
func automountFix(o *inventory.Object, c *Context) []Change {
	tmpl, _ := o.PodTemplate()
	if tmpl == nil {
		return nil
	}
	sa := tmpl.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	if len(c.Inventory.Bindings(o.Namespace, sa)) > 0 {
		return nil
	}
	return []Change{{
		Target: RefOf(o), Sets: []Set{{Path: join(specSteps(o), "automountServiceAccountToken"), Value: false}},
		Summary: fmt.Sprintf("stops mounting service account %s's token into %s's pods: no binding grants it anything", sa, o.ID()),
		Fixes:   findingOn("automount-service-account-token", o),
	}}
}

// replicasFix raises a workload to two replicas, when it has a budget or
// one can be made for it (two replicas call for one).
func replicasFix(o *inventory.Object, c *Context) []Change {
	if len(c.Inventory.HPAs(o)) > 0 {
		return nil // the HPA owns the count
	}
	if len(c.Inventory.PDBs(o)) == 0 && pdbSelector(o, c) == nil {
		return nil
	}
	return []Change{{
		Target: RefOf(o), Sets: []Set{{Path: path("spec", "replicas"), Value: int64(2)}},
		Summary: fmt.Sprintf("runs 2 replicas of %s", o.ID()),
		Fixes:   findingOn("workload-min-replicas", o),
	}}
}

// rollingUpdateFix keeps pods available through a rollout. A Deployment
// surges instead: no old pod stops before its replacement is ready, which
// needs room for one more pod in the namespace's quota while it rolls.
func rollingUpdateFix(o *inventory.Object, c *Context) []Change {
	switch t := o.Typed.(type) {
	case *appsv1.Deployment:
		sets := []Set{{Path: path("spec", "strategy", "rollingUpdate", "maxUnavailable"), Value: int64(0)}}
		note := "a rollout now needs room for one pod more than the replicas, in the nodes and the namespace's quota"
		if ru := t.Spec.Strategy.RollingUpdate; ru != nil && ru.MaxSurge != nil {
			// The deployment controller rounds a percentage surge up, so
			// only a zero surge (0 or 0%) needs raising.
			if surge, err := intstr.GetScaledValueFromIntOrPercent(ru.MaxSurge, 1, true); err != nil || surge == 0 {
				sets = append(sets, Set{Path: path("spec", "strategy", "rollingUpdate", "maxSurge"), Value: int64(1)})
			}
		}
		return []Change{{
			Target: RefOf(o), Sets: sets,
			Summary: fmt.Sprintf("rolls %s out one new pod at a time before stopping an old one (maxUnavailable: 0)", o.ID()),
			Note:    note,
			Fixes:   findingOn("rolling-update-max-unavailable", o),
		}}
	case *appsv1.DaemonSet:
		return []Change{{
			Target: RefOf(o), Sets: []Set{{Path: path("spec", "updateStrategy", "rollingUpdate", "maxUnavailable"), Value: int64(1)}},
			Summary: fmt.Sprintf("rolls %s out one node at a time (maxUnavailable: 1)", o.ID()),
			Fixes:   findingOn("rolling-update-max-unavailable", o),
		}}
	}
	return nil
}

// migrations are the removed API versions an object moves off by its
// apiVersion alone: the API server converted between them and their
// replacement field for field (the conversions of each group's internal
// version in k8s.io/kubernetes/pkg/apis). The workload kinds are
// migrated too, with the selector apps/v1 requires and the old versions
// defaulted from the pod labels (SetDefaults_Deployment in
// pkg/apis/extensions/v1beta1/defaults.go).
var migrations = map[[2]string]string{
	{"extensions/v1beta1", "Deployment"}:                                   "apps/v1",
	{"extensions/v1beta1", "DaemonSet"}:                                    "apps/v1",
	{"extensions/v1beta1", "ReplicaSet"}:                                   "apps/v1",
	{"apps/v1beta1", "Deployment"}:                                         "apps/v1",
	{"apps/v1beta1", "StatefulSet"}:                                        "apps/v1",
	{"apps/v1beta2", "Deployment"}:                                         "apps/v1",
	{"apps/v1beta2", "StatefulSet"}:                                        "apps/v1",
	{"apps/v1beta2", "DaemonSet"}:                                          "apps/v1",
	{"apps/v1beta2", "ReplicaSet"}:                                         "apps/v1",
	{"extensions/v1beta1", "NetworkPolicy"}:                                "networking.k8s.io/v1",
	{"networking.k8s.io/v1beta1", "IngressClass"}:                          "networking.k8s.io/v1",
	{"rbac.authorization.k8s.io/v1beta1", "ClusterRole"}:                   "rbac.authorization.k8s.io/v1",
	{"rbac.authorization.k8s.io/v1beta1", "ClusterRoleBinding"}:            "rbac.authorization.k8s.io/v1",
	{"rbac.authorization.k8s.io/v1beta1", "Role"}:                          "rbac.authorization.k8s.io/v1",
	{"rbac.authorization.k8s.io/v1beta1", "RoleBinding"}:                   "rbac.authorization.k8s.io/v1",
	{"scheduling.k8s.io/v1beta1", "PriorityClass"}:                         "scheduling.k8s.io/v1",
	{"coordination.k8s.io/v1beta1", "Lease"}:                               "coordination.k8s.io/v1",
	{"storage.k8s.io/v1beta1", "CSIDriver"}:                                "storage.k8s.io/v1",
	{"storage.k8s.io/v1beta1", "CSINode"}:                                  "storage.k8s.io/v1",
	{"storage.k8s.io/v1beta1", "StorageClass"}:                             "storage.k8s.io/v1",
	{"storage.k8s.io/v1beta1", "VolumeAttachment"}:                         "storage.k8s.io/v1",
	{"storage.k8s.io/v1beta1", "CSIStorageCapacity"}:                       "storage.k8s.io/v1",
	{"batch/v2alpha1", "CronJob"}:                                          "batch/v1",
	{"batch/v1beta1", "CronJob"}:                                           "batch/v1",
	{"policy/v1beta1", "PodDisruptionBudget"}:                              "policy/v1",
	{"node.k8s.io/v1beta1", "RuntimeClass"}:                                "node.k8s.io/v1",
	{"autoscaling/v2beta2", "HorizontalPodAutoscaler"}:                     "autoscaling/v2",
	{"apiregistration.k8s.io/v1beta1", "APIService"}:                       "apiregistration.k8s.io/v1",
	{"flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema"}:                 "flowcontrol.apiserver.k8s.io/v1",
	{"flowcontrol.apiserver.k8s.io/v1beta2", "FlowSchema"}:                 "flowcontrol.apiserver.k8s.io/v1",
	{"flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema"}:                 "flowcontrol.apiserver.k8s.io/v1",
	{"flowcontrol.apiserver.k8s.io/v1beta3", "PriorityLevelConfiguration"}: "flowcontrol.apiserver.k8s.io/v1",
}

// migrateFix moves an object off a removed API version, where the move
// keeps what the object means.
func migrateFix(o *inventory.Object, c *Context) []Change {
	to, ok := migrations[[2]string{o.APIVersion, o.Kind}]
	if !ok {
		return nil
	}
	sets := []Set{{Path: path("apiVersion"), Value: to}}
	var note string
	switch t := o.Typed.(type) {
	case *policyv1.PodDisruptionBudget:
		// An empty selector selects no pod at policy/v1beta1 and every
		// pod of the namespace at policy/v1.
		if t.Spec.Selector == nil || len(t.Spec.Selector.MatchLabels)+len(t.Spec.Selector.MatchExpressions) == 0 {
			return nil
		}
	default:
		tmpl, _ := o.PodTemplate()
		if tmpl == nil || to != "apps/v1" {
			break
		}
		if selectorOf(o) == nil {
			if len(tmpl.Labels) == 0 {
				return nil
			}
			sets = append(sets, Set{Path: path("spec", "selector"), Value: selectorMap(&metav1.LabelSelector{MatchLabels: tmpl.Labels})})
		}
		note = "apps/v1 defaults differ from the old version's: the selector is immutable, and an unset rolling update is 25% rather than 1 pod"
		if o.Kind == "StatefulSet" {
			note = "apps/v1 defaults differ from the old version's: the selector is immutable, and an unset updateStrategy is RollingUpdate rather than OnDelete"
		}
	}
	return []Change{{
		Target: RefOf(o), Sets: sets,
		Summary: fmt.Sprintf("moves %s from %s to %s", o.ID(), o.APIVersion, to),
		Note:    note,
		Fixes:   findingOn("api-removed", o),
	}}
}

func hpaMinFix(o *inventory.Object, c *Context) []Change {
	return []Change{{
		Target: RefOf(o), Sets: []Set{{Path: path("spec", "minReplicas"), Value: int64(2)}},
		Summary: fmt.Sprintf("keeps at least 2 replicas under %s", o.ID()),
		Fixes:   findingOn("hpa-min-replicas", o),
	}}
}

// spreadFix spreads a workload's pods over zones and nodes, softly.
func spreadFix(o *inventory.Object, c *Context) []Change {
	tmpl, _ := o.PodTemplate()
	sel := selectorOf(o)
	if tmpl == nil || sel == nil || len(tmpl.Spec.TopologySpreadConstraints) > 0 {
		return nil
	}
	constraint := func(key string) map[string]any {
		return map[string]any{"maxSkew": int64(1), "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": selectorMap(sel)}
	}
	return []Change{{
		Target: RefOf(o),
		Sets: []Set{{Path: join(specSteps(o), "topologySpreadConstraints"), Value: []any{
			constraint(corev1.LabelTopologyZone), constraint(corev1.LabelHostname),
		}}},
		Summary: fmt.Sprintf("spreads %s's pods over zones and nodes where the scheduler can (ScheduleAnyway)", o.ID()),
		Fixes:   findingOn("workload-spread", o),
	}}
}

// containerSets makes one change of a workload's containers: a set on
// each container that set gives a field (a path below the container) and
// value for.
func containerSets(o *inventory.Object, check, summary, note string, set func(ctr corev1.Container) ([]string, any, bool)) []Change {
	tmpl, _ := o.PodTemplate()
	if tmpl == nil {
		return nil
	}
	var sets []Set
	for i, ctr := range tmpl.Spec.Containers {
		if field, value, ok := set(ctr); ok {
			at := append(specSteps(o), Step{Key: "containers"}, Step{Index: i, Name: ctr.Name})
			sets = append(sets, Set{Path: join(at, field...), Value: value})
		}
	}
	if len(sets) == 0 {
		return nil
	}
	return []Change{{Target: RefOf(o), Sets: sets, Summary: fmt.Sprintf(summary, o.ID()), Note: note, Fixes: findingOn(check, o)}}
}

// probeFix suggests a probe for each container without one, on its first
// port: an HTTP path when the port is named http, else a TCP connect.
func probeFix(check, field, path string) func(o *inventory.Object, c *Context) []Change {
	return func(o *inventory.Object, c *Context) []Change {
		return containerSets(o, check, "a "+field+" on %s's containers, to review", "the endpoint and timing are placeholders: check them against what the application serves",
			func(ctr corev1.Container) ([]string, any, bool) {
				has := ctr.ReadinessProbe != nil
				if field == "livenessProbe" {
					has = ctr.LivenessProbe != nil
				}
				if has || len(ctr.Ports) == 0 {
					return nil, nil, false
				}
				port := ctr.Ports[0]
				probe := map[string]any{"tcpSocket": map[string]any{"port": int64(port.ContainerPort)}, "periodSeconds": int64(10)}
				if port.Name == "http" || strings.HasPrefix(port.Name, "http-") {
					probe = map[string]any{"httpGet": map[string]any{"path": path, "port": port.Name}, "periodSeconds": int64(10)}
				}
				return []string{field}, probe, true
			})
	}
}

// placeholderTag is the tag a suggestion pins an image to: a valid tag, so
// the object stays one the API server accepts, that says what to do.
const placeholderTag = "pin-a-version"

// imageTagFix suggests a version tag, to fill in, for each container image
// that names latest or no tag and no digest.
func imageTagFix(o *inventory.Object, c *Context) []Change {
	return containerSets(o, "image-tag-latest", "a version tag on %s's images, to fill in", placeholderTag+" is a placeholder: put the release (or the digest) to run",
		func(ctr corev1.Container) ([]string, any, bool) {
			if strings.Contains(ctr.Image, "@") {
				return nil, nil, false // a digest pins it
			}
			name := ctr.Image
			slash := strings.LastIndex(name, "/")
			if colon := strings.LastIndex(name, ":"); colon > slash {
				if name[colon+1:] != "latest" {
					return nil, nil, false
				}
				name = name[:colon]
			}
			pinned := name + ":" + placeholderTag
			if _, err := reference.ParseNormalizedNamed(pinned); err != nil {
				return nil, nil, false // not an image reference: a person's to mend
			}
			return []string{"image"}, pinned, true
		})
}

// resourceFix suggests a placeholder request or limit for each container
// without one; a limit is twice the request when there is one.
func resourceFix(check, kind string, r corev1.ResourceName, placeholder string) func(o *inventory.Object, c *Context) []Change {
	return func(o *inventory.Object, c *Context) []Change {
		return containerSets(o, check, string(r)+" "+strings.TrimSuffix(kind, "s")+" of %s's containers, to review", "placeholder values: size them from what the containers use",
			func(ctr corev1.Container) ([]string, any, bool) {
				list := ctr.Resources.Requests
				if kind == "limits" {
					list = ctr.Resources.Limits
				}
				if _, ok := list[r]; ok {
					return nil, nil, false
				}
				value := placeholder
				if req, ok := ctr.Resources.Requests[r]; ok && kind == "limits" {
					req.Add(req)
					value = req.String()
				}
				return []string{"resources", kind, string(r)}, value, true
			})
	}
}

// selectorOf is a workload's label selector, or nil.
func selectorOf(o *inventory.Object) *metav1.LabelSelector {
	switch t := o.Typed.(type) {
	case *appsv1.Deployment:
		return t.Spec.Selector
	case *appsv1.StatefulSet:
		return t.Spec.Selector
	case *appsv1.DaemonSet:
		return t.Spec.Selector
	case *appsv1.ReplicaSet:
		return t.Spec.Selector
	case *corev1.ReplicationController:
		return &metav1.LabelSelector{MatchLabels: t.Spec.Selector}
	}
	return nil
}

func selectorMap(s *metav1.LabelSelector) map[string]any {
	out := map[string]any{}
	if len(s.MatchLabels) > 0 {
		ml := map[string]any{}
		for k, v := range s.MatchLabels {
			ml[k] = v
		}
		out["matchLabels"] = ml
	}
	if len(s.MatchExpressions) > 0 {
		var me []any
		for _, e := range s.MatchExpressions {
			vals := make([]any, len(e.Values))
			for i, v := range e.Values {
				vals[i] = v
			}
			me = append(me, map[string]any{"key": e.Key, "operator": string(e.Operator), "values": vals})
		}
		out["matchExpressions"] = me
	}
	return out
}

// object is a new object's content.
func object(apiVersion, kind, namespace, name string, fields map[string]any) map[string]any {
	meta := map[string]any{"name": name}
	if namespace != "" {
		meta["namespace"] = namespace
	}
	meta["labels"] = map[string]any{"app.kubernetes.io/managed-by": "plimsoll-fix"}
	out := map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": meta}
	for k, v := range fields {
		out[k] = v
	}
	return out
}

func fileName(kind, namespace, name string) string {
	parts := []string{kind}
	if namespace != "" {
		parts = append(parts, namespace)
	}
	return strings.ToLower(strings.Join(append(parts, name), "-")) + ".yaml"
}

func path(keys ...string) []Step {
	out := make([]Step, len(keys))
	for i, k := range keys {
		out[i] = Step{Key: k}
	}
	return out
}

// join is base followed by keys, in a slice of its own, of just that
// size: a large input's plan holds tens of thousands of paths.
func join(base []Step, keys ...string) []Step {
	return append(append(make([]Step, 0, len(base)+len(keys)), base...), path(keys...)...)
}

// specSteps is the path of a workload's pod spec (spec.template.spec,
// spec.jobTemplate.spec.template.spec, or a Pod's spec).
func specSteps(o *inventory.Object) []Step {
	return path(strings.Split(o.SpecPath(""), ".")...)
}
