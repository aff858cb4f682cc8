package manifest

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/internal/checks/checktest"
	"github.com/plimsoll/plimsoll/internal/checks/pod"
	"github.com/plimsoll/plimsoll/internal/manifest"
)

const testDigest = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func TestParseImageRef(t *testing.T) {
	for _, tc := range []struct {
		image string
		want  imageRef
	}{
		{"nginx", imageRef{domain: "docker.io", path: "library/nginx"}},
		{" nginx:1.27 ", imageRef{domain: "docker.io", path: "library/nginx", tag: "1.27"}},
		{"docker.io/library/nginx:1.27", imageRef{domain: "docker.io", path: "library/nginx", tag: "1.27"}},
		{"index.docker.io/bitnami/redis:7.4", imageRef{domain: "docker.io", path: "bitnami/redis", tag: "7.4"}},
		{"bitnami/redis", imageRef{domain: "docker.io", path: "bitnami/redis"}},
		{"localhost/agent", imageRef{domain: "localhost", path: "agent"}},
		{"localhost:5000/tools/agent", imageRef{domain: "localhost:5000", path: "tools/agent"}},
		{"registry.example.com:5000/team/app:3.1", imageRef{domain: "registry.example.com:5000", path: "team/app", tag: "3.1"}},
		{"Registry/app:1", imageRef{domain: "Registry", path: "app", tag: "1"}},
		{"busybox:latest@" + testDigest, imageRef{domain: "docker.io", path: "library/busybox", tag: "latest", digest: testDigest}},
		{"quay.io/x/y@" + testDigest, imageRef{domain: "quay.io", path: "x/y", digest: testDigest}},
	} {
		got, ok, err := parseImageRef(tc.image)
		if !ok || err != nil || got != tc.want {
			t.Errorf("parseImageRef(%q) = %+v, %v, %v; want %+v", tc.image, got, ok, err, tc.want)
		}
	}
	for _, image := range []string{"", "  "} {
		if _, ok, err := parseImageRef(image); ok || err != nil {
			t.Errorf("parseImageRef(%q) = %v, %v; want it not judged", image, ok, err)
		}
	}
	// The kubelet refuses these (InvalidImageName): upper case in the
	// repository, a digest too short, an empty tag, odd characters.
	for _, image := range []string{"shop/Web:1", "nginx@sha256:abc", "nginx:", "<image_url>", "nginx:1:2", "a b"} {
		if _, ok, err := parseImageRef(image); !ok || err == nil {
			t.Errorf("parseImageRef(%q) = %v, %v; want an error", image, ok, err)
		}
	}
}

func TestAllowedPrefix(t *testing.T) {
	for entry, want := range map[string]string{
		"registry.example.com":    "registry.example.com",
		"Registry.Example.com/":   "registry.example.com",
		"localhost:5000":          "localhost:5000",
		"localhost":               "localhost",
		"ghcr.io/acme":            "ghcr.io/acme",
		"ghcr.io/acme/team":       "ghcr.io/acme/team",
		"ghcr.io/MyOrg":           "ghcr.io/myorg",
		"MyRegistry/team":         "myregistry/team",
		"docker.io":               "docker.io",
		"index.docker.io":         "docker.io",
		"index.docker.io/bitnami": "docker.io/bitnami",
		"bitnami":                 "docker.io/bitnami",
		"library":                 "docker.io/library",
		"":                        "",
		"a b":                     "",
	} {
		got, ok := allowedPrefix(entry)
		if got != want || ok != (want != "") {
			t.Errorf("allowedPrefix(%q) = %q, %v; want %q", entry, got, ok, want)
		}
	}
}

// corpusImages returns the image of every container in the corpus and the
// check fixtures, as the image checks see them.
func corpusImages(tb testing.TB) []string {
	tb.Helper()
	objects := checktest.CorpusObjects(tb)
	objects = append(objects, manifest.Load(context.Background(), []string{filepath.Join("..", "testdata")}, manifest.Options{}).Objects...)
	var images []string
	for _, o := range objects {
		for _, ct := range pod.Containers(o) {
			images = append(images, ct.Image)
		}
	}
	return images
}

// TestImageRefsAsBefore holds the library to the hand-written parser it
// replaced on every image of the corpus and the fixtures: it splits each
// alike, except the ones it refuses, as the kubelet would: the corpus's two
// placeholders, which still fail image-tag-latest, now as not valid, and
// the images of image-tag-latest/fail-invalid.yaml.
func TestImageRefsAsBefore(t *testing.T) {
	var refused []string
	for _, image := range corpusImages(t) {
		got, ok, err := parseImageRef(image)
		before, okBefore := handWrittenImageRef(image)
		switch {
		case ok != okBefore:
			t.Errorf("%q: judged %v, was %v", image, ok, okBefore)
		case err != nil:
			refused = append(refused, image)
		case got != before:
			t.Errorf("%q: got %+v, was %+v", image, got, before)
		}
	}
	slices.Sort(refused)
	refused = slices.Compact(refused)
	if want := []string{"<YOUR-CONTAINER>", "<image_url>", "nginx:1.27@sha256:abc", "shop/Web:1.27"}; !slices.Equal(refused, want) {
		t.Errorf("refused %q, want %q", refused, want)
	}
}

// BenchmarkParseImageRef compares the library with the hand-written parser
// it replaced on every image of the corpus and the fixtures.
func BenchmarkParseImageRef(b *testing.B) {
	checktest.BenchEach(b, corpusImages(b), map[string]func(string){
		"reference":    func(s string) { parseImageRef(s) },
		"hand-written": func(s string) { handWrittenImageRef(s) },
	})
}

// handWrittenImageRef is the parser the image checks had before they used
// github.com/distribution/reference, kept to compare the two.
func handWrittenImageRef(image string) (imageRef, bool) {
	image = strings.TrimSpace(image)
	if image == "" {
		return imageRef{}, false
	}
	var r imageRef
	if i := strings.IndexByte(image, '@'); i >= 0 {
		image, r.digest = image[:i], image[i+1:]
	}
	r.domain, r.path = "docker.io", image
	if i := strings.IndexByte(image, '/'); i >= 0 {
		if first := image[:i]; strings.ContainsAny(first, ".:") || first == "localhost" || strings.ToLower(first) != first {
			r.domain, r.path = first, image[i+1:]
		}
	}
	if r.domain == "index.docker.io" {
		r.domain = "docker.io"
	}
	if i := strings.LastIndexByte(r.path, ':'); i >= 0 {
		r.path, r.tag = r.path[:i], r.path[i+1:]
	}
	if r.domain == "docker.io" && !strings.Contains(r.path, "/") {
		r.path = "library/" + r.path
	}
	return r, true
}
