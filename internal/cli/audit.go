package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/baseline"
	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/config"
	"github.com/plimsoll/plimsoll/internal/manifest"
	"github.com/plimsoll/plimsoll/internal/memory"
	"github.com/plimsoll/plimsoll/internal/pipeline"
	"github.com/plimsoll/plimsoll/internal/report"
)

type auditOptions struct {
	output                 string
	configFile             string
	failOn                 string
	minScore               float64
	quiet                  bool
	baseline               string
	failOnNew              string
	allowIncomparable      bool
	noAnnotationExemptions bool
	maxFileSize            int64
	kubernetesVersion      string
	helmChart              string
	helm                   manifest.HelmOptions
	kustomize              string
	snapshot               string
	cluster                *clusterOptions
	customChecks           []string
}

func newAuditCommand(s Streams) *cobra.Command {
	o := &auditOptions{cluster: newClusterOptions()}
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

Exit codes: 0 when every gate passed, 1 when a gate (--fail-on, --min-score)
failed, 2 when the input was unusable or some inputs could not be read (the
rest is still audited and reported), or when the API server stopped
answering (then no report is written).

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
  plimsoll audit ./k8s --fail-on high --min-score 80
  plimsoll audit ./k8s --checks ./policies/   # custom checks written in CEL`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return untilInterrupted(cmd.Context(), func() error { return runAudit(cmd, s, o, args) })
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "text", "output format: "+strings.Join(report.Formats(), ", "))
	f.StringVar(&o.configFile, "config", "", "configuration file (default: "+config.FileName+" found upward from the current directory)")
	f.StringVar(&o.failOn, "fail-on", "", "exit 1 when a check of this severity or above fails: info, low, medium, high, critical")
	f.Float64Var(&o.minScore, "min-score", 0, "exit 1 when the overall score is below this (0-100)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "text output: the summary line (and the gates') alone")
	f.StringVar(&o.baseline, "baseline", "", "compare with an earlier run: a JSON report (plimsoll audit -o json); each failure is new, unchanged or updated")
	f.StringVar(&o.failOnNew, "fail-on-new", "", "exit 1 when a failure new since --baseline has this severity or above (critical, high, medium, low, info)")
	f.BoolVar(&o.allowIncomparable, "allow-incomparable", false, "with --fail-on-new: pass when the run and its baseline ran different checks or audited different things (by default that fails the gate)")
	f.BoolVar(&o.noAnnotationExemptions, "no-annotation-exemptions", false, "ignore "+audit.IgnoreAnnotation+" annotations on objects")
	f.Int64Var(&o.maxFileSize, "max-file-size", manifest.DefaultMaxFileSize, "refuse input files larger than this many bytes")
	f.StringVar(&o.kubernetesVersion, "kubernetes-version", "", "judge API versions against this Kubernetes release, like 1.33 (default: the newest release plimsoll knows)")
	addHelmFlags(f, &o.helmChart, &o.helm, "render this Helm chart (a directory or .tgz) in-process and audit the result")
	f.StringVar(&o.kustomize, "kustomize", "", "build this Kustomization directory in-process and audit the result")
	f.StringVar(&o.snapshot, "snapshot", "", "audit a snapshot taken with 'plimsoll snapshot' instead of a live cluster")
	o.cluster.addFlags(f)
	addChecksFlag(f, &o.customChecks)
	return cmd
}

func runAudit(cmd *cobra.Command, s Streams, o *auditOptions, args []string) error {
	if err := helmFlagsAlone(cmd.Flags(), o.helmChart); err != nil {
		return &exitError{ExitPartial, err}
	}
	if o.minScore < 0 || o.minScore > 100 {
		return &exitError{ExitPartial, fmt.Errorf("--min-score %g: a score is from 0 to 100", o.minScore)}
	}
	var failOnNew *check.Severity
	if o.failOnNew != "" {
		if o.baseline == "" {
			return &exitError{ExitPartial, errors.New("--fail-on-new needs --baseline: the earlier run to compare with")}
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
	cs, cfg, err := loadChecksAndConfig(o.configFile, s.Dir, o.customChecks)
	if err != nil {
		return &exitError{ExitPartial, err}
	}
	reg := cs.Registry
	if o.kubernetesVersion != "" {
		if _, _, err := config.ParseVersion(o.kubernetesVersion); err != nil {
			return &exitError{ExitPartial, fmt.Errorf("--kubernetes-version: %w", err)}
		}
		cfg.Parameters.KubernetesVersion = o.kubernetesVersion
	}
	opts := pipeline.Options{
		Registry:               reg,
		Config:                 cfg,
		NoAnnotationExemptions: o.noAnnotationExemptions,
		Now:                    s.Now,
		Version:                reportVersion(),
		FreeMemory:             true, // it audits once and exits
	}

	defer memory.Bound(s.Getenv)()
	in, err := pipeline.Read(cmd.Context(), o.source(cmd.Flags(), s, args, reg))
	if err != nil {
		return &exitError{ExitPartial, err}
	}
	in.Errors = append(in.Errors, cs.InputErrors()...) // custom checks that could not be loaded
	a := pipeline.Audit(in, opts)
	reasons := gate(a, failOn, o.minScore, cmd.Flags().Changed("min-score"))
	rep := pipeline.Report(a, in, opts)
	if base != nil {
		baseline.Compare(rep, base)
		if why := newGate(rep, failOnNew, o.allowIncomparable); why != "" {
			reasons = append(reasons, why)
		}
	}
	gateFailed := ""
	if len(reasons) > 0 {
		gateFailed = "gate failed: " + strings.Join(reasons, "; ")
	}
	color := o.output == "text" && s.OutIsTerminal && s.Getenv("NO_COLOR") == ""
	gateText := gateFailed
	if gateText == "" && (failOn != nil || failOnNew != nil || cmd.Flags().Changed("min-score")) {
		gateText = "passed (" + strings.Join(gatesSet(cmd.Flags()), ", ") + ")"
	}
	if err := report.Write(s.Out, o.output, rep, report.Options{Color: color, Width: s.Width, Quiet: o.quiet, Gate: gateText}); err != nil {
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

// source is what the arguments and flags name: manifests, a snapshot, or,
// when nothing is named, the cluster of the current kubeconfig context.
// Machine-readable output reads the cluster without showing progress.
func (o *auditOptions) source(f *pflag.FlagSet, s Streams, args []string, reg *check.Registry) pipeline.Source {
	helm := o.helm
	helm.Namespace = *o.cluster.kube.Namespace
	return pipeline.Source{
		Paths:       args,
		Stdin:       s.In,
		MaxFileSize: o.maxFileSize,
		HelmChart:   o.helmChart,
		Helm:        helm,
		Kustomize:   o.kustomize,
		Snapshot:    o.snapshot,
		Cluster:     o.cluster.source(f, s, pipeline.Kinds(reg), o.output != "text"),
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
