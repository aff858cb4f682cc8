package manifest

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	v2util "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/cli/values"
	"helm.sh/helm/v4/pkg/engine"
	"helm.sh/helm/v4/pkg/getter"

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
// chart's crds/ folder. Each object's source is its template.
func LoadHelm(chartPath string, opts HelmOptions) Result {
	origin := "helm chart " + chartPath
	fail := func(err error) Result {
		return Result{Errors: []*Error{{File: chartPath, Err: libraryError(err)}}}
	}
	ch, err := loader.Load(chartPath)
	if err != nil {
		return fail(fmt.Errorf("load chart: %w", err))
	}
	// No getters: values files are read from disk, never fetched.
	vals, err := (&values.Options{ValueFiles: opts.ValueFiles, Values: opts.Values, StringValues: opts.StringValues}).MergeValues(getter.Providers{})
	if err != nil {
		return fail(fmt.Errorf("values: %w", err))
	}
	if err := v2util.ProcessDependencies(ch, vals); err != nil {
		return fail(fmt.Errorf("dependencies: %w", err))
	}
	release := common.ReleaseOptions{Name: opts.ReleaseName, Namespace: opts.Namespace, IsInstall: true, Revision: 1}
	if release.Name == "" {
		release.Name = "release-name"
	}
	if release.Namespace == "" {
		release.Namespace = "default"
	}
	rv, err := chartutil.ToRenderValues(ch, vals, release, common.DefaultCapabilities)
	if err != nil {
		return fail(fmt.Errorf("values: %w", err))
	}
	rendered, err := engine.Render(ch, rv)
	if err != nil {
		return fail(fmt.Errorf("render: %w", err))
	}

	var res Result
	for _, crd := range ch.CRDObjects() {
		res.add(Parse(crd.Filename, crd.File.Data, inventory.Source{File: crd.Filename, Origin: origin}))
	}
	names := make([]string, 0, len(rendered))
	for name := range rendered {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		switch strings.ToLower(path.Ext(name)) {
		case ".yaml", ".yml", ".json":
		default:
			continue // NOTES.txt and the like
		}
		if strings.TrimSpace(rendered[name]) == "" {
			continue
		}
		res.add(Parse(name, []byte(rendered[name]), inventory.Source{File: name, Origin: origin}))
	}
	res.Files = len(names)
	res.sortErrors()
	return res
}
