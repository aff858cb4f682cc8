// Package pipeline assembles plimsoll's one-way pipeline, source →
// inventory → audit → report, once for every command that audits: audit,
// snapshot and serve, and the commands to come. A command parses its flags
// into a Source and Options, and prints what comes out; everything in
// between is here.
//
// A run is three calls:
//
//   - Read reads what a Source names (manifest files and standard input, a
//     Helm chart, a Kustomization, a snapshot, or a live cluster) into
//     Inputs: the decoded objects, the inputs that could not be read, and
//     what the report says of where the objects came from.
//   - Audit builds the inventory of the Inputs and runs the checks over it,
//     with the Options' registry, configuration and clock.
//   - Report builds the report of that audit.
//
// Input that cannot be read is not an error: Read locates it in
// Inputs.Errors, reads everything else, and the report of the run says it
// is partial. Read returns an error only when there is nothing to audit. A
// command decides what either means for its exit code.
//
// Memory: Audit takes the objects out of the Inputs, so that once it
// returns nothing holds the inventory; Options.FreeMemory then gives its
// memory back before the report is built. The soft memory limit a command
// runs under (internal/memory for a command that audits once,
// serve.LimitMemory for serve) is the command's own, set around all it
// does, writing its output included.
//
// Snapshot saves a cluster read for a later Read, and Auditor audits the
// snapshots of serve's informer cache the way Read, Audit and Report audit
// a cluster read, so that serve and plimsoll audit agree.
package pipeline

import (
	"fmt"
	"maps"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/config"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/platform"
	"github.com/plimsoll/plimsoll/internal/report"
)

// Options are what an audit judges its inputs by and what its report names
// the tool; a command sets them once for all its runs.
type Options struct {
	// Registry holds the checks to run.
	Registry *check.Registry
	// Config is the configuration (see LoadConfig); nil means
	// config.Default().
	Config *config.Config
	// NoAnnotationExemptions ignores the audit.IgnoreAnnotation
	// annotations on objects.
	NoAnnotationExemptions bool
	// Now is the clock exemption expiry is judged by, read once per audit
	// before anything else; nil means time.Now. Checks judge ages at the
	// time a cluster was read (Inputs.At) instead, when there is one.
	Now func() time.Time
	// Version is plimsoll's version, as the report names it.
	Version string
	// FreeMemory makes Audit, once the inventory is garbage, collect it and
	// give its memory back to the operating system before it returns
	// (debug.FreeOSMemory), so that the report's results, one large block,
	// do not come on top of it: 20 MB over the audit's peak otherwise. It
	// suits a command that audits once and exits. serve leaves it off: its
	// cache holds the objects between audits, and a forced collection in
	// every audit would only cost time.
	FreeMemory bool
}

// Audit builds the inventory of in's objects and runs the checks of o over
// it. It takes the objects (in.Objects is nil afterwards): the audit's
// results keep only what the report needs, so the decoded objects and
// their inventory are garbage once Audit returns.
func Audit(in *Inputs, o Options) *audit.Audit {
	now := clock(o.Now)()
	inv := platform.Inventory(in.Mode, in.Objects)
	in.Objects = nil
	if !o.NoAnnotationExemptions {
		in.Errors = append(in.Errors, unknownIgnored(inv, o.Registry)...)
	}
	a := audit.Run(inv, audit.Options{
		Registry:               o.Registry,
		Config:                 o.Config,
		NoAnnotationExemptions: o.NoAnnotationExemptions,
		Now:                    now,
		At:                     in.At,
		Namespace:              in.Namespace,
		Only:                   in.Only,
		Unreadable:             Unreadable(in, Kinds(o.Registry)),
	})
	if o.FreeMemory {
		debug.FreeOSMemory()
	}
	return a
}

// unknownIgnored are the objects whose plimsoll.dev/ignore annotation
// names a check that does not exist: a typo would otherwise exempt
// nothing, silently. The object is still audited; the run is partial.
func unknownIgnored(inv *inventory.Inventory, reg *check.Registry) []report.InputError {
	var out []report.InputError
	for _, o := range inv.Objects() {
		ids, ok := o.Annotations[audit.IgnoreAnnotation]
		if !ok {
			continue
		}
		for _, id := range strings.Split(ids, ",") {
			if id = strings.TrimSpace(id); id != "*" && reg.Get(id) == nil {
				out = append(out, report.InputError{File: o.Source.File, Line: o.Source.Line, Object: o.ID(),
					Message: fmt.Sprintf("%s: annotation %s names check %q, which does not exist (plimsoll checks lists them); it exempts nothing", o.ID(), audit.IgnoreAnnotation, id)})
			}
		}
	}
	return out
}

// Unreadable returns the kinds in could not show: its Unreadable, and for
// a cluster read the kinds of keys that the read did not ask for: a
// snapshot taken by a plimsoll that did not read them. Judged as if the
// cluster had none, a PriorityClass a workload names would be reported
// missing. A kind the read asked for and the cluster does not serve is
// none. A snapshot from before reads recorded what they asked for tells
// only what it listed: of the kinds it does not list, those every cluster
// serves are taken as not asked for.
func Unreadable(in *Inputs, keys []string) map[string]string {
	if in.Listed == nil {
		return in.Unreadable
	}
	out := maps.Clone(in.Unreadable)
	if out == nil {
		out = map[string]string{}
	}
	for _, k := range keys {
		asked := in.Requested[k]
		if in.Requested == nil {
			asked = in.Listed[k] || !servedEverywhere(k)
		}
		if _, known := out[k]; known || asked {
			continue
		}
		out[k] = "the snapshot does not hold " + k + " objects: the plimsoll that took it did not read them; take a new snapshot"
	}
	return out
}

// builtinGroups are the API groups every API server serves.
var builtinGroups = map[string]bool{
	"": true, "apps": true, "batch": true, "policy": true, "autoscaling": true,
	"networking.k8s.io": true, "rbac.authorization.k8s.io": true, "storage.k8s.io": true,
	"scheduling.k8s.io": true, "node.k8s.io": true, "discovery.k8s.io": true,
	"admissionregistration.k8s.io": true, "apiextensions.k8s.io": true,
	"apiregistration.k8s.io": true, "coordination.k8s.io": true, "certificates.k8s.io": true,
}

// servedEverywhere reports whether every cluster serves a kind: the
// built-in kinds plimsoll decodes (a bare kind key), and the others of the
// built-in groups. A custom kind a snapshot does not list may simply not
// be served.
func servedEverywhere(key string) bool {
	_, group, custom := strings.Cut(key, ".")
	return !custom || builtinGroups[group]
}

// Report builds the report of a, the audit of in.
func Report(a *audit.Audit, in *Inputs, o Options) *report.Report {
	return report.Build(a, report.Input{
		Tool: "plimsoll", Version: o.Version, Sources: in.Sources, Errors: in.Errors, Skipped: in.Skipped, Cluster: in.Cluster,
	})
}

// LoadConfig loads the configuration file, or, when file is "", the one
// config.Find finds upward from dir; with neither it returns
// config.Default(). Check IDs in the file are judged against reg.
func LoadConfig(file, dir string, reg *check.Registry) (*config.Config, error) {
	if file == "" {
		file = config.Find(dir)
	}
	if file == "" {
		return config.Default(), nil
	}
	return config.Load(file, reg)
}

// NeverRead are the kinds plimsoll does not read from a cluster, whatever
// a check needs, and why: the checks that need them are not assessed on a
// cluster or a snapshot. Secrets hold credentials; ConfigMaps often do
// too, and the read-only role (deploy/rbac/clusterrole.yaml) grants
// neither.
var NeverRead = map[string]string{
	"Secret":    "plimsoll never reads Secrets",
	"ConfigMap": "plimsoll does not read ConfigMaps from a cluster: they may hold credentials, and its read-only role grants no access to them",
}

// Kinds are the kind keys a cluster read lists for the checks of reg:
// every kind some check needs but NeverRead, plus Namespaces and Nodes,
// which every report describes. Checks of objects as declared, and checks
// that need a kind in NeverRead, are not assessed on a cluster and need
// nothing listed.
func Kinds(reg *check.Registry) []string {
	seen := map[string]bool{"Namespace": true, "Node": true, inventory.ClusterKey: true}
	for k := range NeverRead {
		seen[k] = true
	}
	kinds := []string{"Namespace", "Node"}
	for _, c := range reg.All() {
		if c.Requires == check.Declared || slices.ContainsFunc(c.Needs(), func(k string) bool { _, never := NeverRead[k]; return never }) {
			// Not assessed on a cluster: nothing it reads need be listed.
			continue
		}
		for _, k := range c.Needs() {
			if !seen[k] {
				seen[k] = true
				kinds = append(kinds, k)
			}
		}
	}
	return kinds
}

// clock is now, or time.Now when now is nil.
func clock(now func() time.Time) func() time.Time {
	if now == nil {
		return time.Now
	}
	return now
}
