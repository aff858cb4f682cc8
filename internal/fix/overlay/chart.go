package overlay

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"

	"github.com/plimsoll/plimsoll/internal/manifest"
)

// ChartOptions say what WriteChart writes where.
type ChartOptions struct {
	// Chart is the chart's directory. Kustomize's Helm generator renders a
	// chart's directory: a packaged chart (.tgz) is refused.
	Chart string
	// Helm are the values and release settings the chart was rendered with
	// for the audit; the overlay renders it with the same.
	Helm manifest.HelmOptions
	// Dir is the overlay directory to create; it must not exist. Missing
	// directories above it are created.
	Dir     string
	Patches []Patch
	Objects []Object
}

const (
	// valuesFile is the overlay's copy of the values the chart is
	// rendered with.
	valuesFile = "values.yaml"
	// renderedFile holds, in the twin that proves an overlay over a
	// chart, the chart as plimsoll rendered it.
	renderedFile = "helm-rendered.yaml"
)

// WriteChart writes an overlay over a Helm chart, which GitOps tools build
// as they build any overlay, with Helm enabled (kubectl kustomize
// --enable-helm; Argo CD's kustomize.buildOptions: --enable-helm): a
// kustomization.yaml whose Helm generator (helmGlobals.chartHome,
// helmCharts) renders the chart with the release name and namespace given,
// with the patches and new objects Write writes over a kustomization.
//
// Kustomize reads a chart's values file through the kustomization's loader,
// so only from inside the overlay: the values given (Helm.ValueFiles, the
// --set and --set-string values), merged as Helm merges them, are copied
// into the overlay's values.yaml, secret ones included. The generator pins
// .Capabilities.KubeVersion to the one plimsoll rendered the chart for,
// which another helm binary's default could differ from.
//
// Nothing is written unless proven, and no helm binary is needed for it:
// WriteChart renders the chart in-process with the values given (what the
// audit read) and again with the overlay's values.yaml, which must render
// it byte for byte alike; then it builds a twin of the overlay in a
// temporary directory, with the rendered manifests where the Helm
// generator stands, and requires exactly the rendered objects with the
// fields set, plus the new objects. As Write does, it writes the overlay
// in a temporary directory beside Dir and renames it into place; on any
// error nothing is left behind.
func WriteChart(o ChartOptions) (written []string, err error) {
	dir, chart, err := chartPaths(o.Chart, o.Dir)
	if err != nil {
		return nil, err
	}
	if len(o.Patches) == 0 && len(o.Objects) == 0 {
		return nil, errors.New("nothing to write: no patches and no objects")
	}
	objects, err := newObjects(o.Objects)
	if err != nil {
		return nil, err
	}
	values, err := o.Helm.MergedValues()
	if err != nil {
		return nil, err
	}
	release, namespace := o.Helm.Release()
	audited, err := manifest.RenderHelm(o.Chart, o.Helm)
	if err != nil {
		return nil, fmt.Errorf("chart %s does not render: %w", o.Chart, err)
	}
	if audited.Refused != nil {
		return nil, fmt.Errorf("helm template, which Kustomize's Helm generator runs, would refuse chart %s: %w", o.Chart, audited.Refused)
	}
	scratch, err := os.MkdirTemp("", "plimsoll-chart-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	base, err := readRendered(filepath.Join(scratch, "base"), audited)
	if err != nil {
		return nil, fmt.Errorf("what chart %s renders does not build: %w", o.Chart, err)
	}
	targets, err := planTargets(base, o.Patches, false) // proveTwin proves them
	if err != nil {
		return nil, err
	}
	if err := notInBase(objects, base); err != nil {
		return nil, err
	}

	chartHome, err := filepath.Rel(dir, filepath.Dir(chart))
	if err != nil {
		return nil, err
	}
	k := newKustomization(nil)
	k.HelmGlobals = &types.HelmGlobals{ChartHome: filepath.ToSlash(chartHome)}
	k.HelmCharts = []types.HelmChart{{
		Name:        filepath.Base(chart),
		ReleaseName: release,
		Namespace:   namespace,
		ValuesFile:  valuesFile,
		IncludeCRDs: slices.ContainsFunc(audited.Files, func(f manifest.HelmFile) bool { return f.CRD }),
		KubeVersion: audited.KubeVersion,
	}}
	files, k, err := renderParts(k, targets, objects)
	if err != nil {
		return nil, err
	}
	sources := strings.Join(o.Helm.Sources(), ", ")
	if sources == "" {
		sources = "none; the chart's own values apply"
	}
	if err := addValues(files, sources, values); err != nil {
		return nil, err
	}
	header := []string{
		fmt.Sprintf("Written by plimsoll fix: the Helm chart %s/%s, rendered by Kustomize's Helm generator as release %s in namespace %s with %s (a copy of the values given: %s), with the patches and new objects below.",
			k.HelmGlobals.ChartHome, k.HelmCharts[0].Name, release, namespace, valuesFile, sources),
		"kubeVersion is the Kubernetes version plimsoll rendered the chart for, which another helm's default could differ from.",
		"Review them; kubectl kustomize --enable-helm builds the result (Argo CD: kustomize.buildOptions: --enable-helm).",
	}
	if err := addFile(files, kustomizationFile, append(header, regexpNote(k)...), k); err != nil {
		return nil, err
	}

	tmp, removeTmp, err := stage(dir, files)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			removeTmp()
		}
	}()
	// What the overlay's generator renders: the chart with values.yaml.
	again, err := manifest.RenderHelm(o.Chart, manifest.HelmOptions{ValueFiles: []string{filepath.Join(tmp, valuesFile)}, ReleaseName: release, Namespace: namespace})
	if err != nil {
		return nil, fmt.Errorf("chart %s does not render with the overlay's %s: %w", o.Chart, valuesFile, err)
	}
	if err := sameRender(audited, again); err != nil {
		return nil, err
	}
	twin := k
	twin.HelmGlobals, twin.HelmCharts = nil, nil
	twinFiles := maps.Clone(files)
	delete(twinFiles, kustomizationFile)
	delete(twinFiles, valuesFile)
	if err := writeRendered(filepath.Join(scratch, "twin"), twin, again, twinFiles); err != nil {
		return nil, err
	}
	if err := proveTwin(filepath.Join(scratch, "twin"), base, targets, objects); err != nil {
		return nil, err
	}
	if err := place(tmp, dir, o.Dir); err != nil {
		return nil, err
	}
	return filesIn(o.Dir, files), nil
}

// chartPaths checks the chart and the overlay directory and returns them
// absolute, as paths does for a base.
func chartPaths(chartArg, dirArg string) (dir, chart string, err error) {
	if info, err := os.Stat(chartArg); err == nil && !info.IsDir() {
		return "", "", fmt.Errorf("chart %s is not a directory: Kustomize's Helm generator renders a chart's directory; unpack the chart (tar xzf) and give its directory", chartArg)
	}
	if dir, chart, err = paths(chartArg, dirArg); err != nil {
		return "", "", err
	}
	if _, err := os.Stat(filepath.Join(chart, "Chart.yaml")); err != nil {
		return "", "", fmt.Errorf("chart %s has no Chart.yaml: %w", chartArg, err)
	}
	// Kustomize passes the name to helm as an argument, and refuses one
	// that would read as a flag.
	if strings.HasPrefix(filepath.Base(chart), "-") {
		return "", "", fmt.Errorf("chart %s: Kustomize refuses a chart directory whose name starts with '-'; rename it", chartArg)
	}
	return dir, chart, nil
}

// addValues adds the overlay's values.yaml: the values given, merged, as
// YAML that Helm reads back as they are.
func addValues(files map[string][]byte, sources string, values map[string]any) error {
	if _, dup := files[valuesFile]; dup {
		return fmt.Errorf("a new object's file is named %s, which holds the chart's values; give it another name", valuesFile)
	}
	body, err := yaml.Marshal(values)
	if err != nil {
		return fmt.Errorf("values: %w", err)
	}
	var b bytes.Buffer
	for _, l := range wrap("Written by plimsoll fix: the Helm values the chart was audited and fixed with, merged as Helm merges them, from: "+sources+". A copy: keep it in step with them, as the overlay renders the chart with this file alone. It holds the values as they were given, secret ones included.", 76) {
		b.WriteString(strings.TrimRight("# "+l, " ") + "\n")
	}
	b.Write(body)
	files[valuesFile] = b.Bytes()
	return nil
}

// readRendered reads a chart's rendered manifests, written in a new
// directory dir, as Kustomize reads them.
func readRendered(dir string, r manifest.HelmRender) (built, error) {
	if err := writeRendered(dir, newKustomization(nil), r, nil); err != nil {
		return built{}, err
	}
	return readBase(dir, nil, nil)
}

// proveTwin builds the twin of an overlay over a chart, the chart's
// manifests where its Helm generator stands, and requires exactly the
// chart's objects with the fields set, plus the new objects. Unlike
// Write's proof, patch by patch, it builds the kustomization itself (its
// resources, patches and targets, which the twin shares with the overlay):
// a chart's objects are few enough for a whole build.
func proveTwin(dir string, base built, targets []*target, objects []newObject) error {
	got, err := build(dir)
	if err != nil {
		return fmt.Errorf("the overlay does not build (a bug in plimsoll fix; please report it): %w", err)
	}
	want := map[objectID]map[string]any{}
	for id, b := range base.byID {
		if want[id], err = b.res.Map(); err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
	}
	for _, t := range targets {
		delete(want, t.id)
		want[t.builtID()] = t.intended
	}
	for _, o := range objects {
		want[o.id] = o.content
	}
	ids := slices.Collect(maps.Keys(want))
	for id := range got.byID {
		if want[id] == nil {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b objectID) int { return strings.Compare(a.String(), b.String()) })
	for _, id := range ids {
		g, w := got.byID[id], want[id]
		switch {
		case g == nil:
			return fmt.Errorf("the overlay does not build %s (a bug in plimsoll fix; please report it)", id)
		case w == nil:
			return fmt.Errorf("the overlay builds %s, which it should not (a bug in plimsoll fix; please report it)", id)
		}
		if err := intended(g.res, w, id); err != nil {
			return err
		}
	}
	return nil
}

// writeRendered writes, in a new directory, a chart's rendered manifests
// beside files, and k listing them first among its resources.
func writeRendered(dir string, k kustomization, r manifest.HelmRender, files map[string][]byte) error {
	var text bytes.Buffer
	for _, f := range r.Files {
		fmt.Fprintf(&text, "---\n# Source: %s\n%s\n", f.Name, f.Data)
	}
	if _, dup := files[renderedFile]; dup {
		return fmt.Errorf("a new object's file is named %s, which plimsoll's proof needs; give it another name", renderedFile)
	}
	files = maps.Clone(files)
	if files == nil {
		files = map[string][]byte{}
	}
	files[renderedFile] = text.Bytes()
	k.Resources = append([]string{renderedFile}, k.Resources...)
	if err := addFile(files, kustomizationFile, nil, k); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	return writeFiles(dir, files)
}

// sameRender requires the chart rendered from the overlay's values to be
// the chart the audit read. It names the files that differ, never their
// text, which may hold secret values.
func sameRender(audited, overlay manifest.HelmRender) error {
	var differ []string
	byName := map[string][]byte{}
	for _, f := range overlay.Files {
		byName[f.Name] = f.Data
	}
	for _, f := range audited.Files {
		if d, ok := byName[f.Name]; !ok || !bytes.Equal(d, f.Data) {
			differ = append(differ, f.Name)
		}
		delete(byName, f.Name)
	}
	differ = append(differ, slices.Sorted(maps.Keys(byName))...)
	if len(differ) == 0 && audited.KubeVersion == overlay.KubeVersion {
		return nil
	}
	return fmt.Errorf("the chart renders %s differently from the overlay's %s than from the values given, so the overlay would not build what was audited (Helm reads a number from a values file as a float, which a template may write as 1e+06, where --set reads an integer: give such a value in a values file)",
		strings.Join(differ, ", "), valuesFile)
}
