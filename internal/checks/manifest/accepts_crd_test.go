package manifest

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checktest"
	"github.com/plimsoll/plimsoll/internal/inventory"
	im "github.com/plimsoll/plimsoll/internal/manifest"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// TestCustomResourcesAgainstUpstreamCRDs judges custom resources against
// real CustomResourceDefinitions, as their projects ship them: the paths
// api-server-accepts names, and a word of each message, which is the API
// server's.
func TestCustomResourcesAgainstUpstreamCRDs(t *testing.T) {
	const certificate = "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: web, namespace: shop}\n"
	tests := []struct {
		name, crd, object string
		want              []string // path: a part of the message
	}{{
		name: "a Certificate with every field right",
		crd:  "cert-manager/certificates.cert-manager.io.yaml",
		object: certificate + `spec:
  secretName: web-tls
  dnsNames: [web.example.com]
  duration: 2160h
  privateKey: {algorithm: ECDSA, size: 256}
  issuerRef: {name: letsencrypt, kind: ClusterIssuer}
`,
	}, {
		name: "a Certificate of a wrong type and without its issuer",
		crd:  "cert-manager/certificates.cert-manager.io.yaml",
		object: certificate + `spec:
  secretName: 42
  dnsNames: web.example.com
`,
		want: []string{"spec.dnsNames: must be of type array", "spec.issuerRef: Required value", "spec.secretName: must be of type string"},
	}, {
		name: "a Certificate with a misspelt field",
		crd:  "cert-manager/certificates.cert-manager.io.yaml",
		object: certificate + `spec:
  secretname: web-tls
  issuerRef: {name: letsencrypt}
`,
		want: []string{`spec.secretname: unknown field "spec.secretname"`},
	}, {
		name: "a Certificate whose finalizers are no list",
		crd:  "cert-manager/certificates.cert-manager.io.yaml",
		object: `apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: web, namespace: shop, finalizers: example.com/cleanup}
spec: {secretName: web-tls, issuerRef: {name: letsencrypt}}
`,
		want: []string{`metadata: Certificate in version "v1" cannot be handled as a Certificate: json: cannot unmarshal string`},
	}, {
		name: "a Certificate of a version cert-manager serves no more",
		crd:  "cert-manager/certificates.cert-manager.io.yaml",
		object: `apiVersion: cert-manager.io/v1alpha2
kind: Certificate
metadata: {name: web, namespace: shop}
spec: {secretName: web-tls, issuerRef: {name: letsencrypt}}
`,
		want: []string{`apiVersion: no matches for kind "Certificate" in version "cert-manager.io/v1alpha2"`},
	}, {
		name: "a ClusterIssuer against an x-kubernetes-validations rule",
		crd:  "cert-manager/clusterissuers.cert-manager.io.yaml",
		object: `apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: venafi}
spec:
  venafi: {zone: devops}
`,
		want: []string{"spec.venafi: exactly one of tpp, cloud, or ngts must be configured"},
	}, {
		name: "a Prometheus against an x-kubernetes-validations rule",
		crd:  "prometheus-operator/prometheuses.monitoring.coreos.com.yaml",
		object: `apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata: {name: k8s, namespace: monitoring}
spec:
  replicas: 2
  updateStrategy:
    type: OnDelete
    rollingUpdate: {maxUnavailable: 1}
`,
		want: []string{"spec.updateStrategy: rollingUpdate requires type to be RollingUpdate"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := checktest.Inventory(t, inventory.FromManifests, checktest.UpstreamCRD(t, tc.crd)+"\n---\n"+tc.object)
			reg, err := check.NewRegistry(apiServerChecks())
			if err != nil {
				t.Fatal(err)
			}
			results, st := checktest.ResultsOf(audit.Run(inv, audit.Options{Registry: reg}), "api-server-accepts")
			if len(results) == 0 || !st.Assessed {
				t.Fatalf("got %d results, state %+v, want the custom resource judged", len(results), st)
			}
			var got []string
			for _, r := range results {
				switch r.Status {
				case audit.Fail:
					got = append(got, r.Path+": "+r.Message)
				case audit.Pass:
				default:
					t.Errorf("got %s on %s: %s", r.Status, r.Object.ID(), r.Message)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got findings %q, want %d: %q", got, len(tc.want), tc.want)
			}
			slices.Sort(got)
			for i, w := range tc.want {
				path, part, _ := strings.Cut(w, ": ")
				if !strings.HasPrefix(got[i], path+": the API server refuses it: ") || !strings.Contains(got[i], part) {
					t.Errorf("finding %d: got %q, want one at %s saying %q", i, got[i], path, part)
				}
			}
		})
	}
}

// TestCRDValidatorsLazy: a CRD's schemas are parsed only for a CRD whose
// custom resources are judged, and a validator is built once for each
// version they are written in, whatever their number; a custom resource
// declared alike in another namespace is validated once.
func TestCRDValidatorsLazy(t *testing.T) {
	objects := checktest.UpstreamCRD(t, "cert-manager/certificates.cert-manager.io.yaml") + "\n---\n" +
		checktest.UpstreamCRD(t, "cert-manager/issuers.cert-manager.io.yaml")
	for _, id := range []string{"a, namespace: shop", "b, namespace: shop", "c, namespace: shop", "a, namespace: staging"} {
		objects += "\n---\napiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: " + id + "}\nspec: {secretName: tls, issuerRef: {name: ca}}\n"
	}
	inv := checktest.Inventory(t, inventory.FromManifests, objects)
	reg, err := check.NewRegistry(apiServerChecks())
	if err != nil {
		t.Fatal(err)
	}
	audit.Run(inv, audit.Options{Registry: reg})
	index := crds(inv)
	cert, issuer := index[schema.GroupKind{Group: "cert-manager.io", Kind: "Certificate"}], index[schema.GroupKind{Group: "cert-manager.io", Kind: "Issuer"}]
	if cert == nil || issuer == nil {
		t.Fatalf("got CRDs %v, want Certificate's and Issuer's", index)
	}
	if issuer.versions != nil {
		t.Error("the Issuer CRD's schemas were parsed, with no Issuer among the inputs")
	}
	if v := cert.versions["v1"]; v == nil || v.v == nil {
		t.Error("the Certificate CRD's v1 validator was not built")
	}
	built := cert.versions["v1"].v
	if v, _, _ := cert.validator("cert-manager.io/v1"); v != built {
		t.Error("the validator was built again")
	}
	outcomes := 0
	built.outcomes.Range(func(any, any) bool { outcomes++; return true })
	if outcomes != 3 {
		t.Errorf("got %d Certificates validated, want 3: a in staging is a in shop", outcomes)
	}
}

// TestProductionCustomResourcesAccepted: the custom resources of
// examples/production, which the e2e tests apply to a real API server,
// judged against the upstream CRDs the e2e tests install, give no finding
// but for the ExternalSecrets written in a version the External Secrets
// release there no longer serves (the e2e tests apply them converted).
func TestProductionCustomResourcesAccepted(t *testing.T) {
	res := im.Load(context.Background(), []string{filepath.Join("..", "..", "..", "examples", "production"), filepath.Join("..", "..", "..", "..", "shared", "fixtures", "crds")}, im.Options{})
	if len(res.Errors) > 0 {
		t.Fatalf("loading: %v", res.Errors[0])
	}
	reg, err := check.NewRegistry(apiServerChecks())
	if err != nil {
		t.Fatal(err)
	}
	results, _ := checktest.ResultsOf(audit.Run(platform.Inventory(inventory.FromManifests, res.Objects), audit.Options{Registry: reg}), "api-server-accepts")
	judged := 0
	for _, r := range results {
		if !inventory.IsCustomKey(inventory.KindKeyOf(r.Object.APIVersion, r.Object.Kind)) {
			continue
		}
		judged++
		unserved := r.Path == "apiVersion" && strings.HasPrefix(r.Object.APIVersion, "external-secrets.io/")
		if r.Status != audit.Pass && !unserved {
			t.Errorf("%s: got %s at %s: %s", r.Object.ID(), r.Status, r.Path, r.Message)
		}
	}
	if judged < 20 {
		t.Errorf("judged %d custom resources, want the 20 and more of examples/production", judged)
	}
}
