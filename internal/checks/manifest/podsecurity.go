package manifest

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	psaapi "k8s.io/pod-security-admission/api"
	psa "k8s.io/pod-security-admission/policy"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/checks/pod"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

// pssControls are the Pod Security Admission library's own checks
// (psa.DefaultChecks), so plimsoll judges pods exactly as the API server's
// admission plugin would. Each is taken at its latest version, in the
// order of their IDs, as the library's evaluator runs them at the latest
// policy version; they are called directly because the evaluator's result
// slices were two fifths of the garbage an audit made.
// TestPSSControlsMatchEvaluator holds them to the evaluator. They are
// built once, on first use, and are read-only afterwards:
//   - baseline: the baseline level's controls;
//   - restricted: the restricted level's own controls, since the baseline
//     ones are pss-baseline's findings;
//   - overridden: the baseline controls a restricted control replaces, whose
//     failures the restricted control would only repeat;
//   - atRestricted: what the restricted level runs, the baseline controls
//     no restricted one replaces and then the restricted ones.
var pssControls = sync.OnceValue(func() pssSet { return pssControlsAt(psaapi.LatestVersion()) })

type pssSet struct{ baseline, restricted, overridden, atRestricted []psa.CheckPodFn }

// pssControlsAt returns the controls as the evaluator runs them at a
// policy version (populate in k8s.io/pod-security-admission/policy): each
// check at its newest version no newer than v (one with none is not run),
// and the overrides the restricted checks make at that version. A
// namespace that pins an older version (enforce-version: v1.24) is judged
// by those.
func pssControlsAt(v psaapi.Version) pssSet {
	checks := slices.SortedFunc(slices.Values(psa.DefaultChecks()), func(a, b psa.Check) int {
		return strings.Compare(string(a.ID), string(b.ID))
	})
	at := func(c psa.Check) *psa.VersionedCheck {
		var found *psa.VersionedCheck
		for i := range c.Versions {
			if !v.Older(c.Versions[i].MinimumVersion) {
				found = &c.Versions[i]
			}
		}
		return found
	}
	replaced := map[psa.CheckID]bool{}
	for _, c := range checks {
		if vc := at(c); vc != nil && c.Level == psaapi.LevelRestricted {
			for _, id := range vc.OverrideCheckIDs {
				replaced[id] = true
			}
		}
	}
	var set pssSet
	for _, c := range checks {
		vc := at(c)
		switch {
		case vc == nil:
		case c.Level == psaapi.LevelRestricted:
			set.restricted = append(set.restricted, vc.CheckPod)
		case replaced[c.ID]:
			set.overridden = append(set.overridden, vc.CheckPod)
			set.baseline = append(set.baseline, vc.CheckPod)
		default:
			set.baseline = append(set.baseline, vc.CheckPod)
			set.atRestricted = append(set.atRestricted, vc.CheckPod)
		}
	}
	set.atRestricted = append(set.atRestricted, set.restricted...)
	return set
}

// pssAt returns the controls Pod Security admission runs at a level and
// version, in its order. The sets of pinned versions are built once each.
func pssAt(lv psaapi.LevelVersion) []psa.CheckPodFn {
	set := pssControls()
	if !lv.Version.Latest() {
		cached, ok := pssByVersion.Load(lv.Version)
		if !ok {
			cached, _ = pssByVersion.LoadOrStore(lv.Version, pssControlsAt(lv.Version))
		}
		set = cached.(pssSet)
	}
	if lv.Level == psaapi.LevelRestricted {
		return set.atRestricted
	}
	return set.baseline
}

// pssByVersion holds pssControlsAt of the pinned versions namespaces use.
var pssByVersion sync.Map

// pssViolations runs controls on a workload's pod template and returns
// those it violates.
func pssViolations(o *inventory.Object, controls []psa.CheckPodFn) []psa.CheckResult {
	tmpl, _ := o.PodTemplate()
	return templateViolations(tmpl, controls)
}

// templateViolations runs controls on a pod template and returns those it
// violates.
func templateViolations(tmpl *corev1.PodTemplateSpec, controls []psa.CheckPodFn) []psa.CheckResult {
	if tmpl == nil {
		return nil
	}
	var out []psa.CheckResult
	for _, control := range controls {
		if r := control(&tmpl.ObjectMeta, &tmpl.Spec); !r.Allowed {
			out = append(out, r)
		}
	}
	return out
}

// restrictedOverrides maps a restricted control to the baseline control it
// replaces at the restricted level, where their names differ. The
// restricted control repeats what the baseline one found (a hostPath volume
// is also a restricted volume type, an added SYS_ADMIN is also an
// unrestricted capability), so when the baseline control already failed the
// restricted one is not reported again.
var restrictedOverrides = map[string]string{
	"unrestricted capabilities": "non-default capabilities",
	"restricted volume types":   "hostPath volumes",
}

func pssFinding(o *inventory.Object, level psaapi.Level, r psa.CheckResult) check.Finding {
	msg := fmt.Sprintf("violates the %s Pod Security Standard control %q", level, r.ForbiddenReason)
	if r.ForbiddenDetail != "" {
		msg += ": " + r.ForbiddenDetail
	}
	// Every control fails at the pod spec: the control tells them apart.
	return check.Finding{Path: o.SpecPath(""), Message: msg, Key: r.ForbiddenReason}
}

func podSecurityChecks() []*check.Check {
	return []*check.Check{
		{
			ID:            "pss-baseline",
			Title:         "Pods meet the baseline Pod Security Standard",
			Layer:         check.Security,
			Severity:      check.High,
			Kinds:         pod.WorkloadKinds,
			Rationale:     "The baseline Pod Security Standard forbids the known privilege escalations: privileged containers, host namespaces, hostPath volumes, host ports, added capabilities. A pod that violates it can take over its node, and a namespace enforcing baseline will refuse to run it.",
			Remediation:   "Remove the privileged settings the finding names (privileged, hostNetwork/hostPID/hostIPC, hostPath volumes, hostPort, added capabilities, unconfined seccomp or AppArmor), or move a workload that truly needs them to a dedicated, exempted namespace.",
			ChecklistItem: checklist.PSSBaseline,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				var out []check.Finding
				for _, r := range pssViolations(o, pssControls().baseline) {
					out = append(out, pssFinding(o, psaapi.LevelBaseline, r))
				}
				return out
			},
		},
		{
			ID:            "pss-restricted",
			Title:         "Pods meet the restricted Pod Security Standard",
			Layer:         check.Security,
			Severity:      check.Medium,
			Kinds:         pod.WorkloadKinds,
			Rationale:     "The restricted Pod Security Standard is the hardened profile: non-root, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp. A compromised process in such a pod has far less to work with. Violations of the baseline standard are reported by pss-baseline and not repeated here.",
			Remediation:   "Set runAsNonRoot: true and seccompProfile type RuntimeDefault in the pod securityContext, and allowPrivilegeEscalation: false and capabilities drop [ALL] in every container's securityContext (but a privileged one, or one that adds CAP_SYS_ADMIN, where the API server rejects allowPrivilegeEscalation: false).",
			ChecklistItem: checklist.PSSRestricted,
			Run:           pssRestrictedRun,
		},
		{
			ID:            "namespace-pss-enforce",
			Title:         "Application namespaces enforce a Pod Security Standard",
			Layer:         check.Security,
			Severity:      check.High,
			Kinds:         []string{"Namespace"},
			Rationale:     "Without an enforce label, Pod Security Admission lets any pod into the namespace, privileged ones included; the label is the cluster's guarantee, where workload checks only judge what is declared today.",
			Remediation:   "Label the Namespace pod-security.kubernetes.io/enforce: baseline, or restricted where the workloads allow it.",
			ChecklistItem: checklist.PSSBaseline,
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				if c.Params.IsSystemNamespace(o.Name) {
					return false, fmt.Sprintf("%s is a system namespace", o.Name)
				}
				return true, ""
			},
			Run: namespacePssEnforceRun,
		},
		{
			ID:            "automount-service-account-token",
			Title:         "Pods that do not use the API do not mount a ServiceAccount token",
			Layer:         check.Security,
			Severity:      check.Medium,
			Kinds:         pod.WorkloadKinds,
			Reads:         []string{"ClusterRoleBinding", "RoleBinding", "ServiceAccount"},
			Rationale:     "Every pod gets an API token mounted unless told otherwise. A pod that never calls the API gains nothing from it, and an attacker who breaks into the pod gains an identity to probe the cluster with.",
			Remediation:   "Set automountServiceAccountToken: false in the pod spec or on its ServiceAccount; pods that call the API should use their own ServiceAccount with a RoleBinding among the manifests.",
			ChecklistItem: checklist.RBACLeastPrivilege,
			Run:           automountServiceAccountTokenRun,
		},
		{
			ID:            "default-service-account",
			Title:         "Pods run as their own ServiceAccount",
			Layer:         check.Security,
			Severity:      check.Medium,
			Kinds:         pod.WorkloadKinds,
			Rationale:     "Every pod that names no ServiceAccount shares the namespace's default one: a permission granted to one of them is granted to all, and audit logs cannot tell them apart.",
			Remediation:   "Create a ServiceAccount for the workload and set serviceAccountName in its pod spec.",
			ChecklistItem: checklist.RBACLeastPrivilege,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				spec := pod.Spec(o)
				if spec == nil || serviceAccountName(spec) != "default" {
					return nil
				}
				// One message whether the field is unset or says "default":
				// the API server fills it in on Pods, so a live Pod and its
				// manifest must read the same.
				return []check.Finding{check.Failf(o.SpecPath("serviceAccountName"), "the pod runs as the namespace's shared \"default\" ServiceAccount")}
			},
		},
		{
			ID:            "secret-literal-env",
			Title:         "Secrets are not written into env values",
			Layer:         check.Security,
			Severity:      check.High,
			Kinds:         pod.WorkloadKinds,
			Rationale:     "A password or token written as a literal env value lives in Git, in every rendered manifest and in the workload object, which far more people and tools can read than the Secret it belongs in; rotating it means a redeploy. A value shaped like a credential (a private key, a cloud, GitHub or Slack token, a JSON Web Token, a password in a URL) is one whatever the variable is called.",
			Remediation:   "Move the value into a Secret (or an external secret store synced by an operator) and reference it with valueFrom.secretKeyRef.",
			ChecklistItem: checklist.SecretReferencesInGit,
			Run:           secretLiteralEnvRun,
		},
		{
			ID:            "container-read-only-root-fs",
			Title:         "Containers run with a read-only root filesystem",
			Layer:         check.Security,
			Severity:      check.Low,
			Kinds:         pod.WorkloadKinds,
			Rationale:     "A writable root filesystem lets an attacker who gets into a container drop tools and change binaries, and lets the application write state that vanishes on restart; a read-only root makes both impossible.",
			Remediation:   "Set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where the application must write (for example /tmp).",
			ChecklistItem: checklist.DefenseInDepth,
			Run:           containerReadOnlyRootFsRun,
		},
	}
}

// pssRestrictedRun is pss-restricted's Run.
func pssRestrictedRun(o *inventory.Object, c *check.Context) []check.Finding {
	baseline := map[string]bool{}
	for _, r := range pssViolations(o, pssControls().overridden) {
		baseline[r.ForbiddenReason] = true
	}
	var out []check.Finding
	for _, r := range templateViolations(restrictedTemplate(o), pssControls().restricted) {
		if baseline[r.ForbiddenReason] || baseline[restrictedOverrides[r.ForbiddenReason]] {
			continue
		}
		out = append(out, pssFinding(o, psaapi.LevelRestricted, r))
	}
	return out
}

// restrictedTemplate is the pod template the restricted controls judge: the
// workload's own, but with allowPrivilegeEscalation taken as false in the
// containers where the API server rejects that setting, so that
// pss-restricted never asks for an invalid object. Their privileged
// setting or added capability is pss-baseline's finding.
func restrictedTemplate(o *inventory.Object) *corev1.PodTemplateSpec {
	tmpl, _ := o.PodTemplate()
	if tmpl == nil || !slices.ContainsFunc(pod.Containers(o), func(c pod.Container) bool { return escalationBound(c.SecurityContext) }) {
		return tmpl
	}
	judged := tmpl.DeepCopy()
	for _, list := range [][]corev1.Container{judged.Spec.InitContainers, judged.Spec.Containers} {
		for i := range list {
			if sc := list[i].SecurityContext; escalationBound(sc) {
				sc.AllowPrivilegeEscalation = new(bool)
			}
		}
	}
	for i := range judged.Spec.EphemeralContainers {
		if sc := judged.Spec.EphemeralContainers[i].SecurityContext; escalationBound(sc) {
			sc.AllowPrivilegeEscalation = new(bool)
		}
	}
	return judged
}

// escalationBound reports whether a container's securityContext makes
// allowPrivilegeEscalation: false invalid: it is privileged, or adds
// CAP_SYS_ADMIN (ValidateSecurityContext in
// k8s.io/kubernetes/pkg/apis/core/validation/validation.go, which compares
// the capability's name as written).
func escalationBound(sc *corev1.SecurityContext) bool {
	if sc == nil {
		return false
	}
	if sc.Privileged != nil && *sc.Privileged {
		return true
	}
	return sc.Capabilities != nil && slices.Contains(sc.Capabilities.Add, "CAP_SYS_ADMIN")
}

// namespacePssEnforceRun is namespace-pss-enforce's Run.
func namespacePssEnforceRun(o *inventory.Object, c *check.Context) []check.Finding {
	if o.Implied {
		return labelsUnseen(o)
	}
	v, ok := o.Label(psaapi.EnforceLevelLabel)
	var msg string
	switch {
	case !ok:
		msg = fmt.Sprintf("namespace %s has no %s label, so any pod may run in it", o.Name, psaapi.EnforceLevelLabel)
	case v == string(psaapi.LevelBaseline) || v == string(psaapi.LevelRestricted):
		return nil
	case v == string(psaapi.LevelPrivileged):
		msg = fmt.Sprintf("namespace %s enforces the privileged level (%s=privileged), which allows any pod", o.Name, psaapi.EnforceLevelLabel)
	default:
		msg = fmt.Sprintf("namespace %s has %s=%q, which is not a level (want baseline or restricted)", o.Name, psaapi.EnforceLevelLabel, v)
	}
	return []check.Finding{{Path: "metadata.labels", Message: msg}}
}

// automountServiceAccountTokenRun is automount-service-account-token's Run.
func automountServiceAccountTokenRun(o *inventory.Object, c *check.Context) []check.Finding {
	spec := pod.Spec(o)
	if spec == nil {
		return nil
	}
	sa := serviceAccountName(spec)
	// The pod-level setting wins over the ServiceAccount's. An
	// explicit true at either level is a deliberate request for
	// the token: Vault's Kubernetes auth and cloud workload
	// identity use it without any RBAC binding.
	mount := spec.AutomountServiceAccountToken
	account := c.Inventory.Get("ServiceAccount", o.Namespace, sa)
	if mount == nil && account != nil {
		if t, ok := account.Typed.(*corev1.ServiceAccount); ok {
			mount = t.AutomountServiceAccountToken
		}
	}
	if mount != nil {
		return nil
	}
	if len(c.Inventory.Bindings(o.Namespace, sa)) > 0 || namespaceGroupBound(c.Inventory, o.Namespace) {
		return nil
	}
	path := o.SpecPath("automountServiceAccountToken")
	if account == nil {
		// Its setting cannot be seen: say so rather than that it has none.
		return []check.Finding{check.Failf(path, "automountServiceAccountToken is not set on the pod, so it mounts the API token of ServiceAccount %q unless that ServiceAccount, which is not among the inputs, turns it off; no RoleBinding or ClusterRoleBinding among the inputs grants that ServiceAccount anything", sa)}
	}
	return []check.Finding{check.Failf(path,
		"pod mounts the API token of ServiceAccount %q (automountServiceAccountToken is set neither on the pod nor on the ServiceAccount), but no RoleBinding or ClusterRoleBinding among the inputs grants that ServiceAccount anything", sa)}
}

// containerReadOnlyRootFsRun is container-read-only-root-fs's Run.
func containerReadOnlyRootFsRun(o *inventory.Object, c *check.Context) []check.Finding {
	var out []check.Finding
	for _, ct := range pod.RunningContainers(o) {
		sc := ct.SecurityContext
		switch {
		case sc == nil || sc.ReadOnlyRootFilesystem == nil:
			out = append(out, check.Failf(ct.Path()+".securityContext.readOnlyRootFilesystem", "%s does not set readOnlyRootFilesystem: true", ct.Describe()))
		case !*sc.ReadOnlyRootFilesystem:
			out = append(out, check.Failf(ct.Path()+".securityContext.readOnlyRootFilesystem", "%s sets readOnlyRootFilesystem: false", ct.Describe()))
		}
	}
	return out
}

// serviceAccountName returns the ServiceAccount a pod runs as, honouring the
// deprecated serviceAccount field the API server still accepts.
func serviceAccountName(spec *corev1.PodSpec) string {
	switch {
	case spec.ServiceAccountName != "":
		return spec.ServiceAccountName
	case spec.DeprecatedServiceAccount != "":
		return spec.DeprecatedServiceAccount
	}
	return "default"
}

// namespaceGroupBound reports whether a binding among the inputs grants
// something to every ServiceAccount of a namespace, through the group
// system:serviceaccounts:<namespace>. The cluster-wide groups
// (system:serviceaccounts, system:authenticated) are not counted: built-in
// bindings always name them, so they say nothing about this pod.
func namespaceGroupBound(inv *inventory.Inventory, namespace string) bool {
	for _, b := range inv.GroupBindings("system:serviceaccounts:" + namespace) {
		if b.KindKey() == "ClusterRoleBinding" || b.Namespace == namespace {
			return true
		}
	}
	return false
}
