package platform

import (
	"strings"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// SecretMaker is a kind of custom resource whose operator writes a Secret
// the resource names, so that the Secret exists without being declared:
// cert-manager writes a Certificate's, the External Secrets Operator an
// ExternalSecret's, Sealed Secrets a SealedSecret's.
type SecretMaker struct {
	// Kind is the kind key of the custom resource.
	Kind string
	// NamePath is the dot-separated field path of the Secret's name in
	// the resource.
	NamePath string
	// OwnName marks the makers whose Secret takes the resource's own name
	// where NamePath is unset or empty.
	OwnName bool
	// Renews marks the makers that keep the Secret's content current: a
	// Certificate's is renewed before it expires, an ExternalSecret's
	// synced from its store. A SealedSecret's holds what was sealed.
	Renews bool
}

// SecretMakers is every kind of custom resource plimsoll knows to write a
// Secret, so that the checks that ask whether a Secret exists (among
// manifests) and whether something renews it (on a cluster) read one
// table.
var SecretMakers = []SecretMaker{
	{Kind: "Certificate.cert-manager.io", NamePath: "spec.secretName", Renews: true},
	{Kind: "ExternalSecret.external-secrets.io", NamePath: "spec.target.name", OwnName: true, Renews: true},
	{Kind: "SealedSecret.bitnami.com", OwnName: true},
}

// SecretMakerKinds are the kind keys of SecretMakers, which a check that
// calls SecretMakerOf reads.
var SecretMakerKinds = func() []string {
	out := make([]string, len(SecretMakers))
	for i, m := range SecretMakers {
		out[i] = m.Kind
	}
	return out
}()

// SecretOf returns the name of the Secret a custom resource of a
// SecretMakers kind writes, or "" for a resource of any other kind.
func SecretOf(o *inventory.Object) string {
	for _, m := range SecretMakers {
		if m.Kind == o.KindKey() {
			return m.secretOf(o)
		}
	}
	return ""
}

func (m SecretMaker) secretOf(o *inventory.Object) string {
	var name string
	if m.NamePath != "" {
		name = o.FieldString(strings.Split(m.NamePath, ".")...)
	}
	if name == "" && m.OwnName {
		return o.Name
	}
	return name
}

// SecretMakerOf returns the custom resource of a namespace that writes the
// Secret of that name, or nil: of every SecretMakers kind, or with renewing
// only of those that keep the Secret current.
func SecretMakerOf(inv *inventory.Inventory, namespace, name string, renewing bool) *inventory.Object {
	for _, m := range SecretMakers {
		if renewing && !m.Renews {
			continue
		}
		for _, o := range inv.InNamespace(m.Kind, namespace) {
			if name != "" && m.secretOf(o) == name {
				return o
			}
		}
	}
	return nil
}
