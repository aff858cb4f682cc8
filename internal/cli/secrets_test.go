package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/internal/report"
)

// secretValues are the values the inputs of TestAuditNeverPrintsSecretValues
// hold under a Secret's data or stringData; none may appear in any output.
var secretValues = []string{
	"cXVvYnl0ZQ==", "YWRtaW4=", // the duplicate-key Secret
	"c2VjcmV0dmFsdWUx", "12x-not-an-int", "hunter2secret", "s3cr3tvalue", "tokenvalue123",
}

// unreadableSecrets are Secrets that cannot be read, each in a way whose
// error once quoted a value: a duplicate key (Kustomize's error carried the
// whole resource), a value with an explicit tag that does not fit it, in
// block and flow style, at the top level and inside a List.
const unreadableSecrets = `apiVersion: v1
kind: Secret
metadata: {name: tagged}
data: {password: !!binary c2VjcmV0dmFsdWUx, other: !!int 12x-not-an-int}
---
apiVersion: v1
kind: Secret
metadata:
  name: block
stringData:
  password: !!int hunter2secret
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Secret
  metadata: {name: listed}
  data:
    password: !!float s3cr3tvalue
- apiVersion: v1
  kind: Secret
  metadata: {name: flow}
  stringData: {token: !!int tokenvalue123}
`

const duplicateKeySecret = `apiVersion: v1
kind: Secret
metadata:
  name: quobyte-admin-secret
type: "kubernetes.io/quobyte"
data:
  password: cXVvYnl0ZQ==
  user: YWRtaW4=
type: kubernetes.io/quobyte
`

// TestAuditNeverPrintsSecretValues reads Secrets that cannot be read, from
// files and through Kustomize, in every format, and requires that their
// errors are reported (at a file and line where the file has one) and that
// no output, stdout or stderr, holds any of their values.
func TestAuditNeverPrintsSecretValues(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "files/secrets.yaml", unreadableSecrets)
	write(t, dir, "kust/secret.yaml", duplicateKeySecret)
	write(t, dir, "kust/kustomization.yaml", "resources:\n- secret.yaml\n")
	auditEveryFormat(t, dir, ExitPartial, secretValues, nil)
	o := run(t, "audit", "--kustomize", filepath.Join(dir, "kust"))
	if want := filepath.Join(dir, "kust", "secret.yaml") + `:9: duplicate key "type" (first at line 5)`; !strings.Contains(o.errOut, want) {
		t.Errorf("got stderr %q, want the duplicate key at the file's own line: %q", o.errOut, want)
	}
	o = run(t, "audit", filepath.Join(dir, "files"))
	for _, want := range []string{`:4: cannot read the value of key "other" as !!int`, `:20: cannot read the value of key "password" as !!float`} {
		if !strings.Contains(o.errOut, want) {
			t.Errorf("got stderr %q, want it to contain %q", o.errOut, want)
		}
	}
}

// keyedSecrets are a Secret and a ConfigMap that are read, values and
// all, and a pod that names keys of them that are there and keys
// that are not: the findings name the keys, never a value.
const keyedSecrets = `apiVersion: v1
kind: Secret
metadata: {name: db, namespace: shop}
data:
  password: aHVudGVyMi1yZWFkYWJsZQ==
stringData:
  username: readable-s3cret-user
  api-token: readable-s3cret-token
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data:
  dsn: postgres://app:readable-s3cret-dsn@db/shop
binaryData:
  blob: cmVhZGFibGUtYmxvYg==
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  volumes:
  - {name: db, secret: {secretName: db, items: [{key: password, path: password}, {key: pasword, path: pasword}]}}
  - {name: settings, configMap: {name: settings, items: [{key: blob, path: blob}, {key: dns, path: dns}]}}
  containers:
  - name: web
    image: example/web:1.0
    env:
    - {name: DB_USER, valueFrom: {secretKeyRef: {name: db, key: username}}}
    - {name: DB_TOKEN, valueFrom: {secretKeyRef: {name: db, key: token}}}
    - {name: DSN, valueFrom: {configMapKeyRef: {name: settings, key: blob}}}
`

// keyedValues are the values of keyedSecrets, as written and as decoded.
var keyedValues = []string{
	"aHVudGVyMi1yZWFkYWJsZQ==", "hunter2-readable", "readable-s3cret-user", "readable-s3cret-token",
	"readable-s3cret-dsn", "cmVhZGFibGUtYmxvYg==", "readable-blob",
}

// TestKeyFindingsNeverPrintSecretValues audits a pod that names keys
// a Secret and a ConfigMap do not have, from files and through Kustomize,
// in every format: the findings name the missing keys and the keys there
// are, and no output holds any value.
func TestKeyFindingsNeverPrintSecretValues(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "files/app.yaml", keyedSecrets)
	write(t, dir, "kust/app.yaml", keyedSecrets)
	write(t, dir, "kust/kustomization.yaml", "resources:\n- app.yaml\n")
	auditEveryFormat(t, dir, ExitOK, keyedValues, func(t *testing.T, format string, o outcome) {
		if format != "json" {
			return
		}
		for _, want := range []string{
			`Secret \"db\" has no key \"pasword\" (it has api-token, password, username)`,
			`Secret \"db\" has no key \"token\"`,
			`ConfigMap \"settings\" has no key \"dns\" (it has blob, dsn)`,
			`ConfigMap \"settings\" has no key \"blob\" (binaryData holds it, which env references do not read)`,
		} {
			if !strings.Contains(o.out, want) {
				t.Errorf("the report does not say %s", want)
			}
		}
	})
}

// auditEveryFormat audits dir/files and, through Kustomize, dir/kust in
// every output format, and requires the exit code and that no output,
// stdout or stderr, holds any of values; then it hands each outcome to
// also, when set.
func auditEveryFormat(t *testing.T, dir string, code int, values []string, also func(t *testing.T, format string, o outcome)) {
	inputs := map[string][]string{
		"files":     {filepath.Join(dir, "files")},
		"kustomize": {"--kustomize", filepath.Join(dir, "kust")},
	}
	for name, in := range inputs {
		for _, format := range report.Formats() {
			t.Run(name+"/"+format, func(t *testing.T) {
				o := run(t, append(append([]string{"audit"}, in...), "-o", format)...)
				wantCode(t, o, code)
				for _, v := range values {
					if strings.Contains(o.out, v) || strings.Contains(o.errOut, v) {
						t.Errorf("the output holds the secret value %q\nstdout:\n%s\nstderr:\n%s", v, o.out, o.errOut)
					}
				}
				if also != nil {
					also(t, format, o)
				}
			})
		}
	}
}
