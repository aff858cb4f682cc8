package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks"
	"github.com/plimsoll/plimsoll/internal/config"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/manifest"
	"github.com/plimsoll/plimsoll/internal/report"
)

type auditOptions struct {
	output                 string
	configFile             string
	failOn                 string
	minScore               float64
	noAnnotationExemptions bool
	maxFileSize            int64
	kubernetesVersion      string
	helmChart              string
	helm                   manifest.HelmOptions
	kustomize              string
}

func newAuditCommand(s Streams) *cobra.Command {
	o := &auditOptions{}
	cmd := &cobra.Command{
		Use:   "audit [PATH...]",
		Short: "Audit manifests for production readiness",
		Long: `Audit reads manifests from files and directories (recursively: *.yaml, *.yml,
*.json), from standard input ("-"), from a Helm chart rendered in-process
(--helm) or from a Kustomization built in-process (--kustomize), and reports
every production-readiness check that fails, with the file and line of each
object.

Exit codes: 0 when every gate passed, 1 when a gate (--fail-on, --min-score)
failed, 2 when the input was unusable or some inputs could not be read (the
rest is still audited and reported).`,
		Example: `  plimsoll audit ./k8s/
  helm template x ./chart | plimsoll audit -
  plimsoll audit --helm ./chart -f prod.yaml --set image.tag=1.2
  plimsoll audit --kustomize ./overlays/prod
  plimsoll audit ./k8s -o sarif > plimsoll.sarif
  plimsoll audit ./k8s --fail-on high --min-score 80`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAudit(cmd, s, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "text", "output format: "+strings.Join(report.Formats(), ", "))
	f.StringVar(&o.configFile, "config", "", "configuration file (default: "+config.FileName+" found upward from the current directory)")
	f.StringVar(&o.failOn, "fail-on", "", "exit 1 when a check of this severity or above fails: info, low, medium, high, critical")
	f.Float64Var(&o.minScore, "min-score", 0, "exit 1 when the overall score is below this (0-100)")
	f.BoolVar(&o.noAnnotationExemptions, "no-annotation-exemptions", false, "ignore "+audit.IgnoreAnnotation+" annotations on objects")
	f.Int64Var(&o.maxFileSize, "max-file-size", manifest.DefaultMaxFileSize, "refuse input files larger than this many bytes")
	f.StringVar(&o.kubernetesVersion, "kubernetes-version", "", "judge API versions against this Kubernetes release, like 1.33 (default: the newest release plimsoll knows)")
	f.StringVar(&o.helmChart, "helm", "", "render this Helm chart (a directory or .tgz) in-process and audit the result")
	f.StringArrayVarP(&o.helm.ValueFiles, "values", "f", nil, "Helm values file (with --helm; repeatable)")
	f.StringArrayVar(&o.helm.Values, "set", nil, "Helm value, key=value (with --helm; repeatable)")
	f.StringArrayVar(&o.helm.StringValues, "set-string", nil, "Helm string value, key=value (with --helm; repeatable)")
	f.StringVar(&o.helm.ReleaseName, "release-name", "release-name", "Helm release name (with --helm)")
	f.StringVarP(&o.helm.Namespace, "namespace", "n", "", "namespace the chart is rendered for (with --helm)")
	f.StringVar(&o.kustomize, "kustomize", "", "build this Kustomization directory in-process and audit the result")
	return cmd
}

func runAudit(cmd *cobra.Command, s Streams, o *auditOptions, args []string) error {
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
	if len(args) == 0 && o.helmChart == "" && o.kustomize == "" {
		return &exitError{ExitPartial, errors.New("nothing to audit: give paths, - for standard input, --helm CHART or --kustomize DIR")}
	}
	reg := checks.Registry()
	cfg, err := loadConfig(s, o.configFile, reg)
	if err != nil {
		return &exitError{ExitPartial, err}
	}
	if o.kubernetesVersion != "" {
		if _, _, err := config.ParseVersion(o.kubernetesVersion); err != nil {
			return &exitError{ExitPartial, fmt.Errorf("--kubernetes-version: %w", err)}
		}
		cfg.Parameters.KubernetesVersion = o.kubernetesVersion
	}

	a, in, loadErrs := auditInputs(cmd, s, o, args, reg, cfg)
	rep := report.Build(a, in)
	color := o.output == "text" && s.OutIsTerminal && s.Getenv("NO_COLOR") == ""
	if err := report.Write(s.Out, o.output, rep, report.Options{Color: color}); err != nil {
		return &exitError{ExitPartial, fmt.Errorf("write report: %w", err)}
	}

	if len(loadErrs) > 0 {
		// The report lists them too; stderr makes sure a pipeline sees them.
		for _, e := range loadErrs {
			fmt.Fprintln(s.Err, "plimsoll: cannot read", e)
		}
		return &exitError{code: ExitPartial, err: fmt.Errorf("partial run: %d input(s) could not be read; everything else was audited", len(loadErrs))}
	}
	if msg := gate(a, failOn, o.minScore, cmd.Flags().Changed("min-score")); msg != "" {
		return &exitError{ExitGate, errors.New(msg)}
	}
	return nil
}

// auditInputs reads the inputs and audits them. The objects and their
// inventory stay inside: the results keep only what the report needs, so
// the decoded objects are freed before the report is built.
func auditInputs(cmd *cobra.Command, s Streams, o *auditOptions, args []string, reg *check.Registry, cfg *config.Config) (*audit.Audit, report.Input, []*manifest.Error) {
	loaded, sources := load(cmd, s, o, args)
	inv := inventory.Build(inventory.FromManifests, loaded.Objects)
	a := audit.Run(inv, audit.Options{
		Registry:               reg,
		Config:                 cfg,
		NoAnnotationExemptions: o.noAnnotationExemptions,
		Now:                    now(s),
	})
	in := report.Input{Tool: "plimsoll", Version: Version, Sources: sources, Skipped: loaded.Skipped}
	for _, e := range loaded.Errors {
		in.Errors = append(in.Errors, report.InputError{File: e.File, Line: e.Line, Message: e.Err.Error()})
	}
	return a, in, loaded.Errors
}

func load(cmd *cobra.Command, s Streams, o *auditOptions, args []string) (manifest.Result, []string) {
	var res manifest.Result
	var sources []string
	if len(args) > 0 {
		res = manifest.Load(cmd.Context(), args, manifest.Options{MaxFileSize: o.maxFileSize, Stdin: s.In})
		sources = append(sources, args...)
	}
	if o.helmChart != "" {
		h := manifest.LoadHelm(o.helmChart, o.helm)
		res.Objects = append(res.Objects, h.Objects...)
		res.Errors = append(res.Errors, h.Errors...)
		sources = append(sources, "helm chart "+o.helmChart)
	}
	if o.kustomize != "" {
		k := manifest.LoadKustomize(o.kustomize)
		res.Objects = append(res.Objects, k.Objects...)
		res.Errors = append(res.Errors, k.Errors...)
		sources = append(sources, "kustomize build "+o.kustomize)
	}
	return res, sources
}

func loadConfig(s Streams, file string, reg *check.Registry) (*config.Config, error) {
	if file == "" {
		file = config.Find(s.Dir)
	}
	if file == "" {
		return config.Default(), nil
	}
	return config.Load(file, reg)
}

// gate returns why the run fails its gates, or "".
func gate(a *audit.Audit, failOn *check.Severity, minScore float64, minScoreSet bool) string {
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
	if len(reasons) == 0 {
		return ""
	}
	return "gate failed: " + strings.Join(reasons, "; ")
}

func now(s Streams) time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
