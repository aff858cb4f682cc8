package cli

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/custom"
	"github.com/plimsoll/plimsoll/internal/export"
	"github.com/plimsoll/plimsoll/internal/fix"
)

func newChecksCommand(s Streams) *cobra.Command {
	var output string
	var paths []string
	var admission []string
	cmd := &cobra.Command{
		Use:   "checks",
		Short: "List every check: id, layer, severity and title",
		Long: `Checks lists every check: the built-in ones, and the custom checks of
--checks and of the configuration's checks.custom (custom checks written
in CEL; see the README's "Custom checks"), and the checks of the cluster
admission policies of --admission-policies, one for each binding.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cs, err := loadAllChecks(s, paths, admission)
			if err != nil {
				return &exitError{ExitPartial, err}
			}
			if err := listChecks(s, output, cs); err != nil {
				return err
			}
			return cs.loadErrors(s)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	addChecksFlag(cmd.PersistentFlags(), &paths)
	addAdmissionFlag(cmd.PersistentFlags(), &admission)
	cmd.AddCommand(newExplainCommand(s, &paths, &admission))
	return cmd
}

// loadAllChecks loads the built-in checks, the custom checks of paths and
// of the configuration, and the checks of the admission policies of the
// files admission names.
func loadAllChecks(s Streams, paths, admission []string) (*checkSet, error) {
	cs, err := loadChecks("", s.Dir, paths)
	if err != nil {
		return nil, err
	}
	objs, errs := custom.ReadAdmission(admission)
	if err := cs.addAdmission(objs, errs); err != nil {
		return nil, err
	}
	return cs, nil
}

// listChecks writes the list of checks.
func listChecks(s Streams, output string, cs *checkSet) error {
	all := cs.Registry.All()
	switch output {
	case "text":
		w := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tLAYER\tSEVERITY\tFIX\tEXPORT\tTITLE")
		for _, c := range all {
			title := c.Title
			if c.Optional {
				title += " (optional)"
			}
			export := "-"
			if ok, _ := cs.exportable(c); ok {
				export = "vap"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Layer, c.Severity, fixColumn(c.ID), export, title)
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
			// Exportable says whether plimsoll export vap writes the
			// check out as a ValidatingAdmissionPolicy.
			Exportable bool `json:"exportable"`
			// File is where a custom check is defined.
			File string `json:"file,omitempty"`
		}
		var rows []row
		for _, c := range all {
			file := ""
			if cc := cs.customCheck(c.ID); cc != nil {
				file = cc.File
			}
			exportable, _ := cs.exportable(c)
			rows = append(rows, row{c.ID, c.Title, c.Layer, c.Severity, c.Optional, c.Kinds, c.Rationale, c.Remediation, c.ChecklistItem, fix.Describe(c.ID), exportable, file})
		}
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	return &exitError{ExitPartial, fmt.Errorf("--output %q: want text or json", output)}
}

func newExplainCommand(s Streams, paths, admission *[]string) *cobra.Command {
	return &cobra.Command{
		Use:   "explain ID",
		Short: "Explain a check: why it matters, how to fix it, an example that passes",
		Long: `Explain says why a check matters, how to fix what it finds, and shows a
manifest that passes it. For a custom check it also says where it is
defined, and what the API server would put in its status.typeChecking:
the expressions that are wrong for a kind its rules match.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cs, err := loadAllChecks(s, *paths, *admission)
			if err != nil {
				return &exitError{ExitPartial, err}
			}
			c := cs.Registry.Get(args[0])
			if c == nil {
				if err := cs.loadErrors(s); err != nil {
					return err
				}
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
			example := indent(c.Example, "  ")
			cc := cs.customCheck(c.ID)
			if cc != nil && cc.Admission != "" && c.Example == "" {
				example = "  none: a cluster's admission policy comes with none\n"
			}
			if cc != nil && cc.Admission == "" && c.Example == "" {
				example = "  none: put manifests it must pass in " + filepath.Join(cc.Fixtures, custom.PassDir) + "\n"
			}
			exported := "as the ValidatingAdmissionPolicy " + export.Prefix + c.ID + " and its binding"
			if ok, why := cs.exportable(c); !ok {
				exported = "no: " + why
			}
			fmt.Fprintf(s.Out, "%s: %s%s\n\nLayer:      %s\nSeverity:   %s\nApplies to: %s\nChecklist:  %s\n\nWhy it matters:\n  %s\n\nHow to fix:\n  %s\n\nplimsoll fix:\n  %s\n\nplimsoll export vap:\n  %s\n\nAn example that passes:\n%s",
				c.ID, c.Title, optional, c.Layer, c.Severity, strings.Join(c.Kinds, ", "), c.ChecklistItem,
				c.Rationale, c.Remediation, automatic, exported, example)
			if cc != nil {
				explainCustom(s, cc)
			}
			return nil
		},
	}
}

// explainCustom says where a custom check is defined, whether its
// expressions compile, and what the API server's type checker says of
// them.
func explainCustom(s Streams, c *custom.Check) {
	if c.Admission != "" {
		fmt.Fprintf(s.Out, "\nDefined in:\n  %s\n", c.Admission)
	} else {
		fmt.Fprintf(s.Out, "\nDefined in:\n  %s:%d, a custom check written in CEL\n", c.File, c.Line)
	}
	if errs := c.Policy.CompileErrors(); len(errs) > 0 {
		fmt.Fprintln(s.Out, "\nDoes not compile (the API server would refuse the policy; the check is not assessed):")
		for _, e := range errs {
			fmt.Fprintln(s.Out, indent(e.Error(), "  "))
		}
	}
	fmt.Fprintln(s.Out, "\nType checking (what the API server would put in status.typeChecking):")
	warnings := c.Policy.TypeCheck()
	if len(warnings) == 0 {
		fmt.Fprintln(s.Out, "  no warnings")
	}
	for _, w := range warnings {
		fmt.Fprint(s.Out, indent(w.FieldRef+": "+w.Warning, "  "))
	}
}

// exportable says whether plimsoll export vap writes a check out, and
// why not when it does not: a custom check as itself, unless its policy
// does not compile; a built-in one when it holds its CEL.
func (cs *checkSet) exportable(c *check.Check) (bool, string) {
	if cc := cs.Custom.Get(c.ID); cc != nil {
		return export.CustomExportable(cc)
	}
	return export.Exportable(c)
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
