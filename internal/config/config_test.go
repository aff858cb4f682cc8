package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/manifest"
)

// testRegistry holds a required check, a second required check and an
// optional one: enough to exercise every validation against the registry
// without depending on the built-in checks.
func testRegistry(t *testing.T) *check.Registry {
	t.Helper()
	mk := func(id string, sev check.Severity, optional bool) *check.Check {
		return &check.Check{
			ID: id, Title: id, Layer: check.Workloads, Severity: sev,
			Kinds: []string{"Deployment"}, Rationale: "Because.", Remediation: "Fix it.",
			ChecklistItem: "test", Optional: optional,
			Run: func(*inventory.Object, *check.Context) []check.Finding { return nil },
		}
	}
	reg, err := check.NewRegistry([]*check.Check{
		mk("alpha", check.High, false),
		mk("beta", check.Medium, false),
		mk("gamma", check.Low, true),
	})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func decode(t *testing.T, text string) (*Config, error) {
	t.Helper()
	return Decode(strings.NewReader(text), testRegistry(t))
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		// want are substrings the error must contain.
		want []string
	}{
		{
			name: "unknown top-level key",
			yaml: "checks:\n  disable: [alpha]\nexemptons: []\n",
			want: []string{`line 3: unknown key "exemptons"`},
		},
		{
			name: "unknown nested key",
			yaml: "checks:\n  disable: [alpha]\n  disabel: [beta]\n",
			want: []string{`line 3: unknown key "disabel"`},
		},
		{
			name: "unknown parameter",
			yaml: "parameters:\n  minReplicas: 3\n  minReplica: 2\n",
			want: []string{`line 3: unknown key "minReplica"`},
		},
		{
			// yaml.v3 alone would read 2.5 as 2.
			name: "a fraction where a whole number goes",
			yaml: "parameters:\n  minZones: 2\n  minReplicas: 2.5\n",
			want: []string{`line 3: minReplicas: 2.5 is not a whole number`},
		},
		{
			name: "unknown exemption key",
			yaml: "exemptions:\n  - checks: [alpha]\n    reason: legacy\n    namespace: [shop]\n",
			want: []string{`line 4: unknown key "namespace"`},
		},
		{
			name: "unknown check in enable",
			yaml: "checks:\n  enable: [delta]\n",
			want: []string{"checks.enable", `"delta"`},
		},
		{
			name: "unknown check in disable",
			yaml: "checks:\n  disable: [alpha, delta]\n",
			want: []string{"checks.disable", `"delta"`},
		},
		{
			name: "unknown check in severity",
			yaml: "checks:\n  severity:\n    delta: high\n",
			want: []string{"checks.severity", `"delta"`},
		},
		{
			name: "unknown severity name",
			yaml: "checks:\n  severity:\n    alpha: urgent\n",
			want: []string{`"urgent"`},
		},
		{
			name: "unknown check in exemption",
			yaml: "exemptions:\n  - checks: [alpha]\n    reason: ok\n  - checks: [delta]\n    reason: legacy\n",
			want: []string{"exemptions[1].checks", `"delta"`},
		},
		{
			name: "exemption without reason",
			yaml: "exemptions:\n  - checks: [alpha]\n    namespaces: [shop]\n",
			want: []string{"exemptions[0]", "reason is required"},
		},
		{
			name: "exemption with a blank reason",
			yaml: "exemptions:\n  - checks: [alpha]\n    reason: '   '\n",
			want: []string{"exemptions[0]", "reason is required"},
		},
		{
			name: "exemption without checks",
			yaml: "exemptions:\n  - namespaces: [shop]\n    reason: legacy\n",
			want: []string{"exemptions[0]", "checks is required"},
		},
		{
			name: "bad expires date",
			yaml: "exemptions:\n  - checks: [alpha]\n    reason: legacy\n    expires: 31/12/2026\n",
			want: []string{"exemptions[0]", `expires "31/12/2026"`},
		},
		{
			name: "bad kubernetesVersion",
			yaml: "parameters:\n  kubernetesVersion: latest\n",
			want: []string{"parameters.kubernetesVersion", `"latest"`},
		},
		{
			name: "kubernetesVersion of another major",
			yaml: "parameters:\n  kubernetesVersion: \"2.0\"\n",
			want: []string{"parameters.kubernetesVersion", `"2.0"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := decode(t, tt.yaml)
			if err != nil && (strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "config.")) {
				t.Errorf("got error %q, want one line without Go type names", err)
			}
			if err == nil {
				t.Fatalf("got config %+v, want an error", c)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got error %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestDecodeReportsEveryUnknownKey(t *testing.T) {
	_, err := decode(t, "checks:\n  disabel: [alpha]\nparameter: {}\n")
	want := `line 2: unknown key "disabel"; line 3: unknown key "parameter"`
	if err == nil || err.Error() != want {
		t.Errorf("got error %v, want %q", err, want)
	}
}

func TestDecodeEmpty(t *testing.T) {
	for _, text := range []string{"", "# nothing configured\n"} {
		c, err := decode(t, text)
		if err != nil {
			t.Fatalf("Decode(%q): %v", text, err)
		}
		if diff := cmp.Diff(check.Defaults(), c.Parameters); diff != "" {
			t.Errorf("Decode(%q) parameters (-want +got):\n%s", text, diff)
		}
	}
}

func TestDecodeKeepsDefaultsForUnsetParameters(t *testing.T) {
	c, err := decode(t, "parameters:\n  minReplicas: 3\n  allowedRegistries: [registry.example.com]\n")
	if err != nil {
		t.Fatal(err)
	}
	want := check.Defaults()
	want.MinReplicas = 3
	want.AllowedRegistries = []string{"registry.example.com"}
	if diff := cmp.Diff(want, c.Parameters); diff != "" {
		t.Errorf("parameters (-want +got):\n%s", diff)
	}
}

func TestDecodeReplacesListParameters(t *testing.T) {
	// A list a user sets replaces the default list; it is not merged into it.
	c, err := decode(t, "parameters:\n  costLabels: [team]\n")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Parameters.CostLabels, []string{"team"}; !cmp.Equal(got, want) {
		t.Errorf("got costLabels %q, want %q", got, want)
	}
}

func TestEnabledAndSeverity(t *testing.T) {
	reg := testRegistry(t)
	alpha, beta, gamma := reg.Get("alpha"), reg.Get("beta"), reg.Get("gamma")

	def := Default()
	if !def.Enabled(alpha) || !def.Enabled(beta) {
		t.Error("default config: got a required check disabled, want every required check enabled")
	}
	if def.Enabled(gamma) {
		t.Error("default config: got optional check gamma enabled, want it off until enabled")
	}
	if got := def.SeverityOf(alpha); got != check.High {
		t.Errorf("default config: got severity %s for alpha, want %s", got, check.High)
	}

	c, err := Decode(strings.NewReader(`
checks:
  enable: [gamma]
  disable: [beta]
  severity:
    alpha: critical
    gamma: info
`), reg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		check   *check.Check
		enabled bool
		sev     check.Severity
	}{
		{alpha, true, check.Critical},
		{beta, false, check.Medium},
		{gamma, true, check.Info},
	}
	for _, tt := range tests {
		if got := c.Enabled(tt.check); got != tt.enabled {
			t.Errorf("Enabled(%s): got %v, want %v", tt.check.ID, got, tt.enabled)
		}
		if got := c.SeverityOf(tt.check); got != tt.sev {
			t.Errorf("SeverityOf(%s): got %s, want %s", tt.check.ID, got, tt.sev)
		}
	}
}

func TestDisableWinsOverEnable(t *testing.T) {
	reg := testRegistry(t)
	c, err := Decode(strings.NewReader("checks:\n  enable: [gamma]\n  disable: [gamma]\n"), reg)
	if err != nil {
		t.Fatal(err)
	}
	if c.Enabled(reg.Get("gamma")) {
		t.Error("got gamma enabled, want disable to win over enable")
	}
}

func TestFind(t *testing.T) {
	root := t.TempDir()
	nested := filepath.Join(root, "a", "b", "c")
	if err := os.MkdirAll(nested, 0o755); err != nil {
		t.Fatal(err)
	}
	// No file anywhere below root: whatever Find returns must not be
	// inside the temporary tree (a parent of it may hold one).
	if got := Find(nested); strings.HasPrefix(got, root) {
		t.Errorf("Find with no config: got %q, want nothing under %s", got, root)
	}

	top := filepath.Join(root, FileName)
	if err := os.WriteFile(top, []byte("checks: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := Find(nested); got != top {
		t.Errorf("Find(%s): got %q, want %q", nested, got, top)
	}

	// The nearest file wins.
	mid := filepath.Join(root, "a", FileName)
	if err := os.WriteFile(mid, []byte("checks: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := Find(nested); got != mid {
		t.Errorf("Find(%s): got %q, want the nearer %q", nested, got, mid)
	}
	if got := Find(root); got != top {
		t.Errorf("Find(%s): got %q, want %q", root, got, top)
	}
}

func TestLoad(t *testing.T) {
	reg := testRegistry(t)
	dir := t.TempDir()
	file := filepath.Join(dir, FileName)
	if err := os.WriteFile(file, []byte("checks:\n  disable: [alpha]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(file, reg)
	if err != nil {
		t.Fatal(err)
	}
	if c.File != file {
		t.Errorf("got File %q, want %q", c.File, file)
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("checks:\n  disabled: [alpha]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(bad, reg)
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "disabled") {
		t.Errorf("got error %v, want one naming the file %s and the key disabled", err, bad)
	}

	if _, err := Load(filepath.Join(dir, "missing.yaml"), reg); err == nil {
		t.Error("Load of a missing file: got no error, want one")
	}
}

// object parses one manifest into an inventory object.
func object(t *testing.T, text string) *inventory.Object {
	t.Helper()
	res := manifest.Parse("test.yaml", []byte(text), inventory.Source{File: "test.yaml"})
	if len(res.Errors) > 0 || len(res.Objects) != 1 {
		t.Fatalf("parse: got %d objects and errors %v, want one object", len(res.Objects), res.Errors)
	}
	return res.Objects[0]
}

func TestExemptionMatches(t *testing.T) {
	web := object(t, `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-frontend
  namespace: shop-prod
  labels: {team: payments, tier: frontend}
`)
	ns := object(t, `apiVersion: v1
kind: Namespace
metadata: {name: shop-prod}
`)
	tests := []struct {
		name  string
		e     Exemption
		check string
		o     *inventory.Object
		want  bool
	}{
		{"check listed", Exemption{Checks: []string{"alpha"}}, "alpha", web, true},
		{"check not listed", Exemption{Checks: []string{"alpha"}}, "beta", web, false},
		{"any of several checks", Exemption{Checks: []string{"beta", "alpha"}}, "alpha", web, true},
		{"every check", Exemption{Checks: []string{"*"}}, "beta", web, true},
		{"namespace exact", Exemption{Checks: []string{"alpha"}, Namespaces: []string{"shop-prod"}}, "alpha", web, true},
		{"namespace pattern", Exemption{Checks: []string{"alpha"}, Namespaces: []string{"shop-*"}}, "alpha", web, true},
		{"namespace character class", Exemption{Checks: []string{"alpha"}, Namespaces: []string{"shop-[dp]*"}}, "alpha", web, true},
		{"namespace pattern misses", Exemption{Checks: []string{"alpha"}, Namespaces: []string{"shop-dev*"}}, "alpha", web, false},
		{"any of several namespaces", Exemption{Checks: []string{"alpha"}, Namespaces: []string{"other", "shop-?rod"}}, "alpha", web, true},
		{"namespace set, object cluster-scoped", Exemption{Checks: []string{"alpha"}, Namespaces: []string{"shop-prod"}}, "alpha", ns, false},
		{"name pattern", Exemption{Checks: []string{"alpha"}, Names: []string{"web-*"}}, "alpha", web, true},
		{"name pattern misses", Exemption{Checks: []string{"alpha"}, Names: []string{"api-*"}}, "alpha", web, false},
		{"kind", Exemption{Checks: []string{"alpha"}, Kinds: []string{"StatefulSet", "Deployment"}}, "alpha", web, true},
		{"kind misses", Exemption{Checks: []string{"alpha"}, Kinds: []string{"StatefulSet"}}, "alpha", web, false},
		{"labels all present", Exemption{Checks: []string{"alpha"}, Labels: map[string]string{"team": "payments", "tier": "frontend"}}, "alpha", web, true},
		{"label value differs", Exemption{Checks: []string{"alpha"}, Labels: map[string]string{"team": "search"}}, "alpha", web, false},
		{"label absent", Exemption{Checks: []string{"alpha"}, Labels: map[string]string{"owner": "payments"}}, "alpha", web, false},
		{
			"every field matches",
			Exemption{Checks: []string{"alpha"}, Namespaces: []string{"shop-*"}, Kinds: []string{"Deployment"}, Names: []string{"web-*"}, Labels: map[string]string{"team": "payments"}},
			"alpha", web, true,
		},
		{
			"all fields but one match",
			Exemption{Checks: []string{"alpha"}, Namespaces: []string{"shop-*"}, Kinds: []string{"Deployment"}, Names: []string{"api-*"}, Labels: map[string]string{"team": "payments"}},
			"alpha", web, false,
		},
		{
			"fields match but the check does not",
			Exemption{Checks: []string{"beta"}, Namespaces: []string{"shop-*"}, Kinds: []string{"Deployment"}},
			"alpha", web, false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.e.Matches(tt.check, tt.o); got != tt.want {
				t.Errorf("Matches(%s, %s): got %v, want %v", tt.check, tt.o.ID(), got, tt.want)
			}
		})
	}
}

func TestExemptionExpired(t *testing.T) {
	c, err := decode(t, `exemptions:
  - checks: [alpha]
    reason: migrating
    expires: "2026-03-31"
  - checks: [beta]
    reason: forever
`)
	if err != nil {
		t.Fatal(err)
	}
	dated, forever := &c.Exemptions[0], &c.Exemptions[1]
	at := func(s string) time.Time {
		t.Helper()
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		now  string
		want bool
	}{
		{"2026-03-30T12:00:00Z", false},
		{"2026-03-31T00:00:00Z", false}, // the expiry day itself still applies
		{"2026-03-31T23:59:59Z", false},
		{"2026-04-01T00:00:00Z", true}, // the next day does not
		{"2027-01-01T00:00:00Z", true},
	}
	for _, tt := range tests {
		if got := dated.Expired(at(tt.now)); got != tt.want {
			t.Errorf("Expired at %s (expires 2026-03-31): got %v, want %v", tt.now, got, tt.want)
		}
		if forever.Expired(at(tt.now)) {
			t.Errorf("Expired at %s (no expiry): got true, want false", tt.now)
		}
	}
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in    string
		minor int
		ok    bool
	}{
		{"1.33", 33, true},
		{"v1.33.2", 33, true},
		{"1.15", 15, true},
		{"v1.9", 9, true},
		{"v1.31.1-eks-1234", 31, true},
		{"1.", 0, false},
		{"1", 0, false},
		{"2.1", 0, false},
		{"latest", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		_, minor, err := ParseVersion(tt.in)
		if (err == nil) != tt.ok || minor != tt.minor {
			t.Errorf("ParseVersion(%q): got minor %d, error %v; want minor %d, ok %v", tt.in, minor, err, tt.minor, tt.ok)
		}
	}
}
