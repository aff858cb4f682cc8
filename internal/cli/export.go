package cli

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"

	"github.com/plimsoll/plimsoll/internal/atomicfile"
	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/export"
)

func newExportCommand(s Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write checks out in formats other tools enforce",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newExportVAPCommand(s))
	return cmd
}

// exportOptions are the flags of plimsoll export vap.
type exportOptions struct {
	output, action, paramsNamespace string
	ids, layers, paths, exclude     []string
}

func newExportVAPCommand(s Streams) *cobra.Command {
	var o exportOptions
	cmd := &cobra.Command{
		Use:   "vap",
		Short: "Write checks out as ValidatingAdmissionPolicies the API server enforces",
		Long: `vap writes each check that can be judged on one object by what the object
says alone as a ValidatingAdmissionPolicy and a ValidatingAdmissionPolicyBinding
named plimsoll-<check-id>, a YAML stream for kubectl apply: the API server then
warns about (Warn, the default), refuses (Deny) or audits (Audit) what plimsoll
would fail, with plimsoll's own messages. plimsoll checks says which checks can
be exported (EXPORT); a check that needs other objects, the cluster's state or
parameters cannot.

A policy judges the kinds its check applies to as plimsoll does: a workload
and its pod template when it is created or updated, not the ReplicaSets, Jobs
and Pods its controller makes (those are left out by a matchCondition), and
not an object whose plimsoll.dev/ignore annotation names the check. Custom
checks (--checks, checks.custom) are exported as themselves, with their params
object. The bindings leave out --exclude-namespace (kube-system by default).`,
		Example: `  plimsoll export vap -o policies.yaml
  plimsoll export vap --check image-tag-latest --check ingress-tls
  plimsoll export vap --layer security --action Deny | kubectl apply -f -
  plimsoll export vap --checks ./policies/ -o policies.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExportVAP(s, o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "", "write the policies to this file, atomically (default: standard output)")
	f.StringVar(&o.action, "action", "Warn", "what the bindings do with an object a check fails: Warn, Deny or Audit")
	f.StringArrayVar(&o.ids, "check", nil, "export only this check (repeatable)")
	f.StringArrayVar(&o.layers, "layer", nil, "export only the checks of this layer (repeatable)")
	f.StringArrayVar(&o.exclude, "exclude-namespace", []string{"kube-system"}, "namespace the bindings leave out (repeatable; --exclude-namespace= leaves out none)")
	f.StringVar(&o.paramsNamespace, "params-namespace", "default", "namespace of a custom check's params object when its file names none")
	addChecksFlag(f, &o.paths)
	return cmd
}

func runExportVAP(s Streams, o exportOptions) error {
	action, err := export.ParseAction(o.action)
	if err != nil {
		return &exitError{ExitPartial, fmt.Errorf("--action: %w", err)}
	}
	for _, l := range o.layers {
		if !slices.Contains(check.Layers(), check.Layer(l)) {
			return &exitError{ExitPartial, fmt.Errorf("--layer %q: want one of %s", l, strings.Join(layers(), ", "))}
		}
	}
	cs, err := loadChecks("", s.Dir, o.paths)
	if err != nil {
		return &exitError{ExitPartial, err}
	}
	version, _ := buildVersion()
	opts := export.Options{Action: action, Version: version, ParamsNamespace: o.paramsNamespace}
	for _, ns := range o.exclude {
		if ns != "" {
			opts.ExcludeNamespaces = append(opts.ExcludeNamespaces, ns)
		}
	}
	var selected []*check.Check
	for _, id := range o.ids {
		c := cs.Registry.Get(id)
		if c == nil {
			return &exitError{ExitPartial, fmt.Errorf("--check %q: unknown check (plimsoll checks lists them)", id)}
		}
		selected = append(selected, c)
	}
	explicit := len(selected) > 0
	if !explicit {
		selected = cs.Registry.All()
	}
	var policies []*export.Policy
	var errs []error
	for _, c := range selected {
		if len(o.layers) > 0 && !slices.Contains(o.layers, string(c.Layer)) {
			continue
		}
		var p *export.Policy
		if cc := cs.Custom.Get(c.ID); cc != nil {
			if len(cc.Objects()) > 0 && !explicit {
				continue // lists other objects, which a policy cannot
			}
			p, err = export.Custom(cc, opts)
		} else if ok, _ := export.Exportable(c); ok || explicit {
			p, err = export.Builtin(c, opts)
		} else {
			continue // not exportable, and not asked for by name
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		policies = append(policies, p)
	}
	slices.SortFunc(policies, func(a, b *export.Policy) int { return strings.Compare(a.ID, b.ID) })
	var buf bytes.Buffer
	if err := export.Write(&buf, exportHeader(o, action, len(policies)), policies); err != nil {
		return err
	}
	if o.output == "" {
		if _, err := s.Out.Write(buf.Bytes()); err != nil {
			return err
		}
	} else if err := atomicfile.WriteFile(o.output, buf.Bytes()); err != nil {
		return &exitError{ExitPartial, fmt.Errorf("write %s: %w", o.output, err)}
	}
	for _, e := range errs {
		fmt.Fprintln(s.Err, "plimsoll:", e)
	}
	if err := cs.loadErrors(s); err != nil {
		return err
	}
	if len(errs) > 0 {
		return &exitError{ExitPartial, fmt.Errorf("%d check(s) could not be exported", len(errs))}
	}
	if len(policies) == 0 {
		return &exitError{ExitPartial, errors.New("no check to export")}
	}
	return nil
}

// exportHeader says how the policies were made: the command that makes
// them again, and what they do.
func exportHeader(o exportOptions, action admissionregistrationv1.ValidationAction, n int) string {
	version, _ := buildVersion()
	args := []string{"plimsoll export vap", "--action " + string(action)}
	for _, id := range o.ids {
		args = append(args, "--check "+id)
	}
	for _, l := range o.layers {
		args = append(args, "--layer "+l)
	}
	for _, p := range o.paths {
		args = append(args, "--checks "+p)
	}
	var exclude []string
	for _, ns := range o.exclude {
		if ns != "" {
			exclude = append(exclude, ns)
		}
	}
	switch {
	case len(exclude) == 0:
		args = append(args, "--exclude-namespace=")
	case !slices.Equal(exclude, []string{"kube-system"}):
		for _, ns := range exclude {
			args = append(args, "--exclude-namespace "+ns)
		}
	}
	return fmt.Sprintf(`Made by plimsoll %s with:
  %s
%d check(s), each a ValidatingAdmissionPolicy and a ValidatingAdmissionPolicyBinding named
plimsoll-<check-id> whose validationActions are [%s]. Apply with kubectl apply -f.`,
		version, strings.Join(args, " "), n, action)
}
