package selfaudit

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// krewPlugin is the part of krew's Plugin manifest (v1alpha2) a release
// fills in; decoding strictly into it rejects a misplaced field.
type krewPlugin struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string `json:"version"`
		Homepage         string `json:"homepage"`
		ShortDescription string `json:"shortDescription"`
		Description      string `json:"description"`
		Platforms        []struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			URI    string `json:"uri"`
			SHA256 string `json:"sha256"`
			Bin    string `json:"bin"`
		} `json:"platforms"`
	} `json:"spec"`
}

// TestKrewManifest fills in krew/plimsoll.yaml as krew-release-bot does
// for a release, and checks the result is the Plugin krew expects: one
// archive per platform, with its checksum, running kubectl-plimsoll.
func TestKrewManifest(t *testing.T) {
	const tag = "v1.2.3"
	file := filepath.Join("..", "..", "krew", "plimsoll.yaml")
	// krew-release-bot's addURIAndSha: the URL is itself a template of the
	// tag; the bot downloads it and prints its uri and sha256, the latter
	// four spaces in.
	sums := map[string]string{}
	tmpl, err := template.New(filepath.Base(file)).Funcs(template.FuncMap{
		"addURIAndSha": func(url, tag string) (string, error) {
			var u bytes.Buffer
			if err := template.Must(template.New("url").Parse(url)).Execute(&u, struct{ TagName string }{tag}); err != nil {
				return "", err
			}
			sums[u.String()] = fmt.Sprintf("%s%02x", strings.Repeat("ab", 31), len(sums))
			return "uri: " + u.String() + "\n    sha256: " + sums[u.String()], nil
		},
	}).ParseFiles(file)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, struct{ TagName string }{tag}); err != nil {
		t.Fatal(err)
	}
	var p krewPlugin
	if err := yaml.UnmarshalStrict(out.Bytes(), &p); err != nil {
		t.Fatalf("the filled-in manifest is not a krew Plugin: %v\n%s", err, out.String())
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
		wantURI := fmt.Sprintf("https://github.com/plimsoll/plimsoll/releases/download/%s/kubectl-plimsoll_%s_%s_%s.tar.gz", tag, tag, os, arch)
		if pl.URI != wantURI {
			t.Errorf("%s/%s: got uri %q, want %q", os, arch, pl.URI, wantURI)
		}
		if pl.SHA256 != sums[pl.URI] {
			t.Errorf("%s/%s: got sha256 %q, want the one computed for its uri", os, arch, pl.SHA256)
		}
		if pl.Bin != "kubectl-plimsoll" {
			t.Errorf("%s/%s: got bin %q, want kubectl-plimsoll: kubectl runs plugins by that name", os, arch, pl.Bin)
		}
	}
	want := []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64"}
	if diff := cmp.Diff(want, platforms); diff != "" {
		t.Errorf("platforms (-want +got):\n%s", diff)
	}
	if strings.Contains(out.String(), "{{") {
		t.Errorf("the filled-in manifest still holds template actions:\n%s", out.String())
	}
}
