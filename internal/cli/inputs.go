package cli

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/checks/custom"
	"github.com/plimsoll/plimsoll/internal/config"
	"github.com/plimsoll/plimsoll/internal/manifest"
	"github.com/plimsoll/plimsoll/internal/pipeline"
	"github.com/plimsoll/plimsoll/internal/report"
)

// inputOptions are the flags that say what an audit reads and what it
// judges it by: audit's, and the baseline commands', so that a baseline
// file is written from the very audit it is later compared with.
type inputOptions struct {
	configFile             string
	noAnnotationExemptions bool
	maxFileSize            int64
	kubernetesVersion      string
	helmChart              string
	helm                   manifest.HelmOptions
	kustomize              string
	snapshot               string
	cluster                *clusterOptions
	customChecks           []string
	admissionPolicies      []string
}

func newInputOptions() *inputOptions {
	return &inputOptions{cluster: newClusterOptions()}
}

// addFlags registers the flags; verb is what the command does with its
// inputs ("audit"), for --helm's and --kustomize's help.
func (o *inputOptions) addFlags(f *pflag.FlagSet, verb string) {
	f.StringVar(&o.configFile, "config", "", "configuration file (default: "+config.FileName+" found upward from the current directory)")
	f.BoolVar(&o.noAnnotationExemptions, "no-annotation-exemptions", false, "ignore "+audit.IgnoreAnnotation+" annotations on objects")
	f.Int64Var(&o.maxFileSize, "max-file-size", manifest.DefaultMaxFileSize, "refuse input files larger than this many bytes")
	f.StringVar(&o.kubernetesVersion, "kubernetes-version", "", "judge API versions against this Kubernetes release, like 1.33 (default: the newest release plimsoll knows)")
	addHelmFlags(f, &o.helmChart, &o.helm, "render this Helm chart (a directory or .tgz) in-process and "+verb+" the result")
	f.StringVar(&o.kustomize, "kustomize", "", "build this Kustomization directory in-process and "+verb+" the result")
	f.StringVar(&o.snapshot, "snapshot", "", verb+" a snapshot taken with 'plimsoll snapshot' instead of a live cluster")
	o.cluster.addFlags(f)
	addChecksFlag(f, &o.customChecks)
	addAdmissionFlag(f, &o.admissionPolicies)
}

// audit reads what args and the flags name, audits it under the
// configuration and builds its report. quiet hides a cluster read's
// progress (machine-readable output). An error means nothing was audited;
// inputs that could not be read are in the Inputs' Errors.
func (o *inputOptions) audit(ctx context.Context, f *pflag.FlagSet, s Streams, args []string, quiet bool) (*pipeline.Inputs, *audit.Audit, *report.Report, error) {
	cs, err := loadChecks(o.configFile, s.Dir, o.customChecks)
	if err != nil {
		return nil, nil, nil, err
	}
	if o.kubernetesVersion != "" {
		if _, _, err := config.ParseVersion(o.kubernetesVersion); err != nil {
			return nil, nil, nil, fmt.Errorf("--kubernetes-version: %w", err)
		}
	}
	helm := o.helm
	helm.Namespace = *o.cluster.kube.Namespace
	src := pipeline.Source{
		Paths:       args,
		Stdin:       s.In,
		MaxFileSize: o.maxFileSize,
		HelmChart:   o.helmChart,
		Helm:        helm,
		Kustomize:   o.kustomize,
		Snapshot:    o.snapshot,
	}
	manifests := len(args) > 0 || o.helmChart != "" || o.kustomize != ""
	var in *pipeline.Inputs
	var unread []report.InputError
	if !manifests && o.snapshot == "" {
		// A live cluster: its admission policies are read first, so that
		// the read lists the params kinds their bindings name.
		// What it cannot list, the main read cannot either, and reports.
		policies, _, err := o.cluster.admissionFromCluster(ctx, f, s, []string{custom.VAPKey, custom.VAPBindingKey}, quiet, false)
		if err != nil {
			return nil, nil, nil, err
		}
		if unread, err = o.judgeByAdmission(ctx, f, s, cs, policies, false, quiet); err != nil {
			return nil, nil, nil, err
		}
		src.Cluster = o.cluster.source(f, s, pipeline.Kinds(cs.Registry), quiet)
		if in, err = pipeline.Read(ctx, src); err != nil {
			return nil, nil, nil, err
		}
	} else {
		if in, err = pipeline.Read(ctx, src); err != nil {
			return nil, nil, nil, err
		}
		if unread, err = o.judgeByAdmission(ctx, f, s, cs, in.Objects, manifests && namesCluster(f), quiet); err != nil {
			return nil, nil, nil, err
		}
	}
	cfg, err := pipeline.LoadConfig(o.configFile, s.Dir, cs.Registry)
	if err != nil {
		return nil, nil, nil, err
	}
	if o.kubernetesVersion != "" {
		cfg.Parameters.KubernetesVersion = o.kubernetesVersion
	}
	opts := pipeline.Options{
		Registry:               cs.Registry,
		Config:                 cfg,
		NoAnnotationExemptions: o.noAnnotationExemptions,
		Now:                    s.Now,
		Version:                reportVersion(),
		FreeMemory:             true, // it audits once and exits
	}
	in.Errors = append(in.Errors, unread...)
	in.Errors = append(in.Errors, cs.InputErrors()...) // custom checks and admission policies that could not be loaded
	in.Skipped = append(in.Skipped, cs.Admission.Skipped...)
	a := pipeline.Audit(in, opts)
	return in, a, pipeline.Report(a, in, opts), nil
}
