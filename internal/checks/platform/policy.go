package platform

import (
	"fmt"
	"strings"

	psaapi "k8s.io/pod-security-admission/api"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/checks/say"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// The platform check of admission policy: an engine (Gatekeeper, Kyverno,
// ValidatingAdmissionPolicies) that enforces rules. apiserver.go,
// gitops.go and scanning.go hold the checks of API server access,
// delivery and image scanning.

// The kinds these checks read, by kind key.
const (
	gatekeeperConstraintGroup = "constraints.gatekeeper.sh"
	kyvernoClusterPolicyKey   = "ClusterPolicy.kyverno.io"
	kyvernoPolicyKey          = "Policy.kyverno.io"
	vapKey                    = "ValidatingAdmissionPolicy.admissionregistration.k8s.io"
	vapBindingKey             = "ValidatingAdmissionPolicyBinding.admissionregistration.k8s.io"
	argoApplicationKey        = "Application.argoproj.io"
	fluxKustomizationKey      = "Kustomization.kustomize.toolkit.fluxcd.io"
	fluxHelmReleaseKey        = "HelmRelease.helm.toolkit.fluxcd.io"
	sigstorePolicyKey         = "ClusterImagePolicy.policy.sigstore.dev"
	vulnerabilityReportKey    = "VulnerabilityReport.aquasecurity.github.io"
)

// policyPlatformChecks judge whether admission enforces rules.
func policyPlatformChecks() []*check.Check {
	return []*check.Check{
		{
			ID:       "policy-enforcement",
			Title:    "An admission policy engine enforces rules",
			Layer:    check.Security,
			Severity: check.High,
			Kinds:    clusterKinds,
			// appNamespaceReads hold every workload kind, platform.Reads among them.
			Reads: append([]string{"Namespace", inventory.GroupKey(gatekeeperConstraintGroup), kyvernoClusterPolicyKey, kyvernoPolicyKey, vapKey, vapBindingKey},
				appNamespaceReads...),
			Rationale: "Rules that are only written down (resource limits, approved registries, no privileged pods) are broken the first time someone is in a hurry; an admission policy engine refuses objects that break them. " +
				"Gatekeeper constraints in dryrun or warn, and Kyverno policies in Audit, only report. Without an engine, Pod Security Admission's enforce label on every application namespace is the least a cluster enforces; a ValidatingAdmissionPolicy bound with Deny enforces too.",
			Remediation:   "Install Gatekeeper or Kyverno and set at least one constraint to enforcementAction: deny, or one Kyverno policy to Enforce (spec.rules[].validate.failureAction, or spec.validationFailureAction in older Kyverno); at the least, label every application namespace pod-security.kubernetes.io/enforce: baseline.",
			ChecklistItem: checklist.PolicyEngine,
			Requires:      check.Cluster,
			Run:           policyEnforcementRun,
		},
	}
}

// policyEnforcementRun passes on the first of: a running Gatekeeper with an
// enforcing constraint, a running Kyverno with an Enforce policy, a
// ValidatingAdmissionPolicy bound with Deny, or, without any of them, Pod
// Security Admission enforce labels on every application namespace.
func policyEnforcementRun(o *inventory.Object, c *check.Context) []check.Finding {
	inv := c.Inventory
	engines := platform.Find(inv, platform.PolicyEngine)
	gkOK, gk := gatekeeperEnforcement(implMatches(engines, "Gatekeeper"), inv.OfGroup(gatekeeperConstraintGroup))
	kyOK, ky := kyvernoEnforcement(implMatches(engines, "Kyverno"), kyvernoPolicies(inv))
	vapOK, vap := admissionPolicies(inv)
	var evidence, gaps []string
	for _, r := range []struct {
		ok   bool
		text string
	}{{gkOK, gk}, {kyOK, ky}} {
		switch {
		case r.ok:
			evidence = append(evidence, r.text)
		case r.text != "":
			gaps = append(gaps, r.text)
		}
	}
	if vapOK {
		evidence = append(evidence, vap)
	}
	if len(evidence) > 0 {
		if !vapOK {
			evidence = append(evidence, vap)
		}
		return []check.Finding{check.Passf("%s", strings.Join(evidence, "; "))}
	}
	apps := appNamespaces(c)
	var missing, labelled []string
	for _, ns := range apps {
		level, ok := ns.Label(psaapi.EnforceLevelLabel)
		switch {
		case level == string(psaapi.LevelBaseline) || level == string(psaapi.LevelRestricted):
			labelled = append(labelled, fmt.Sprintf("%s (%s)", ns.Name, level))
		case ok:
			missing = append(missing, fmt.Sprintf("%s (%s=%s)", ns.Name, psaapi.EnforceLevelLabel, level))
		default:
			missing = append(missing, ns.Name)
		}
	}
	if len(apps) > 0 && len(missing) == 0 {
		return []check.Finding{check.Passf("no policy engine enforces, but every application namespace enforces a Pod Security Standard (label %s): %s; %s",
			psaapi.EnforceLevelLabel, say.List(labelled, ", "), vap)}
	}
	out := make([]check.Finding, 0, len(gaps)+1)
	for _, g := range gaps {
		out = append(out, check.Failf("", "%s", g))
	}
	engine := "no policy engine (Gatekeeper, Kyverno) is installed"
	if len(gaps) > 0 {
		engine = "no policy engine enforces"
	}
	if len(apps) == 0 {
		out = append(out, check.Failf("", "%s, and no application namespace enforces Pod Security Admission in its place; %s", engine, vap))
	} else {
		out = append(out, check.Failf("", "%s, and application namespaces enforce no Pod Security Standard (label %s: baseline or restricted): %s; %s",
			engine, psaapi.EnforceLevelLabel, say.List(missing, ", "), vap))
	}
	return out
}

// implMatches keeps the matches of one implementation.
func implMatches(ms []platform.Match, name string) []platform.Match {
	var out []platform.Match
	for _, m := range ms {
		if m.Impl.Name == name {
			out = append(out, m)
		}
	}
	return out
}

// engineState describes a policy engine's workloads, and says whether one
// runs; policies counts its policies ("2 constraints"). It returns "" when
// the engine has neither workloads nor policies.
func engineState(name string, ms []platform.Match, policies string) (running bool, text string) {
	up, down := platform.Running(ms)
	switch {
	case len(up) > 0:
		return true, name + " runs (" + platform.Describe(up) + ")"
	case len(down) > 0:
		return false, fmt.Sprintf("%s does not run (%s), so it enforces nothing (%s)", name, strings.Join(down, "; "), policies)
	case !strings.HasPrefix(policies, "0 "):
		return false, fmt.Sprintf("%s has %s but no workload of it runs, so it enforces nothing", name, policies)
	}
	return false, ""
}

// gatekeeperEnforcement judges Gatekeeper: it enforces when it runs and a
// constraint's spec.enforcementAction is deny (the default), or scoped
// with a deny action.
func gatekeeperEnforcement(ms []platform.Match, constraints []*inventory.Object) (bool, string) {
	running, state := engineState("Gatekeeper", ms, say.Count(len(constraints), "constraint", "constraints"))
	if !running {
		return false, state
	}
	var enforcing, reporting []string
	for _, k := range constraints {
		action := k.FieldString("spec", "enforcementAction")
		if action == "" || strings.EqualFold(action, "deny") || (action == "scoped" && scopedDeny(k)) {
			enforcing = append(enforcing, k.Kind+" "+k.Name)
		} else {
			reporting = append(reporting, fmt.Sprintf("%s %s (spec.enforcementAction=%s)", k.Kind, k.Name, action))
		}
	}
	return engineVerdict(state, "constraint", "constraints", " (deny)", enforcing, reporting)
}

// engineVerdict says whether a running engine enforces: it does when some
// of its policies do. Policies are named one and many; how says how they
// enforce.
func engineVerdict(state, one, many, how string, enforcing, reporting []string) (bool, string) {
	switch {
	case len(enforcing) > 0:
		return true, fmt.Sprintf("%s and enforces %s%s: %s", state, say.Count(len(enforcing), one, many), how, say.List(enforcing, ", "))
	case len(reporting) > 0:
		return false, fmt.Sprintf("%s but none of its %s enforces: %s", state, say.Count(len(reporting), one, many), say.List(reporting, ", "))
	}
	return false, state + " but has no " + one
}

// scopedDeny reports whether a constraint with enforcementAction scoped
// denies at some enforcement point.
func scopedDeny(k *inventory.Object) bool {
	actions, _ := k.Field("spec", "scopedEnforcementActions").([]any)
	for _, a := range actions {
		if m, ok := a.(map[string]any); ok && strings.EqualFold(fmt.Sprint(m["action"]), "deny") {
			return true
		}
	}
	return false
}

// kyvernoPolicies returns the ClusterPolicies and Policies.
func kyvernoPolicies(inv *inventory.Inventory) []*inventory.Object {
	return append(append([]*inventory.Object{}, inv.OfKind(kyvernoClusterPolicyKey)...), inv.OfKind(kyvernoPolicyKey)...)
}

// kyvernoEnforcement judges Kyverno: it enforces when it runs and a ready
// policy has a rule that blocks admission.
func kyvernoEnforcement(ms []platform.Match, policies []*inventory.Object) (bool, string) {
	running, state := engineState("Kyverno", ms, say.Count(len(policies), "policy", "policies"))
	if !running {
		return false, state
	}
	var enforcing, reporting []string
	for _, p := range policies {
		name := p.Kind + " " + p.Name
		if p.Namespace != "" {
			name = p.Kind + " " + p.Namespace + "/" + p.Name
		}
		if ready, ok := conditionOf(p, "Ready"); ok && ready.Status == "False" {
			reporting = append(reporting, fmt.Sprintf("%s (not ready: %s)", name, ready.describe()))
			continue
		}
		if kyvernoEnforces(p) {
			enforcing = append(enforcing, name)
			continue
		}
		action := p.FieldString("spec", "validationFailureAction")
		if action == "" {
			action = "Audit, the default"
		}
		reporting = append(reporting, fmt.Sprintf("%s (spec.validationFailureAction=%s, no rule's failureAction is Enforce)", name, action))
	}
	return engineVerdict(state, "policy", "policies", "", enforcing, reporting)
}

// kyvernoEnforces reports whether a Kyverno policy has a validate or
// verifyImages rule whose failure action is Enforce: the rule's own
// failureAction, or the policy's spec.validationFailureAction (older
// Kyverno), compared case-insensitively as Kyverno does.
func kyvernoEnforces(p *inventory.Object) bool {
	policyAction := p.FieldString("spec", "validationFailureAction")
	enforce := func(m map[string]any) bool {
		action, _ := m["failureAction"].(string)
		if action == "" {
			action = policyAction
		}
		return strings.EqualFold(action, "enforce")
	}
	rules, _ := p.Field("spec", "rules").([]any)
	for _, r := range rules {
		rule, _ := r.(map[string]any)
		if v, ok := rule["validate"].(map[string]any); ok && enforce(v) {
			return true
		}
		verify, _ := rule["verifyImages"].([]any)
		for _, item := range verify {
			if m, ok := item.(map[string]any); ok && enforce(m) {
				return true
			}
		}
	}
	return false
}

// admissionPolicies counts the ValidatingAdmissionPolicies and the bindings
// that deny with them, and says whether any policy is bound with Deny.
func admissionPolicies(inv *inventory.Inventory) (bool, string) {
	policies := inv.OfKind(vapKey)
	var denying []string
	for _, b := range inv.OfKind(vapBindingKey) {
		name := b.FieldString("spec", "policyName")
		if inv.Get(vapKey, "", name) == nil {
			continue
		}
		actions, _ := b.Field("spec", "validationActions").([]any)
		for _, a := range actions {
			if a == "Deny" {
				denying = append(denying, fmt.Sprintf("%s by binding %s", name, b.Name))
				break
			}
		}
	}
	if len(denying) > 0 {
		return true, fmt.Sprintf("%s, %d bound with Deny, which enforces: %s", say.Count(len(policies), "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicies"), len(denying), say.List(denying, ", "))
	}
	if len(policies) == 0 {
		return false, "no ValidatingAdmissionPolicy"
	}
	return false, say.Count(len(policies), "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicies") + ", none bound with Deny"
}

// The API server checks judge the kube-apiserver static pods when the
// cluster shows them, and the cluster (as not assessed) when it does not.
var (
	apiserverKinds = []string{inventory.ClusterKey, "Pod"}
	// apiserverReads are what platform.Managed reads besides the cluster.
	apiserverReads = []string{"Node"}
)

// The examples are cluster objects as the API server returns them, status
// included.
