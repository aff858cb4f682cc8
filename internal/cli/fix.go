package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/fix"
	"github.com/plimsoll/plimsoll/internal/fix/files"
	"github.com/plimsoll/plimsoll/internal/fix/overlay"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/manifest"
	"github.com/plimsoll/plimsoll/internal/memory"
	"github.com/plimsoll/plimsoll/internal/pipeline"
	"github.com/plimsoll/plimsoll/internal/platform"
	"github.com/plimsoll/plimsoll/internal/report"
)

type fixOptions struct {
	write     bool
	overlay   string
	initBase  bool
	checks    []string
	layers    []string
	suggest   bool
	output    string
	config    string
	kustomize string
	snapshot  string
	helmChart string
	helm      manifest.HelmOptions
}

func newFixCommand(s Streams) *cobra.Command {
	o := &fixOptions{}
	cmd := &cobra.Command{
		Use:   "fix [PATH...]",
		Short: "Turn findings into changes: a diff (the default), edits in place, or a Kustomize overlay",
		Long: `Fix plans the changes that fix what an audit of the manifests finds, proves
each by auditing the inputs with the changes applied (the finding it fixes
must disappear, and no new failure may appear anywhere; a change that fails
this is dropped and reported), and then:

  - prints them as a unified diff (the default);
  - with --write, edits the files in place, touching only the lines a change
    makes (comments, key order, quoting and indentation stay as they were),
    and writes new objects to new files beside them;
  - with --overlay DIR, writes a Kustomize overlay over the inputs' directory
    (or --kustomize's): a kustomization.yaml whose resources point at the
    base, a strategic-merge patch per object, and new files for new objects.

With --helm CHART (and -f/--values, --set, --set-string, --release-name,
-n as helm template takes them) it fixes what the chart renders, rendered
in-process as audit --helm renders it. A chart's templates are never edited:
--overlay is required, and the overlay renders the chart with Kustomize's
Helm generator (helmCharts), with the patches and new objects beside it. It
builds with kubectl kustomize --enable-helm (Argo CD: kustomize.buildOptions
--enable-helm). Kustomize reads values only from inside the overlay, so the
values given are merged as Helm merges them and copied to the overlay's
values.yaml, secret ones included: keep it in step with them. The proof
needs no helm binary: it renders the chart from that values.yaml in-process,
requires the manifests the audit read, and builds the overlay with them in
the generator's place.

Changes that need a decision (a probe's endpoint, resource numbers) are
suggested, not applied; --suggest applies them with placeholder values to
review. Files that hold template syntax are refused, never edited. Every
write goes through a temporary file, renamed into place.

The output says what was fixed, suggested, dropped and what remains, with the
score before and after. Exit codes: 0 when the changes were written or
printed, 2 when the input was unusable or a change could not be written.`,
		Example: `  plimsoll fix ./k8s                          # a unified diff of every fix
  plimsoll fix ./k8s --write                  # edit the files in place
  plimsoll fix ./k8s --overlay ./k8s-fixes    # a Kustomize overlay over ./k8s
  plimsoll fix --kustomize ./overlays/prod --overlay ./fixes
  plimsoll fix --snapshot prod.json.gz --overlay ./fixes   # the objects a cluster lacks
  plimsoll fix --helm ./chart -f prod.yaml --set image.tag=1.2 --overlay ./fixes
  plimsoll fix ./k8s --check pdb-coverage --check namespace-default-deny-ingress
  plimsoll fix ./k8s --layer security`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return untilInterrupted(cmd.Context(), func() error { return runFix(cmd, s, o, args) })
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.write, "write", false, "edit the files in place")
	f.StringVar(&o.overlay, "overlay", "", "write a Kustomize overlay to this directory, which must not exist")
	f.BoolVar(&o.initBase, "init-base", false, "with --overlay over a plain directory of manifests: write a kustomization.yaml listing them in it, so the overlay can build on it")
	f.StringArrayVar(&o.checks, "check", nil, "fix only this check's findings (repeatable)")
	f.StringArrayVar(&o.layers, "layer", nil, "fix only this layer's findings (repeatable)")
	f.BoolVar(&o.suggest, "suggest", false, "apply the suggestions too, with placeholder values to review")
	f.StringVarP(&o.output, "output", "o", "text", "output format of the summary: text or json")
	f.StringVar(&o.config, "config", "", "configuration file (default: .plimsoll.yaml found upward from the current directory)")
	f.StringVar(&o.kustomize, "kustomize", "", "fix what this Kustomization builds (with --overlay)")
	f.StringVar(&o.snapshot, "snapshot", "", "fix what a snapshot of a cluster lacks (with --overlay: new objects only)")
	addHelmFlags(f, &o.helmChart, &o.helm, "fix what this Helm chart (a directory) renders, rendered in-process (with --overlay)")
	f.StringVarP(&o.helm.Namespace, "namespace", "n", "", `Helm release namespace (with --helm; default "default")`)
	return cmd
}

func runFix(cmd *cobra.Command, s Streams, o *fixOptions, args []string) error {
	partial := func(err error) error { return &exitError{ExitPartial, err} }
	if err := helmFlagsAlone(cmd.Flags(), o.helmChart); err != nil {
		return partial(err)
	}
	switch {
	case o.write && o.overlay != "":
		return partial(errors.New("--write and --overlay exclude each other"))
	case o.output != "text" && o.output != "json":
		return partial(fmt.Errorf("--output %q: want text or json", o.output))
	case len(args) == 0 && o.kustomize == "" && o.snapshot == "" && o.helmChart == "":
		return partial(errors.New("nothing to fix: give manifest paths, --helm, --kustomize or --snapshot"))
	case o.helmChart != "" && o.overlay == "":
		return partial(errors.New("a chart's templates are never edited: with --helm, use --overlay DIR (an overlay that renders the chart with Kustomize's Helm generator, and patches what it renders)"))
	case o.helmChart != "" && (len(args) > 0 || o.kustomize != ""):
		return partial(errors.New("--helm --overlay builds on the chart alone: give no paths or --kustomize with it"))
	case (o.kustomize != "" || o.snapshot != "") && o.overlay == "":
		return partial(errors.New("what --kustomize or --snapshot reads has no files of its own to edit: use --overlay"))
	}
	cs, err := loadChecks(o.config, s.Dir, nil) // the configuration's custom checks too
	if err != nil {
		return partial(err)
	}
	reg := cs.Registry
	for _, id := range o.checks {
		if reg.Get(id) == nil {
			return partial(fmt.Errorf("--check %s: no such check (plimsoll checks lists them)", id))
		}
	}
	for _, l := range o.layers {
		if !contains(layerNames(), l) {
			return partial(fmt.Errorf("--layer %s: want one of %s", l, strings.Join(layerNames(), ", ")))
		}
	}
	cfg, err := pipeline.LoadConfig(o.config, s.Dir, reg)
	if err != nil {
		return partial(err)
	}
	in, err := pipeline.Read(cmd.Context(), pipeline.Source{Paths: args, Stdin: s.In, HelmChart: o.helmChart, Helm: o.helm, Kustomize: o.kustomize, Snapshot: o.snapshot, MaxFileSize: manifest.DefaultMaxFileSize})
	if err != nil {
		return partial(err)
	}
	in.Errors = append(in.Errors, cs.InputErrors()...)
	for _, e := range in.Errors {
		fmt.Fprintln(s.Err, "plimsoll: cannot read", report.EscapeTerminal(e.Where()+": "+e.Message))
	}
	if len(in.Errors) > 0 {
		return partial(fmt.Errorf("%d input(s) could not be read: fix them first, so that no change is made on a partial view", len(in.Errors)))
	}
	defer memory.Bound(s.Getenv)()
	objs := in.Objects
	// Planning and the proof look only at failures: the passes, most of
	// an audit's results, are counted and never held.
	run := func(objs []*inventory.Object) *audit.Audit {
		return audit.Run(platform.Inventory(in.Mode, objs), audit.Options{Registry: reg, Config: cfg, Now: s.Now(), At: in.At, FailuresOnly: true})
	}
	planner := func(opts fix.Options) fix.Planner {
		return func(objs []*inventory.Object, a *audit.Audit) []fix.Change {
			changes := fix.Plan(platform.Inventory(in.Mode, objs), a, opts)
			if o.snapshot != "" {
				// A cluster's objects change through the repository that
				// deploys them, not here: only the objects it lacks are made.
				changes = slices.DeleteFunc(changes, func(c fix.Change) bool { return c.Create == nil })
			}
			return changes
		}
	}
	before := run(objs)
	// --check and --layer choose the findings to fix; a change that brings
	// a failure of another check (two replicas need a budget) is still met
	// with that check's fix, or dropped.
	out := fix.Prove(objs, planner(fix.Options{Checks: o.checks, Layers: o.layers, Suggest: o.suggest})(objs, before),
		o.suggest, before, run, planner(fix.Options{Suggest: o.suggest}))

	// The inputs are not needed again, but for where an overlay's base
	// declares each object: the rest can be freed while the changes are
	// written.
	var read []fix.Ref
	if o.overlay != "" && o.kustomize == "" { // the objects were read from the base's files
		read = refsOf(objs)
	}
	objs, in.Objects = nil, nil

	var written []string
	var unplaced []fix.Applied
	switch {
	case o.overlay != "":
		written, err = writeOverlay(o, args, read, out.Applied)
	default:
		var fs []files.FileChange
		fs, unplaced, err = files.Plan(out.Applied, newFilesDir(args))
		if err == nil && o.write {
			err = files.Write(fs)
			for _, f := range fs {
				written = append(written, f.Path)
			}
		} else if err == nil {
			var d string
			if d, err = files.Diff(fs); err == nil {
				_, err = io.WriteString(s.Out, d)
			}
		}
	}
	if err != nil {
		return partial(err)
	}
	w := s.Err
	if o.write || o.overlay != "" {
		w = s.Out
	}
	if o.output == "json" {
		return writeFixJSON(s.Out, out, written)
	}
	writeFixSummary(w, out, written, unplaced)
	if o.helmChart != "" {
		writeValuesNote(w, o)
	}
	return nil
}

// newFilesDir is where --write puts new objects: the first path given, or
// its directory when it is a file.
func newFilesDir(args []string) string {
	if len(args) == 0 || args[0] == "-" {
		return "."
	}
	if info, err := os.Stat(args[0]); err == nil && !info.IsDir() {
		return filepath.Dir(args[0])
	}
	return args[0]
}

// writeOverlay writes the overlay over the one directory the inputs came
// from (or the Kustomization), or, for a snapshot, of new objects alone.
// read names the objects read from the base's files, if they were.
func writeOverlay(o *fixOptions, args []string, read []fix.Ref, applied []fix.Applied) ([]string, error) {
	base := o.kustomize
	switch {
	case o.helmChart != "":
		return writeChartOverlay(o, applied)
	case o.snapshot != "":
		var objects []overlay.Object
		for _, a := range applied {
			objects = append(objects, overlay.Object{File: a.File, Content: a.Create, Comment: a.Summary})
		}
		return overlay.WriteObjects(o.overlay, objects)
	case base == "" && len(args) == 1:
		base = args[0]
	case base == "":
		return nil, errors.New("--overlay builds on one base: give one directory")
	}
	patches, objects := overlayChanges(applied)
	return overlay.Write(overlay.Options{Base: base, Dir: o.overlay, InitBase: o.initBase, Patches: patches, Objects: objects, Read: read})
}

// refsOf names the objects and where each was read.
func refsOf(objs []*inventory.Object) []fix.Ref {
	out := make([]fix.Ref, len(objs))
	for i, obj := range objs {
		out[i] = fix.RefOf(obj)
	}
	return out
}

// overlayChanges are the applied changes as an overlay writes them: the
// patches of existing objects, and the new objects.
func overlayChanges(applied []fix.Applied) (patches []overlay.Patch, objects []overlay.Object) {
	for _, a := range applied {
		if a.Create != nil {
			objects = append(objects, overlay.Object{File: a.File, Content: a.Create, Comment: a.Summary})
			continue
		}
		patches = append(patches, overlay.Patch{Target: a.Target, Sets: a.Sets})
	}
	return patches, objects
}

func layerNames() []string {
	var out []string
	for _, l := range check.Layers() {
		out = append(out, string(l))
	}
	return out
}

func writeFixSummary(w io.Writer, out fix.Outcome, written []string, unplaced []fix.Applied) {
	removed := 0
	for _, a := range out.Applied {
		removed += a.Removed
	}
	fmt.Fprintf(w, "FIXED      %d finding(s) with %d change(s)\n", removed, len(out.Applied)-len(unplaced))
	for _, a := range out.Applied {
		fmt.Fprintf(w, "  %s\n", report.EscapeTerminal(a.Change.String()))
		if a.Note != "" {
			fmt.Fprintf(w, "      note: %s\n", report.EscapeTerminal(a.Note))
		}
	}
	if len(unplaced) > 0 {
		fmt.Fprintf(w, "NOT PLACED %d change(s) to objects no file holds: use --overlay\n", len(unplaced))
	}
	if len(out.Suggested) > 0 {
		fmt.Fprintf(w, "SUGGESTED  %d change(s) that need a decision (--suggest applies them with values to review)\n", len(out.Suggested))
		for _, c := range out.Suggested {
			fmt.Fprintf(w, "  %s\n", report.EscapeTerminal(c.String()))
		}
	}
	if len(out.Dropped) > 0 {
		fmt.Fprintf(w, "DROPPED    %d change(s) the re-audit refused\n", len(out.Dropped))
		for _, d := range out.Dropped {
			fmt.Fprintf(w, "  %s\n      why: %s\n", report.EscapeTerminal(d.Change.String()), report.EscapeTerminal(d.Why))
		}
	}
	fmt.Fprintf(w, "REMAINING  %d failure(s) no safe change fixes (plimsoll audit lists them)\n", out.Remaining)
	fmt.Fprintf(w, "SCORE      %s -> %s\n", scoreText(out.ScoreBefore), scoreText(out.ScoreAfter))
	for _, p := range written {
		fmt.Fprintf(w, "wrote %s\n", p)
	}
}

func scoreText(score *float64) string {
	if score == nil {
		return "none"
	}
	return fmt.Sprintf("%.1f", *score)
}

func writeFixJSON(w io.Writer, out fix.Outcome, written []string) error {
	v := struct {
		Kind        string        `json:"kind"`
		Applied     []fix.Applied `json:"applied"`
		Suggested   []fix.Change  `json:"suggested"`
		Dropped     []fix.Dropped `json:"dropped"`
		ScoreBefore *float64      `json:"scoreBefore"`
		ScoreAfter  *float64      `json:"scoreAfter"`
		Written     []string      `json:"written"`
	}{"FixReport", out.Applied, out.Suggested, out.Dropped, out.ScoreBefore, out.ScoreAfter, written}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
