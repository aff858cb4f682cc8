// Package ci runs plimsoll's GitHub Action (action.yml) and pre-commit hook
// (.pre-commit-hooks.yaml) as GitHub's runner and pre-commit run them: the
// scripts and commands they hold, with the plimsoll they build themselves,
// on copies of the examples in a repository of a user's. What runs
// elsewhere (another action a step uses) is checked by its inputs: that
// they name what the scripts wrote.
package ci

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// repo is the repository's root: the action's checkout and the hook's.
const repo = "../.."

// decodeStrictly reads a YAML file into v, refusing keys v does not have.
func decodeStrictly(t *testing.T, file string, v any) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// userRepo makes a repository of a user's: each example directory copied
// under its own name (k8s: examples/not-ready), and files no audit should
// read (a workflow, under .github, which plimsoll skips as a dotfile).
func userRepo(t *testing.T, dirs map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, example := range dirs {
		src := filepath.Join(repo, "examples", example)
		entries, err := os.ReadDir(src)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			data, err := os.ReadFile(filepath.Join(src, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(root, name, e.Name()), string(data))
		}
	}
	writeFile(t, filepath.Join(root, ".github", "workflows", "ci.yml"), "on: push\njobs: {}\n")
	return root
}

func writeFile(t *testing.T, path, text string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// result is how a command ended.
type result struct {
	code        int
	out, errOut string
}

// execute runs cmd and returns its exit code and output; only a command
// that could not start fails the test.
func execute(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	return result{code, out.String(), errOut.String()}
}

func wantExit(t *testing.T, what string, r result, want int) {
	t.Helper()
	if r.code != want {
		t.Fatalf("%s: got exit %d, want %d\nstdout:\n%s\nstderr:\n%s", what, r.code, want, r.out, r.errOut)
	}
}

// report decodes a JSON report's fields the tests read.
type report struct {
	DisabledChecks []string `json:"disabledChecks"`
	Summary        struct {
		Fail int `json:"fail"`
	} `json:"summary"`
	Baseline *struct {
		New int `json:"new"`
	} `json:"baseline"`
}

func decodeReport(t *testing.T, text string) report {
	t.Helper()
	var r report
	if err := json.Unmarshal([]byte(text), &r); err != nil {
		t.Fatalf("not a JSON report: %v\n%s", err, text)
	}
	return r
}

// environ is the test's environment without what GitHub's runner and
// pre-commit set, which the tests set themselves.
func environ() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GITHUB_") && !strings.HasPrefix(kv, "RUNNER_") && !strings.HasPrefix(kv, "INPUT_") {
			out = append(out, kv)
		}
	}
	return out
}
