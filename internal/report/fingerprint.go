package report

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/plimsoll/plimsoll/internal/audit"
)

// FingerprintScheme versions what a fingerprint is made of; a baseline
// of another scheme cannot be compared with a run.
const FingerprintScheme = "1"

// Fingerprint identifies a failure across runs: the check, the object's
// group, kind, namespace and name (not its API version, which a migration
// changes), and the field path with the elements of lists merged by name
// named, and what tells apart the findings of one check at one path (the
// Pod Security control) where there are several (audit.Result.Key). No file, line or document index is part of
// it, so moving a file, reformatting it or reordering its documents, or a
// workload's containers, leaves it unchanged. It is the scheme, a colon
// and 32 hexadecimal digits of a SHA-256.
func Fingerprint(res audit.Result) string {
	o := res.Object
	return fingerprint(res.Check.ID, Object{APIVersion: o.APIVersion, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}, res.Key)
}

// fingerprint is Fingerprint of a check's finding at key on an object.
func fingerprint(check string, o Object, key string) string {
	gv, _ := schema.ParseGroupVersion(o.APIVersion)
	id := strings.Join([]string{check, gv.Group, o.Kind, o.Namespace, o.Name, key}, "\x00")
	sum := sha256.Sum256([]byte(id))
	return FingerprintScheme + ":" + hex.EncodeToString(sum[:16])
}
