// Package cli holds plimsoll's commands. Each command is built by its own
// constructor from the streams it writes to, runs in-process (tests call
// Main directly), and returns an error; only Main turns an outcome into an
// exit code.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/plimsoll/plimsoll/internal/report"
)

// Exit codes, documented in the README.
const (
	ExitOK      = 0 // audited, and every gate passed
	ExitGate    = 1 // a gate (--fail-on, --min-score) failed
	ExitPartial = 2 // unusable input, an error, or a run that could not read every input
)

// Streams are where a command reads and writes.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
	// OutIsTerminal says Out is a terminal: text output is coloured then,
	// unless NO_COLOR is set.
	OutIsTerminal bool
	// Width is Out's width in columns when it is a terminal, else 0: the
	// text report fits it (80 columns when it is 0).
	Width int
	// ErrIsTerminal says Err is a terminal: a cluster read shows its
	// progress there then, for text output outside CI.
	ErrIsTerminal bool
	// Getenv reads the environment.
	Getenv func(string) string
	// Dir is the working directory, where the configuration is searched.
	Dir string
	// Now is the clock exemption expiry is judged by; nil means time.Now.
	Now func() time.Time
	// Name is the name plimsoll was run as (the base of os.Args[0]). As
	// kubectl-plimsoll it is a kubectl plugin, and its help says
	// "kubectl plimsoll"; empty means plimsoll.
	Name string
}

// pluginName is the executable name kubectl looks for on PATH to run
// "kubectl plimsoll".
const pluginName = "kubectl-plimsoll"

// displayName is how help and usage name the command run as name: kubectl
// runs its plugins as kubectl-NAME (kubectl-NAME.exe on Windows), and users
// type "kubectl NAME".
func displayName(name string) string {
	if strings.TrimSuffix(name, ".exe") == pluginName {
		return "kubectl plimsoll"
	}
	return "plimsoll"
}

// exitError carries an exit code out of a command that has already told the
// user what happened.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

// NewRootCommand builds the plimsoll command tree, with the completions of
// its flags' values.
func NewRootCommand(s Streams) (*cobra.Command, error) {
	root := &cobra.Command{
		Use:   "plimsoll",
		Short: "How far a Kubernetes cluster and its workloads are from production-ready",
		Long: `plimsoll audits Kubernetes manifests against production-readiness checklists:
workloads, security, governance and upgrade readiness, item by item, with
evidence, and scores readiness per layer and per namespace. What it cannot
assess from its inputs is reported as not assessed, never counted as passed.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// --version prints what plimsoll version prints.
		Version: versionLine(),
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	root.AddCommand(newAuditCommand(s), newBaselineCommand(s), newDrillCommand(s), newFixCommand(s), newSnapshotCommand(s), newChecksCommand(s), newTestCommand(s), newExportCommand(s), newServeCommand(s, ServeDeps{}), newVersionCommand(s), newProbeCommand(s))
	if name := displayName(s.Name); name != root.Name() {
		// Use keeps "plimsoll", so the command's Name (and its completion)
		// stays one word; cobra's display name is what usage lines and
		// "Use ... --help" hints print. Examples are plain text, written
		// for plimsoll, and are rewritten to match.
		root.Annotations = map[string]string{cobra.CommandDisplayNameAnnotation: name}
		renameExamples(root, root.Name()+" ", name+" ")
	}
	if err := registerCompletions(root); err != nil {
		return nil, fmt.Errorf("completions: %w", err)
	}
	return root, nil
}

// renameExamples replaces from with to in the examples of cmd and its
// subcommands.
func renameExamples(cmd *cobra.Command, from, to string) {
	cmd.Example = strings.ReplaceAll(cmd.Example, from, to)
	for _, c := range cmd.Commands() {
		renameExamples(c, from, to)
	}
}

// errInterrupted is what a one-shot command says when a signal ends it.
var errInterrupted = &exitError{ExitPartial, errors.New("interrupted: the run stopped before it was complete, and wrote no complete report")}

// untilInterrupted runs a one-shot command (audit, snapshot) and returns as
// soon as ctx ends, which Main's caller does on SIGINT and SIGTERM: an
// endless standard input, a named pipe nobody writes to, or a long audit
// would otherwise keep the process alive until SIGKILL. The command is left
// running; the process exits with ExitPartial, and whatever it had written
// is incomplete. serve stops by itself on the same signal, cleanly.
func untilInterrupted(ctx context.Context, run func() error) error {
	done := make(chan error, 1)
	go func() { done <- run() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		select {
		case err := <-done: // finished just as the signal came
			return err
		default:
			return errInterrupted
		}
	}
}

// withDefaults fills in what a caller may leave unset: the clock.
func (s Streams) withDefaults() Streams {
	if s.Now == nil {
		s.Now = time.Now
	}
	return s
}

// Main runs plimsoll with args and returns the exit code.
func Main(ctx context.Context, args []string, s Streams) int {
	root, err := NewRootCommand(s.withDefaults())
	if err != nil {
		fmt.Fprintln(s.Err, "plimsoll:", err)
		return ExitPartial
	}
	root.SetArgs(args)
	err = root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(s.Err, "plimsoll:", report.EscapeTerminal(ee.err.Error()))
		}
		return ee.code
	}
	fmt.Fprintln(s.Err, "plimsoll:", report.EscapeTerminal(err.Error()))
	return ExitPartial
}
