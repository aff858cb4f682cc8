package cli

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/plimsoll/plimsoll/internal/baseline"
	"github.com/plimsoll/plimsoll/internal/memory"
	"github.com/plimsoll/plimsoll/internal/report"
)

func newBaselineCommand(s Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "baseline (write | prune)",
		Short: "Write and prune a reviewed baseline file: the failures accepted for now",
		Long: `A baseline file lists the failures a team accepts for now, each by its
fingerprint, with the check, the object and the message for reviewers, and
the reason, owner and expiry date (expires: 2026-12-31) people give it.
'plimsoll audit --baseline FILE --fail-on-new SEVERITY' then fails only on
failures the file does not accept: new ones, and those whose entry expired.

write audits the inputs, with the flags audit takes, and writes FILE; the
entries of an existing FILE whose failures are still there keep their
reason, owner and expiry. prune audits them and removes the entries whose
failures are gone (fixed); it never adds one. Both write the file whole or
not at all (a temporary file renamed into place), refuse a run that could
not read every input, and keep no comments: the why belongs in reason.`,
		Example: `  plimsoll baseline write ./k8s -o .plimsoll-baseline.yaml
  plimsoll baseline write --helm ./chart -f prod.yaml -o .plimsoll-baseline.yaml
  plimsoll audit ./k8s --baseline .plimsoll-baseline.yaml --fail-on-new high
  plimsoll baseline prune --baseline .plimsoll-baseline.yaml ./k8s`,
	}
	write := baselineSubcommand(s, "write [PATH...] -o FILE",
		"Audit the inputs and write the baseline file of their failures",
		`Write audits the inputs, with the flags audit takes, and writes FILE: an entry
for each failure, sorted by object and check. When FILE exists, the entries
whose failures are still there keep their reason, owner and expiry date;
those of fixed failures are dropped. The file is written whole or not at
all. A run that could not read every input writes nothing.

Exit codes: 0 when FILE was written, 2 when it was not.`,
		func(f *pflag.FlagSet, file *string) {
			f.StringVarP(file, "output", "o", "", "the baseline file to write ("+baseline.DefaultFile+")")
		}, runBaselineWrite)
	prune := baselineSubcommand(s, "prune --baseline FILE [PATH...]",
		"Audit the inputs and remove the baseline file's entries whose failures are fixed",
		`Prune audits the inputs, with the flags audit takes, and removes from FILE the
entries whose failures the audit no longer finds: fixed. It never adds an
entry, nor changes one that stays, expired ones included. It refuses a run
that could not read every input, or that ran other checks or audited other
things than FILE was written from: a failure missing for that reason is not
fixed. The file is written whole or not at all, and not at all when nothing
was removed.

Exit codes: 0 when FILE was pruned or had nothing to prune, 2 otherwise.`,
		func(f *pflag.FlagSet, file *string) {
			f.StringVar(file, "baseline", "", "the baseline file to prune")
		}, runBaselinePrune)
	cmd.AddCommand(write, prune)
	return cmd
}

// baselineSubcommand builds write or prune: audit's input flags, the
// flag that names the file, and run, which a signal interrupts.
func baselineSubcommand(s Streams, use, short, long string, fileFlag func(*pflag.FlagSet, *string),
	run func(cmd *cobra.Command, s Streams, inputs *inputOptions, file string, args []string) error) *cobra.Command {
	inputs := newInputOptions()
	var file string
	cmd := &cobra.Command{
		Use: use, Short: short, Long: long,
		RunE: func(cmd *cobra.Command, args []string) error {
			return untilInterrupted(cmd.Context(), func() error { return run(cmd, s, inputs, file, args) })
		},
	}
	fileFlag(cmd.Flags(), &file)
	inputs.addFlags(cmd.Flags(), "audit")
	return cmd
}

func runBaselineWrite(cmd *cobra.Command, s Streams, inputs *inputOptions, file string, args []string) error {
	if file == "" {
		return &exitError{ExitPartial, errors.New("-o FILE is required: the baseline file to write (" + baseline.DefaultFile + ")")}
	}
	previous, err := baseline.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		previous, err = nil, nil
	}
	if err != nil {
		return &exitError{ExitPartial, fmt.Errorf("%w; it is left as it is", err)}
	}
	rep, err := auditWhole(cmd, s, inputs, args)
	if err != nil {
		return err
	}
	f := baseline.NewFile(rep, previous)
	if err := baseline.WriteFile(file, f); err != nil {
		return &exitError{ExitPartial, err}
	}
	kept := 0
	for _, e := range f.Entries {
		if e.Reason != "" || e.Owner != "" || e.Expires != "" {
			kept++
		}
	}
	fmt.Fprintf(s.Err, "plimsoll: wrote %s: %d entries, %d with a reason, owner or expiry date\n", report.EscapeTerminal(file), len(f.Entries), kept)
	return nil
}

func runBaselinePrune(cmd *cobra.Command, s Streams, inputs *inputOptions, file string, args []string) error {
	if file == "" {
		return &exitError{ExitPartial, errors.New("--baseline FILE is required: the baseline file to prune")}
	}
	f, err := baseline.ReadFile(file)
	if err != nil {
		return &exitError{ExitPartial, err}
	}
	rep, err := auditWhole(cmd, s, inputs, args)
	if err != nil {
		return err
	}
	// A run of other checks, or of other inputs, lacks failures that are
	// not fixed: pruning by it would drop their entries.
	baseline.Compare(rep, f.Baseline(file), s.Now())
	if b := rep.Baseline; !b.Comparable {
		return &exitError{ExitPartial, fmt.Errorf("%s is left as it is: the run cannot be compared with it (%s), so a failure it lacks need not be fixed", file, b.Why)}
	}
	removed := f.Prune(rep)
	if len(removed) == 0 {
		fmt.Fprintf(s.Err, "plimsoll: removed nothing from %s: the failure of each of its %d entries is still there\n", report.EscapeTerminal(file), len(f.Entries))
		return nil
	}
	if err := baseline.WriteFile(file, f); err != nil {
		return &exitError{ExitPartial, err}
	}
	fmt.Fprintf(s.Err, "plimsoll: removed %d entries whose failures are fixed from %s, %d left:\n", len(removed), report.EscapeTerminal(file), len(f.Entries))
	for _, e := range removed {
		fmt.Fprintln(s.Err, "  "+report.EscapeTerminal(e.Describe()))
	}
	return nil
}

// auditWhole audits what the baseline commands read, and refuses a run
// that could not read every input: its missing failures would be taken
// for fixed ones.
func auditWhole(cmd *cobra.Command, s Streams, inputs *inputOptions, args []string) (*report.Report, error) {
	if err := helmFlagsAlone(cmd.Flags(), inputs.helmChart); err != nil {
		return nil, &exitError{ExitPartial, err}
	}
	defer memory.Bound(s.Getenv)()
	in, _, rep, err := inputs.audit(cmd.Context(), cmd.Flags(), s, args, false)
	if err != nil {
		return nil, &exitError{ExitPartial, err}
	}
	if len(in.Errors) > 0 {
		for _, e := range in.Errors {
			fmt.Fprintln(s.Err, "plimsoll: cannot read", report.EscapeTerminal(e.Where()+": "+e.Message))
		}
		return nil, &exitError{ExitPartial, fmt.Errorf("%d input(s) could not be read: fix them first, so that the baseline file is not written from part of the inputs", len(in.Errors))}
	}
	return rep, nil
}
