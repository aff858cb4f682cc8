package cli

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/plimsoll/plimsoll/internal/fix"
	"github.com/plimsoll/plimsoll/internal/fix/overlay"
	"github.com/plimsoll/plimsoll/internal/manifest"
	"github.com/plimsoll/plimsoll/internal/report"
)

// addHelmFlags registers the flags that render a Helm chart in-process, as
// helm template takes them, for audit and fix alike. usage is --helm's:
// what the command does with the chart.
func addHelmFlags(f *pflag.FlagSet, chart *string, helm *manifest.HelmOptions, usage string) {
	f.StringVar(chart, "helm", "", usage)
	f.StringArrayVarP(&helm.ValueFiles, "values", "f", nil, "Helm values file (with --helm; repeatable)")
	f.StringArrayVar(&helm.Values, "set", nil, "Helm value, key=value (with --helm; repeatable)")
	f.StringArrayVar(&helm.StringValues, "set-string", nil, "Helm string value, key=value (with --helm; repeatable)")
	f.StringVar(&helm.ReleaseName, "release-name", "release-name", "Helm release name (with --helm)")
}

// helmFlagsAlone refuses the flags that give a chart values without
// --helm: nothing would read them. kubectl's -f names a file to apply, so
// a kubectl user's "-f app.yaml" is told how plimsoll takes a file.
func helmFlagsAlone(f *pflag.FlagSet, chart string) error {
	if chart != "" {
		return nil
	}
	if f.Changed("values") {
		return errors.New("-f/--values is a Helm values file, read with --helm CHART; to audit a file, give its path as an argument (plimsoll audit app.yaml), not with -f")
	}
	for _, name := range []string{"set", "set-string", "release-name"} {
		if f.Changed(name) {
			return fmt.Errorf("--%s is a Helm setting, read with --helm CHART; without it nothing reads it", name)
		}
	}
	return nil
}

// writeChartOverlay writes the overlay over the chart --helm names.
func writeChartOverlay(o *fixOptions, applied []fix.Applied) ([]string, error) {
	patches, objects := overlayChanges(applied)
	return overlay.WriteChart(overlay.ChartOptions{Chart: o.helmChart, Helm: o.helm, Dir: o.overlay, Patches: patches, Objects: objects})
}

// writeValuesNote says that the overlay holds a copy of the values given,
// naming where they came from, never a value.
func writeValuesNote(w io.Writer, o *fixOptions) {
	sources := strings.Join(o.helm.Sources(), ", ")
	if sources == "" {
		sources = "none given"
	}
	fmt.Fprintf(w, "note: %s is a copy of the chart's values (%s), secret ones included: keep it in step with them\n",
		report.EscapeTerminal(filepath.Join(o.overlay, "values.yaml")), report.EscapeTerminal(sources))
}
