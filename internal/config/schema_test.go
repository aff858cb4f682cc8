package config_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	yaml "go.yaml.in/yaml/v3"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks"
	"github.com/plimsoll/plimsoll/internal/config"
	"github.com/plimsoll/plimsoll/internal/schematest"
)

// The configuration schema (schema/plimsoll-config.schema.json) is what
// editors check .plimsoll.yaml against. These tests hold it to Decode:
// every field, every default, and the same verdict on the same file,
// except where a difference is stated.

const configSchema = "../../schema/plimsoll-config.schema.json"

func TestConfigSchemaCoversConfig(t *testing.T) {
	schematest.Covers(t, schematest.Document(t, configSchema), reflect.TypeFor[config.Config](), schematest.Mode{Tag: "yaml"})
}

// TestConfigSchemaDefaults decodes the schema's default of every parameter
// and requires Defaults' values; a parameter without one must default to
// nothing.
func TestConfigSchemaDefaults(t *testing.T) {
	doc := schematest.Document(t, configSchema)
	props := doc["properties"].(map[string]any)["parameters"].(map[string]any)["properties"].(map[string]any)
	defaults := map[string]any{}
	for name, p := range props {
		if d, ok := p.(map[string]any)["default"]; ok {
			defaults[name] = d
		}
	}
	// JSON is YAML, and keeps the schema's numbers numbers.
	text, err := json.Marshal(map[string]any{"parameters": defaults})
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.Decode(strings.NewReader(string(text)), checks.Registry())
	if err != nil {
		t.Fatalf("the schema's defaults do not decode: %v\n%s", err, text)
	}
	if diff := cmp.Diff(check.Defaults(), c.Parameters); diff != "" {
		t.Errorf("the schema's defaults differ from check.Defaults (-Defaults +schema):\n%s", diff)
	}
	want := reflect.ValueOf(check.Defaults())
	for i := range want.NumField() {
		name, _, _ := strings.Cut(want.Type().Field(i).Tag.Get("yaml"), ",")
		if _, ok := defaults[name]; !ok && !want.Field(i).IsZero() {
			t.Errorf("parameters.%s: the schema gives no default, want %v", name, want.Field(i).Interface())
		}
	}
}

// TestRepositoryConfigsValidate requires every configuration in the
// repository to decode and to validate: the check fixtures' config.yaml
// files, and the documentation's YAML blocks whose keys are configuration
// keys.
func TestRepositoryConfigsValidate(t *testing.T) {
	root := filepath.Join("..", "..")
	configs := map[string]string{}
	files, err := filepath.Glob(filepath.Join(root, "internal", "checks", "testdata", "*", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		configs[relative(t, root, f)] = string(data)
	}
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	docs = append(docs, filepath.Join(root, "README.md"), filepath.Join(root, "examples", "README.md"), filepath.Join(root, "CONTRIBUTING.md"))
	documented := 0
	for _, f := range docs {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, block := range configBlocks(t, string(data)) {
			configs[fmt.Sprintf("%s block %d", relative(t, root, f), i+1)] = block
			documented++
		}
	}
	// README's Configuration section and examples/README.md's at least.
	if len(files) == 0 || documented < 2 {
		t.Fatalf("got %d fixture configurations and %d documented ones, want some of each", len(files), documented)
	}
	schema := schematest.Compile(t, configSchema)
	reg := checks.Registry()
	for _, name := range slices.Sorted(maps.Keys(configs)) {
		text := configs[name]
		if _, err := config.Decode(strings.NewReader(text), reg); err != nil {
			t.Errorf("%s: plimsoll refuses it: %v", name, err)
		}
		if err := schematest.ValidateYAML(schema, []byte(text)); err != nil {
			t.Errorf("%s: the schema refuses it: %v", name, err)
		}
	}
}

func relative(t *testing.T, root, file string) string {
	t.Helper()
	rel, err := filepath.Rel(root, file)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.ToSlash(rel)
}

var yamlBlock = regexp.MustCompile("(?ms)^```yaml\n(.*?)^```")

// configBlocks returns a Markdown text's YAML blocks that are
// configurations: every top-level key is one of the configuration's.
func configBlocks(t *testing.T, markdown string) []string {
	t.Helper()
	keys := []string{"checks", "parameters", "exemptions"}
	var out []string
	for _, m := range yamlBlock.FindAllStringSubmatch(markdown, -1) {
		var top map[string]any
		if err := yaml.Unmarshal([]byte(m[1]), &top); err != nil || len(top) == 0 {
			continue
		}
		config := true
		for k := range top {
			config = config && slices.Contains(keys, k)
		}
		if config {
			out = append(out, m[1])
		}
	}
	return out
}

// TestConfigSchemaAgreesWithDecode gives Decode (with the built-in checks)
// and the schema the same files, and requires the same verdict from both
// wherever why is empty: every structural error (an unknown key, a value
// of the wrong type) is one the schema catches too. Where they differ, why
// says why.
func TestConfigSchemaAgreesWithDecode(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		decodes bool
		valid   bool
		why     string
	}{
		{name: "empty file", yaml: "", decodes: true, valid: true},
		{name: "comments only", yaml: "# nothing yet\n", decodes: true, valid: true},
		{name: "sections left empty", yaml: "checks:\nparameters:\nexemptions:\n", decodes: true, valid: true},
		{name: "lists left empty", yaml: "checks:\n  enable:\nparameters:\n  costLabels:\n", decodes: true, valid: true},
		{
			name: "every field",
			yaml: `checks:
  enable: [recommended-labels]
  disable: [container-read-only-root-fs]
  severity: {workload-cost-labels: medium, pdb-coverage: critical}
parameters:
  minReplicas: 3
  costLabels: [team]
  recommendedLabels: [app.kubernetes.io/name]
  allowedRegistries: [registry.example.com]
  systemNamespaces: [kube-system]
  kubernetesVersion: v1.33.2
  slowStartSeconds: 60
  maxGracePeriodSeconds: 600
  maxRestarts: 0
  minWorkerNodes: 5
  minZones: 3
  alertTopics:
    - {name: etcd, alertNames: [etcdNoLeader]}
    - {name: backups, expressions: [velero_backup_failure_total]}
  backupRPO: 1d12h
  backupGrace: 1.5h
  etcdBackupMaxAge: +14d
  restoreTestMaxAge: 2w
  certMinValidity: 36h
exemptions:
  - checks: ["*"]
    namespaces: [batch-*]
    kinds: [Deployment]
    names: [report-*]
    labels: {tier: batch}
    reason: single-writer batch jobs
    expires: 2026-12-31
`,
			decodes: true, valid: true,
		},
		{name: "unknown top-level key", yaml: "exemptons: []\n"},
		{name: "unknown key in checks", yaml: "checks:\n  disabel: [pdb-coverage]\n"},
		{name: "unknown parameter", yaml: "parameters:\n  minReplica: 2\n"},
		{name: "unknown key in an exemption", yaml: "exemptions:\n  - checks: [pdb-coverage]\n    reason: r\n    namespace: [shop]\n"},
		{name: "unknown key in an alert topic", yaml: "parameters:\n  alertTopics:\n    - name: disk\n      alertName: [Disk]\n"},
		{name: "a list at the top", yaml: "- checks\n"},
		{name: "a list for checks", yaml: "checks: []\n"},
		{name: "a string for a list", yaml: "parameters:\n  costLabels: team\n"},
		{name: "a string for a number", yaml: "parameters:\n  minReplicas: \"3\"\n"},
		{name: "a fraction for a count", yaml: "parameters:\n  minReplicas: 2.5\n"},
		{name: "a count beyond int32", yaml: "parameters:\n  minReplicas: 4294967298\n"},
		{name: "a mapping for exemptions", yaml: "exemptions: {checks: [pdb-coverage], reason: r}\n"},
		{name: "a list for labels", yaml: "exemptions:\n  - checks: [pdb-coverage]\n    reason: r\n    labels: [tier]\n"},
		{name: "unknown severity", yaml: "checks:\n  severity:\n    pdb-coverage: urgent\n"},
		{name: "check ID of the wrong shape", yaml: "checks:\n  disable: [PDB_coverage]\n"},
		{name: "exemption without reason", yaml: "exemptions:\n  - checks: [pdb-coverage]\n"},
		{name: "exemption with a blank reason", yaml: "exemptions:\n  - checks: [pdb-coverage]\n    reason: '  '\n"},
		{name: "exemption without checks", yaml: "exemptions:\n  - reason: legacy\n"},
		{name: "exemption with no check", yaml: "exemptions:\n  - checks: []\n    reason: legacy\n"},
		{name: "expires not a date", yaml: "exemptions:\n  - checks: [pdb-coverage]\n    reason: r\n    expires: 31/12/2026\n"},
		{name: "expires on a day that does not exist", yaml: "exemptions:\n  - checks: [pdb-coverage]\n    reason: r\n    expires: 2026-02-30\n"},
		{name: "kubernetesVersion not a version", yaml: "parameters:\n  kubernetesVersion: latest\n"},
		{name: "kubernetesVersion of another major", yaml: "parameters:\n  kubernetesVersion: \"2.0\"\n"},
		{name: "duration without a unit", yaml: "parameters:\n  backupRPO: \"36\"\n"},
		{name: "negative duration", yaml: "parameters:\n  backupRPO: -1h\n"},
		{name: "alert topic without a name", yaml: "parameters:\n  alertTopics:\n    - alertNames: [CrashLoop]\n"},
		{name: "alert topic without patterns", yaml: "parameters:\n  alertTopics:\n    - name: disk\n"},
		{name: "alert topic with empty patterns", yaml: "parameters:\n  alertTopics:\n    - {name: disk, alertNames: [], expressions: []}\n"},
		{
			name: "check that does not exist", yaml: "checks:\n  disable: [pdb-coverag]\n", valid: true,
			why: "the schema does not list the check IDs, which change with every release; plimsoll checks lists them",
		},
		{
			name: "pattern that is not a regular expression", yaml: "parameters:\n  alertTopics:\n    - {name: crash, alertNames: [\"Kube(Pod\"]}\n", valid: true,
			why: "the schema does not compile regular expressions",
		},
		{
			name: "severity in capitals", yaml: "checks:\n  severity:\n    pdb-coverage: High\n", decodes: true,
			why: "the schema offers the names as plimsoll writes them; plimsoll reads them without regard to case",
		},
		{
			name: "kubernetesVersion unquoted", yaml: "parameters:\n  kubernetesVersion: 1.33\n", decodes: true,
			why: "a number where a string is wanted: plimsoll reads its text, but 1.30 unquoted is 1.3 to most YAML readers, so the schema asks for quotes",
		},
		{
			name: "negative count", yaml: "parameters:\n  minReplicas: -1\n", decodes: true,
			why: "a negative count means nothing; plimsoll's type allows it",
		},
		{
			name: "a count left empty", yaml: "parameters:\n  minReplicas:\n", decodes: true,
			why: "an empty value where a number is wanted is flagged, though plimsoll keeps the default",
		},
		{
			name: "every check disabled with *", yaml: "checks:\n  disable: [\"*\"]\n", decodes: true,
			why: "* means every check only in an exemption; in checks it matches no check, and the schema says so",
		},
	}
	schema := schematest.Compile(t, configSchema)
	reg := checks.Registry()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, decodeErr := config.Decode(strings.NewReader(tt.yaml), reg)
			validErr := schematest.ValidateYAML(schema, []byte(tt.yaml))
			if got := decodeErr == nil; got != tt.decodes {
				t.Errorf("Decode: got accepted %v (%v), want %v", got, decodeErr, tt.decodes)
			}
			if got := validErr == nil; got != tt.valid {
				t.Errorf("schema: got valid %v (%v), want %v", got, validErr, tt.valid)
			}
			if (tt.decodes != tt.valid) != (tt.why != "") {
				t.Errorf("Decode says %v and the schema %v: a difference needs a why, and only a difference has one", tt.decodes, tt.valid)
			}
		})
	}
}
