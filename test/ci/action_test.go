package ci

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// action is the part of a composite action's metadata (action.yml) that
// the runner reads; decoding strictly into it refuses a misspelt key.
type action struct {
	Name        string            `yaml:"name"`
	Description string            `yaml:"description"`
	Author      string            `yaml:"author"`
	Branding    map[string]string `yaml:"branding"`
	Inputs      map[string]struct {
		Description string `yaml:"description"`
		Required    bool   `yaml:"required"`
		Default     string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Description string `yaml:"description"`
		Value       string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string `yaml:"using"`
		Steps []step `yaml:"steps"`
	} `yaml:"runs"`
}

type step struct {
	Name  string            `yaml:"name"`
	ID    string            `yaml:"id"`
	If    string            `yaml:"if"`
	Uses  string            `yaml:"uses"`
	With  map[string]string `yaml:"with"`
	Shell string            `yaml:"shell"`
	Env   map[string]string `yaml:"env"`
	Run   string            `yaml:"run"`
}

func loadAction(t *testing.T) *action {
	t.Helper()
	var a action
	decodeStrictly(t, filepath.Join(repo, "action.yml"), &a)
	if a.Runs.Using != "composite" {
		t.Fatalf("runs.using is %q, want composite", a.Runs.Using)
	}
	return &a
}

// step returns the step that uses an action (uses names it, without its
// version) or that has a name.
func (a *action) step(t *testing.T, name string) step {
	t.Helper()
	for _, s := range a.Runs.Steps {
		if s.Name == name || strings.SplitN(s.Uses, "@", 2)[0] == name {
			return s
		}
	}
	t.Fatalf("action.yml has no step %q", name)
	return step{}
}

// runner runs an action's steps as GitHub's runner does: each run script
// in bash --noprofile --norc -eo pipefail, in the workspace, with the
// step's env evaluated, a fresh GITHUB_OUTPUT and GITHUB_PATH for each
// step, what steps wrote to GITHUB_PATH on the PATH of the steps after.
type runner struct {
	t         *testing.T
	action    *action
	inputs    map[string]string
	ref       string // github.action_ref
	workspace string
	temp      string // RUNNER_TEMP, shared by the runs of one job
	path      []string
	outputs   map[string]map[string]string // by step id
	env       []string                     // more, as a workflow's env: gives
}

func newRunner(t *testing.T, a *action, workspace, temp string, path []string, inputs map[string]string) *runner {
	r := &runner{t: t, action: a, inputs: map[string]string{}, ref: "v9.9.9-ci", workspace: workspace, temp: temp, path: path, outputs: map[string]map[string]string{}}
	for name, in := range a.Inputs {
		r.inputs[name] = in.Default
	}
	for name, v := range inputs {
		if _, ok := a.Inputs[name]; !ok {
			t.Fatalf("action.yml has no input %q", name)
		}
		r.inputs[name] = v
	}
	return r
}

var expression = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// eval substitutes the expressions of a value. It knows what action.yml
// uses (inputs, the action's path and ref, step outputs) and fails on
// anything else rather than guess.
func (r *runner) eval(s string) string {
	r.t.Helper()
	return expression.ReplaceAllStringFunc(s, func(e string) string {
		return r.value(expression.FindStringSubmatch(e)[1])
	})
}

func (r *runner) value(name string) string {
	r.t.Helper()
	switch parts := strings.Split(name, "."); {
	case len(parts) == 2 && parts[0] == "inputs":
		v, ok := r.inputs[parts[1]]
		if !ok {
			r.t.Fatalf("expression %q: action.yml declares no input %q", name, parts[1])
		}
		return v
	case name == "github.action_path":
		abs, err := filepath.Abs(repo)
		if err != nil {
			r.t.Fatal(err)
		}
		return abs
	case name == "github.action_ref":
		return r.ref
	case len(parts) == 4 && parts[0] == "steps" && parts[2] == "outputs":
		return r.outputs[parts[1]][parts[3]]
	}
	r.t.Fatalf("expression %q: the test does not know it", name)
	return ""
}

// condition evaluates a step's if: terms joined by &&, each !cancelled(),
// X == 'v' or X != 'v'.
func (r *runner) condition(s string) bool {
	r.t.Helper()
	s = strings.TrimSpace(s)
	if m := expression.FindStringSubmatch(s); m != nil && m[0] == s {
		s = m[1]
	}
	comparison := regexp.MustCompile(`^([a-z_.-]+) (==|!=) '([^']*)'$`)
	for _, term := range strings.Split(s, "&&") {
		term = strings.TrimSpace(term)
		if term == "!cancelled()" {
			continue
		}
		m := comparison.FindStringSubmatch(term)
		if m == nil {
			r.t.Fatalf("if %q: the test does not know the term %q", s, term)
		}
		if (r.value(m[1]) == m[3]) != (m[2] == "==") {
			return false
		}
	}
	return true
}

// run runs a step's script and records what it wrote to GITHUB_OUTPUT
// and GITHUB_PATH.
func (r *runner) run(s step) result {
	r.t.Helper()
	if s.Shell != "bash" || s.Uses != "" {
		r.t.Fatalf("step %q: got shell %q and uses %q, want a bash script", s.Name, s.Shell, s.Uses)
	}
	dir := r.t.TempDir()
	script := writeFile(r.t, filepath.Join(dir, "script.sh"), s.Run)
	output := writeFile(r.t, filepath.Join(dir, "output"), "")
	path := writeFile(r.t, filepath.Join(dir, "path"), "")
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", script)
	cmd.Dir = r.workspace
	cmd.Env = append(environ(),
		"PATH="+strings.Join(append(slices.Clone(r.path), os.Getenv("PATH")), string(os.PathListSeparator)),
		"GITHUB_ACTIONS=true", "CI=true",
		"GITHUB_WORKSPACE="+r.workspace, "RUNNER_TEMP="+r.temp,
		"GITHUB_OUTPUT="+output, "GITHUB_PATH="+path,
	)
	cmd.Env = append(cmd.Env, r.env...)
	for name, v := range s.Env {
		cmd.Env = append(cmd.Env, name+"="+r.eval(v))
	}
	res := execute(r.t, cmd)
	outputs := map[string]string{}
	for _, line := range lines(r.t, output) {
		name, v, ok := strings.Cut(line, "=")
		if !ok {
			r.t.Fatalf("step %q wrote %q to GITHUB_OUTPUT, want name=value", s.Name, line)
		}
		outputs[name] = v
	}
	if s.ID != "" {
		r.outputs[s.ID] = outputs
	}
	// The runner puts what a step adds first, the latest first.
	for _, p := range lines(r.t, path) {
		r.path = append([]string{p}, r.path...)
	}
	return res
}

func lines(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestActionMetadata checks what action.yml says without running it:
// inputs reach scripts only through the environment (an expression inside
// a script is shell code a value could inject), every input is used, and
// Go is set up from the module the install step builds.
func TestActionMetadata(t *testing.T) {
	a := loadAction(t)
	text, err := os.ReadFile(filepath.Join(repo, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, e := range expression.FindAllStringSubmatch(string(text), -1) {
		for _, m := range regexp.MustCompile(`\binputs\.([a-z-]+)`).FindAllStringSubmatch(e[1], -1) {
			used[m[1]] = true
		}
	}
	for name := range a.Inputs {
		if !used[name] {
			t.Errorf("input %q is never used", name)
		}
	}
	for _, s := range a.Runs.Steps {
		if s.Run != "" && strings.Contains(s.Run, "${{") {
			t.Errorf("step %q: an expression inside the script; pass it through env", s.Name)
		}
		if s.Uses != "" && !strings.Contains(s.Uses, "@") {
			t.Errorf("step %q: uses %q names no version", s.Name, s.Uses)
		}
	}
	r := newRunner(t, a, t.TempDir(), t.TempDir(), nil, nil)
	goMod := r.eval(a.step(t, "actions/setup-go").With["go-version-file"])
	if abs, _ := filepath.Abs(filepath.Join(repo, "go.mod")); goMod != abs {
		t.Errorf("setup-go reads %s, want the action's own go.mod, %s", goMod, abs)
	}
}

// install runs the install step and returns the directory it put plimsoll in, on the
// runner's PATH for the steps after it, and the runner temporary directory
// it is under.
func install(t *testing.T, a *action, inputs map[string]string) (path []string, temp string) {
	t.Helper()
	temp = t.TempDir()
	r := newRunner(t, a, t.TempDir(), temp, nil, inputs)
	res := r.run(a.step(t, "Install plimsoll"))
	wantExit(t, "install", res, 0)
	if len(r.path) != 1 {
		t.Fatalf("the install step added %q to PATH, want one directory", r.path)
	}
	if _, err := os.Stat(filepath.Join(r.path[0], "plimsoll")); err != nil {
		t.Fatal(err)
	}
	if inputs["version"] == "" && !strings.HasPrefix(res.out, "plimsoll "+r.ref+" ") {
		t.Errorf("a build of the action's checkout says %q, want the ref the workflow named, %s", res.out, r.ref)
	}
	return r.path, temp
}

// TestAction builds plimsoll with the install step, then runs the audit
// step on the examples with the inputs a workflow gives, and checks what
// the upload step would be given.
func TestAction(t *testing.T) {
	a := loadAction(t)
	path, temp := install(t, a, nil)
	audit, upload := a.step(t, "Audit"), a.step(t, "github/codeql-action/upload-sarif")

	// A baseline, written by the action itself: the ready shop's report.
	base := newRunner(t, a, userRepo(t, map[string]string{"k8s": "ready"}), temp, path, map[string]string{"paths": "k8s", "format": "json"})
	baseline := base.run(audit)
	wantExit(t, "baseline", baseline, 0)
	baselineFile := writeFile(t, filepath.Join(t.TempDir(), "main.json"), baseline.out)
	config := writeFile(t, filepath.Join(t.TempDir(), "plimsoll.yaml"), "checks:\n  disable: [image-tag-latest]\n")

	tests := []struct {
		name    string
		example string // under k8s/
		inputs  map[string]string
		code    int
		// check looks at the step's output and the runner after it.
		check func(t *testing.T, res result, r *runner)
	}{
		{
			name: "a not-ready shop fails the gate, annotated, with SARIF", example: "not-ready",
			inputs: map[string]string{"paths": "k8s", "fail-on": "high", "sarif-file": "plimsoll.sarif"},
			code:   1,
			check: func(t *testing.T, res result, r *runner) {
				if !strings.Contains(res.out, "::error file=k8s/") || !strings.Contains(res.errOut, "gate failed") {
					t.Errorf("got no annotation on a file of k8s/, or no word of the gate:\n%s\n%s", res.out, res.errOut)
				}
				if !r.condition(upload.If) {
					t.Fatalf("the upload step would not run (if: %s)", upload.If)
				}
				sarif := r.eval(upload.With["sarif_file"])
				var log struct {
					Version string `json:"version"`
					Runs    []struct {
						Results []json.RawMessage `json:"results"`
					} `json:"runs"`
				}
				data, err := os.ReadFile(filepath.Join(r.workspace, sarif))
				if err != nil {
					t.Fatalf("the upload step is given %q: %v", sarif, err)
				}
				if err := json.Unmarshal(data, &log); err != nil || log.Version != "2.1.0" || len(log.Runs) != 1 || len(log.Runs[0].Results) == 0 {
					t.Errorf("%s: got version %q, %d runs, error %v; want SARIF 2.1.0 with results", sarif, log.Version, len(log.Runs), err)
				}
				if got := r.eval(r.action.Outputs["sarif-file"].Value); got != "plimsoll.sarif" {
					t.Errorf("the action's sarif-file output is %q, want plimsoll.sarif", got)
				}
			},
		},
		{
			name: "a ready shop passes every gate", example: "ready",
			inputs: map[string]string{"paths": "k8s", "fail-on": "low", "min-score": "100", "format": "text"},
			check: func(t *testing.T, res result, r *runner) {
				if !strings.Contains(res.out, "GATES passed") || r.condition(upload.If) {
					t.Errorf("got no word that the gates passed, or an upload without SARIF:\n%s", res.out)
				}
			},
		},
		{
			name: "the default paths audit the repository, skipping .github", example: "ready",
			inputs: map[string]string{"fail-on": "low"},
		},
		{
			name: "new findings since the baseline fail", example: "not-ready",
			inputs: map[string]string{"paths": "k8s", "baseline": baselineFile, "fail-on-new": "high", "format": "json"},
			code:   1,
			check: func(t *testing.T, res result, _ *runner) {
				if rep := decodeReport(t, res.out); rep.Baseline == nil || rep.Baseline.New == 0 {
					t.Errorf("got baseline %+v, want new findings", rep.Baseline)
				}
			},
		},
		{
			name: "nothing new since the baseline passes", example: "ready",
			inputs: map[string]string{"paths": "k8s", "baseline": baselineFile, "fail-on-new": "info"},
		},
		{
			name: "configuration and more arguments", example: "not-ready",
			inputs: map[string]string{"paths": "k8s/web.yaml\nk8s/api.yaml", "config": config, "args": "--kubernetes-version 1.24 --max-file-size 100000", "format": "json"},
			check: func(t *testing.T, res result, _ *runner) {
				if rep := decodeReport(t, res.out); !slices.Contains(rep.DisabledChecks, "image-tag-latest") || rep.Summary.Fail == 0 {
					t.Errorf("got disabled checks %q and %d failures, want the configuration's and some", rep.DisabledChecks, rep.Summary.Fail)
				}
			},
		},
		{
			name: "SARIF without uploading it", example: "not-ready",
			inputs: map[string]string{"paths": "k8s", "sarif-file": "out.sarif", "upload-sarif": "false"},
			check: func(t *testing.T, _ result, r *runner) {
				if _, err := os.Stat(filepath.Join(r.workspace, "out.sarif")); err != nil || r.condition(upload.If) {
					t.Errorf("got %v, upload %v; want the file written and no upload", err, r.condition(upload.If))
				}
			},
		},
		{
			name: "no paths is an error, not an audit of a cluster", example: "ready",
			inputs: map[string]string{"paths": " \n "},
			code:   2,
			check: func(t *testing.T, res result, _ *runner) {
				if !strings.Contains(res.out, "::error title=plimsoll::the paths input is empty") {
					t.Errorf("got %q, want an error annotation", res.out)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRunner(t, a, userRepo(t, map[string]string{"k8s": tt.example}), temp, path, tt.inputs)
			res := r.run(audit)
			wantExit(t, "audit", res, tt.code)
			if tt.check != nil {
				tt.check(t, res, r)
			}
		})
	}
}
