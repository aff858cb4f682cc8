package cli

import (
	"context"
	"fmt"
	"slices"

	"github.com/spf13/pflag"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/custom"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/pipeline"
	"github.com/plimsoll/plimsoll/internal/report"
)

// addAdmissionFlag adds --admission-policies, the files of a cluster's
// ValidatingAdmissionPolicies to judge the inputs by.
func addAdmissionFlag(f *pflag.FlagSet, paths *[]string) {
	f.StringArrayVar(paths, "admission-policies", nil, "judge the inputs by the ValidatingAdmissionPolicies and bindings (and their params objects) of this file or directory, as the API server would (repeatable; see the README's \"A cluster's own admission policies\")")
}

// addAdmission makes a check of each binding of the policies among objs
// (the audited inputs first, then the --admission-policies files, then a
// cluster's) and adds them to the registry. errs are the files that could
// not be read.
func (cs *checkSet) addAdmission(objs []custom.AdmissionObject, errs []*custom.AdmissionError) error {
	if cs.base == nil {
		cs.base = cs.Registry
	}
	set := custom.LoadAdmission(objs, func(id string) bool { return cs.base.Get(id) != nil })
	set.Errors = append(slices.Clip(errs), set.Errors...)
	reg, err := check.NewRegistry(append(slices.Clip(cs.base.All()), set.All()...))
	if err != nil {
		return err // LoadAdmission refuses what the registry would
	}
	cs.Registry, cs.Admission = reg, set
	return nil
}

// customCheck is the custom check, or the check of a cluster's policy,
// with this ID, or nil.
func (cs *checkSet) customCheck(id string) *custom.Check {
	if c := cs.Custom.Get(id); c != nil {
		return c
	}
	if cs.Admission != nil {
		return cs.Admission.Get(id)
	}
	return nil
}

// admissionInputErrors are the policies and bindings that could not be
// judged, as the report lists inputs that could not be read.
func (cs *checkSet) admissionInputErrors() []report.InputError {
	if cs.Admission == nil {
		return nil
	}
	var out []report.InputError
	for _, e := range cs.Admission.Errors {
		out = append(out, report.InputError{File: e.File, Line: e.Line, Object: e.Object, Message: "admission policy: " + e.Err.Error()})
	}
	return out
}

// crdKey is the kind key of CustomResourceDefinitions, which the params
// read leaves out: their schemas are most of a cluster's bytes, and a
// params object says itself whether it is namespaced.
const crdKey = "CustomResourceDefinition.apiextensions.k8s.io"

// clusterKubeFlags are the flags that name a cluster: with one of them,
// an audit of manifests judges them by that cluster's admission policies
// too. Without, it contacts no cluster, whatever the kubeconfig says.
var clusterKubeFlags = []string{"kubeconfig", "context", "cluster", "server"}

// namesCluster reports whether the flags name a cluster.
func namesCluster(f *pflag.FlagSet) bool {
	return slices.ContainsFunc(clusterKubeFlags, f.Changed)
}

// admissionFromCluster lists a cluster's ValidatingAdmissionPolicies and
// their bindings, read-only, and returns them with what could not be
// listed (a Forbidden list), as the report lists inputs that could not be
// read. allNamespaces reads them even when -n names a namespace (an audit
// of manifests); otherwise, as for every cluster-scoped type, -n leaves
// them out of scope.
func (c *clusterOptions) admissionFromCluster(ctx context.Context, f *pflag.FlagSet, s Streams, kinds []string, quiet, allNamespaces bool) ([]*inventory.Object, []report.InputError, error) {
	src := c.source(f, s, kinds, quiet)
	if allNamespaces {
		connect := src.Connect
		src.Connect = func() (*pipeline.Connection, error) {
			conn, err := connect()
			if conn != nil {
				conn.Namespace = ""
			}
			return conn, err
		}
		// -n is Helm's namespace when manifests are audited.
		f = pflag.NewFlagSet("", pflag.ContinueOnError)
	}
	in, err := pipeline.Read(ctx, pipeline.Source{Cluster: src})
	if err != nil {
		return nil, nil, fmt.Errorf("read the cluster's admission policies: %w", err)
	}
	var errs []report.InputError
	for _, e := range in.Errors {
		e.Message += " (the cluster's admission policies that need it are not judged)"
		errs = append(errs, e)
	}
	return in.Objects, errs, nil
}

// judgeByAdmission gathers the admission policies an audit judges its
// inputs by, in the order they take precedence: the audited inputs
// (inputs), the --admission-policies files, then, when the flags name a
// cluster beside manifests, that cluster's policies and the params objects
// they name. It adds their checks to cs and returns what could not be read.
func (o *inputOptions) judgeByAdmission(ctx context.Context, f *pflag.FlagSet, s Streams, cs *checkSet, inputs []*inventory.Object, fromCluster bool, quiet bool) ([]report.InputError, error) {
	files, errs := custom.ReadAdmission(o.admissionPolicies)
	objs := append(custom.AdmissionFromInventory(inputs), files...)
	var unread []report.InputError
	if fromCluster {
		policies, lost, err := o.cluster.admissionFromCluster(ctx, f, s, []string{custom.VAPKey, custom.VAPBindingKey}, quiet, true)
		if err != nil {
			return nil, err
		}
		unread = append(unread, lost...)
		objs = append(objs, custom.AdmissionFromInventory(policies)...)
		// What params kinds the bindings need is known once they are
		// read: a second read lists them, but never a kind plimsoll does
		// not read from a cluster.
		if err := cs.addAdmission(objs, errs); err != nil {
			return nil, err
		}
		var kinds []string
		for _, c := range cs.Admission.Checks {
			for _, k := range c.Reads {
				if _, never := pipeline.NeverRead[k]; !never && k != "Namespace" && k != crdKey && !slices.Contains(kinds, k) {
					kinds = append(kinds, k)
				}
			}
		}
		if len(kinds) > 0 {
			params, lost, err := o.cluster.admissionFromCluster(ctx, f, s, kinds, quiet, true)
			if err != nil {
				return nil, err
			}
			unread = append(unread, lost...)
			objs = append(objs, custom.AdmissionParams(params)...)
		}
	}
	if err := cs.addAdmission(objs, errs); err != nil {
		return nil, err
	}
	return unread, nil
}
