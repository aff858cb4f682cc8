package platform

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	psaapi "k8s.io/pod-security-admission/api"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/pod"
	"github.com/plimsoll/plimsoll/internal/checks/say"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// The platform checks of admission policy, API server access, delivery and
// image scanning. They judge what a cluster runs, so they need a live
// cluster or a snapshot.

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

const itemGitOps = "GitOps Deployments: Kubernetes desired state configuration should be present in GIT, and we need a deployment platform that rolls out to Kubernetes. (from Liju Kuriakose’s “Kubernetes in production”)"

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
			ChecklistItem: "Cluster policies and rules: For custom rules enforcement, you may deploy an open policy agent, such as OPA Gatekeeper. (from Aly Saleh’s “Kubernetes Production Readiness”)",
			Requires:      check.Cluster,
			Run:           policyEnforcementRun,
		},
		{
			ID:       "apiserver-audit-logging",
			Title:    "The API server writes an audit log",
			Layer:    check.Security,
			Severity: check.High,
			Kinds:    apiserverKinds,
			Reads:    apiserverReads,
			Rationale: "The audit log is the only record of who changed what through the API: without --audit-policy-file the API server records no event at all, and without a log path or webhook the events go nowhere, so an incident cannot be reconstructed. " +
				"The check reads the flags of the kube-apiserver static pods; where the control plane is managed or runs outside the cluster, they are not visible and the check is not assessed.",
			Remediation:   "Start kube-apiserver with --audit-policy-file pointing at an audit Policy and --audit-log-path (with --audit-log-maxage, --audit-log-maxbackup) or --audit-webhook-config-file; on a managed control plane, turn on the provider's audit logs.",
			ChecklistItem: "Security: Audit is another important component of security in general. Any change, no matter how small, should be logged for anomalies and intrusion detection, regulatory requirements, and troubleshooting. (from the “Kubernetes in prod” blog series)",
			Requires:      check.Cluster,
			Applies:       apiserverApplies,
			Run: apiserverRun(func(api apiServer) []check.Finding {
				var out []check.Finding
				if api.flags["audit-log-path"] == "" && api.flags["audit-webhook-config-file"] == "" {
					out = append(out, check.Failf(api.path, "container %s sets neither --audit-log-path nor --audit-webhook-config-file: audit events are written nowhere", api.container))
				}
				if api.flags["audit-policy-file"] == "" {
					out = append(out, check.Failf(api.path, "container %s sets no --audit-policy-file: without an audit policy the API server records no event", api.container))
				}
				if len(out) > 0 {
					return out
				}
				sink := "audit-log-path"
				if api.flags[sink] == "" {
					sink = "audit-webhook-config-file"
				}
				return []check.Finding{check.Passf("container %s sets %s and %s", api.container, api.flag("audit-policy-file"), api.flag(sink))}
			}),
		},
		{
			ID:       "apiserver-oidc",
			Title:    "The API server authenticates users through an identity provider",
			Layer:    check.Security,
			Severity: check.Medium,
			Kinds:    apiserverKinds,
			Reads:    apiserverReads,
			Rationale: "Without an identity provider, people reach the API with client certificates or static tokens: a certificate cannot be revoked before it expires, and leaving the company does not end its access. " +
				"OIDC (--oidc-issuer-url, or --authentication-config in Kubernetes 1.30 and later) or a webhook token authenticator (aws-iam-authenticator, Guard) ties access to accounts managed in one place. Managed control planes do not show their flags, so there the check is not assessed.",
			Remediation:   "Configure the API server with your identity provider: --oidc-issuer-url, --oidc-client-id and --oidc-username-claim, or an AuthenticationConfiguration file passed with --authentication-config; bind RBAC roles to the provider's groups.",
			ChecklistItem: "Control cluster access: Integrate with an external authentication provider to authenticate cluster’s users, such as LDAP, OpenID Connect (OIDC), and AWS IAM. (from Aly Saleh’s “Kubernetes Production Readiness”)",
			Requires:      check.Cluster,
			Applies:       apiserverApplies,
			Run: apiserverRun(func(api apiServer) []check.Finding {
				for _, f := range []string{"oidc-issuer-url", "authentication-config", "authentication-token-webhook-config-file"} {
					if api.flags[f] != "" {
						return []check.Finding{check.Passf("container %s sets %s", api.container, api.flag(f))}
					}
				}
				return []check.Finding{check.Failf(api.path, "container %s sets none of --oidc-issuer-url, --authentication-config and --authentication-token-webhook-config-file: users authenticate with client certificates or static tokens, which cannot be revoked centrally", api.container)}
			}),
		},
		{
			ID:            "gitops-installed",
			Title:         "A GitOps controller runs",
			Layer:         check.ClusterServices,
			Severity:      check.Medium,
			Kinds:         clusterKinds,
			Reads:         append(append([]string{}, platform.Reads...), platform.CRDKey),
			Rationale:     "Without a GitOps controller, what runs in the cluster is whatever someone last applied by hand or from a CI job: no one place says what production should be, a manual change is never rolled back, and a lost cluster cannot be rebuilt from Git.",
			Remediation:   "Install Argo CD or Flux and deliver the applications from Git through it (an Argo CD Application, or a Flux Kustomization or HelmRelease, per application).",
			ChecklistItem: itemGitOps,
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
			ChecklistItem: "GitOps Deployments: Even if a rogue developer tries to manually change something in production, the GitOps platform will immediately roll back the change to the desired change. (from Liju Kuriakose’s “Kubernetes in production”)",
			Requires:      check.Cluster,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				if o.KindKey() == argoApplicationKey {
					return argoSynced(o)
				}
				return fluxReady(o)
			},
		},
		{
			ID:       "image-scanning",
			Title:    "Images are scanned or verified in the cluster",
			Layer:    check.Security,
			Severity: check.Medium,
			Kinds:    clusterKinds,
			Reads:    append(append([]string{}, platform.Reads...), kyvernoClusterPolicyKey, kyvernoPolicyKey, sigstorePolicyKey),
			Rationale: "A scan in CI judges an image against the vulnerabilities known the day it was built; the images running months later are affected by CVEs published since. " +
				"An in-cluster scanner (the Trivy Operator) rescans what runs, and an admission policy that verifies signatures (Kyverno verifyImages, Sigstore policy-controller, Connaisseur) keeps images that did not pass the pipeline out.",
			Remediation:   "Install the Trivy Operator (helm install trivy-operator aqua/trivy-operator) and alert on its VulnerabilityReports, or verify image signatures at admission with a Kyverno verifyImages rule, a Sigstore ClusterImagePolicy or Connaisseur.",
			ChecklistItem: "Image Scanning: For continuous in-cluster scanning, deploy Trivy Operator, which scans running workloads and reports vulnerabilities as Kubernetes custom resources. (from the “Production Readiness” book chapter)",
			Requires:      check.Cluster,
			Run:           imageScanningRun,
		},
		{
			ID:            "image-vulnerabilities-critical",
			Title:         "Running images have no CRITICAL vulnerabilities",
			Layer:         check.Security,
			Severity:      check.High,
			Kinds:         pod.WorkloadKinds,
			Reads:         []string{vulnerabilityReportKey},
			Rationale:     "A CRITICAL vulnerability is one that is usually exploitable remotely with no credentials; a workload that runs an image with one, as the Trivy Operator's VulnerabilityReports show, is an open door however well the rest of the cluster is configured.",
			Remediation:   "Rebuild the image on a patched base image or upgrade the affected packages to their fixed versions (the report's fixedVersion), roll it out, and let the Trivy Operator rescan it.",
			ChecklistItem: "Image quality and vulnerability scanning: For that, you should run a pipeline to scan images deployed to the cluster for security vulnerabilities and deviations from quality standards. (from Aly Saleh’s “Kubernetes Production Readiness”)",
			Requires:      check.Cluster,
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				if len(vulnerabilityReports(c.Inventory, o)) == 0 {
					return false, "no Trivy VulnerabilityReport for it"
				}
				return true, ""
			},
			Run: criticalVulnerabilitiesRun,
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
	running, state := engineState("Gatekeeper", ms, count(len(constraints), "constraint", "constraints"))
	if !running {
		return false, state
	}
	var enforcing, reporting []string
	for _, k := range constraints {
		action := fieldString(k, "spec", "enforcementAction")
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
		return true, fmt.Sprintf("%s and enforces %s%s: %s", state, count(len(enforcing), one, many), how, say.List(enforcing, ", "))
	case len(reporting) > 0:
		return false, fmt.Sprintf("%s but none of its %s enforces: %s", state, count(len(reporting), one, many), say.List(reporting, ", "))
	}
	return false, state + " but has no " + one
}

// scopedDeny reports whether a constraint with enforcementAction scoped
// denies at some enforcement point.
func scopedDeny(k *inventory.Object) bool {
	actions, _ := field(k, "spec", "scopedEnforcementActions").([]any)
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
	running, state := engineState("Kyverno", ms, count(len(policies), "policy", "policies"))
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
		action := fieldString(p, "spec", "validationFailureAction")
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
	policyAction := fieldString(p, "spec", "validationFailureAction")
	enforce := func(m map[string]any) bool {
		action, _ := m["failureAction"].(string)
		if action == "" {
			action = policyAction
		}
		return strings.EqualFold(action, "enforce")
	}
	rules, _ := field(p, "spec", "rules").([]any)
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
		name := fieldString(b, "spec", "policyName")
		if inv.Get(vapKey, "", name) == nil {
			continue
		}
		actions, _ := field(b, "spec", "validationActions").([]any)
		for _, a := range actions {
			if a == "Deny" {
				denying = append(denying, fmt.Sprintf("%s by binding %s", name, b.Name))
				break
			}
		}
	}
	if len(denying) > 0 {
		return true, fmt.Sprintf("%s, %d bound with Deny, which enforces: %s", count(len(policies), "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicies"), len(denying), say.List(denying, ", "))
	}
	if len(policies) == 0 {
		return false, "no ValidatingAdmissionPolicy"
	}
	return false, count(len(policies), "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicies") + ", none bound with Deny"
}

// count says "1 policy" or "3 policies".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// The API server checks judge the kube-apiserver static pods when the
// cluster shows them, and the cluster (as not assessed) when it does not.
var (
	apiserverKinds = []string{inventory.ClusterKey, "Pod"}
	// apiserverReads are what platform.Managed reads besides the cluster.
	apiserverReads = []string{"Node"}
)

// apiserverPods returns the kube-apiserver static pods: kubeadm and most
// installers label them component=kube-apiserver in kube-system.
func apiserverPods(inv *inventory.Inventory) []*inventory.Object {
	var out []*inventory.Object
	for _, p := range inv.InNamespace("Pod", "kube-system") {
		if p.Labels["component"] == "kube-apiserver" && !p.Controlled() {
			out = append(out, p)
		}
	}
	return out
}

func apiserverApplies(o *inventory.Object, c *check.Context) (bool, string) {
	if o.KindKey() == "Pod" {
		if o.Namespace == "kube-system" && o.Labels["component"] == "kube-apiserver" {
			return true, ""
		}
		return false, "not a kube-apiserver pod"
	}
	if pods := apiserverPods(c.Inventory); len(pods) > 0 {
		return false, "judged on the kube-apiserver pods: " + strings.Join(namespacedNames(pods), ", ")
	}
	return true, ""
}

// apiserverRun judges a kube-apiserver pod's flags; on the cluster, which
// it is handed only when no such pod shows them, it says so.
func apiserverRun(judge func(apiServer) []check.Finding) func(*inventory.Object, *check.Context) []check.Finding {
	return func(o *inventory.Object, c *check.Context) []check.Finding {
		if api, ok := readAPIServer(o); ok {
			return judge(api)
		}
		if p := platform.Managed(c.Inventory); p != nil {
			return []check.Finding{check.NotAssessedf("managed: the kube-apiserver's flags are not visible (%s: %s)", p.Name, p.Evidence)}
		}
		return []check.Finding{check.NotAssessedf("managed: the kube-apiserver's flags are not visible (no kube-apiserver pod in kube-system: the control plane runs outside the cluster)")}
	}
}

// apiServer is the command line of a kube-apiserver container.
type apiServer struct {
	container string
	// path is the field that holds the flags: its command or its args.
	path  string
	flags map[string]string
}

// flag quotes a flag as it is set.
func (a apiServer) flag(name string) string {
	return "--" + name + "=" + a.flags[name]
}

// readAPIServer reads the flags of a kube-apiserver pod's container; it
// returns false for any other object.
func readAPIServer(o *inventory.Object) (apiServer, bool) {
	pod, ok := o.Typed.(*corev1.Pod)
	if !ok || len(pod.Spec.Containers) == 0 {
		return apiServer{}, false
	}
	i := 0
	for j, ctr := range pod.Spec.Containers {
		if ctr.Name == "kube-apiserver" {
			i = j
			break
		}
	}
	ctr := pod.Spec.Containers[i]
	path := fmt.Sprintf("spec.containers[%d].command", i)
	if len(ctr.Command) <= 1 && len(ctr.Args) > 0 {
		path = fmt.Sprintf("spec.containers[%d].args", i)
	}
	return apiServer{container: ctr.Name, path: path, flags: parseFlags(append(append([]string{}, ctr.Command...), ctr.Args...))}, true
}

// parseFlags reads --name=value and --name value arguments.
func parseFlags(args []string) map[string]string {
	flags := map[string]string{}
	for i := 0; i < len(args); i++ {
		name, ok := strings.CutPrefix(args[i], "--")
		if !ok {
			continue
		}
		name, value, eq := strings.Cut(name, "=")
		if !eq && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			i++
			value = args[i]
		}
		flags[name] = value
	}
	return flags
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
	sync := fieldString(o, "status", "sync", "status")
	revision := fieldString(o, "status", "sync", "revision")
	switch sync {
	case "Synced":
	case "":
		out = append(out, check.Failf("status.sync.status", "status.sync.status is unset: Argo CD has not compared the application with Git (does its application controller run?)"))
	default:
		msg := fmt.Sprintf("status.sync.status is %s: the cluster differs from Git", sync)
		if revision != "" {
			msg += " at revision " + revision
		}
		if phase := fieldString(o, "status", "operationState", "phase"); phase == "Failed" || phase == "Error" {
			msg += fmt.Sprintf("; the last sync %s: %s", phase, say.Brief(fieldString(o, "status", "operationState", "message")))
		}
		out = append(out, check.Failf("status.sync.status", "%s", msg))
	}
	health := fieldString(o, "status", "health", "status")
	switch health {
	case "Healthy", "Progressing", "Suspended", "":
	default:
		msg := fmt.Sprintf("status.health.status is %s", health)
		if m := fieldString(o, "status", "health", "message"); m != "" {
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
	if suspend, _ := field(o, "spec", "suspend").(bool); suspend {
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

func imageScanningRun(o *inventory.Object, c *check.Context) []check.Finding {
	inv := c.Inventory
	var evidence, down []string
	scanners, stopped := platform.Running(platform.Find(inv, platform.ImageScanner))
	down = append(down, stopped...)
	for _, m := range scanners {
		evidence = append(evidence, m.String()+" scans the running images")
	}
	verifiers, stopped := platform.Running(platform.Find(inv, platform.ImageVerifier))
	down = append(down, stopped...)
	for _, m := range verifiers {
		if m.Impl.Name == "Sigstore policy-controller" {
			policies := inv.OfKind(sigstorePolicyKey)
			if len(policies) == 0 {
				down = append(down, m.String()+" runs but no ClusterImagePolicy tells it what to verify")
				continue
			}
			evidence = append(evidence, fmt.Sprintf("%s verifies images against ClusterImagePolicy %s", m, objectNames(policies)))
			continue
		}
		evidence = append(evidence, m.String()+" verifies images at admission")
	}
	var verifying []string
	for _, p := range kyvernoPolicies(inv) {
		rules, _ := field(p, "spec", "rules").([]any)
		for i, r := range rules {
			if rule, _ := r.(map[string]any); rule["verifyImages"] != nil {
				verifying = append(verifying, fmt.Sprintf("%s %s spec.rules[%d]", p.Kind, p.Name, i))
				break
			}
		}
	}
	if len(verifying) > 0 {
		kyverno, stopped := platform.Running(implMatches(platform.Find(inv, platform.PolicyEngine), "Kyverno"))
		if len(kyverno) > 0 {
			evidence = append(evidence, fmt.Sprintf("%s verifies images with verifyImages rules: %s", platform.Describe(kyverno), say.List(verifying, ", ")))
		} else {
			down = append(down, fmt.Sprintf("Kyverno policies have verifyImages rules (%s) but Kyverno does not run%s", say.List(verifying, ", "), parenthesised(stopped)))
		}
	}
	if len(evidence) > 0 {
		return []check.Finding{check.Passf("%s", strings.Join(evidence, "; "))}
	}
	msg := "no image scanner (Trivy Operator) runs and no admission policy verifies images (Kyverno verifyImages, Sigstore policy-controller, Connaisseur): running images are never checked against newly published CVEs"
	if len(down) > 0 {
		msg += "; " + strings.Join(down, "; ")
	}
	return []check.Finding{check.Failf("", "%s", msg)}
}

func parenthesised(items []string) string {
	if len(items) == 0 {
		return ""
	}
	return " (" + strings.Join(items, "; ") + ")"
}

// vulnerabilityReports returns the Trivy VulnerabilityReports of a
// workload's images. The Trivy Operator reports on the object that owns
// the pods: a Deployment's current ReplicaSets, a CronJob itself. Its
// reports name that object in labels and in an owner reference.
func vulnerabilityReports(inv *inventory.Inventory, o *inventory.Object) []*inventory.Object {
	subjects := []*inventory.Object{o}
	if o.KindKey() == "Deployment" {
		for _, rs := range inv.OwnedBy(o, "ReplicaSet") {
			// A scaled-down ReplicaSet is an old revision: its report is
			// about images that no longer run.
			if n, _ := rs.Replicas(); n > 0 {
				subjects = append(subjects, rs)
			}
		}
	}
	var out []*inventory.Object
	for _, r := range inv.InNamespace(vulnerabilityReportKey, o.Namespace) {
		for _, s := range subjects {
			if r.Labels["trivy-operator.resource.kind"] == s.Kind && r.Labels["trivy-operator.resource.name"] == s.Name {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

func criticalVulnerabilitiesRun(o *inventory.Object, c *check.Context) []check.Finding {
	byName := map[string]pod.Container{}
	for _, ctr := range pod.Containers(o) {
		byName[ctr.Name] = ctr
	}
	var out []check.Finding
	var clean, stale []string
	for _, r := range vulnerabilityReports(c.Inventory, o) {
		name := r.Labels["trivy-operator.container.name"]
		scanned := reportImage(r)
		ctr, ok := byName[name]
		if !ok || !sameImage(ctr.Image, r) {
			stale = append(stale, fmt.Sprintf("VulnerabilityReport %s (container %s, image %s)", r.Name, name, scanned))
			continue
		}
		ids := criticalIDs(r)
		n := number(field(r, "report", "summary", "criticalCount"))
		if n < len(ids) {
			n = len(ids)
		}
		if n == 0 {
			clean = append(clean, fmt.Sprintf("%s (image %s, VulnerabilityReport %s)", name, ctr.Image, r.Name))
			continue
		}
		msg := fmt.Sprintf("container %s (image %s) has %s", name, ctr.Image, count(n, "CRITICAL vulnerability", "CRITICAL vulnerabilities"))
		switch {
		case len(ids) == n && n <= say.Listed:
			msg += ": " + strings.Join(ids, ", ")
		case len(ids) > 0:
			msg += ", among them " + strings.Join(ids[:min(len(ids), say.Listed)], ", ")
		}
		out = append(out, check.Failf(ctr.Path()+".image", "%s (VulnerabilityReport %s)", msg, r.Name))
	}
	switch {
	case len(out) > 0:
		return out
	case len(clean) > 0:
		return []check.Finding{check.Passf("no CRITICAL vulnerability in container %s", strings.Join(clean, ", "))}
	}
	return []check.Finding{check.NotAssessedf("its Trivy VulnerabilityReports are about images its containers no longer run: %s", strings.Join(stale, ", "))}
}

// criticalIDs returns the distinct IDs of a report's CRITICAL
// vulnerabilities, in the report's order.
func criticalIDs(r *inventory.Object) []string {
	list, _ := field(r, "report", "vulnerabilities").([]any)
	seen := map[string]bool{}
	var ids []string
	for _, v := range list {
		m, _ := v.(map[string]any)
		id, _ := m["vulnerabilityID"].(string)
		if sev, _ := m["severity"].(string); sev == "CRITICAL" && id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}

// reportImage names the image a report scanned.
func reportImage(r *inventory.Object) string {
	image := fieldString(r, "report", "artifact", "repository")
	if server := fieldString(r, "report", "registry", "server"); server != "" {
		image = server + "/" + image
	}
	if tag := fieldString(r, "report", "artifact", "tag"); tag != "" {
		image += ":" + tag
	}
	return image
}

// sameImage reports whether a container's image is the one a report
// scanned: the same repository (Docker Hub's library/ prefix aside) and the
// same tag or digest.
func sameImage(image string, r *inventory.Object) bool {
	scanned := strings.TrimPrefix(fieldString(r, "report", "artifact", "repository"), "library/")
	repo := platform.Repository(image)
	if repo != scanned && !strings.HasSuffix(repo, "/"+scanned) {
		return false
	}
	if digest := fieldString(r, "report", "artifact", "digest"); digest != "" && strings.HasSuffix(image, "@"+digest) {
		return true
	}
	tag := "latest"
	if rest := strings.TrimPrefix(strings.SplitN(image, "@", 2)[0], repo); strings.HasPrefix(rest, ":") {
		tag = rest[1:]
	}
	return tag == fieldString(r, "report", "artifact", "tag")
}

// The examples are cluster objects as the API server returns them, status
// included.
