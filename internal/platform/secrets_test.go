package platform

import "testing"

// TestSecretMakers: each maker names its Secret where its kind does, an
// ExternalSecret or a SealedSecret by its own name otherwise; a Secret
// only a SealedSecret makes is made, but nothing renews it.
func TestSecretMakers(t *testing.T) {
	inv := build(t, `apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: web, namespace: shop}
spec: {secretName: web-tls}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db, namespace: shop}
spec: {target: {name: db-credentials}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: api-key, namespace: shop}
---
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata: {name: sealed, namespace: shop}
`)
	for _, tc := range []struct {
		secret, made, renewed string
	}{
		{"web-tls", "Certificate shop/web", "Certificate shop/web"},
		{"db-credentials", "ExternalSecret shop/db", "ExternalSecret shop/db"},
		{"api-key", "ExternalSecret shop/api-key", "ExternalSecret shop/api-key"},
		{"sealed", "SealedSecret shop/sealed", ""},
		{"web", "", ""},
		{"db", "", ""},
	} {
		id := func(renewing bool) string {
			if o := SecretMakerOf(inv, "shop", tc.secret, renewing); o != nil {
				return o.ID()
			}
			return ""
		}
		if made, renewed := id(false), id(true); made != tc.made || renewed != tc.renewed {
			t.Errorf("Secret %s: made by %q, renewed by %q; want %q, %q", tc.secret, made, renewed, tc.made, tc.renewed)
		}
		if o := SecretMakerOf(inv, "other", tc.secret, false); o != nil {
			t.Errorf("Secret other/%s: made by %s, which is in namespace shop", tc.secret, o.ID())
		}
	}
}
