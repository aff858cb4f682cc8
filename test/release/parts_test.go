package release

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/plimsoll/plimsoll/krew"
)

// checkSBOM checks an SBOM is CycloneDX JSON naming plimsoll at the
// release's version and, as its components, exactly the modules go.mod's
// build list links into the binary for p, at their versions.
func checkSBOM(t *testing.T, name string, data []byte, p platform, version string) {
	t.Helper()
	var bom struct {
		BOMFormat   string `json:"bomFormat"`
		SpecVersion string `json:"specVersion"`
		Metadata    struct {
			Component struct {
				Type, Name, Version, PURL string
			} `json:"component"`
		} `json:"metadata"`
		Components []struct {
			Name, Version, PURL string
		} `json:"components"`
	}
	if err := json.Unmarshal(data, &bom); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if bom.BOMFormat != "CycloneDX" || bom.SpecVersion == "" {
		t.Errorf("%s: got bomFormat %q, specVersion %q; want CycloneDX and a version", name, bom.BOMFormat, bom.SpecVersion)
	}
	if c := bom.Metadata.Component; c.Type != "application" || c.Name != module || c.Version != version {
		t.Errorf("%s: got component %s %s %s, want application %s %s", name, c.Type, c.Name, c.Version, module, version)
	}
	var got []string
	for _, c := range bom.Components {
		got = append(got, c.Name+"@"+c.Version)
		if !strings.HasPrefix(c.PURL, "pkg:golang/") {
			t.Errorf("%s: %s has purl %q, want a pkg:golang one", name, c.Name, c.PURL)
		}
	}
	sort.Strings(got)
	if diff := cmp.Diff(linkedModules(t, p), got); diff != "" {
		t.Errorf("%s: components (-want: the modules go list says the binary links +got):\n%s", name, diff)
	}
}

// linkedModules are the modules, other than plimsoll's, whose packages
// the binary for p links, at the versions go.mod selects.
func linkedModules(t *testing.T, p platform) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f",
		`{{with .Module}}{{if not .Main}}{{.Path}}@{{.Version}}{{end}}{{end}}`, "./cmd/plimsoll")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.os, "GOARCH="+p.arch)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	seen := map[string]bool{}
	var mods []string
	for _, m := range strings.Fields(string(out)) {
		if !seen[m] {
			seen[m] = true
			mods = append(mods, m)
		}
	}
	sort.Strings(mods)
	return mods
}

// checkKrew checks the rendered krew manifest names each archive but
// Windows's by its release URI, with its real sha256.
func checkKrew(t *testing.T, files map[string][]byte, version string) {
	t.Helper()
	var plugin krew.Plugin
	if err := yaml.UnmarshalStrict(files["plimsoll.krew.yaml"], &plugin); err != nil {
		t.Fatalf("plimsoll.krew.yaml is not a krew Plugin: %v", err)
	}
	if plugin.Kind != "Plugin" || plugin.Metadata.Name != "plimsoll" || plugin.Spec.Version != version {
		t.Errorf("got %s %q version %q, want Plugin \"plimsoll\" version %q", plugin.Kind, plugin.Metadata.Name, plugin.Spec.Version, version)
	}
	var got []string
	for _, pl := range plugin.Spec.Platforms {
		p := platform{pl.Selector.MatchLabels["os"], pl.Selector.MatchLabels["arch"]}
		got = append(got, p.os+"/"+p.arch)
		archive := p.archive(version)
		if want := "https://github.com/plimsoll/plimsoll/releases/download/" + version + "/" + archive; pl.URI != want {
			t.Errorf("%s/%s: got uri %q, want %q", p.os, p.arch, pl.URI, want)
		}
		data, ok := files[path.Base(pl.URI)]
		if !ok {
			t.Errorf("%s/%s: %s is not in the release", p.os, p.arch, path.Base(pl.URI))
			continue
		}
		if pl.SHA256 != sum(data) {
			t.Errorf("%s/%s: got sha256 %s, want the archive's, %s", p.os, p.arch, pl.SHA256, sum(data))
		}
		if pl.Bin != p.exe() {
			t.Errorf("%s/%s: got bin %q, want %q, the binary in the archive", p.os, p.arch, pl.Bin, p.exe())
		}
	}
	var want []string
	for _, p := range platforms {
		want = append(want, p.os+"/"+p.arch)
	}
	sort.Strings(want)
	sort.Strings(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("krew platforms (-want +got):\n%s", diff)
	}
}

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations"`
	Platform    *struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
	} `json:"platform"`
}

// checkImage checks the OCI layout holds an index of the two Linux images,
// each running the Linux archive's binary as /plimsoll, as a non-root user.
func checkImage(t *testing.T, data []byte, version, commit string, binaries map[platform][]byte) {
	t.Helper()
	files := untar(t, bytes.NewReader(data))
	var layout struct {
		ImageLayoutVersion string `json:"imageLayoutVersion"`
	}
	if err := json.Unmarshal(files["oci-layout"].data, &layout); err != nil || layout.ImageLayoutVersion != "1.0.0" {
		t.Errorf("got oci-layout %q (%v), want imageLayoutVersion 1.0.0", files["oci-layout"].data, err)
	}
	blob := func(d descriptor) []byte {
		t.Helper()
		f, ok := files["blobs/"+strings.Replace(d.Digest, ":", "/", 1)]
		if !ok {
			t.Fatalf("no blob %s", d.Digest)
		}
		if "sha256:"+sum(f.data) != d.Digest || int64(len(f.data)) != d.Size {
			t.Fatalf("blob %s: got sha256:%s of %d bytes, want the digest and size %d", d.Digest, sum(f.data), len(f.data), d.Size)
		}
		return f.data
	}
	var top struct{ Manifests []descriptor }
	if err := json.Unmarshal(files["index.json"].data, &top); err != nil {
		t.Fatalf("index.json: %v", err)
	}
	if len(top.Manifests) != 1 || top.Manifests[0].MediaType != "application/vnd.oci.image.index.v1+json" ||
		top.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != version {
		t.Fatalf("got index.json %s, want one image index named %s", files["index.json"].data, version)
	}
	var index struct{ Manifests []descriptor }
	if err := json.Unmarshal(blob(top.Manifests[0]), &index); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range index.Manifests {
		if m.Platform == nil {
			t.Fatalf("manifest %s names no platform", m.Digest)
		}
		p := platform{m.Platform.OS, m.Platform.Architecture}
		got = append(got, p.os+"/"+p.arch)
		var manifest struct {
			MediaType string
			Config    descriptor
			Layers    []descriptor
		}
		if err := json.Unmarshal(blob(m), &manifest); err != nil {
			t.Fatal(err)
		}
		var config struct {
			OS, Architecture string
			Config           struct {
				Entrypoint []string
				Cmd        []string
				User       string
				Labels     map[string]string
			}
		}
		if err := json.Unmarshal(blob(manifest.Config), &config); err != nil {
			t.Fatal(err)
		}
		if config.OS != p.os || config.Architecture != p.arch {
			t.Errorf("%s/%s: the config says %s/%s", p.os, p.arch, config.OS, config.Architecture)
		}
		if diff := cmp.Diff([]string{"/plimsoll"}, config.Config.Entrypoint); diff != "" || config.Config.Cmd != nil {
			t.Errorf("%s/%s: got entrypoint %q and cmd %q, want /plimsoll alone", p.os, p.arch, config.Config.Entrypoint, config.Config.Cmd)
		}
		// Non-root: a numeric uid other than 0, so that runAsNonRoot can
		// verify it without an /etc/passwd.
		if user, _, _ := strings.Cut(config.Config.User, ":"); user == "" || user == "0" || strings.Trim(user, "0123456789") != "" {
			t.Errorf("%s/%s: got user %q, want a numeric non-root uid", p.os, p.arch, config.Config.User)
		}
		if got := config.Config.Labels["org.opencontainers.image.version"]; got != version {
			t.Errorf("%s/%s: got version label %q, want %q", p.os, p.arch, got, version)
		}
		if got := config.Config.Labels["org.opencontainers.image.revision"]; got != commit {
			t.Errorf("%s/%s: got revision label %q, want %q", p.os, p.arch, got, commit)
		}
		if len(manifest.Layers) != 1 {
			t.Fatalf("%s/%s: got %d layers, want 1", p.os, p.arch, len(manifest.Layers))
		}
		zr, err := gzip.NewReader(bytes.NewReader(blob(manifest.Layers[0])))
		if err != nil {
			t.Fatal(err)
		}
		layer := untar(t, zr)
		if len(layer) != 1 || layer["plimsoll"].hdr.Mode != 0o755 {
			t.Errorf("%s/%s: got layer files %v, want plimsoll alone, mode 0755", p.os, p.arch, keys(layer))
		}
		if !bytes.Equal(layer["plimsoll"].data, binaries[p]) {
			t.Errorf("%s/%s: /plimsoll is not the binary of the %s archive", p.os, p.arch, fmt.Sprintf("%s/%s", p.os, p.arch))
		}
	}
	if diff := cmp.Diff([]string{"linux/amd64", "linux/arm64"}, got); diff != "" {
		t.Errorf("image platforms (-want +got):\n%s", diff)
	}
}

func keys[V any](m map[string]V) []string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}
