package manifest

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	psaapi "k8s.io/pod-security-admission/api"
	psa "k8s.io/pod-security-admission/policy"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/checks/pod"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

// The admission family: the workload is stored, but the admission plugins
// of the API server refuse every pod its controller tries to create, so it
// never gets one. The controller records a FailedCreate event on itself
// (a Deployment's on its ReplicaSet) and retries for ever; nothing else
// says so.

func admissionChecks() []*check.Check {
	return []*check.Check{
		{
			ID:            "service-account-exists",
			Title:         "Pods run as a ServiceAccount that exists",
			Layer:         check.Workloads,
			Severity:      check.Critical,
			Kinds:         pod.WorkloadKinds,
			Reads:         lookupReads("ServiceAccount"),
			Rationale:     "The ServiceAccount admission plugin refuses a pod whose ServiceAccount does not exist, so a workload that names a missing one never gets a pod: its controller records FailedCreate and retries for ever. A chart that expects its ServiceAccount to be made elsewhere, or a renamed account, is the usual cause.",
			Remediation:   "Create the ServiceAccount in the workload's namespace, or set serviceAccountName to one that exists.",
			ChecklistItem: checklist.RBACLeastPrivilege,
			Applies:       admittedPods,
			Run:           serviceAccountExistsRun,
		},
		{
			ID:            "priority-class-exists",
			Title:         "Pods name a PriorityClass that exists",
			Layer:         check.Workloads,
			Severity:      check.Critical,
			Kinds:         pod.WorkloadKinds,
			Reads:         lookupReads("PriorityClass.scheduling.k8s.io"),
			Rationale:     "The Priority admission plugin refuses a pod whose priorityClassName names no PriorityClass, so the workload never gets a pod.",
			Remediation:   "Create the PriorityClass, or set priorityClassName to one that exists.",
			ChecklistItem: checklist.SelfHealing,
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				if spec := pod.Spec(o); spec == nil || spec.PriorityClassName == "" {
					return false, "its pods name no PriorityClass"
				}
				return admittedPods(o, c)
			},
			Run: priorityClassExistsRun,
		},
		{
			ID:            "runtime-class-exists",
			Title:         "Pods name a RuntimeClass that exists",
			Layer:         check.Workloads,
			Severity:      check.Critical,
			Kinds:         pod.WorkloadKinds,
			Reads:         lookupReads("RuntimeClass.node.k8s.io"),
			Rationale:     "The RuntimeClass admission plugin refuses a pod whose runtimeClassName names no RuntimeClass, so the workload never gets a pod.",
			Remediation:   "Create the RuntimeClass (and install its handler on the nodes), or set runtimeClassName to one that exists.",
			ChecklistItem: checklist.SelfHealing,
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				if spec := pod.Spec(o); spec == nil || spec.RuntimeClassName == nil || *spec.RuntimeClassName == "" {
					return false, "its pods name no RuntimeClass"
				}
				return admittedPods(o, c)
			},
			Run: runtimeClassExistsRun,
		},
		{
			ID:            "resource-quota-admits-pods",
			Title:         "Pods set the requests and limits their namespace's ResourceQuotas demand",
			Layer:         check.Workloads,
			Severity:      check.Critical,
			Kinds:         pod.WorkloadKinds,
			Reads:         []string{"LimitRange", "ResourceQuota"},
			Rationale:     "A ResourceQuota that tracks CPU or memory requests or limits makes the ResourceQuota admission plugin refuse every pod with a container that sets none of them and gets none from a LimitRange default, so the workload never gets a pod.",
			Remediation:   "Set the requests and limits the quota tracks on every container, init containers included, or give the namespace a LimitRange with defaults for them.",
			ChecklistItem: checklist.ResourceLimits,
			Applies:       resourceQuotaAdmitsPodsApplies,
			Run:           resourceQuotaAdmitsPodsRun,
		},
		{
			ID:            "pod-security-admits-pods",
			Title:         "Pods meet the Pod Security level their namespace enforces",
			Layer:         check.Security,
			Severity:      check.Critical,
			Kinds:         pod.WorkloadKinds,
			Reads:         []string{"Namespace"},
			Rationale:     "Pod Security admission refuses every pod that violates the level its namespace enforces (pod-security.kubernetes.io/enforce), while the Deployment or StatefulSet that makes them is stored with a warning only: the workload exists and never gets a pod.",
			Remediation:   "Change the pod template to meet the namespace's level (the finding lists each control it violates), or run the workload in a namespace whose level allows what it needs.",
			ChecklistItem: checklist.PSSBaseline,
			Applies:       podSecurityAdmitsPodsApplies,
			Run:           podSecurityAdmitsPodsRun,
		},
	}
}

// admittedPods skips the mirrors of static pods: the kubelet runs them
// from files, and admission only records them.
func admittedPods(o *inventory.Object, c *check.Context) (bool, string) {
	if _, ok := o.Annotations[corev1.MirrorPodAnnotationKey]; ok {
		return false, "a static pod's mirror, which the kubelet runs whatever admission says"
	}
	return true, ""
}

// serviceAccountExistsRun is service-account-exists's Run. It mirrors the
// ServiceAccount admission plugin (plugin/pkg/admission/serviceaccount,
// Admit), which looks the account up and refuses the pod when it is not
// found. Among manifests the namespace's default account is taken to
// exist: the ServiceAccount controller makes it in every namespace
// (lookupKinds).
func serviceAccountExistsRun(o *inventory.Object, c *check.Context) []check.Finding {
	spec := pod.Spec(o)
	if spec == nil {
		return nil
	}
	name := serviceAccountName(spec)
	f := lookup(c.Inventory, "ServiceAccount", o.Namespace, name)
	switch {
	case f.unknown != "":
		return []check.Finding{check.NotAssessedf("%s", f.unknown)}
	case f.missing != "":
		return []check.Finding{check.Failf(o.SpecPath("serviceAccountName"),
			"%s: the ServiceAccount admission plugin refuses every pod of it (error looking up service account %s/%s: serviceaccount %q not found)",
			f.missing, namespaceName(o.Namespace), name, name)}
	}
	return nil
}

// priorityClassExistsRun is priority-class-exists's Run. It mirrors the
// Priority admission plugin (plugin/pkg/admission/priority, getPriority).
func priorityClassExistsRun(o *inventory.Object, c *check.Context) []check.Finding {
	name := pod.Spec(o).PriorityClassName
	f := lookup(c.Inventory, "PriorityClass.scheduling.k8s.io", "", name)
	switch {
	case f.unknown != "":
		return []check.Finding{check.NotAssessedf("%s", f.unknown)}
	case f.missing != "":
		return []check.Finding{check.Failf(o.SpecPath("priorityClassName"),
			"%s: the Priority admission plugin refuses every pod of it (no PriorityClass with name %s was found)", f.missing, name)}
	}
	return nil
}

// runtimeClassExistsRun is runtime-class-exists's Run. It mirrors the
// RuntimeClass admission plugin (plugin/pkg/admission/runtimeclass,
// prepareObjects).
func runtimeClassExistsRun(o *inventory.Object, c *check.Context) []check.Finding {
	name := *pod.Spec(o).RuntimeClassName
	f := lookup(c.Inventory, "RuntimeClass.node.k8s.io", "", name)
	switch {
	case f.unknown != "":
		return []check.Finding{check.NotAssessedf("%s", f.unknown)}
	case f.missing != "":
		return []check.Finding{check.Failf(o.SpecPath("runtimeClassName"),
			"%s: the RuntimeClass admission plugin refuses every pod of it (pod rejected: RuntimeClass %q not found)", f.missing, name)}
	}
	return nil
}

// quotaResources are the resources whose quotas make the ResourceQuota
// admission plugin demand that every container set them (validationSet in
// pkg/quota/v1/evaluator/core/pods.go).
var quotaResources = sets.New[corev1.ResourceName](
	corev1.ResourceCPU, corev1.ResourceMemory,
	corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory,
	corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory,
)

// trackingQuota is a ResourceQuota that tracks some of quotaResources,
// with what it tracks, in order.
type trackingQuota struct {
	object  *inventory.Object
	quota   *corev1.ResourceQuota
	tracked []corev1.ResourceName
}

// trackingQuotas returns the ResourceQuotas of a namespace that track some
// of quotaResources. They are the same for every workload there, so they
// are found once per namespace.
func trackingQuotas(inv *inventory.Inventory, ns string) []trackingQuota {
	return inventory.Memo(inv, "checks/manifest.trackingQuotas "+ns, func(inv *inventory.Inventory) []trackingQuota {
		var out []trackingQuota
		for _, q := range inv.InNamespace("ResourceQuota", ns) {
			rq, ok := q.Typed.(*corev1.ResourceQuota)
			if !ok {
				continue
			}
			var names []corev1.ResourceName
			for _, name := range slices.Sorted(maps.Keys(rq.Spec.Hard)) {
				if quotaResources.Has(name) {
					names = append(names, name)
				}
			}
			if len(names) > 0 {
				out = append(out, trackingQuota{q, rq, names})
			}
		}
		return out
	})
}

// demandingQuotas returns the quotas of the workload's namespace that
// track some of quotaResources and count its pods.
func demandingQuotas(o *inventory.Object, c *check.Context) []trackingQuota {
	spec := pod.Spec(o)
	var out []trackingQuota
	for _, q := range trackingQuotas(c.Inventory, o.Namespace) {
		if quotaMatches(q.quota, spec, o, c.Inventory) {
			out = append(out, q)
		}
	}
	return out
}

// quotaMatches mirrors the pod evaluator's Matches (podMatchesScopeFunc)
// for the scopes that decide whether a quota counts a pod: Terminating and
// NotTerminating (activeDeadlineSeconds), BestEffort and NotBestEffort
// (requests or limits of CPU or memory, LimitRange defaults included), and
// a PriorityClass scope selector. A quota with any other scope is not
// judged.
func quotaMatches(rq *corev1.ResourceQuota, spec *corev1.PodSpec, o *inventory.Object, inv *inventory.Inventory) bool {
	terminating := spec.ActiveDeadlineSeconds != nil && *spec.ActiveDeadlineSeconds >= 0
	bestEffort := !podRequestsAnything(spec, o, inv)
	scopes := slices.Clone(rq.Spec.Scopes)
	var selectors []corev1.ScopedResourceSelectorRequirement
	if rq.Spec.ScopeSelector != nil {
		selectors = rq.Spec.ScopeSelector.MatchExpressions
	}
	for _, s := range selectors {
		if s.ScopeName != corev1.ResourceQuotaScopePriorityClass {
			if s.Operator != corev1.ScopeSelectorOpExists {
				return false
			}
			scopes = append(scopes, s.ScopeName)
			continue
		}
		set := slices.Contains(s.Values, spec.PriorityClassName)
		switch s.Operator {
		case corev1.ScopeSelectorOpIn:
			if !set {
				return false
			}
		case corev1.ScopeSelectorOpNotIn:
			if set {
				return false
			}
		case corev1.ScopeSelectorOpExists:
			if spec.PriorityClassName == "" {
				return false
			}
		case corev1.ScopeSelectorOpDoesNotExist:
			if spec.PriorityClassName != "" {
				return false
			}
		default:
			return false
		}
	}
	for _, s := range scopes {
		switch s {
		case corev1.ResourceQuotaScopeTerminating:
			if !terminating {
				return false
			}
		case corev1.ResourceQuotaScopeNotTerminating:
			if terminating {
				return false
			}
		case corev1.ResourceQuotaScopeBestEffort:
			if !bestEffort {
				return false
			}
		case corev1.ResourceQuotaScopeNotBestEffort:
			if bestEffort {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// podRequestsAnything reports whether some container of the pod ends up
// with a request or limit of CPU or memory (the pod is not BestEffort).
func podRequestsAnything(spec *corev1.PodSpec, o *inventory.Object, inv *inventory.Inventory) bool {
	qos := []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory}
	req, lim := limitRangeDefaults(inv, o.Namespace)
	if len(spec.Containers) > 0 && (positive(req, qos) || positive(lim, qos)) {
		return true
	}
	for _, ct := range pod.Containers(o) {
		if positive(ct.Resources.Requests, qos) || positive(ct.Resources.Limits, qos) {
			return true
		}
	}
	return false
}

// resourceQuotaAdmitsPodsApplies is resource-quota-admits-pods's Applies:
// a namespace with a ResourceQuota that tracks CPU or memory. Whether the
// quota's scopes count the workload's pods is Run's to find.
func resourceQuotaAdmitsPodsApplies(o *inventory.Object, c *check.Context) (bool, string) {
	if ok, why := admittedPods(o, c); !ok {
		return false, why
	}
	if len(trackingQuotas(c.Inventory, o.Namespace)) == 0 {
		return false, fmt.Sprintf("no ResourceQuota among the inputs %s tracks CPU or memory", inNamespace(o.Namespace))
	}
	return true, ""
}

// resourceQuotaAdmitsPodsRun is resource-quota-admits-pods's Run. It
// mirrors the pod evaluator's Constraints (pkg/quota/v1/evaluator/core,
// enforcePodContainerConstraints), which the ResourceQuota admission
// plugin calls after LimitRanger has given containers its defaults and
// after requests were defaulted from limits. Pod-level resources satisfy
// it, and a quota whose scopes do not count the pods demands nothing of
// them.
func resourceQuotaAdmitsPodsRun(o *inventory.Object, c *check.Context) []check.Finding {
	spec := pod.Spec(o)
	if spec.Resources != nil && (len(spec.Resources.Requests) > 0 || len(spec.Resources.Limits) > 0) {
		return nil
	}
	defRequests, defLimits := limitRangeDefaults(c.Inventory, o.Namespace)
	where := inNamespace(o.Namespace)
	if c.Inventory.Mode == inventory.FromManifests {
		where = "among the inputs " + where
	}
	var out []check.Finding
	for _, q := range demandingQuotas(o, c) {
		// What each container lacks, and the admission plugin's message,
		// which names every container lacking each resource.
		lacks := map[int][]string{}
		byResource := map[corev1.ResourceName][]string{}
		containers := pod.Containers(o)
		for j, ct := range containers {
			for _, name := range q.tracked {
				if !containerSets(ct.Container, name, defRequests, defLimits) {
					lacks[j] = append(lacks[j], string(name))
					byResource[name] = append(byResource[name], ct.Name)
				}
			}
		}
		var parts []string
		for _, name := range slices.Sorted(maps.Keys(byResource)) {
			names := slices.Sorted(slices.Values(byResource[name]))
			parts = append(parts, fmt.Sprintf("%s for: %s", name, strings.Join(slices.Compact(names), ",")))
		}
		for j, ct := range containers {
			if len(lacks[j]) == 0 {
				continue
			}
			them := "it"
			if len(lacks[j]) > 1 {
				them = "them"
			}
			out = append(out, check.Failf(ct.Path()+".resources",
				"container %q sets no %s and no LimitRange %s gives %s by default, but ResourceQuota %s tracks %s: the ResourceQuota admission plugin refuses every pod of it (failed quota: %s: must specify %s)",
				ct.Name, strings.Join(lacks[j], " or "), where, them, q.object.Name, them, q.object.Name, strings.Join(parts, "; ")))
		}
	}
	return out
}

// containerSets reports whether a container ends up with what a quota
// resource counts: a request of CPU or memory (its own, its limit's, or a
// LimitRange default), or a limit (its own or a default). It mirrors
// podComputeUsageHelper.
func containerSets(ct *corev1.Container, name corev1.ResourceName, defRequests, defLimits corev1.ResourceList) bool {
	var base corev1.ResourceName
	limit := false
	switch name {
	case corev1.ResourceCPU, corev1.ResourceRequestsCPU:
		base = corev1.ResourceCPU
	case corev1.ResourceMemory, corev1.ResourceRequestsMemory:
		base = corev1.ResourceMemory
	case corev1.ResourceLimitsCPU:
		base, limit = corev1.ResourceCPU, true
	case corev1.ResourceLimitsMemory:
		base, limit = corev1.ResourceMemory, true
	}
	if _, ok := ct.Resources.Limits[base]; ok {
		return true
	}
	if _, ok := defLimits[base]; ok {
		return true
	}
	if limit {
		return false
	}
	if _, ok := ct.Resources.Requests[base]; ok {
		return true
	}
	_, ok := defRequests[base]
	return ok
}

// enforcedPolicy returns the level and version a namespace's labels make
// Pod Security admission enforce, as PolicyToEvaluate reads them with the
// API server's default configuration (privileged, latest), and whether the
// labels set one that restricts anything.
func enforcedPolicy(ns *inventory.Object) (psaapi.LevelVersion, string) {
	if _, ok := ns.Label(psaapi.EnforceLevelLabel); !ok {
		return psaapi.LevelVersion{}, fmt.Sprintf("namespace %s sets no %s label (a cluster-wide default, if the API server's configuration sets one, is not among the inputs)", ns.Name, psaapi.EnforceLevelLabel)
	}
	policy, errs := psaapi.PolicyToEvaluate(ns.Labels, psaapi.Policy{
		Enforce: psaapi.LevelVersion{Level: psaapi.LevelPrivileged, Version: psaapi.LatestVersion()},
		Audit:   psaapi.LevelVersion{Level: psaapi.LevelPrivileged, Version: psaapi.LatestVersion()},
		Warn:    psaapi.LevelVersion{Level: psaapi.LevelPrivileged, Version: psaapi.LatestVersion()},
	})
	if len(errs) > 0 {
		return psaapi.LevelVersion{}, fmt.Sprintf("namespace %s's Pod Security labels do not parse: %v", ns.Name, errs.ToAggregate())
	}
	if policy.Enforce.Level == psaapi.LevelPrivileged {
		return psaapi.LevelVersion{}, fmt.Sprintf("namespace %s enforces the privileged level, which admits every pod", ns.Name)
	}
	return policy.Enforce, ""
}

// podSecurityAdmitsPodsApplies is pod-security-admits-pods's Applies: it
// judges workloads whose namespace enforces a level. A namespace not
// among the inputs cannot be judged, which Run says.
func podSecurityAdmitsPodsApplies(o *inventory.Object, c *check.Context) (bool, string) {
	if ok, why := admittedPods(o, c); !ok {
		return false, why
	}
	ns := c.Inventory.Get("Namespace", "", o.Namespace)
	if ns == nil || ns.Implied {
		return true, "" // Run says it cannot be judged
	}
	if _, why := enforcedPolicy(ns); why != "" {
		return false, why
	}
	return true, ""
}

// podSecurityAdmitsPodsRun is pod-security-admits-pods's Run. It evaluates
// the pod template as Pod Security admission evaluates a pod
// (k8s.io/pod-security-admission/admission, EvaluatePod): the library's
// controls at the level and version the namespace enforces, in its order
// (pssAt, as pss-baseline and pss-restricted call them), and its message.
func podSecurityAdmitsPodsRun(o *inventory.Object, c *check.Context) []check.Finding {
	tmpl, _ := o.PodTemplate()
	if tmpl == nil {
		return nil
	}
	ns := c.Inventory.Get("Namespace", "", o.Namespace)
	if ns == nil || ns.Implied {
		return []check.Finding{check.NotAssessedf("the Namespace %s is not among the inputs, so the level it enforces is not known", namespaceName(o.Namespace))}
	}
	lv, _ := enforcedPolicy(ns)
	result := psa.AggregateCheckResults(templateViolations(tmpl, pssAt(lv)))
	if result.Allowed {
		return nil
	}
	return []check.Finding{check.Failf(o.SpecPath(""),
		"namespace %s enforces %s=%s, and Pod Security admission refuses every pod of it: violates PodSecurity %q: %s",
		o.Namespace, psaapi.EnforceLevelLabel, lv.Level, lv.String(), result.ForbiddenDetail())}
}
