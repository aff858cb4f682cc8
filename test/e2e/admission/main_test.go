// Package admission tests that what plimsoll says offline of a cluster's
// own ValidatingAdmissionPolicies agrees with what the API server does:
// the policies are installed into a real kube-apiserver, whose admission
// plugin judges them (no webhook), and every manifest is created there
// with --dry-run=server, to be refused or admitted.
package admission

import (
	"testing"

	"github.com/plimsoll/plimsoll/test/controlplane"
)

// nobody is a user the API server knows and RBAC grants nothing.
const nobody = "nobody"

func TestMain(m *testing.M) {
	controlplane.Main(m, controlplane.User{Name: nobody})
}
