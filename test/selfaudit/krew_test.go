package selfaudit

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/plimsoll/plimsoll/krew"
)

// TestKrewManifest fills in krew/plimsoll.yaml as krew-release-bot does
// for a release, and checks the result is the Plugin krew expects: one
// archive per platform, with its checksum, and the binary in it to run.
func TestKrewManifest(t *testing.T) {
	const tag = "v1.2.3"
	// krew-release-bot downloads each archive for its sha256; here each
	// URI gets a sum of its own.
	sums := map[string]string{}
	out, err := krew.Render(tag, func(uri string) (string, error) {
		sums[uri] = fmt.Sprintf("%s%02x", strings.Repeat("ab", 31), len(sums))
		return sums[uri], nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var p krew.Plugin
	if err := yaml.UnmarshalStrict(out, &p); err != nil {
		t.Fatalf("the filled-in manifest is not a krew Plugin: %v\n%s", err, out)
	}

	if p.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || p.Kind != "Plugin" || p.Metadata.Name != "plimsoll" {
		t.Errorf("got %s %s %q, want krew.googlecontainertools.github.com/v1alpha2 Plugin \"plimsoll\"", p.APIVersion, p.Kind, p.Metadata.Name)
	}
	if p.Spec.Version != tag {
		t.Errorf("got version %q, want %q", p.Spec.Version, tag)
	}
	if p.Spec.ShortDescription == "" || p.Spec.Description == "" || p.Spec.Homepage == "" {
		t.Error("want a homepage, a short description and a description: krew-index requires them")
	}
	var platforms []string
	for _, pl := range p.Spec.Platforms {
		os, arch := pl.Selector.MatchLabels["os"], pl.Selector.MatchLabels["arch"]
		platforms = append(platforms, os+"/"+arch)
		// The names hack/release-snapshot gives the archives and the
		// binary in them (test/release checks the archives themselves);
		// krew links bin as kubectl-plimsoll.
		ext, bin := ".tar.gz", "plimsoll"
		if os == "windows" {
			ext, bin = ".zip", "plimsoll.exe"
		}
		wantURI := fmt.Sprintf("https://github.com/plimsoll/plimsoll/releases/download/%s/plimsoll_%s_%s_%s%s", tag, tag, os, arch, ext)
		if pl.URI != wantURI {
			t.Errorf("%s/%s: got uri %q, want %q", os, arch, pl.URI, wantURI)
		}
		if pl.SHA256 != sums[pl.URI] {
			t.Errorf("%s/%s: got sha256 %q, want the one computed for its uri", os, arch, pl.SHA256)
		}
		if pl.Bin != bin {
			t.Errorf("%s/%s: got bin %q, want %q, the binary in the archive", os, arch, pl.Bin, bin)
		}
	}
	want := []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64", "windows/amd64", "windows/arm64"}
	if diff := cmp.Diff(want, platforms); diff != "" {
		t.Errorf("platforms (-want +got):\n%s", diff)
	}
	if strings.Contains(string(out), "{{") {
		t.Errorf("the filled-in manifest still holds template actions:\n%s", out)
	}
}
