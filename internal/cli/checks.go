package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks"
	"github.com/plimsoll/plimsoll/internal/fix"
)

func newChecksCommand(s Streams) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "checks",
		Short: "List every check: id, layer, severity and title",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			all := checks.Registry().All()
			switch output {
			case "text":
				w := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tLAYER\tSEVERITY\tFIX\tTITLE")
				for _, c := range all {
					title := c.Title
					if c.Optional {
						title += " (optional)"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", c.ID, c.Layer, c.Severity, fixColumn(c.ID), title)
				}
				return w.Flush()
			case "json":
				type row struct {
					ID            string         `json:"id"`
					Title         string         `json:"title"`
					Layer         check.Layer    `json:"layer"`
					Severity      check.Severity `json:"severity"`
					Optional      bool           `json:"optional,omitempty"`
					Kinds         []string       `json:"kinds"`
					Rationale     string         `json:"rationale"`
					Remediation   string         `json:"remediation"`
					ChecklistItem string         `json:"checklistItem"`
					// Fix says what plimsoll fix does for the check.
					Fix string `json:"fix,omitempty"`
				}
				var rows []row
				for _, c := range all {
					rows = append(rows, row{c.ID, c.Title, c.Layer, c.Severity, c.Optional, c.Kinds, c.Rationale, c.Remediation, c.ChecklistItem, fix.Describe(c.ID)})
				}
				enc := json.NewEncoder(s.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			return &exitError{ExitPartial, fmt.Errorf("--output %q: want text or json", output)}
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.AddCommand(newExplainCommand(s))
	return cmd
}

func newExplainCommand(s Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "explain ID",
		Short: "Explain a check: why it matters, how to fix it, an example that passes",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := checks.Registry().Get(args[0])
			if c == nil {
				return &exitError{ExitPartial, fmt.Errorf("unknown check %q (plimsoll checks lists them)", args[0])}
			}
			optional := ""
			if c.Optional {
				optional = " (optional: enable it in the configuration's checks.enable)"
			}
			automatic := fix.Describe(c.ID)
			if automatic == "" {
				automatic = "none: the fix needs a person"
			}
			fmt.Fprintf(s.Out, "%s: %s%s\n\nLayer:      %s\nSeverity:   %s\nApplies to: %s\nChecklist:  %s\n\nWhy it matters:\n  %s\n\nHow to fix:\n  %s\n\nplimsoll fix:\n  %s\n\nAn example that passes:\n%s",
				c.ID, c.Title, optional, c.Layer, c.Severity, strings.Join(c.Kinds, ", "), c.ChecklistItem,
				c.Rationale, c.Remediation, automatic, indent(c.Example, "  "))
			return nil
		},
	}
}

// fixColumn says whether plimsoll fix fixes a check: yes, suggest (a
// change that needs a decision) or -.
func fixColumn(id string) string {
	switch d := fix.Describe(id); {
	case d == "":
		return "-"
	case strings.HasPrefix(d, "suggested"):
		return "suggest"
	}
	return "yes"
}

func indent(text, prefix string) string {
	lines := strings.SplitAfter(strings.TrimRight(text, "\n")+"\n", "\n")
	var b strings.Builder
	for _, l := range lines {
		if l != "" {
			b.WriteString(prefix + l)
		}
	}
	return b.String()
}
