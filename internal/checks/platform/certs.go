package platform

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/checks/say"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// The custom resources of cert-manager and the External Secrets Operator.
const (
	certificateKey    = "Certificate.cert-manager.io"
	externalSecretKey = "ExternalSecret.external-secrets.io"
)

// certChecks judge certificate automation (cert-manager, its issuers and
// certificates, the Ingresses that use them) and secrets management.
func certChecks() []*check.Check {
	return []*check.Check{
		{
			ID:       "cert-manager-ready",
			Title:    "cert-manager runs and is ready",
			Layer:    check.ClusterServices,
			Severity: check.High,
			Kinds:    clusterKinds,
			Reads:    append([]string{"Ingress", platform.CRDKey}, platform.Reads...),
			Rationale: "Certificates expire, Let's Encrypt's after 90 days and most others within a year: without a certificate manager each must be renewed by hand before it does, and a forgotten one takes its site down behind a browser warning. cert-manager issues and renews them from Let's Encrypt, a private CA or Vault. " +
				"The check fails whenever no cert-manager controller runs, even where no Ingress terminates TLS yet: the checklists ask for certificate automation in every production cluster. A cluster whose TLS ends at a cloud load balancer with provider-managed certificates can exempt it, with that reason.",
			Remediation:   "Install cert-manager (helm install cert-manager jetstack/cert-manager --namespace cert-manager --set crds.enabled=true) with at least two controller replicas, and create a ClusterIssuer; or fix what keeps its controller from becoming ready (kubectl -n cert-manager describe deployment cert-manager).",
			ChecklistItem: checklist.SecretsStore,
			Requires:      check.Cluster,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				running, finding := componentRunning("certificate manager", lookedFor(platform.CertManager),
					platform.Find(c.Inventory, platform.CertManager), platform.Installed(c.Inventory, platform.CertManager))
				if finding != nil {
					if tls := tlsIngresses(c.Inventory); len(tls) > 0 {
						finding.Message += "; Ingresses with spec.tls rely on certificates nothing renews: " + say.List(tls, ", ")
					}
					return []check.Finding{*finding}
				}
				ready, desired := platform.Ready(running[0].Workload)
				return []check.Finding{check.Passf("%s runs, %d of %d replicas ready", running[0], ready, desired)}
			},
		},
		{
			ID:            "certificate-ready",
			Title:         "cert-manager Certificates are Ready",
			Layer:         check.ClusterServices,
			Severity:      check.High,
			Kinds:         []string{certificateKey},
			Rationale:     "A Certificate that is not Ready was not issued, or was not renewed: its secret holds no certificate, an old one, or one for other names, and the sites that use it fail their TLS handshakes or will once the old certificate expires.",
			Remediation:   "Read why the condition is not True (kubectl describe certificate, then its CertificateRequest and, for ACME, its Order and Challenges): a failing DNS-01 or HTTP-01 challenge, an issuer that is not ready, or a rate limit; fix the cause and cert-manager retries.",
			ChecklistItem: checklist.CertManager,
			Requires:      check.Cluster,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				return []check.Finding{readyCondition(o, fmt.Sprintf("secret %s from %s %s", orNone(platform.SecretOf(o)),
					orDefault(o.FieldString("spec", "issuerRef", "kind"), "Issuer"), orNone(o.FieldString("spec", "issuerRef", "name"))))}
			},
		},
		{
			ID:            "certificate-expiry",
			Title:         "cert-manager Certificates are not about to expire",
			Layer:         check.ClusterServices,
			Severity:      check.High,
			Kinds:         []string{certificateKey},
			Rationale:     "cert-manager renews a certificate well before it expires (by default when two thirds of its life has passed), so one that is expired or close to expiry is one whose renewal failed; when it expires, clients refuse every connection to the sites it serves.",
			Remediation:   "Find why renewal fails (kubectl describe certificate and its latest CertificateRequest; cmctl status certificate) and fix it, or force a renewal with cmctl renew. The least validity allowed is the parameter certMinValidity.",
			ChecklistItem: checklist.MonitorBeforeProduction,
			Requires:      check.Cluster,
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				if _, ok := fieldTime(o, "status", "notAfter"); !ok {
					return false, "not issued yet (no status.notAfter): certificate-ready reports it"
				}
				return true, ""
			},
			Run: certificateExpiryRun,
		},
		{
			ID:            "issuer-ready",
			Title:         "cert-manager Issuers and ClusterIssuers are Ready",
			Layer:         check.ClusterServices,
			Severity:      check.High,
			Kinds:         []string{"Issuer.cert-manager.io", "ClusterIssuer.cert-manager.io"},
			Rationale:     "An issuer that is not Ready issues nothing: every Certificate that names it stays unissued, and each one it issued before is not renewed, so they expire one after another.",
			Remediation:   "Read the Ready condition's message (kubectl describe clusterissuer) and fix what it names: an ACME account that cannot register, a CA secret that is missing, or Vault credentials that are refused.",
			ChecklistItem: checklist.IngressCertificates,
			Requires:      check.Cluster,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				return []check.Finding{readyCondition(o, issuerType(o))}
			},
		},
		{
			ID:            "ingress-tls-certificate",
			Title:         "Ingress TLS secrets are issued and renewed by cert-manager",
			Layer:         check.ClusterServices,
			Severity:      check.Medium,
			Kinds:         []string{"Ingress"},
			Reads:         []string{certificateKey, externalSecretKey},
			Rationale:     "A TLS secret no Certificate manages holds a certificate someone put there by hand: nothing renews it, and the Ingress starts failing TLS handshakes on the day it expires. A secret an ExternalSecret keeps in sync from a vault counts as managed: the vault renews it.",
			Remediation:   "Add the annotation cert-manager.io/cluster-issuer (or cert-manager.io/issuer) to the Ingress so cert-manager's ingress-shim creates a Certificate for each spec.tls entry, or create a Certificate whose spec.secretName is the secret.",
			ChecklistItem: checklist.CertManager,
			Requires:      check.Cluster,
			Applies: func(o *inventory.Object, c *check.Context) (bool, string) {
				if len(o.Typed.(*networkingv1.Ingress).Spec.TLS) == 0 {
					return false, "no spec.tls: ingress-tls reports it"
				}
				return true, ""
			},
			Run: ingressTlsCertificateRun,
		},
		{
			ID:            "secrets-manager",
			Title:         "A secrets manager runs",
			Layer:         check.Security,
			Severity:      check.Medium,
			Kinds:         clusterKinds,
			Reads:         append([]string{platform.CRDKey}, platform.Reads...),
			Rationale:     "Without a secrets manager, Secrets reach the cluster by hand or from a CI pipeline: nobody can tell which value is current or where it came from, rotation means finding every copy, and the values end up in scripts and shells. External Secrets Operator, the Vault Agent Injector or the Secrets Store CSI Driver sync them from a vault; Sealed Secrets lets only their encrypted form live in Git.",
			Remediation:   "Install a secrets manager, such as External Secrets Operator (helm install external-secrets external-secrets/external-secrets -n external-secrets --create-namespace) with a ClusterSecretStore for your vault, and move the application's Secrets to it; or fix what keeps the installed one from becoming ready.",
			ChecklistItem: checklist.SecretsVault,
			Requires:      check.Cluster,
			Run:           secretsManagerRun,
		},
		{
			ID:            "external-secrets-ready",
			Title:         "ExternalSecrets and their stores are Ready",
			Layer:         check.Security,
			Severity:      check.High,
			Kinds:         []string{externalSecretKey, "SecretStore.external-secrets.io", "ClusterSecretStore.external-secrets.io"},
			Rationale:     "An ExternalSecret that is not Ready did not sync: its Secret is missing, so pods that use it do not start, or it holds a stale value, so a rotated credential is refused. A store that is not Ready fails every ExternalSecret that reads from it.",
			Remediation:   "Read the Ready condition's message (kubectl describe externalsecret, or clustersecretstore) and fix what it names: the store's credentials or role, a key or property that does not exist in the vault, or a provider that cannot be reached.",
			ChecklistItem: checklist.SecretReferencesToVault,
			Requires:      check.Cluster,
			Run: func(o *inventory.Object, c *check.Context) []check.Finding {
				what := "provider " + orNone(firstKey(o.Field("spec", "provider")))
				if o.KindKey() == externalSecretKey {
					what = fmt.Sprintf("secret %s from %s %s", platform.SecretOf(o),
						orDefault(o.FieldString("spec", "secretStoreRef", "kind"), "SecretStore"), orNone(o.FieldString("spec", "secretStoreRef", "name")))
				}
				return []check.Finding{readyCondition(o, what)}
			},
		},
	}
}

// certificateExpiryRun is certificate-expiry's Run.
func certificateExpiryRun(o *inventory.Object, c *check.Context) []check.Finding {
	notAfter, _ := fieldTime(o, "status", "notAfter")
	left := notAfter.Sub(c.Now)
	renewal := ""
	if t, ok := fieldTime(o, "status", "renewalTime"); ok && !t.After(c.Now) {
		renewal = fmt.Sprintf("; status.renewalTime, when cert-manager was due to renew it, is %s", when(c.Now, t))
	}
	switch {
	case left <= 0:
		return []check.Finding{check.Failf("status.notAfter", "expired at %s%s", when(c.Now, notAfter), renewal)}
	case left < time.Duration(c.Params.CertMinValidity):
		return []check.Finding{check.Failf("status.notAfter", "expires at %s (%s), sooner than certMinValidity %s%s",
			notAfter.UTC().Format(time.RFC3339), until(c.Now, notAfter), c.Params.CertMinValidity, renewal)}
	}
	return []check.Finding{check.Passf("status.notAfter is %s (%s)", notAfter.UTC().Format(time.RFC3339), until(c.Now, notAfter))}
}

// ingressTlsCertificateRun is ingress-tls-certificate's Run.
func ingressTlsCertificateRun(o *inventory.Object, c *check.Context) []check.Finding {
	var out []check.Finding
	for i, tls := range o.Typed.(*networkingv1.Ingress).Spec.TLS {
		path := fmt.Sprintf("spec.tls[%d].secretName", i)
		hosts := orNone(strings.Join(tls.Hosts, ", "))
		if tls.SecretName == "" {
			out = append(out, check.Passf("spec.tls[%d] names no secret: the ingress controller's default certificate serves %s", i, hosts))
			continue
		}
		if by := platform.SecretMakerOf(c.Inventory, o.Namespace, tls.SecretName, true); by != nil {
			out = append(out, check.Passf("%s %s is managed by %s", path, tls.SecretName, by.ID()))
			continue
		}
		msg := fmt.Sprintf("secret %s (hosts %s) is neither the spec.secretName of a Certificate nor the target of an ExternalSecret in namespace %s: nothing renews it", tls.SecretName, hosts, o.Namespace)
		if a := shimAnnotation(o); a != "" {
			msg += "; annotation " + a + " asks cert-manager's ingress-shim to create one, so cert-manager is not running or refuses it"
		}
		out = append(out, check.Failf(path, "%s", msg))
	}
	return out
}

// secretsManagerRun is secrets-manager's Run.
func secretsManagerRun(o *inventory.Object, c *check.Context) []check.Finding {
	running, finding := componentRunning("secrets manager", "any of "+lookedFor(platform.SecretsManager),
		platform.Find(c.Inventory, platform.SecretsManager), platform.Installed(c.Inventory, platform.SecretsManager))
	if finding != nil {
		return []check.Finding{*finding}
	}
	var runs []string
	for _, m := range running {
		ready, desired := platform.Ready(m.Workload)
		runs = append(runs, fmt.Sprintf("%s runs, %d of %d ready", m, ready, desired))
	}
	return []check.Finding{check.Passf("%s", strings.Join(runs, "; "))}
}

// readyCondition judges a custom resource's Ready condition: evidence when
// it is True, a finding that quotes it otherwise. what says what the
// object is for (the secret a Certificate fills, an issuer's type).
func readyCondition(o *inventory.Object, what string) check.Finding {
	cond, ok := conditionOf(o, "Ready")
	switch {
	case !ok:
		return check.Failf("status.conditions", "%s: no Ready condition: its controller has not reconciled it (is the controller running?)", what)
	case cond.Status == "True":
		return check.Passf("%s: %s", what, cond.describe())
	}
	return check.Failf(fmt.Sprintf("status.conditions[%d]", cond.Index), "%s: %s", what, cond.describe())
}

// issuerType names how a cert-manager issuer issues: ACME (with its
// server), CA, Vault, Venafi or self-signed.
func issuerType(o *inventory.Object) string {
	if server := o.FieldString("spec", "acme", "server"); server != "" {
		return "ACME server " + server
	}
	return orNone(firstKey(o.Field("spec"))) + " issuer"
}

// firstKey returns the first key of a map from a custom resource's
// content, in sorted order, or "".
func firstKey(v any) string {
	m, _ := v.(map[string]any)
	if len(m) == 0 {
		return ""
	}
	return slices.Min(slices.Collect(maps.Keys(m)))
}

// shimAnnotation returns the ingress-shim annotation on an Ingress that
// asks cert-manager for its certificates, as key=value, or "".
func shimAnnotation(o *inventory.Object) string {
	for _, k := range []string{"cert-manager.io/cluster-issuer", "cert-manager.io/issuer"} {
		if v, ok := o.Annotations[k]; ok {
			return k + "=" + v
		}
	}
	return ""
}

// tlsIngresses names the Ingresses with spec.tls, sorted.
func tlsIngresses(inv *inventory.Inventory) []string {
	var out []string
	for _, o := range inv.OfKind("Ingress") {
		if ing, ok := o.Typed.(*networkingv1.Ingress); ok && len(ing.Spec.TLS) > 0 {
			out = append(out, o.Namespace+"/"+o.Name)
		}
	}
	return out
}

// componentRunning judges whether a platform component runs: it returns
// the matches with a ready replica, or a finding that says what was looked
// for and what was found instead (CRDs with no workload, workloads with
// no ready replica). role names the component in findings; lookedFor, the
// implementations recognised.
func componentRunning(role, lookedFor string, ms []platform.Match, crds []platform.CRD) ([]platform.Match, *check.Finding) {
	if len(ms) == 0 {
		msg := fmt.Sprintf("no %s runs: no Deployment, StatefulSet or DaemonSet is recognised as %s (by label, image or name)", role, lookedFor)
		if len(crds) > 0 {
			msg += fmt.Sprintf(", though CRD %s (%s) is installed", crds[0].Name, crds[0].Impl.Name)
		}
		f := check.Failf("", "%s", msg)
		return nil, &f
	}
	running, down := platform.Running(ms)
	if len(running) == 0 {
		f := check.Failf("", "no %s is ready: %s", role, strings.Join(down, "; "))
		return nil, &f
	}
	return running, nil
}

// lookedFor names the implementations of a component that the platform
// table knows, for a finding that says none was found.
func lookedFor(comp platform.Component) string {
	var names []string
	for _, impl := range platform.Implementations {
		if impl.Component == comp {
			names = append(names, impl.Name)
		}
	}
	return strings.Join(names, ", ")
}

// until says how long until t, in whole hours or days, for findings.
func until(now, t time.Time) string {
	d := t.Sub(now)
	switch {
	case d < 0:
		return age(now, t)
	case d < 48*time.Hour:
		return fmt.Sprintf("in %d h", int(d.Hours()))
	}
	return fmt.Sprintf("in %d days", int(d.Hours()/24))
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
