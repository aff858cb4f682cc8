package cli

import (
	"maps"
	"slices"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/plimsoll/plimsoll/internal/apiversion"
	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks"
	"github.com/plimsoll/plimsoll/internal/config"
	"github.com/plimsoll/plimsoll/internal/drill"
	"github.com/plimsoll/plimsoll/internal/report"
)

// Shell completion. cobra's completion command (plimsoll completion bash,
// zsh, fish or powershell) writes a script that asks plimsoll itself, through
// cobra's hidden __complete command, what may follow what has been typed.
// This file says what each flag's value completes to, in one place: values
// from a fixed set, check IDs and layers from the registry, names from the
// kubeconfig (read as the command would read it, and never sent anywhere),
// files of the right kind, or nothing, for values only the user knows.

// commandFlagCompletions are the flags whose values differ by command, by
// the name of the command that defines the flag and the flag's name.
func commandFlagCompletions() map[string]map[string]cobra.CompletionFunc {
	return map[string]map[string]cobra.CompletionFunc{
		"audit": {
			"output":  values(report.Formats()...),
			"fail-on": values(severities()...),
		},
		"drill": {
			"output":  values(drill.Formats()...),
			"fail-on": values(slices.Sorted(maps.Keys(failLevels))...),
		},
		"serve":    {"deny-on": values(append([]string{"none"}, severities()...)...)},
		"fix":      {"output": values("text", "json")},
		"checks":   {"output": values("text", "json")},
		"snapshot": {"output": filesNamed("json", "gz")},
		"write":    {"output": filesNamed("yaml", "yml")}, // plimsoll baseline write
		"vap":      {"output": filesNamed("yaml", "yml")}, // plimsoll export vap
	}
}

// flagCompletions are the flags whose values complete alike on every
// command that has them, by name.
func flagCompletions() map[string]cobra.CompletionFunc {
	none := cobra.NoFileCompletions
	return map[string]cobra.CompletionFunc{
		"check":              checkIDs,
		"layer":              values(layers()...),
		"fail-on-new":        values(severities()...),
		"kubernetes-version": values(kubernetesReleases()...),
		"context":            kubeconfigNames(contextNames),
		"cluster":            kubeconfigNames(clusterNames),
		"user":               kubeconfigNames(userNames),

		"config":                filesNamed("yaml", "yml"),
		"values":                filesNamed("yaml", "yml"),
		"baseline":              filesNamed("json", "yaml", "yml"), // a JSON report or a baseline file
		"snapshot":              filesNamed("json", "gz"),
		"helm":                  filesNamed(), // a chart's directory or .tgz
		"kubeconfig":            filesNamed(),
		"certificate-authority": filesNamed(),
		"client-certificate":    filesNamed(),
		"client-key":            filesNamed(),
		"kustomize":             directories,
		"overlay":               directories,
		"sarif-root":            directories,
		"webhook-cert-dir":      directories,  // holds tls.crt and tls.key
		"checks":                filesNamed(), // a custom check file or a directory of them
		"admission-policies":    filesNamed(), // a file of admission policies or a directory of them
		"action":                values("Warn", "Deny", "Audit"),

		// Values only the user knows.
		"min-score": none, "max-file-size": none, "set": none, "set-string": none,
		"release-name": none, "namespace": none, "exclude-namespace": none, "params-namespace": none, "selector": none, "max-age": none,
		"max-unavailable": none, "chunk-size": none, "list-concurrency": none,
		"as": none, "as-group": none, "as-uid": none, "as-user-extra": none, "request-timeout": none,
		"server": none, "tls-server-name": none, "token": none, "username": none,
		"password": none, "proxy-url": none, "listen": none, "debounce": none, "resync": none,
		"lease-namespace": none, "lease-name": none, "report-max-results": none,
		"baseline-ref": none, "cluster-name": none, "webhook-listen": none,
	}
}

// registerCompletions registers the completions of every flag of cmd and
// its subcommands that the tables above name, and the check IDs that
// plimsoll checks explain takes. A flag they do not name keeps cobra's
// default, the shell's file completion; a test requires every flag that
// takes a value to be named.
func registerCompletions(root *cobra.Command) error {
	byCommand, byName := commandFlagCompletions(), flagCompletions()
	var walk func(cmd *cobra.Command) error
	walk = func(cmd *cobra.Command) error {
		var err error
		// The flags cmd defines, persistent ones included: its subcommands
		// inherit those, and their completions with them.
		cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
			complete, ok := byCommand[cmd.Name()][f.Name]
			if !ok {
				complete, ok = byName[f.Name]
			}
			if ok && err == nil {
				err = cmd.RegisterFlagCompletionFunc(f.Name, complete)
			}
		})
		if err != nil {
			return err
		}
		for _, sub := range cmd.Commands() {
			if err := walk(sub); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(root); err != nil {
		return err
	}
	explain, _, err := root.Find([]string{"checks", "explain"})
	if err != nil {
		return err
	}
	explain.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return checkIDs(cmd, args, toComplete)
	}
	return nil
}

// values completes to a fixed list. Shells filter the list by what has
// been typed (fish by substring too), so it is given whole.
func values(list ...string) cobra.CompletionFunc {
	return cobra.FixedCompletions(list, cobra.ShellCompDirectiveNoFileComp)
}

// filesNamed completes to files with one of these extensions, or any file.
func filesNamed(extensions ...string) cobra.CompletionFunc {
	if len(extensions) == 0 {
		return cobra.FixedCompletions(nil, cobra.ShellCompDirectiveDefault)
	}
	return cobra.FixedCompletions(extensions, cobra.ShellCompDirectiveFilterFileExt)
}

// directories completes to directories.
func directories(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveFilterDirs
}

// checkIDs completes to the registry's check IDs, each described by its
// title.
func checkIDs(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for _, c := range checks.Registry().All() {
		out = append(out, cobra.CompletionWithDesc(c.ID, c.Title))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// severities are the severity names, lowest first.
func severities() []string {
	var out []string
	for s := check.Info; s <= check.Critical; s++ {
		out = append(out, s.String())
	}
	return out
}

// layers are the checklist's layers, in report order.
func layers() []string {
	var out []string
	for _, l := range check.Layers() {
		out = append(out, string(l))
	}
	return out
}

// kubernetesReleases are the minor releases from the oldest one the API
// version table names (as deprecating or removing a version) to the newest
// plimsoll knows: the releases whose upgrade findings differ.
func kubernetesReleases() []string {
	_, newest, _ := config.ParseVersion(apiversion.Latest)
	oldest := newest
	for _, v := range apiversion.All() {
		for _, release := range []string{v.Deprecated, v.Removed} {
			if _, minor, err := config.ParseVersion(release); err == nil {
				oldest = min(oldest, minor)
			}
		}
	}
	var out []string
	for minor := oldest; minor <= newest; minor++ {
		out = append(out, "1."+strconv.Itoa(minor))
	}
	return out
}

// kubeconfigNames completes to names from the kubeconfig the command would
// read: --kubeconfig's file when it has been typed, else KUBECONFIG's files
// or ~/.kube/config, merged as client-go merges them. It reads the files
// only; no cluster is contacted.
func kubeconfigNames(names func(*clientcmdapi.Config) []cobra.Completion) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		if f := cmd.Flags().Lookup("kubeconfig"); f != nil {
			rules.ExplicitPath = f.Value.String()
		}
		kubeconfig, err := rules.Load()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		return names(kubeconfig), cobra.ShellCompDirectiveNoFileComp
	}
}

// contextNames are a kubeconfig's contexts, each described by its cluster.
func contextNames(c *clientcmdapi.Config) []cobra.Completion {
	var out []cobra.Completion
	for _, name := range slices.Sorted(maps.Keys(c.Contexts)) {
		out = append(out, cobra.CompletionWithDesc(name, "cluster "+c.Contexts[name].Cluster))
	}
	return out
}

// clusterNames are a kubeconfig's clusters, each described by its server.
func clusterNames(c *clientcmdapi.Config) []cobra.Completion {
	var out []cobra.Completion
	for _, name := range slices.Sorted(maps.Keys(c.Clusters)) {
		out = append(out, cobra.CompletionWithDesc(name, c.Clusters[name].Server))
	}
	return out
}

// userNames are a kubeconfig's users.
func userNames(c *clientcmdapi.Config) []cobra.Completion {
	return slices.Sorted(maps.Keys(c.AuthInfos))
}
