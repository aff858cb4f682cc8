package manifest

import (
	"cmp"
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	v2util "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/cli/values"
	"helm.sh/helm/v4/pkg/engine"
	"helm.sh/helm/v4/pkg/getter"
	"helm.sh/helm/v4/pkg/strvals"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// HelmOptions are the values and release settings a chart is rendered with,
// as helm template takes them.
type HelmOptions struct {
	ValueFiles   []string // -f/--values
	Values       []string // --set
	StringValues []string // --set-string
	ReleaseName  string
	Namespace    string
}

// LoadHelm renders a chart in-process with the Helm SDK, as helm template
// would, and reads the objects of every rendered template and of the
// chart's crds/ folder. Each object's source is its template, named by its
// path under the chart as given (see templatePath); the line is the
// rendered template's.
func LoadHelm(chartPath string, opts HelmOptions) Result {
	origin := "helm chart " + chartPath
	r, err := RenderHelm(chartPath, opts)
	if err != nil {
		return Result{Errors: []*Error{{File: chartPath, Err: libraryError(err)}}}
	}
	var res Result
	for _, f := range r.Files {
		file := templatePath(chartPath, f.Name)
		res.add(Parse(file, f.Data, inventory.Source{File: file, Origin: origin}))
	}
	res.Files = r.Templates
	res.sortErrors()
	return res
}

// templatePath is the path of a chart's file, which Helm names under the
// chart's name ("web/templates/svc.yaml", "web/charts/db/templates/x.yaml"),
// under the chart's path as given instead ("charts/web/templates/svc.yaml"):
// the file a reader, an editor or a code-scanning dashboard can open. The
// chart's name need not be its directory's, and the directory is where the
// file is. In a packaged chart (a .tgz) the path is inside the archive.
func templatePath(chartPath, name string) string {
	_, inChart, ok := strings.Cut(name, "/")
	if !ok {
		return name
	}
	return filepath.Join(chartPath, filepath.FromSlash(inChart))
}

// HelmRender is a chart as RenderHelm rendered it.
type HelmRender struct {
	// Files are the manifests LoadHelm reads, in its order: the crds/
	// files (the chart's and its dependencies'), then the rendered
	// templates that hold anything, by name.
	Files []HelmFile
	// Templates is how many templates rendered, NOTES.txt and empty ones
	// included.
	Templates int
	// KubeVersion is the Kubernetes version the chart was rendered for
	// (.Capabilities.KubeVersion): Helm's default, which follows the
	// client-go that Helm is built with.
	KubeVersion string
	// Refused says why helm template would refuse what RenderHelm rendered
	// (a release name Helm does not accept, a Kubernetes version outside
	// the chart's kubeVersion), or is nil.
	Refused error
}

// HelmFile is one manifest file of a rendered chart.
type HelmFile struct {
	// Name is the file's name in the chart, as "web/templates/svc.yaml".
	Name string
	Data []byte
	// CRD marks a file of a crds/ folder, which helm template writes only
	// when asked to (--include-crds).
	CRD bool
}

// MergedValues are the values opts give, merged as Helm merges them (later
// files and flags over earlier ones, --set and --set-string last), before
// the chart's own values are coalesced under them.
func (opts HelmOptions) MergedValues() (map[string]any, error) {
	// No getters: values files are read from disk, never fetched.
	vals, err := (&values.Options{ValueFiles: opts.ValueFiles, Values: opts.Values, StringValues: opts.StringValues}).MergeValues(getter.Providers{})
	if err != nil {
		return nil, fmt.Errorf("values: %w", err)
	}
	return vals, nil
}

// templateRefuses says why helm template would refuse to render ch as
// release name, as its install action checks, or returns nil.
func templateRefuses(ch *chart.Chart, name string) error {
	if err := v2util.ValidateReleaseName(name); err != nil {
		return fmt.Errorf("release name %q: %w", name, err)
	}
	kube := common.DefaultCapabilities.KubeVersion
	if c := ch.Metadata.KubeVersion; c != "" && !v2util.IsCompatibleRange(c, kube.String()) {
		return fmt.Errorf("chart requires kubeVersion: %s which is incompatible with Kubernetes %s", c, kube.Version)
	}
	return nil
}

// Release is the release name and namespace a chart is rendered with:
// "release-name" and "default" unless opts give others, as helm template
// without a cluster.
func (opts HelmOptions) Release() (name, namespace string) {
	return cmp.Or(opts.ReleaseName, "release-name"), cmp.Or(opts.Namespace, "default")
}

// Sources say where the values opts give come from, without the values
// themselves (a value may be a secret): "-f FILE" for each values file,
// "--set KEY" and "--set-string KEY" for each key the flags set.
func (opts HelmOptions) Sources() []string {
	var out []string
	for _, f := range opts.ValueFiles {
		out = append(out, "-f "+f)
	}
	keys := func(flag string, args []string, parse func(string) (map[string]any, error)) {
		for _, a := range args {
			m, err := parse(a)
			if err != nil { // MergedValues says why
				out = append(out, flag+" (unparsable)")
				continue
			}
			for _, k := range leafKeys("", m) {
				out = append(out, flag+" "+k)
			}
		}
	}
	keys("--set", opts.Values, strvals.Parse)
	keys("--set-string", opts.StringValues, strvals.ParseString)
	return out
}

// leafKeys are the dotted paths of m's values that are not mappings,
// sorted.
func leafKeys(prefix string, m map[string]any) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if sub, ok := m[k].(map[string]any); ok && len(sub) > 0 {
			out = append(out, leafKeys(prefix+k+".", sub)...)
			continue
		}
		out = append(out, prefix+k)
	}
	return out
}

// RenderHelm renders a chart in-process with the Helm SDK, as helm template
// would, and returns the manifests LoadHelm reads.
func RenderHelm(chartPath string, opts HelmOptions) (HelmRender, error) {
	ch, err := loader.Load(chartPath)
	if err != nil {
		return HelmRender{}, fmt.Errorf("load chart: %w", err)
	}
	vals, err := opts.MergedValues()
	if err != nil {
		return HelmRender{}, err
	}
	if err := v2util.ProcessDependencies(ch, vals); err != nil {
		return HelmRender{}, fmt.Errorf("dependencies: %w", err)
	}
	name, namespace := opts.Release()
	release := common.ReleaseOptions{Name: name, Namespace: namespace, IsInstall: true, Revision: 1}
	rv, err := chartutil.ToRenderValues(ch, vals, release, common.DefaultCapabilities)
	if err != nil {
		return HelmRender{}, fmt.Errorf("values: %w", err)
	}
	rendered, err := engine.Render(ch, rv)
	if err != nil {
		return HelmRender{}, fmt.Errorf("render: %w", err)
	}

	r := HelmRender{Templates: len(rendered), KubeVersion: common.DefaultCapabilities.KubeVersion.Version, Refused: templateRefuses(ch, name)}
	for _, crd := range ch.CRDObjects() {
		r.Files = append(r.Files, HelmFile{Name: crd.Filename, Data: crd.File.Data, CRD: true})
	}
	for _, name := range slices.Sorted(maps.Keys(rendered)) {
		switch strings.ToLower(path.Ext(name)) {
		case ".yaml", ".yml", ".json":
		default:
			continue // NOTES.txt and the like
		}
		if strings.TrimSpace(rendered[name]) == "" {
			continue
		}
		r.Files = append(r.Files, HelmFile{Name: name, Data: []byte(rendered[name])})
	}
	return r, nil
}
