package cli

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/plimsoll/plimsoll/internal/checks"
	"github.com/plimsoll/plimsoll/internal/checks/custom"
	"github.com/plimsoll/plimsoll/internal/report"
)

func newTestCommand(s Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "test PATH...",
		Short: "Run custom checks on the manifests they must pass and fail",
		Long: `Test loads the custom checks of each PATH (a check file, or a directory of
them) and runs each on its fixtures: the manifests in pass/ and fail/ of
the directory named after its ID, beside its file. On each manifest of
pass/ the check must pass at least one object and fail none; on each of
fail/ it must fail at least one. On either, an object the check cannot
assess (an expression that does not compile or fails) fails the fixture.
Every check needs at least one of each. The checks run alone, as plimsoll
audit runs them on manifests, with the default configuration.

It also prints the type checking of each check's expressions, what the
API server would put in the policy's status.typeChecking; warnings do not
fail the test.

Exit codes: 0 when every fixture gave what it should, 1 when one did not
or a check has no fixture of a kind, 2 when a check could not be loaded.`,
		Example: `  plimsoll test ./policies/
  plimsoll test ./policies/team-label.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTest(cmd, s, args)
		},
	}
}

func runTest(cmd *cobra.Command, s Streams, args []string) error {
	builtin := checks.Registry()
	set := custom.Load(args, func(id string) bool { return builtin.Get(id) != nil })
	cs := &checkSet{Registry: builtin, Custom: set}
	failed, fixtures := 0, 0
	for _, c := range set.Checks {
		res := c.Test(cmd.Context(), s.Now())
		verdict := "ok  "
		if !res.OK() {
			verdict = "FAIL"
			failed++
		}
		fmt.Fprintf(s.Out, "%s %s (%s)\n", verdict, c.ID, c.File)
		for _, f := range res.Fixtures {
			fixtures++
			mark := "ok  "
			if !f.OK {
				mark = "FAIL"
			}
			rel, err := filepath.Rel(c.Fixtures, f.File)
			if err != nil {
				rel = f.File
			}
			fmt.Fprintf(s.Out, "  %s %s: want %s, got %s\n", mark, rel, wantWord(f.Want), f.Got)
			if !f.OK {
				for _, d := range f.Details {
					fmt.Fprintf(s.Out, "         %s\n", report.EscapeTerminal(d))
				}
			}
		}
		for _, m := range res.Missing {
			fmt.Fprintf(s.Out, "  FAIL no fixture: %s\n", m)
		}
		for _, w := range c.Policy.TypeCheck() {
			fmt.Fprint(s.Out, indent("warning: "+w.FieldRef+": "+w.Warning, "  "))
		}
	}
	fmt.Fprintf(s.Out, "%d check(s), %d fixture(s): %d check(s) failed\n", len(set.Checks), fixtures, failed)
	if err := cs.loadErrors(s); err != nil {
		return err
	}
	switch {
	case len(set.Checks) == 0:
		return &exitError{ExitPartial, errors.New("no custom check to test")}
	case failed > 0:
		return &exitError{ExitGate, fmt.Errorf("%d of %d custom check(s) failed their fixtures", failed, len(set.Checks))}
	}
	return nil
}

// wantWord says what a kind of fixture asks of its check.
func wantWord(want string) string {
	if want == custom.PassDir {
		return "a pass"
	}
	return "a failure"
}
