package checks

import (
	"fmt"
	"strings"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

// Markdown renders the reference of every check, as docs/checks.md holds it.
// A test fails when that file differs, so the docs cannot drift from the
// registry; `go test ./internal/checks -run TestDocs -update` rewrites it.
func Markdown(reg *check.Registry) string {
	var b strings.Builder
	b.WriteString("# Checks\n\n")
	b.WriteString("<!-- Generated from the check registry by `go test ./internal/checks -run TestDocs -update`. Do not edit. -->\n\n")
	fmt.Fprintf(&b, "plimsoll has %d checks. Check IDs are stable: they are used in configuration, annotations, metrics and reports, and are never renamed. `plimsoll checks explain <id>` prints a check with an example that passes.\n\n", len(reg.All()))
	b.WriteString("Severity weights in the score: " + weights() + ". Optional checks run only when the configuration enables them (`checks.enable`).\n\n")
	b.WriteString("Checks marked *Export: vap* judge one object by what it says alone: `plimsoll export vap` writes each as a ValidatingAdmissionPolicy and its binding, which the API server enforces with the same verdict and message (" + strings.Join(exportable(reg), ", ") + ").\n\n")
	b.WriteString("| ID | Layer | Severity | Title | Checklist item |\n|---|---|---|---|---|\n")
	for _, l := range check.Layers() {
		for _, c := range reg.All() {
			if c.Layer == l {
				fmt.Fprintf(&b, "| [`%s`](#%s) | %s | %s | %s%s | %s |\n", c.ID, c.ID, c.Layer, c.Severity, c.Title, optional(c), escape(c.ChecklistItem))
			}
		}
	}
	for _, l := range check.Layers() {
		fmt.Fprintf(&b, "\n## Layer: %s\n", l)
		n := 0
		for _, c := range reg.All() {
			if c.Layer != l {
				continue
			}
			n++
			fmt.Fprintf(&b, "\n### %s\n\n**%s**%s\n\n", c.ID, c.Title, optional(c))
			fmt.Fprintf(&b, "- Severity: %s\n- Applies to: %s\n", c.Severity, strings.Join(kindNames(c.Kinds), ", "))
			if len(c.Reads) > 0 {
				fmt.Fprintf(&b, "- Also reads: %s\n", strings.Join(c.Reads, ", "))
			}
			switch c.Requires {
			case check.Cluster:
				if c.IsClusterWide() {
					b.WriteString("- Needs: a live cluster or a snapshot, read in every namespace\n")
				} else {
					b.WriteString("- Needs: a live cluster or a snapshot\n")
				}
			case check.Declared:
				b.WriteString("- Needs: manifests (a cluster shows objects as it stored them, not as they were written)\n")
			}
			if c.Admission != "" {
				fmt.Fprintf(&b, "- Export: vap, as the ValidatingAdmissionPolicy `plimsoll-%s` (`plimsoll export vap`)\n", c.ID)
			}
			fmt.Fprintf(&b, "- Checklist item: %s\n\n", c.ChecklistItem)
			fmt.Fprintf(&b, "Why: %s\n\nFix: %s\n", c.Rationale, c.Remediation)
		}
		if n == 0 {
			b.WriteString("\nNo checks yet: this layer describes what a running cluster has installed, which manifests cannot show.\n")
		}
	}
	return b.String()
}

// exportable are the IDs of the checks that hold their CEL, as code.
func exportable(reg *check.Registry) []string {
	var out []string
	for _, c := range reg.All() {
		if c.Admission != "" {
			out = append(out, "`"+c.ID+"`")
		}
	}
	return out
}

func weights() string {
	var parts []string
	for s := check.Info; s <= check.Critical; s++ {
		parts = append(parts, fmt.Sprintf("%s %d", s, s.Weight()))
	}
	return strings.Join(parts, ", ")
}

func optional(c *check.Check) string {
	if c.Optional {
		return " (optional)"
	}
	return ""
}

func escape(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

// kindNames are kind keys as the reference writes them: inventory's
// CustomResourceKey in words.
func kindNames(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k
		if k == inventory.CustomResourceKey {
			out[i] = "every custom resource (" + k + ")"
		}
	}
	return out
}
