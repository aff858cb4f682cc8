package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/plimsoll/plimsoll/internal/cluster"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/manifest"
	"github.com/plimsoll/plimsoll/internal/report"
)

// Source names what Read reads: manifests (any of Paths, HelmChart and
// Kustomize, together), or a Snapshot, alone, or, when it names neither,
// the live Cluster.
type Source struct {
	// Paths are manifest files and directories, read recursively (*.yaml,
	// *.yml, *.json); "-" reads Stdin.
	Paths []string
	// Stdin is what the path "-" reads.
	Stdin io.Reader
	// MaxFileSize refuses larger files, and larger standard input; 0 means
	// manifest.DefaultMaxFileSize.
	MaxFileSize int64
	// HelmChart is a Helm chart, a directory or a .tgz, to render
	// in-process with the values and release settings of Helm.
	HelmChart string
	// Helm are the values and release settings HelmChart is rendered with.
	Helm manifest.HelmOptions
	// Kustomize is a Kustomization directory to build in-process.
	Kustomize string
	// Snapshot is a snapshot file, written by Snapshot, to read instead of
	// the cluster it was taken of.
	Snapshot string
	// Cluster is the live cluster to read when the Source names no
	// manifests and no snapshot.
	Cluster Cluster
}

// Inputs are what Read read: the objects to audit, and what the report
// says of where they came from and what could not be read.
type Inputs struct {
	// Mode says whether the objects are manifests or a cluster's; a check
	// that needs a cluster is not assessed on manifests.
	Mode inventory.Mode
	// Objects are the decoded objects. Audit takes them.
	Objects []*inventory.Object
	// Sources name what was read, for the report: the paths as given,
	// "helm chart DIR", "kustomize build DIR", "snapshot FILE" or
	// "cluster CONTEXT".
	Sources []string
	// Errors are the inputs that could not be read, located as precisely
	// as they can be: a file and line, or a resource type. Everything else
	// was read; a report with errors is partial.
	Errors []report.InputError
	// Skipped are files that were passed over, and why.
	Skipped []string
	// Unreadable are the kind keys the inputs could not show, and why: the
	// checks that need them are not assessed. Secrets are always among
	// them for a cluster, which plimsoll never reads them from.
	Unreadable map[string]string
	// Cluster describes the cluster read, live or from a snapshot; nil for
	// manifests.
	Cluster *report.Cluster
	// At is when the cluster was read (when a snapshot was taken); checks
	// judge ages at it. Zero for manifests.
	At time.Time
	// Namespace is the one namespace a cluster read was limited to, if any.
	Namespace string
	// Only, if set, is the one object among Objects to judge
	// (audit.Options.Only): an object at admission.
	Only *inventory.Object
	// Requested are, for a cluster read, the kind keys it asked for: a kind
	// a check needs that it did not ask for (a snapshot taken by an older
	// plimsoll) is unreadable, not absent. Nil for manifests, and for
	// snapshots from before reads recorded it, where Listed stands in.
	Requested map[string]bool
	// Listed are, for a cluster read, the kind keys it lists, read or
	// refused.
	Listed map[string]bool
}

// Read reads what src names. An input that cannot be read (a file that
// does not parse, a type the cluster refuses to list) is in the Inputs'
// Errors, and everything else is read. An error means nothing can be
// audited: src names a snapshot and manifests too, the snapshot cannot be
// read, or the cluster cannot be reached or stopped answering.
func Read(ctx context.Context, src Source) (*Inputs, error) {
	manifests := len(src.Paths) > 0 || src.HelmChart != "" || src.Kustomize != ""
	switch {
	case src.Snapshot != "" && manifests:
		return nil, errors.New("--snapshot audits a snapshot alone: give no paths, --helm or --kustomize with it")
	case src.Snapshot != "":
		return readSnapshot(src.Snapshot)
	case manifests:
		in := readManifests(ctx, src)
		if len(in.Objects) == 0 && len(in.Errors) == 0 {
			return nil, noObjects(in)
		}
		return in, nil
	}
	res, h, err := readCluster(ctx, src.Cluster, func(_ cluster.Type, obj map[string]any) (*inventory.Object, error) {
		return inventory.New(obj, inventory.Source{Origin: "cluster"})
	})
	if err != nil {
		return nil, err
	}
	return clusterInputs(h, res.Items, res.Errors, "cluster "+h.Context), nil
}

func readManifests(ctx context.Context, src Source) *Inputs {
	in := &Inputs{Mode: inventory.FromManifests}
	add := func(res manifest.Result, sources ...string) {
		in.Objects = append(in.Objects, res.Objects...)
		for _, e := range res.Errors {
			in.Errors = append(in.Errors, report.InputError{File: e.File, Line: e.Line, Message: e.Err.Error()})
		}
		in.Skipped = append(in.Skipped, res.Skipped...)
		in.Sources = append(in.Sources, sources...)
	}
	if len(src.Paths) > 0 {
		res := manifest.Load(ctx, src.Paths, manifest.Options{MaxFileSize: src.MaxFileSize, Stdin: src.Stdin})
		add(res, src.Paths...)
	}
	if src.HelmChart != "" {
		add(manifest.LoadHelm(src.HelmChart, src.Helm), "helm chart "+src.HelmChart)
	}
	if src.Kustomize != "" {
		add(manifest.LoadKustomize(src.Kustomize), "kustomize build "+src.Kustomize)
	}
	return in
}

// ErrNoObjects is the error Read returns, wrapped, for manifests that hold
// no object at all.
var ErrNoObjects = errors.New("nothing to audit")

// noObjects is the error for manifests that hold no object at all: an
// empty directory, or a path that is not the one meant, passes no audit.
func noObjects(in *Inputs) error {
	msg := "no Kubernetes object in " + strings.Join(in.Sources, ", ")
	if n := len(in.Skipped); n > 0 {
		msg += fmt.Sprintf(" (%d file(s) passed over: %s)", n, in.Skipped[0])
		if n > 1 {
			msg = strings.TrimSuffix(msg, ")") + ", ...)"
		}
	}
	return fmt.Errorf("%w: %s", ErrNoObjects, msg)
}

// readSnapshot reads a snapshot as Read reads the cluster it was taken of.
func readSnapshot(path string) (*Inputs, error) {
	var objs []*inventory.Object
	var errs []error
	src := inventory.Source{Origin: "snapshot " + path}
	h, err := cluster.ReadSnapshot(path, func(item map[string]any) error {
		o, err := inventory.New(item, src)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		objs = append(objs, o)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return clusterInputs(*h, objs, errs, "snapshot "+path), nil
}
