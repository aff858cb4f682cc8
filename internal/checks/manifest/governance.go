package manifest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/checks/pod"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

func governanceChecks() []*check.Check {
	return []*check.Check{
		{
			ID:            "namespace-limitrange",
			Title:         "Application namespaces have a LimitRange",
			Layer:         check.Governance,
			Severity:      check.Medium,
			Kinds:         []string{"Namespace"},
			Reads:         []string{"LimitRange"},
			Rationale:     "A LimitRange gives containers that set no requests or limits reasonable defaults. Without one such containers run BestEffort: the scheduler places them as if they used nothing and they are evicted first under pressure.",
			Remediation:   "Add a LimitRange to the namespace with default and defaultRequest values for containers.",
			ChecklistItem: checklist.LimitRanges,
			Applies:       inApplicationNamespace,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				return namespaceHas(o, c, "LimitRange")
			},
		},
		{
			ID:            "namespace-resourcequota",
			Title:         "Application namespaces have a ResourceQuota",
			Layer:         check.Governance,
			Severity:      check.Medium,
			Kinds:         []string{"Namespace"},
			Reads:         []string{"ResourceQuota"},
			Rationale:     "Without a ResourceQuota one namespace can claim the whole cluster's capacity, through a runaway autoscaler or a mistaken replica count, and starve every other team.",
			Remediation:   "Add a ResourceQuota to the namespace bounding its CPU and memory requests and limits and its object counts.",
			ChecklistItem: checklist.ResourceQuotas,
			Applies:       inApplicationNamespace,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				return namespaceHas(o, c, "ResourceQuota")
			},
		},
		{
			ID:            "workload-cost-labels",
			Title:         "Workloads carry the cost attribution labels",
			Layer:         check.Governance,
			Severity:      check.Low,
			Kinds:         pod.WorkloadKinds,
			Rationale:     "Cost tools and cloud billing split spend by the labels of the pods that use it; a workload whose pods lack them is spend nobody owns. A controller's own labels do not reach its pods.",
			Remediation:   "Add the configured cost labels (by default team, environment, cost-center and app) to the labels of the workload's pod template (a bare Pod's own metadata.labels).",
			ChecklistItem: checklist.CostLabels,
			Applies:       costLabelsConfigured,
			Run:           workloadCostLabelsRun,
		},
		{
			ID:            "namespace-cost-labels",
			Title:         "Application namespaces carry the cost attribution labels",
			Layer:         check.Governance,
			Severity:      check.Low,
			Kinds:         []string{"Namespace"},
			Rationale:     "Cost tools attribute spend per namespace first; a namespace without owner and cost labels leaves everything in it unattributed.",
			Remediation:   "Add the configured cost labels (by default team, environment, cost-center and app) to the Namespace's metadata.labels.",
			ChecklistItem: checklist.CostLabels,
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				if ok, why := inApplicationNamespace(o, c); !ok {
					return false, why
				}
				return costLabelsConfigured(o, c)
			},
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				if o.Implied {
					return labelsUnseen(o)
				}
				if missing := missingLabels(o.Labels, c.Params.CostLabels); len(missing) > 0 {
					return []check.Finding{check.Failf("metadata.labels", "missing cost labels: %s", strings.Join(missing, ", "))}
				}
				return nil
			},
		},
		{
			ID:            "recommended-labels",
			Title:         "Workloads and Services carry the recommended app.kubernetes.io labels",
			Layer:         check.Governance,
			Severity:      check.Low,
			Kinds:         append(append([]string{}, pod.WorkloadKinds...), "Service"),
			Rationale:     "The recommended labels let dashboards, cost tools and kubectl group the objects of one application and instance, whatever tool deployed them.",
			Remediation:   "Add the recommended labels (by default app.kubernetes.io/name, app.kubernetes.io/instance and app.kubernetes.io/version) to metadata.labels.",
			ChecklistItem: checklist.CostLabels,
			Optional:      true,
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				if len(c.Params.RecommendedLabels) == 0 {
					return false, "parameters.recommendedLabels is empty"
				}
				return true, ""
			},
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				if missing := missingLabels(o.Labels, c.Params.RecommendedLabels); len(missing) > 0 {
					return []check.Finding{check.Failf("metadata.labels", "missing recommended labels: %s", strings.Join(missing, ", "))}
				}
				return nil
			},
		},
		{
			ID:            "workload-default-namespace",
			Title:         "Workloads are not placed in the default namespace",
			Layer:         check.Governance,
			Severity:      check.Low,
			Kinds:         pod.WorkloadKinds,
			Rationale:     "The default namespace is shared by everything that forgot to name one: quotas, limit ranges, network policies, RBAC and cost attribution cannot be scoped to one application there.",
			Remediation:   "Deploy the workload to a namespace of its own application or team, and set metadata.namespace to it or leave it unset and choose the namespace at apply time.",
			ChecklistItem: checklist.NamespaceDefaults,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				// An unset namespace is chosen at apply time and passes.
				if o.Namespace == "default" {
					return []check.Finding{check.Failf("metadata.namespace", "metadata.namespace is %q", o.Namespace)}
				}
				return nil
			},
		},
	}
}

// workloadCostLabelsRun is workload-cost-labels's Run. Cost tools read
// the labels of pods, which carry their template's labels and not their
// controller's.
func workloadCostLabelsRun(o *inventory.Object, c *check.Context) []check.Finding {
	tmpl, _ := o.PodTemplate()
	if tmpl == nil {
		return nil
	}
	missing := missingLabels(tmpl.Labels, c.Params.CostLabels)
	if len(missing) == 0 {
		return nil
	}
	if o.KindKey() == "Pod" {
		return []check.Finding{check.Failf("metadata.labels", "the Pod lacks cost labels: %s", strings.Join(missing, ", "))}
	}
	msg := fmt.Sprintf("its pod template lacks cost labels: %s, so its pods do not carry them", strings.Join(missing, ", "))
	// The controller's own labels that the template lacks.
	onController := slices.DeleteFunc(slices.Clone(missing), func(k string) bool {
		_, ok := o.Label(k)
		return !ok
	})
	if len(onController) > 0 {
		msg += fmt.Sprintf(" (the %s's own metadata.labels set %s, which do not reach its pods)", o.Kind, strings.Join(onController, ", "))
	}
	return []check.Finding{check.Failf(podLabelsPath(o), "%s", msg)}
}

// labelsUnseen is what a check of a Namespace's own labels says of a
// Namespace that objects are placed in but no input declares: its labels
// cannot be seen, so a label it lacks among the inputs may well be set.
func labelsUnseen(ns *inventory.Object) []check.Finding {
	return []check.Finding{check.NotAssessedf("the Namespace object %s is not among the inputs, so its labels cannot be seen", ns.Name)}
}

// namespaceHas fails a namespace that holds no object of the kind among
// the inputs.
func namespaceHas(ns *inventory.Object, c *check.Context, kind string) []check.Finding {
	if len(c.Inventory.InNamespace(kind, ns.Name)) > 0 {
		return nil
	}
	return []check.Finding{check.Failf("", "namespace %s has no %s among the inputs%s", ns.Name, kind, impliedNote(ns))}
}

func costLabelsConfigured(o *inventory.Object, c *check.Context) (bool, string) {
	if len(c.Params.CostLabels) == 0 {
		return false, "parameters.costLabels is empty"
	}
	return true, ""
}

// missingLabels returns the keys, in the configured order, that a set of
// labels (an object's metadata.labels, a pod template's) lacks. A label
// set to an empty value is present.
func missingLabels(set map[string]string, keys []string) []string {
	var missing []string
	for _, k := range keys {
		if _, ok := set[k]; !ok {
			missing = append(missing, k)
		}
	}
	return missing
}
