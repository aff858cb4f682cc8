package manifest

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/pod"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

// secretLiteralEnvRun is secret-literal-env's Run. The value itself is
// never printed: the finding would leak the secret into reports and CI
// logs.
func secretLiteralEnvRun(o *inventory.Object, c *check.Context) []check.Finding {
	var out []check.Finding
	for _, ct := range pod.Containers(o) {
		for i, e := range ct.Env {
			if e.ValueFrom != nil {
				continue
			}
			path := fmt.Sprintf("%s.env[%d].value", ct.Path(), i)
			switch kind := literalCredential(e.Value); {
			case kind != "":
				out = append(out, check.Failf(path, "%s: env var %s has a literal value that holds %s", ct.Describe(), e.Name, kind))
			case literalSecret(e.Name, e.Value):
				out = append(out, check.Failf(path, "%s: env var %s looks like a secret but has a literal value", ct.Describe(), e.Name))
			}
		}
	}
	return out
}

// secretWords mark an env var name as holding a secret when one of them
// ends a word of the name (DB_PASSWORD, AWS_SECRET_ACCESS_KEY, PGPASSWORD),
// but not when it starts a longer word (MAX_TOKENS, TOKENIZER_MODEL).
var secretWords = []string{"PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY", "APIKEY", "PRIVATE_KEY", "CREDENTIALS", "CREDENTIAL", "ACCESS_KEY"}

// notSecretSuffixes mark a name that merely talks about a secret: where it
// is (a file, a path, a Secret's name, a URL), how it behaves (a TTL, a
// limit, a switch) or which one it is (an access key's ID). Such values are
// not secrets, and flagging them would teach users to ignore the check.
var notSecretSuffixes = []string{
	"_FILE", "_PATH", "_DIR", "_NAME", "_REF", "_KEY_ID", "_ARN",
	"_URL", "_URI", "_ENDPOINT", "_HOST", "_PORT", "_AUDIENCE", "_ISSUER", "_HEADER",
	"_TTL", "_TIMEOUT", "_EXPIRY", "_EXPIRATION", "_LIFETIME", "_INTERVAL", "_SECONDS", "_LENGTH", "_LIMIT",
	"_ENABLED", "_DISABLED", "_ENABLE", "_TYPE", "_MODE", "_FORMAT", "_ALGORITHM",
}

// notSecretNames are well-known settings whose names read like secrets but
// whose values are not: etcd's ETCD_AUTH_TOKEN chooses the kind of token
// etcd issues ("simple", or "jwt," with the key file's path), and its
// ETCD_INITIAL_CLUSTER_TOKEN tells one cluster's members from another's.
var notSecretNames = map[string]bool{"ETCD_AUTH_TOKEN": true, "ETCD_INITIAL_CLUSTER_TOKEN": true}

// envFilePath matches an absolute file path such as the one
// GOOGLE_APPLICATION_CREDENTIALS holds: it names where a secret is.
var envFilePath = regexp.MustCompile(`^(/[\w.-]+)+/?$`)

// envSeparators turns an env var name's separators into underscores.
var envSeparators = strings.NewReplacer("-", "_", ".", "_")

// literalSecret reports whether an env var with a literal value looks like
// it holds a secret.
func literalSecret(name, value string) bool {
	if value == "" {
		return false
	}
	upper := strings.ToUpper(envSeparators.Replace(name))
	if notSecretNames[upper] {
		return false
	}
	for _, s := range notSecretSuffixes {
		if strings.HasSuffix(upper, s) {
			return false
		}
	}
	switch strings.ToLower(value) {
	case "true", "false", "yes", "no", "on", "off":
		// A switch such as ENABLE_TOKEN_AUTH=true.
		return false
	}
	// $(OTHER_VAR) is expanded by the kubelet from another variable, which
	// may come from a Secret; the manifest holds only the reference.
	if strings.HasPrefix(value, "$(") && strings.HasSuffix(value, ")") && strings.Count(value, "$(") == 1 {
		return false
	}
	if envFilePath.MatchString(value) {
		return false
	}
	for _, w := range secretWords {
		for i := strings.Index(upper, w); i >= 0; {
			end := i + len(w)
			if end == len(upper) || upper[end] == '_' {
				return true
			}
			next := strings.Index(upper[end:], w)
			if next < 0 {
				break
			}
			i = end + next
		}
	}
	return false
}

// credentialPatterns are values that are a credential whatever the
// variable holding them is called, each in the format its issuer documents,
// with what to call it in a finding. A value is judged on its shape alone:
// none of these shapes is anything but a credential.
var credentialPatterns = []struct {
	kind string
	re   *regexp.Regexp
}{
	{"a private key", regexp.MustCompile(`-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----`)},
	{"an AWS access key ID", regexp.MustCompile(`\b(?:AKIA|ASIA)[A-Z0-9]{16}\b`)},
	{"a GitHub token", regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b`)},
	{"a Slack token", regexp.MustCompile(`\bxox[abposr]-[A-Za-z0-9-]{10,}`)},
	{"a Slack webhook URL", regexp.MustCompile(`hooks\.slack\.com/services/T[A-Za-z0-9]+/B[A-Za-z0-9]+/[A-Za-z0-9]+`)},
	{"a Stripe secret key", regexp.MustCompile(`\b[sr]k_live_[A-Za-z0-9]{16,}`)},
	{"a Google API key", regexp.MustCompile(`\bAIza[A-Za-z0-9_-]{35}`)},
	// A JSON Web Token: a header and a claims set, each a base64url JSON
	// object (so starting "eyJ", for '{"'), and a signature.
	{"a JSON Web Token", regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}`)},
}

// urlPassword matches the user:password@ of a URL, capturing the password.
var urlPassword = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@]+:([^\s/?#@]+)@`)

// literalCredential says what credential a literal env value holds ("a
// private key", "a password in a URL"), or "" when its shape shows none.
func literalCredential(value string) string {
	for _, p := range credentialPatterns {
		if p.re.MatchString(value) {
			return p.kind
		}
	}
	for _, m := range urlPassword.FindAllStringSubmatch(value, -1) {
		// $(VAR) is filled in by the kubelet, ${VAR} and {{ }} by a
		// template or the program: the manifest holds a reference.
		if pw := m[1]; !strings.HasPrefix(pw, "$(") && !strings.HasPrefix(pw, "${") && !strings.HasPrefix(pw, "{{") {
			return "a password in a URL (user:password@)"
		}
	}
	return ""
}
