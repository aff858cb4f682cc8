package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/plimsoll/plimsoll/internal/golden"
)

// helmBinEnv names the helm binary that Kustomize's Helm generator runs in
// these tests; hack/test sets it to what hack/helm-build prints.
const helmBinEnv = "PLIMSOLL_HELM_BIN"

// helmBinary returns $PLIMSOLL_HELM_BIN, else the binary hack/helm-build
// prints, built now if it is not cached (a cold build needs the Go module
// proxy). It never skips: without helm the overlay cannot be built.
func helmBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv(helmBinEnv); bin != "" {
		return bin
	}
	cmd := exec.Command(filepath.Join(testdata, "..", "..", "..", "hack", "helm-build"))
	cmd.Stderr = os.Stderr // progress of a cold build
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hack/helm-build: %v (set %s to a helm binary, or let the script build one from the Go module proxy)", err, helmBinEnv)
	}
	return strings.TrimSpace(string(out))
}

// helmChartCopy copies testdata/helm (the chart shop and the values file
// prod.yaml) into a new directory and makes it the working directory.
func helmChartCopy(t *testing.T) {
	t.Helper()
	t.Chdir(t.TempDir())
	if err := os.CopyFS(".", os.DirFS(filepath.Join(testdata, "helm"))); err != nil {
		t.Fatal(err)
	}
}

// The overlay over a chart builds, with Kustomize's API and a real helm
// under the default load restrictions, into objects that audit at the
// score the fix's proof gave: the chart's, its CRD included, with the
// values given, the patches and the new budget. (The golden's kubeVersion
// is the one Helm's SDK gives under go test, v1.20.0.)
func TestFixHelmOverlay(t *testing.T) {
	helm := helmBinary(t)
	helmChartCopy(t)
	chart := []string{"--helm", "shop", "-f", "prod.yaml", "--set", "image.tag=1.5.0", "--release-name", "web", "-n", "shop"}
	o := run(t, append(append([]string{"fix"}, chart...), "--overlay", "fixes")...)
	wantCode(t, o, ExitOK)
	kust, err := os.ReadFile(filepath.Join("fixes", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join(testdata, "fix-helm.kustomization.golden"), kust, *update)
	values, err := os.ReadFile(filepath.Join("fixes", "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join(testdata, "fix-helm.values.golden"), values, *update)
	if !strings.Contains(o.out, "note: fixes/values.yaml is a copy of the chart's values (-f prod.yaml, --set image.tag), secret ones included") {
		t.Errorf("the summary does not say that the overlay holds the values:\n%s", o.out)
	}
	if strings.Contains(o.out, "1.5.0") {
		t.Errorf("the summary shows a value given with --set:\n%s", o.out)
	}

	opts := krusty.MakeDefaultOptions()
	if opts.LoadRestrictions != types.LoadRestrictionsRootOnly {
		t.Fatalf("Kustomize's default load restrictions are %v, not the root-only ones the overlay must build under", opts.LoadRestrictions)
	}
	opts.PluginConfig.HelmConfig = types.HelmConfig{Enabled: true, Command: helm}
	built, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), "fixes")
	if err != nil {
		t.Fatalf("the overlay does not build: %v", err)
	}
	kinds := map[string]bool{}
	for _, r := range built.Resources() {
		kinds[r.GetKind()+" "+r.GetNamespace()+"/"+r.GetName()] = true
		if r.GetKind() != "Deployment" {
			continue
		}
		m, err := r.Map()
		if err != nil {
			t.Fatal(err)
		}
		spec := m["spec"].(map[string]any)
		pod := spec["template"].(map[string]any)["spec"].(map[string]any)
		image := pod["containers"].([]any)[0].(map[string]any)["image"]
		if spec["replicas"] != 3 || image != "registry.example.com/shop:1.5.0" || pod["automountServiceAccountToken"] != false {
			t.Errorf("the Deployment has replicas %v, image %v, automountServiceAccountToken %v; want 3 from prod.yaml, the tag --set gave, and the patch's false",
				spec["replicas"], image, pod["automountServiceAccountToken"])
		}
	}
	for _, want := range []string{"Deployment shop/web-shop", "Service /web-shop", "CustomResourceDefinition /carts.shop.example.com", "PodDisruptionBudget shop/web-shop"} {
		if !kinds[want] {
			t.Errorf("the build lacks %s; it has %v", want, kinds)
		}
	}
	if got, proven := score(t, chart...)+" -> "+score(t, writeBuild(t, built)), provenScore(o); got != proven {
		t.Errorf("the chart and the overlay's build audit at %s; the proof said %s", got, proven)
	}
}

// Refusals: a chart is fixed only through an overlay, into a directory
// that does not exist, from a chart that renders as the overlay would
// render it. Each is an error with exit code 2, and nothing is written.
func TestFixHelmRefuses(t *testing.T) {
	helmChartCopy(t)
	if err := os.Mkdir("exists", 0o755); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join("broken", "templates", "configmap.yaml")
	if err := os.CopyFS("broken", os.DirFS("shop")); err != nil {
		t.Fatal(err)
	}
	write(t, ".", broken, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ required \"name is required\" .Values.name }}\n")
	for _, tc := range []struct {
		name string
		args []string
		err  string
	}{
		{"no overlay", []string{"--helm", "shop"}, "a chart's templates are never edited: with --helm, use --overlay DIR"},
		{"in place", []string{"--helm", "shop", "--write"}, "a chart's templates are never edited: with --helm, use --overlay DIR"},
		{"with paths", []string{"--helm", "shop", "shop", "--overlay", "fixes"}, "builds on the chart alone"},
		{"an overlay that exists", []string{"--helm", "shop", "--overlay", "exists"}, "overlay exists exists already"},
		{"a chart that does not render", []string{"--helm", "broken", "--overlay", "fixes"}, "name is required"},
		// Helm reads 1000000 from the overlay's values file as a float,
		// which the template writes as 1e+06; --set gave an integer.
		{"values the overlay cannot hold", []string{"--helm", "shop", "--set", "replicas=1000000", "--overlay", "fixes"},
			"the chart renders shop/templates/deployment.yaml differently from the overlay's values.yaml than from the values given"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := run(t, append([]string{"fix"}, tc.args...)...)
			if o.code != ExitPartial || !strings.Contains(o.errOut, tc.err) {
				t.Errorf("exit %d, %s; want %d and %q", o.code, o.errOut, ExitPartial, tc.err)
			}
			entries, err := os.ReadDir(".")
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if got := strings.Join(names, " "); got != "broken exists prod.yaml shop" {
				t.Errorf("the working directory holds %s after a refusal", got)
			}
			if left, _ := os.ReadDir("exists"); len(left) > 0 {
				t.Errorf("a refusal wrote into the existing overlay directory")
			}
		})
	}
}
