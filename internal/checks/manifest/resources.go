package manifest

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/checks/pod"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

func resourceChecks() []*check.Check {
	return []*check.Check{
		{
			ID:            "container-cpu-request",
			Title:         "Containers request CPU",
			Layer:         check.Workloads,
			Severity:      check.Medium,
			Kinds:         pod.WorkloadKinds,
			Reads:         []string{"LimitRange"},
			Rationale:     "The scheduler places pods by their requests. A container without a CPU request counts as needing none: nodes get packed beyond what they can run, and under contention the container gets the smallest share of CPU.",
			Remediation:   "Set resources.requests.cpu on every container to what it uses under normal load, or give the namespace a LimitRange with a default CPU request.",
			ChecklistItem: checklist.ResourceLimits,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				return missingResource(o, c.Inventory, corev1.ResourceCPU, false, "CPU request")
			},
		},
		{
			ID:            "container-memory-request",
			Title:         "Containers request memory",
			Layer:         check.Workloads,
			Severity:      check.Medium,
			Kinds:         pod.WorkloadKinds,
			Reads:         []string{"LimitRange"},
			Rationale:     "The scheduler places pods by their requests. A container without a memory request counts as needing none, so nodes get overcommitted, and when a node runs short of memory the pods using most beyond their requests are evicted first.",
			Remediation:   "Set resources.requests.memory on every container to what it uses under normal load, or give the namespace a LimitRange with a default memory request.",
			ChecklistItem: checklist.ResourceLimits,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				return missingResource(o, c.Inventory, corev1.ResourceMemory, false, "memory request")
			},
		},
		{
			ID:            "container-memory-limit",
			Title:         "Containers limit memory",
			Layer:         check.Workloads,
			Severity:      check.Medium,
			Kinds:         pod.WorkloadKinds,
			Reads:         []string{"LimitRange"},
			Rationale:     "Memory cannot be throttled: a container without a memory limit that leaks or spikes takes memory from every other pod on its node until the kernel or the kubelet kills something, often not the culprit.",
			Remediation:   "Set resources.limits.memory on every container, or give the namespace a LimitRange with a default memory limit.",
			ChecklistItem: checklist.ResourceLimits,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				return missingResource(o, c.Inventory, corev1.ResourceMemory, true, "memory limit")
			},
		},
		{
			ID:            "pod-qos-besteffort",
			Title:         "Pods are not BestEffort",
			Layer:         check.Workloads,
			Severity:      check.High,
			Kinds:         pod.WorkloadKinds,
			Reads:         []string{"LimitRange"},
			Rationale:     "A pod in which no container requests or limits CPU or memory gets the BestEffort QoS class: it is the first evicted when its node runs short, and the scheduler places it anywhere, however full.",
			Remediation:   "Set CPU and memory requests (and a memory limit) on the pod's containers, or give the namespace a LimitRange with defaults.",
			ChecklistItem: checklist.AvoidBestEffort,
			Run:           podQosBesteffortRun,
		},
	}
}

// podQosBesteffortRun is pod-qos-besteffort's Run.
func podQosBesteffortRun(o *inventory.Object, c *check.Context) []check.Finding {
	spec := pod.Spec(o)
	if spec == nil {
		return nil
	}
	// Only CPU and memory decide the QoS class, and only
	// quantities above zero count, as in the kubelet.
	qos := []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory}
	if spec.Resources != nil && (positive(spec.Resources.Requests, qos) || positive(spec.Resources.Limits, qos)) {
		return nil
	}
	for _, ct := range pod.Containers(o) {
		if positive(ct.Resources.Requests, qos) || positive(ct.Resources.Limits, qos) {
			return nil
		}
	}
	req, lim := limitRangeDefaults(c.Inventory, o.Namespace)
	if positive(req, qos) || positive(lim, qos) {
		return nil
	}
	return []check.Finding{check.Failf(o.SpecPath("containers"),
		"no container sets a CPU or memory request or limit, and no LimitRange %s gives defaults: the pod is BestEffort, the first evicted when its node runs short",
		inNamespace(o.Namespace))}
}

// missingResource returns a finding for every container (init containers
// and sidecars included: their requests count for scheduling too) that ends
// up without a request, or a limit when limit is set, for the resource once
// the API server has admitted the pod.
func missingResource(o *inventory.Object, inv *inventory.Inventory, name corev1.ResourceName, limit bool, what string) []check.Finding {
	spec := pod.Spec(o)
	if spec == nil {
		return nil
	}
	// Pod-level resources cover the containers that set none.
	if spec.Resources != nil {
		if _, ok := spec.Resources.Limits[name]; ok {
			return nil
		}
		if _, ok := spec.Resources.Requests[name]; ok && !limit {
			return nil
		}
	}
	defRequests, defLimits := limitRangeDefaults(inv, o.Namespace)
	defaults := defRequests
	field := "requests"
	if limit {
		defaults, field = defLimits, "limits"
	}
	if _, ok := defaults[name]; ok {
		return nil
	}
	var out []check.Finding
	for _, ct := range pod.Containers(o) {
		if _, ok := ct.Resources.Limits[name]; ok || (!limit && requested(ct.Container, name)) {
			continue
		}
		out = append(out, check.Failf(fmt.Sprintf("%s.resources.%s.%s", ct.Path(), field, name),
			"%s sets no %s, and no LimitRange %s gives one by default", ct.Describe(), what, inNamespace(o.Namespace)))
	}
	return out
}

// limitRangeDefaults returns the requests and limits that the LimitRanges of
// a namespace give a container that sets none, as the LimitRanger admission
// plugin does. The API server defaults a LimitRange's Container item before
// storing it: a missing default limit takes the max, a missing default
// request takes the default limit, then the min. Manifests are not defaulted,
// so the same is done here.
func limitRangeDefaults(inv *inventory.Inventory, namespace string) (requests, limits corev1.ResourceList) {
	ranges := inv.InNamespace("LimitRange", namespace)
	if len(ranges) == 0 {
		return nil, nil
	}
	requests, limits = corev1.ResourceList{}, corev1.ResourceList{}
	for _, o := range ranges {
		lr, ok := o.Typed.(*corev1.LimitRange)
		if !ok {
			continue
		}
		for _, item := range lr.Spec.Limits {
			if item.Type != corev1.LimitTypeContainer {
				continue
			}
			def := corev1.ResourceList{}
			for _, list := range []corev1.ResourceList{item.Default, item.Max} {
				addMissing(def, list)
			}
			addMissing(limits, def)
			for _, list := range []corev1.ResourceList{item.DefaultRequest, def, item.Min} {
				addMissing(requests, list)
			}
		}
	}
	return requests, limits
}

// requested reports whether a container ends up with a request for the
// resource: set, or defaulted from its limit, as the API server does when
// only the limit is given.
func requested(c *corev1.Container, name corev1.ResourceName) bool {
	if _, ok := c.Resources.Requests[name]; ok {
		return true
	}
	_, ok := c.Resources.Limits[name]
	return ok
}

// addMissing copies into dst the entries of src that dst does not have.
func addMissing(dst, src corev1.ResourceList) {
	for k, v := range src {
		if _, ok := dst[k]; !ok {
			dst[k] = v
		}
	}
}

// positive reports whether the list holds a quantity above zero for any of
// the names.
func positive(list corev1.ResourceList, names []corev1.ResourceName) bool {
	for _, n := range names {
		if q, ok := list[n]; ok && q.Sign() > 0 {
			return true
		}
	}
	return false
}

// inNamespace names a namespace for messages; manifests without one are
// applied to whatever namespace is current.
func inNamespace(ns string) string {
	if ns == "" {
		return "in its namespace"
	}
	return fmt.Sprintf("in namespace %q", ns)
}
