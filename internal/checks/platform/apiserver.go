package platform

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// apiserverChecks judge the API server's flags, where the control plane is
// not managed: audit logging and single sign-on.
func apiserverChecks() []*check.Check {
	return []*check.Check{
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
			ChecklistItem: checklist.AuditLogging,
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
			ChecklistItem: checklist.ExternalAuthentication,
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
	}
}

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
