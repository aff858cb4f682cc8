package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/plimsoll/plimsoll/internal/baseline"
	"github.com/plimsoll/plimsoll/internal/pipeline"
	"github.com/plimsoll/plimsoll/internal/report"
)

// refCheckout is audit --baseline-ref: the commit's files, and the inputs
// of the run mapped onto them.
type refCheckout struct {
	*baseline.Checkout
	ref string
	// inputs and args are the run's, with every path inside the
	// repository taken from the checkout; paths outside it (a values file
	// kept elsewhere) are read as they are, for both runs.
	inputs *inputOptions
	args   []string
	// none is set when no input the run reads existed at the commit: its
	// baseline is empty, and every failure is new.
	none bool
}

// checkoutRef checks out ref of the repository that holds the run's
// inputs and maps them onto it. Only manifests have a commit to read:
// paths, --helm and --kustomize.
func checkoutRef(ctx context.Context, o *inputOptions, args []string, ref string) (*refCheckout, error) {
	switch {
	case o.snapshot != "":
		return nil, errors.New("--baseline-ref compares manifests with those of a git commit; a snapshot has no commit: compare it with --baseline REPORT")
	case slices.Contains(args, "-"):
		return nil, errors.New("--baseline-ref cannot read standard input as it was at a git commit: give the paths")
	}
	inputs := append(append([]string{}, args...), o.helmChart, o.kustomize)
	inputs = slices.DeleteFunc(inputs, func(p string) bool { return p == "" })
	if len(inputs) == 0 {
		return nil, errors.New("--baseline-ref compares manifests with those of a git commit: give paths, --helm or --kustomize (a cluster has no commit: compare it with --baseline REPORT)")
	}
	dir, err := filepath.Abs(inputs[0])
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		dir = filepath.Dir(dir)
	}
	co, err := baseline.CheckoutRef(ctx, dir, ref)
	if err != nil {
		return nil, fmt.Errorf("--baseline-ref: %w", err)
	}
	c := &refCheckout{Checkout: co, ref: ref}
	m := *o
	m.helm.ValueFiles = nil
	for _, v := range o.helm.ValueFiles {
		m.helm.ValueFiles = append(m.helm.ValueFiles, c.path(v))
	}
	// An input the change adds was not there: none of its findings is in
	// the baseline.
	present := func(p string) string {
		if p == "" {
			return ""
		}
		if _, err := os.Stat(c.path(p)); err != nil {
			return ""
		}
		return c.path(p)
	}
	m.helmChart, m.kustomize = present(o.helmChart), present(o.kustomize)
	for _, a := range args {
		if p := present(a); p != "" {
			c.args = append(c.args, p)
		}
	}
	c.inputs = &m
	c.none = len(c.args) == 0 && m.helmChart == "" && m.kustomize == ""
	return c, nil
}

// path is where p is in the checkout, when it is inside the repository;
// else p.
func (c *refCheckout) path(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	rel, err := filepath.Rel(c.Repo, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return p
	}
	return filepath.Join(c.Dir, rel)
}

// audit audits the commit with the run's flags and configuration and
// returns it as the baseline of head, the run's report. What could not
// be read at the commit is said on stderr: its findings, missing from the
// baseline, count as new, so the gate errs on the side of failing.
func (c *refCheckout) audit(ctx context.Context, f *pflag.FlagSet, s Streams, head *report.Report) (*baseline.Baseline, error) {
	source := fmt.Sprintf("%s (commit %.12s)", c.ref, c.Commit)
	if c.none {
		return baseline.Empty(source, head), nil
	}
	in, _, rep, err := c.inputs.audit(ctx, f, s, c.args, true)
	if errors.Is(err, pipeline.ErrNoObjects) {
		return baseline.Empty(source, head), nil
	}
	if err != nil {
		return nil, fmt.Errorf("--baseline-ref %s: %s", c.ref, c.relative(err.Error()))
	}
	for _, e := range in.Errors {
		fmt.Fprintln(s.Err, "plimsoll: cannot read at "+report.EscapeTerminal(c.ref+": "+c.relative(e.Where()+": "+e.Message)))
	}
	return baseline.FromReport(source, rep)
}

// relative names the checkout's files by their paths in the repository.
func (c *refCheckout) relative(msg string) string {
	return strings.ReplaceAll(msg, c.Dir+string(filepath.Separator), "")
}
