package ci

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// hook is a pre-commit hook definition (.pre-commit-hooks.yaml); decoding
// strictly into it refuses a key pre-commit does not have.
type hook struct {
	ID            string   `yaml:"id"`
	Name          string   `yaml:"name"`
	Description   string   `yaml:"description"`
	Entry         string   `yaml:"entry"`
	Language      string   `yaml:"language"`
	Files         string   `yaml:"files"`
	Exclude       string   `yaml:"exclude"`
	Types         []string `yaml:"types"`
	PassFilenames *bool    `yaml:"pass_filenames"`
	RequireSerial bool     `yaml:"require_serial"`
	Args          []string `yaml:"args"`
}

// TestPreCommitHook installs the hook as pre-commit installs a golang hook
// (go install ./... in the hook's repository) and runs it as pre-commit
// runs it (entry, then args, in the root of the repository committed to),
// with its own args and with a user's.
func TestPreCommitHook(t *testing.T) {
	var hooks []hook
	decodeStrictly(t, filepath.Join(repo, ".pre-commit-hooks.yaml"), &hooks)
	if len(hooks) != 1 || hooks[0].ID != "plimsoll" {
		t.Fatalf("got hooks %+v, want one, plimsoll", hooks)
	}
	h := hooks[0]
	// Checks judge objects together: a commit's files alone would fail for
	// what the others hold, so the hook audits what args name.
	if h.Language != "golang" || h.PassFilenames == nil || *h.PassFilenames {
		t.Errorf("got language %q and pass_filenames %v, want golang and false", h.Language, h.PassFilenames)
	}
	// pre-commit matches files with Python's re.search; this expression
	// means the same in Go's syntax.
	files := regexp.MustCompile(h.Files)
	for name, want := range map[string]bool{"k8s/web.yaml": true, "deploy/a.yml": true, "list.json": true, "main.go": false, "README.md": false} {
		if files.MatchString(name) != want {
			t.Errorf("files %q matches %s: %v, want %v", h.Files, name, !want, want)
		}
	}

	// pre-commit runs go install ./... with a GOPATH of its own; GOBIN
	// stands for that GOPATH's bin here, and the module cache is shared.
	bin := t.TempDir()
	goInstall := exec.Command("go", "install", "./...")
	goInstall.Dir = repo
	goInstall.Env = append(environ(), "GOBIN="+bin)
	wantExit(t, "go install ./...", execute(t, goInstall), 0)

	entry := strings.Fields(h.Entry)
	hookRun := func(t *testing.T, dir string, args []string) result {
		t.Helper()
		cmd := exec.Command(filepath.Join(bin, entry[0]), append(slices.Clone(entry[1:]), args...)...)
		cmd.Dir = dir
		cmd.Env = append(environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		return execute(t, cmd)
	}
	for _, tc := range []struct {
		name    string
		example string // the user's k8s/
		args    []string
		code    int
		want    string // in stdout
	}{
		{"its own args on a not-ready shop", "not-ready", h.Args, 1, "pdb-coverage"},
		{"its own args on a ready shop", "ready", h.Args, 0, "GATES passed (--fail-on high)"},
		{"a user's args", "not-ready", []string{"k8s/", "--fail-on", "critical", "-q"}, 1, "GATES gate failed"},
		{"a user's baseline", "not-ready", []string{"k8s/", "--baseline", ".plimsoll/baseline.json", "--fail-on-new", "high"}, 0, "since the baseline: 0 new"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := userRepo(t, map[string]string{"k8s": tc.example})
			// A file no audit reads, as users keep beside their manifests:
			// pre-commit's own configuration.
			writeFile(t, filepath.Join(dir, ".pre-commit-config.yaml"), "repos:\n  - repo: https://github.com/plimsoll/plimsoll\n    rev: v1.2.3\n    hooks: [{id: plimsoll}]\n")
			// A baseline, kept in a directory plimsoll skips (a JSON
			// report among the manifests would be read as one).
			base := hookRun(t, dir, []string{"k8s/", "-o", "json"})
			wantExit(t, "the baseline", base, 0)
			writeFile(t, filepath.Join(dir, ".plimsoll", "baseline.json"), base.out)
			res := hookRun(t, dir, tc.args)
			wantExit(t, "the hook", res, tc.code)
			if !strings.Contains(res.out, tc.want) {
				t.Errorf("got stdout without %q:\n%s", tc.want, res.out)
			}
		})
	}
}
