package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/baseline"
	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/memory"
	"github.com/plimsoll/plimsoll/internal/report"
)

type auditOptions struct {
	output            string
	sarifRoot         string
	failOn            string
	minScore          float64
	quiet             bool
	baseline          string
	baselineRef       string
	failOnNew         string
	allowIncomparable bool
	inputs            *inputOptions
}

func newAuditCommand(s Streams) *cobra.Command {
	o := &auditOptions{inputs: newInputOptions()}
	cmd := &cobra.Command{
		Use:   "audit [PATH...]",
		Short: "Audit a cluster, a snapshot or manifests for production readiness",
		Long: `Audit reads manifests from files and directories (recursively: *.yaml, *.yml,
*.json), from standard input ("-"), from a Helm chart rendered in-process
(--helm) or from a Kustomization built in-process (--kustomize), and reports
every production-readiness check that fails, with the file and line of each
object.

Given no paths, it audits the cluster of the current kubeconfig context
(kubectl-style flags: --kubeconfig, --context, -n, -A, --as,
--request-timeout), in every namespace unless -n names one. It only reads,
and never reads Secrets. Resource types it may not list are reported, and
the checks that need them are shown as not assessed. With --snapshot it
audits a snapshot taken by 'plimsoll snapshot' instead, offline.

The cluster's own ValidatingAdmissionPolicies judge the inputs too, as its
API server would, one check (admission-BINDING) for each binding: those
among the inputs, in the files of --admission-policies, and those installed
in the cluster audited (or snapshotted), or, beside manifests, in the
cluster that --kubeconfig, --context, --cluster or --server names.

With --baseline (a JSON report of an earlier run, or a baseline file that
'plimsoll baseline write' wrote and people reviewed) or --baseline-ref (the
same inputs at a git commit of their repository, read into a temporary
directory without touching the repository), each failure is new, unchanged
or updated; --fail-on-new gates on the new ones alone. The report says how
many the baseline suppressed, how the score moved, and which entries of a
baseline file expired (their failures are new again).

Exit codes: 0 when every gate passed, 1 when a gate (--fail-on, --min-score,
--fail-on-new) failed, 2 when the input was unusable or some inputs could not
be read (the rest is still audited and reported), or when the API server
stopped answering (then no report is written).

Memory: the Go collector is held to 1.4 times the live heap (at least 140
MiB) rather than twice it; setting GOGC or GOMEMLIMIT leaves it to you.`,
		Example: `  plimsoll audit                              # the current kubeconfig context
  plimsoll audit --context prod -n shop
  plimsoll audit --snapshot prod.json.gz
  plimsoll audit ./k8s/
  helm template x ./chart | plimsoll audit -
  plimsoll audit --helm ./chart -f prod.yaml --set image.tag=1.2
  plimsoll audit --kustomize ./overlays/prod
  plimsoll audit ./k8s -o sarif > plimsoll.sarif
  plimsoll audit ./k8s -o sarif --sarif-root . > plimsoll.sarif
  plimsoll audit ./k8s --fail-on high --min-score 80
  plimsoll audit ./k8s --baseline .plimsoll-baseline.yaml --fail-on-new high
  plimsoll audit ./k8s --baseline-ref origin/main --fail-on-new high
  plimsoll audit ./k8s --checks ./policies/   # custom checks written in CEL
  plimsoll audit ./k8s --admission-policies ./cluster-policies/   # the cluster's own ValidatingAdmissionPolicies
  plimsoll audit ./k8s --context prod         # ... and those installed in prod`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return untilInterrupted(cmd.Context(), func() error { return runAudit(cmd, s, o, args) })
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "text", "output format: "+strings.Join(report.Formats(), ", "))
	f.StringVar(&o.sarifRoot, "sarif-root", "", "with -o sarif: name files relative to this directory, as code scanning reads them (default: the top of the git checkout the working directory is in, else the working directory)")
	f.StringVar(&o.failOn, "fail-on", "", "exit 1 when a check of this severity or above fails: info, low, medium, high, critical")
	f.Float64Var(&o.minScore, "min-score", 0, "exit 1 when the overall score is below this (0-100)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "text output: the summary line (and the gates') alone")
	f.StringVar(&o.baseline, "baseline", "", "compare with an earlier run: a JSON report (plimsoll audit -o json) or a baseline file (plimsoll baseline write); each failure is new, unchanged or updated")
	f.StringVar(&o.baselineRef, "baseline-ref", "", "compare with the audit of the same inputs at this git commit, branch or tag of their repository (read without touching the repository)")
	f.StringVar(&o.failOnNew, "fail-on-new", "", "exit 1 when a failure new since --baseline or --baseline-ref has this severity or above (critical, high, medium, low, info)")
	f.BoolVar(&o.allowIncomparable, "allow-incomparable", false, "with --fail-on-new: pass when the run and its baseline ran different checks or audited different things (by default that fails the gate)")
	o.inputs.addFlags(f, "audit")
	return cmd
}

func runAudit(cmd *cobra.Command, s Streams, o *auditOptions, args []string) error {
	if err := helmFlagsAlone(cmd.Flags(), o.inputs.helmChart); err != nil {
		return &exitError{ExitPartial, err}
	}
	if o.minScore < 0 || o.minScore > 100 {
		return &exitError{ExitPartial, fmt.Errorf("--min-score %g: a score is from 0 to 100", o.minScore)}
	}
	if o.baseline != "" && o.baselineRef != "" {
		return &exitError{ExitPartial, errors.New("--baseline and --baseline-ref exclude each other: give the earlier run as a file or as a git commit")}
	}
	var failOnNew *check.Severity
	if o.failOnNew != "" {
		if o.baseline == "" && o.baselineRef == "" {
			return &exitError{ExitPartial, errors.New("--fail-on-new needs --baseline or --baseline-ref: the earlier run to compare with")}
		}
		sev, err := check.ParseSeverity(o.failOnNew)
		if err != nil {
			return &exitError{ExitPartial, fmt.Errorf("--fail-on-new: %w", err)}
		}
		failOnNew = &sev
	}
	var base *baseline.Baseline
	if o.baseline != "" {
		var err error
		if base, err = baseline.Load(o.baseline); err != nil {
			return &exitError{ExitPartial, err}
		}
	}
	var failOn *check.Severity
	if o.failOn != "" {
		sev, err := check.ParseSeverity(o.failOn)
		if err != nil {
			return &exitError{ExitPartial, fmt.Errorf("--fail-on: %w", err)}
		}
		failOn = &sev
	}
	if !contains(report.Formats(), o.output) {
		return &exitError{ExitPartial, fmt.Errorf("--output %q: want one of %s", o.output, strings.Join(report.Formats(), ", "))}
	}
	writeOpts := report.Options{Width: s.Width, Quiet: o.quiet}
	if o.output == "sarif" {
		dir, err := filepath.Abs(s.Dir)
		if err != nil {
			return &exitError{ExitPartial, err}
		}
		if writeOpts.SARIFRoot, err = sarifRoot(o.sarifRoot, dir); err != nil {
			return &exitError{ExitPartial, err}
		}
		writeOpts.Dir = dir
	} else if o.sarifRoot != "" {
		return &exitError{ExitPartial, fmt.Errorf("--sarif-root is where the sarif format's file names start; with -o %s nothing reads it", o.output)}
	}
	var ref *refCheckout
	if o.baselineRef != "" {
		var err error
		if ref, err = checkoutRef(cmd.Context(), o.inputs, args, o.baselineRef); err != nil {
			return &exitError{ExitPartial, err}
		}
		defer ref.Remove()
	}

	defer memory.Bound(s.Getenv)()
	in, a, rep, err := o.inputs.audit(cmd.Context(), cmd.Flags(), s, args, o.output != "text")
	if err != nil {
		return &exitError{ExitPartial, err}
	}
	reasons := gate(a, failOn, o.minScore, cmd.Flags().Changed("min-score"))
	if ref != nil {
		if base, err = ref.audit(cmd.Context(), cmd.Flags(), s, rep); err != nil {
			return &exitError{ExitPartial, err}
		}
	}
	if base != nil {
		baseline.Compare(rep, base, s.Now())
		if why := newGate(rep, failOnNew, o.allowIncomparable); why != "" {
			reasons = append(reasons, why)
		}
	}
	gateFailed := ""
	if len(reasons) > 0 {
		gateFailed = "gate failed: " + strings.Join(reasons, "; ")
	}
	writeOpts.Color = o.output == "text" && s.OutIsTerminal && s.Getenv("NO_COLOR") == ""
	writeOpts.Gate = gateFailed
	if writeOpts.Gate == "" && (failOn != nil || failOnNew != nil || cmd.Flags().Changed("min-score")) {
		writeOpts.Gate = "passed (" + strings.Join(gatesSet(cmd.Flags()), ", ") + ")"
	}
	if failOnNew != nil {
		writeOpts.Gate += fmt.Sprintf("; %d suppressed by the baseline, not counted by --fail-on-new", rep.Baseline.Suppressed)
	}
	if err := report.Write(s.Out, o.output, rep, writeOpts); err != nil {
		return &exitError{ExitPartial, fmt.Errorf("write report: %w", err)}
	}

	if len(in.Errors) > 0 {
		// The report lists them too; stderr makes sure a pipeline sees them.
		for _, e := range in.Errors {
			fmt.Fprintln(s.Err, "plimsoll: cannot read", report.EscapeTerminal(e.Where()+": "+e.Message))
		}
		return &exitError{code: ExitPartial, err: fmt.Errorf("partial run: %d input(s) could not be read; everything else was audited", len(in.Errors))}
	}
	if gateFailed != "" {
		return &exitError{ExitGate, errors.New(gateFailed)}
	}
	return nil
}

// sarifRoot is the directory the sarif format names files relative to:
// root (--sarif-root, relative to dir), which must be a directory, else
// the top of the git checkout dir is in (the nearest directory upward that
// holds .git, a directory or, in a worktree or a submodule, a file), where
// code scanning reads the paths from, else dir itself. dir is absolute.
func sarifRoot(root, dir string) (string, error) {
	if root != "" {
		if !filepath.IsAbs(root) {
			root = filepath.Join(dir, root)
		}
		if fi, err := os.Stat(root); err != nil {
			return "", fmt.Errorf("--sarif-root: %w", err)
		} else if !fi.IsDir() {
			return "", fmt.Errorf("--sarif-root %s: not a directory", root)
		}
		return filepath.Clean(root), nil
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return dir, nil
		}
	}
}

// newGate returns why the findings new since the baseline fail the
// --fail-on-new gate, or "": a new failure of the severity or above, or a
// baseline the run cannot be compared with, unless that is allowed.
func newGate(rep *report.Report, failOnNew *check.Severity, allowIncomparable bool) string {
	if failOnNew == nil {
		return ""
	}
	if b := rep.Baseline; !b.Comparable && !allowIncomparable {
		return "the run cannot be compared with its baseline: " + b.Why + " (--allow-incomparable passes it)"
	}
	n := 0
	for _, r := range rep.Results {
		if r.BaselineState == baseline.New {
			if sev, err := check.ParseSeverity(r.Severity); err == nil && sev >= *failOnNew {
				n++
			}
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%d new finding(s) of severity %s or above since the baseline (--fail-on-new)", n, *failOnNew)
}

// gatesSet names the gates the flags set, as given.
func gatesSet(f *pflag.FlagSet) []string {
	var out []string
	for _, name := range []string{"fail-on", "min-score", "fail-on-new"} {
		if f.Changed(name) {
			out = append(out, "--"+name+" "+f.Lookup(name).Value.String())
		}
	}
	return out
}

// gate returns why the run fails its --fail-on and --min-score gates.
func gate(a *audit.Audit, failOn *check.Severity, minScore float64, minScoreSet bool) []string {
	var reasons []string
	if failOn != nil {
		n := 0
		for _, r := range a.Results {
			if r.Status == audit.Fail && r.Severity >= *failOn {
				n++
			}
		}
		if n > 0 {
			reasons = append(reasons, fmt.Sprintf("%d finding(s) of severity %s or above (--fail-on)", n, *failOn))
		}
	}
	if minScoreSet {
		switch s := a.Score.Overall; {
		case s == nil:
			reasons = append(reasons, "no score: nothing scorable was assessed (--min-score)")
		case *s < minScore:
			reasons = append(reasons, fmt.Sprintf("score %.1f is below %.1f (--min-score)", *s, minScore))
		}
	}
	return reasons
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
