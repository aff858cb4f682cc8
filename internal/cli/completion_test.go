package cli

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/plimsoll/plimsoll/internal/apiversion"
	"github.com/plimsoll/plimsoll/internal/checks"
	"github.com/plimsoll/plimsoll/internal/drill"
	"github.com/plimsoll/plimsoll/internal/report"
)

// complete runs cobra's hidden __complete command, as the shell scripts
// do, and returns the candidates (with their descriptions, after a tab)
// and the directive.
func complete(t *testing.T, args ...string) ([]string, cobra.ShellCompDirective) {
	t.Helper()
	o := run(t, append([]string{cobra.ShellCompRequestCmd}, args...)...)
	wantCode(t, o, ExitOK)
	lines := strings.Split(strings.TrimSuffix(o.out, "\n"), "\n")
	last := lines[len(lines)-1]
	directive, err := strconv.Atoi(strings.TrimPrefix(last, ":"))
	if !strings.HasPrefix(last, ":") || err != nil {
		t.Fatalf("__complete %q: got last line %q, want :DIRECTIVE", args, last)
	}
	candidates := lines[:len(lines)-1]
	if len(candidates) == 0 {
		candidates = nil
	}
	return candidates, cobra.ShellCompDirective(directive)
}

func TestCompletionScripts(t *testing.T) {
	for shell, want := range map[string]string{
		"bash":       "# bash completion V2 for plimsoll",
		"zsh":        "#compdef plimsoll",
		"fish":       "# fish completion for plimsoll",
		"powershell": "# powershell completion for plimsoll",
	} {
		o := run(t, "completion", shell)
		wantCode(t, o, ExitOK)
		if !strings.Contains(o.out, want) || !strings.Contains(o.out, cobra.ShellCompRequestCmd) {
			t.Errorf("completion %s: got a script without %q asking %s", shell, want, cobra.ShellCompRequestCmd)
		}
	}
	if help := run(t, "--help"); !strings.Contains(help.out, "completion  Generate the autocompletion script") {
		t.Errorf("--help does not list the completion command:\n%s", help.out)
	}
}

func TestCompletionOfFixedValues(t *testing.T) {
	severities := []string{"info", "low", "medium", "high", "critical"}
	noFiles := cobra.ShellCompDirectiveNoFileComp
	tests := []struct {
		args      []string
		want      []string
		directive cobra.ShellCompDirective
	}{
		{[]string{"audit", "-o", ""}, report.Formats(), noFiles},
		{[]string{"audit", "--output", "j"}, report.Formats(), noFiles},
		{[]string{"audit", "--fail-on", ""}, severities, noFiles},
		{[]string{"audit", "--baseline", "main.json", "--fail-on-new", ""}, severities, noFiles},
		{[]string{"drill", "-o", ""}, drill.Formats(), noFiles},
		{[]string{"drill", "upgrade", "-o", ""}, drill.Formats(), noFiles},
		{[]string{"drill", "zone", "--fail-on", ""}, []string{"blocked", "degraded", "outage"}, noFiles},
		{[]string{"fix", "-o", ""}, []string{"text", "json"}, noFiles},
		{[]string{"checks", "-o", ""}, []string{"text", "json"}, noFiles},
		{[]string{"fix", "--layer", ""}, []string{"infrastructure", "cluster-services", "security", "workloads", "governance", "upgrade"}, noFiles},
		{[]string{"checks", "explain", "pdb-coverage", ""}, nil, noFiles},
		{[]string{"audit", "--min-score", ""}, nil, noFiles},
		{[]string{"audit", "--config", ""}, []string{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt},
		{[]string{"audit", "--baseline", ""}, []string{"json", "yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt},
		{[]string{"drill", "nodes", "--snapshot", ""}, []string{"json", "gz"}, cobra.ShellCompDirectiveFilterFileExt},
		{[]string{"snapshot", "-o", ""}, []string{"json", "gz"}, cobra.ShellCompDirectiveFilterFileExt},
		{[]string{"fix", "--overlay", ""}, nil, cobra.ShellCompDirectiveFilterDirs},
		{[]string{"audit", "--helm", ""}, nil, cobra.ShellCompDirectiveDefault},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			got, directive := complete(t, tt.args...)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("candidates (-want +got):\n%s", diff)
			}
			if directive != tt.directive {
				t.Errorf("got directive %d, want %d", directive, tt.directive)
			}
		})
	}
}

func TestCompletionOfCheckIDs(t *testing.T) {
	var want []string
	for _, c := range checks.Registry().All() {
		want = append(want, c.ID+"\t"+c.Title)
	}
	for _, args := range [][]string{
		{"fix", "--check", ""},
		{"fix", "--check", "pdb-coverage", "--check", "pdb"},
		{"checks", "explain", ""},
	} {
		got, directive := complete(t, args...)
		if diff := cmp.Diff(want, got); diff != "" || directive != cobra.ShellCompDirectiveNoFileComp {
			t.Errorf("__complete %q: directive %d, candidates (-want +got):\n%s", args, directive, diff)
		}
	}
}

func TestCompletionOfKubernetesVersions(t *testing.T) {
	got, _ := complete(t, "audit", "--kubernetes-version", "")
	if len(got) < 10 || got[len(got)-1] != apiversion.Latest || !slices.Contains(got, "1.25") {
		t.Errorf("got %q, want the releases up to %s, 1.25 (which removed policy/v1beta1) among them", got, apiversion.Latest)
	}
}

// TestCompletionOfKubeconfigNames completes contexts, clusters and users
// from a kubeconfig with two of each, named by KUBECONFIG or by
// --kubeconfig, on every command that reads a cluster.
func TestCompletionOfKubeconfigNames(t *testing.T) {
	dir := t.TempDir()
	kubeconfig := func(prefix string) string {
		return write(t, dir, prefix+".kubeconfig", `apiVersion: v1
kind: Config
current-context: `+prefix+`-prod
clusters:
  - name: `+prefix+`-eu
    cluster: {server: "https://eu.example.com:6443"}
  - name: `+prefix+`-us
    cluster: {server: "https://us.example.com:6443"}
users:
  - name: `+prefix+`-admin
    user: {token: not-a-secret}
  - name: `+prefix+`-reader
    user: {token: not-a-secret}
contexts:
  - name: `+prefix+`-staging
    context: {cluster: `+prefix+`-us, user: `+prefix+`-reader}
  - name: `+prefix+`-prod
    context: {cluster: `+prefix+`-eu, user: `+prefix+`-admin, namespace: shop}
`)
	}
	t.Setenv("KUBECONFIG", kubeconfig("a"))
	other := kubeconfig("b")
	for _, cmd := range [][]string{{"audit"}, {"snapshot"}, {"drill", "upgrade"}, {"serve"}} {
		for _, tt := range []struct {
			args []string
			want []string
		}{
			{[]string{"--context", ""}, []string{"a-prod\tcluster a-eu", "a-staging\tcluster a-us"}},
			{[]string{"--cluster", ""}, []string{"a-eu\thttps://eu.example.com:6443", "a-us\thttps://us.example.com:6443"}},
			{[]string{"--user", ""}, []string{"a-admin", "a-reader"}},
			{[]string{"--kubeconfig", other, "--context", ""}, []string{"b-prod\tcluster b-eu", "b-staging\tcluster b-us"}},
		} {
			args := append(slices.Clone(cmd), tt.args...)
			got, directive := complete(t, args...)
			if diff := cmp.Diff(tt.want, got); diff != "" || directive != cobra.ShellCompDirectiveNoFileComp {
				t.Errorf("__complete %q: directive %d, candidates (-want +got):\n%s", args, directive, diff)
			}
		}
	}
	t.Setenv("KUBECONFIG", filepath.Join(dir, "missing"))
	if got, _ := complete(t, "audit", "--context", ""); len(got) != 0 {
		t.Errorf("no kubeconfig: got %q, want no candidates", got)
	}
}

// TestEveryFlagCompletes requires every flag that takes a value to say how
// it completes (values, files, directories or nothing), so that a new flag
// with a fixed set of values does not go without their completion.
func TestEveryFlagCompletes(t *testing.T) {
	root, err := NewRootCommand(Streams{})
	if err != nil {
		t.Fatal(err)
	}
	var walk func(cmd *cobra.Command)
	walk = func(cmd *cobra.Command) {
		cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if f.NoOptDefVal != "" { // a boolean: it takes no value
				return
			}
			if _, ok := cmd.GetFlagCompletionFunc(f.Name); !ok {
				t.Errorf("%s --%s: no completion; say how its value completes in completion.go", cmd.CommandPath(), f.Name)
			}
		})
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// TestCompletedValuesAreAccepted runs each command with each value its
// fixed-set flags complete to, and requires the command to accept it: the
// lists in completion.go are written apart from the commands' checks of
// their flags.
func TestCompletedValuesAreAccepted(t *testing.T) {
	dir := t.TempDir()
	app := write(t, dir, "app.yaml", webDeployment)
	snapshot := "../../examples/production/snapshot.json.gz"
	for _, tc := range [][]string{
		{"audit", app, "-o"},
		{"audit", app, "--fail-on"},
		{"audit", app, "--baseline", write(t, dir, "base.json", run(t, "audit", app, "-o", "json").out), "--fail-on-new"},
		{"fix", app, "-o"},
		{"fix", app, "--layer"},
		{"checks", "-o"},
		{"drill", "zone", "zone-a", "--snapshot", snapshot, "--max-age", "87600h", "-o"},
		{"drill", "zone", "zone-a", "--snapshot", snapshot, "--max-age", "87600h", "--fail-on"},
	} {
		candidates, _ := complete(t, append(slices.Clone(tc), "")...)
		if len(candidates) == 0 {
			t.Errorf("%q: no candidates", tc)
		}
		for _, v := range candidates {
			o := run(t, append(slices.Clone(tc), v)...)
			if o.code != ExitOK && o.code != ExitGate {
				t.Errorf("%q %s: got exit %d, want the value accepted\nstderr:\n%s", tc, v, o.code, o.errOut)
			}
		}
	}
}
