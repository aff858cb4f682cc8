package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/plimsoll/plimsoll/internal/checks/custom"
	"github.com/plimsoll/plimsoll/internal/memory"
	"github.com/plimsoll/plimsoll/internal/pipeline"
	"github.com/plimsoll/plimsoll/internal/report"
)

func newSnapshotCommand(s Streams) *cobra.Command {
	c := newClusterOptions()
	var out string
	var customChecks []string
	cmd := &cobra.Command{
		Use:   "snapshot -o FILE",
		Short: "Save what an audit reads from a cluster, to audit it offline later",
		Long: `Snapshot reads from the cluster of the current kubeconfig context exactly what
'plimsoll audit' reads, and writes it to FILE as JSON (gzipped when FILE ends
in .gz). 'plimsoll audit --snapshot FILE' then gives the same findings as
the live audit did. A snapshot never holds Secrets, nor the values of
ConfigMaps, nor managedFields or last-applied annotations. It does record
which resource types could not be read, so the offline audit shows the same
coverage.

Exit codes: 0 when the snapshot holds every type, 2 when some types could
not be read (the snapshot is still written and says so) or when nothing
could be written.`,
		Example: `  plimsoll snapshot -o prod.json.gz
  plimsoll snapshot --context staging -n shop -o shop.json.gz`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return untilInterrupted(cmd.Context(), func() error {
				if out == "" {
					return &exitError{ExitPartial, errors.New("-o FILE is required")}
				}
				// What custom checks need is read too, so that an audit of the
				// snapshot with them can assess them.
				cs, err := loadChecks("", s.Dir, customChecks)
				if err != nil {
					return &exitError{ExitPartial, err}
				}
				if err := cs.loadErrors(s); err != nil {
					return err
				}
				// So are the params objects of the cluster's admission
				// policies, so that an audit of the snapshot judges by them.
				policies, _, err := c.admissionFromCluster(cmd.Context(), cmd.Flags(), s, []string{custom.VAPKey, custom.VAPBindingKey}, false, false)
				if err != nil {
					return &exitError{ExitPartial, err}
				}
				// A policy that does not compile is the audit's to report;
				// the snapshot holds it as it is.
				if err := cs.addAdmission(custom.AdmissionFromInventory(policies), nil); err != nil {
					return &exitError{ExitPartial, err}
				}
				defer memory.Bound(s.Getenv)()
				h, objects, err := pipeline.Snapshot(cmd.Context(), c.source(cmd.Flags(), s, pipeline.Kinds(cs.Registry), false), out, s.Now)
				if err != nil {
					return &exitError{ExitPartial, err}
				}
				fmt.Fprintf(s.Err, "plimsoll: wrote %d objects of %d resource types from %s to %s\n", objects, len(h.Types), h.Server, out)
				failed := 0
				for _, u := range h.Unread {
					if !u.OutOfScope {
						fmt.Fprintln(s.Err, "plimsoll: cannot read", report.EscapeTerminal(u.Type.Name()+": "+u.Reason))
						failed++
					}
				}
				if failed > 0 {
					return &exitError{ExitPartial, fmt.Errorf("partial snapshot: %d resource type(s) could not be read", failed)}
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write (.json, or .json.gz to compress)")
	c.addFlags(cmd.Flags())
	addChecksFlag(cmd.Flags(), &customChecks)
	return cmd
}
