package platform

import (
	"fmt"
	"strings"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/checks/say"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// gitopsChecks judge whether a GitOps controller delivers the cluster's
// desired state, and whether what it delivers is in sync.
func gitopsChecks() []*check.Check {
	return []*check.Check{
		{
			ID:            "gitops-installed",
			Title:         "A GitOps controller runs",
			Layer:         check.ClusterServices,
			Severity:      check.Medium,
			Kinds:         clusterKinds,
			Reads:         append(append([]string{}, platform.Reads...), platform.CRDKey),
			Rationale:     "Without a GitOps controller, what runs in the cluster is whatever someone last applied by hand or from a CI job: no one place says what production should be, a manual change is never rolled back, and a lost cluster cannot be rebuilt from Git.",
			Remediation:   "Install Argo CD or Flux and deliver the applications from Git through it (an Argo CD Application, or a Flux Kustomization or HelmRelease, per application).",
			ChecklistItem: checklist.GitOpsDesiredState,
			Requires:      check.Cluster,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				return gitopsRuns(c.Inventory)
			},
		},
		{
			ID:            "gitops-synced",
			Title:         "GitOps applications are synced and healthy",
			Layer:         check.ClusterServices,
			Severity:      check.High,
			Kinds:         []string{argoApplicationKey, fluxHelmReleaseKey, fluxKustomizationKey},
			Rationale:     "An application the GitOps controller cannot sync leaves the cluster running something other than what Git says: a fix merged in Git never arrives, and a manual change stays. A degraded or suspended one hides the same drift behind a tool everyone trusts.",
			Remediation:   "Look at the application's conditions (argocd app get, flux get kustomizations) and fix what blocks it: a manifest the API server refuses, a missing CRD or namespace, an unreachable repository; resume a suspended Flux object (flux resume) once the reason is gone.",
			ChecklistItem: checklist.GitOpsRollsBack,
			Requires:      check.Cluster,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				if o.KindKey() == argoApplicationKey {
					return argoSynced(o)
				}
				return fluxReady(o)
			},
		},
	}
}

// gitopsRuns passes when a GitOps controller runs, with its workloads as
// evidence. It fails naming the installed but stopped ones.
func gitopsRuns(inv *inventory.Inventory) []check.Finding {
	running, down := platform.Running(platform.Find(inv, platform.GitOps))
	if len(running) > 0 {
		var each []string
		for _, m := range running {
			each = append(each, readyText(m))
		}
		return []check.Finding{check.Passf("%s", strings.Join(each, "; "))}
	}
	if len(down) > 0 {
		return []check.Finding{check.Failf("", "%s: the GitOps controller does not run, so nothing is synced from Git", strings.Join(down, "; "))}
	}
	var installed []string
	seen := map[string]bool{}
	for _, crd := range platform.Installed(inv, platform.GitOps) {
		if !seen[crd.Impl.Name] {
			seen[crd.Impl.Name] = true
			installed = append(installed, fmt.Sprintf("%s (CRD %s)", crd.Impl.Name, crd.Name))
		}
	}
	if len(installed) > 0 {
		return []check.Finding{check.Failf("", "%s installed, but no workload of it runs in the cluster", strings.Join(installed, " and "))}
	}
	return []check.Finding{check.Failf("", "no GitOps controller (%s) is installed: changes reach the cluster by hand or from CI jobs, and nothing rolls back a manual change", implementationNames(platform.GitOps))}
}

// argoSynced judges an Argo CD Application by its sync and health status.
// Progressing and Suspended health are states a healthy application passes
// through, not failures.
func argoSynced(o *inventory.Object) []check.Finding {
	var out []check.Finding
	sync := o.FieldString("status", "sync", "status")
	revision := o.FieldString("status", "sync", "revision")
	switch sync {
	case "Synced":
	case "":
		out = append(out, check.Failf("status.sync.status", "status.sync.status is unset: Argo CD has not compared the application with Git (does its application controller run?)"))
	default:
		msg := fmt.Sprintf("status.sync.status is %s: the cluster differs from Git", sync)
		if revision != "" {
			msg += " at revision " + revision
		}
		if phase := o.FieldString("status", "operationState", "phase"); phase == "Failed" || phase == "Error" {
			msg += fmt.Sprintf("; the last sync %s: %s", phase, say.Brief(o.FieldString("status", "operationState", "message")))
		}
		out = append(out, check.Failf("status.sync.status", "%s", msg))
	}
	health := o.FieldString("status", "health", "status")
	switch health {
	case "Healthy", "Progressing", "Suspended", "":
	default:
		msg := fmt.Sprintf("status.health.status is %s", health)
		if m := o.FieldString("status", "health", "message"); m != "" {
			msg += ": " + say.Brief(m)
		}
		out = append(out, check.Failf("status.health.status", "%s", msg))
	}
	if len(out) > 0 {
		return out
	}
	ev := "status.sync.status Synced"
	if revision != "" {
		ev += " at revision " + revision
	}
	if health != "" {
		ev += ", status.health.status " + health
	}
	return []check.Finding{check.Passf("%s", ev)}
}

// fluxReady judges a Flux Kustomization or HelmRelease by its Ready
// condition and spec.suspend. Ready=Unknown while it reconciles is a state
// it passes through.
func fluxReady(o *inventory.Object) []check.Finding {
	var out []check.Finding
	if suspend, _ := o.Field("spec", "suspend").(bool); suspend {
		out = append(out, check.Failf("spec.suspend", "spec.suspend is true: Flux no longer reconciles it, so changes in Git stop reaching the cluster and manual changes stay"))
	}
	ready, ok := conditionOf(o, "Ready")
	switch {
	case !ok:
		out = append(out, check.Failf("status.conditions", "no Ready condition in status.conditions: Flux has not reconciled it (does its controller run?)"))
	case ready.Status == "True", ready.Status == "Unknown" && ready.Reason == "Progressing":
		if len(out) == 0 {
			return []check.Finding{check.Passf("status.conditions[%d] %s", ready.Index, ready.describe())}
		}
	default:
		out = append(out, check.Failf(fmt.Sprintf("status.conditions[%d]", ready.Index), "%s: Flux cannot apply what Git holds", ready.describe()))
	}
	return out
}
