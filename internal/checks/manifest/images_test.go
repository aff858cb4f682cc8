package manifest

import (
	"context"
	"path/filepath"
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
		// Shapes the corpus holds: Docker Hub written out, a user's
		// repository with underscores, registries with a hyphen and with a
		// deep path, a path that looks like Docker Hub's under another
		// registry, a registry with a port, and a tag with a digest.
		{"docker.io/hiroakis/tornado-websocket-example", imageRef{domain: "docker.io", path: "hiroakis/tornado-websocket-example"}},
		{"docker.io/library/alpine", imageRef{domain: "docker.io", path: "library/alpine"}},
		{"capttofu/percona_xtradb_cluster_5_6:beta", imageRef{domain: "docker.io", path: "capttofu/percona_xtradb_cluster_5_6", tag: "beta"}},
		{"us-central1-docker.pkg.dev/online-boutique-ci/microservices-demo/adservice:v0.10.6", imageRef{domain: "us-central1-docker.pkg.dev", path: "online-boutique-ci/microservices-demo/adservice", tag: "v0.10.6"}},
		{"public.ecr.aws/docker/library/haproxy:3.0.8-alpine", imageRef{domain: "public.ecr.aws", path: "docker/library/haproxy", tag: "3.0.8-alpine"}},
		{"registry.example.com:5000/tools/debug", imageRef{domain: "registry.example.com:5000", path: "tools/debug"}},
		{"localhost:5000/agent:1.0@" + testDigest, imageRef{domain: "localhost:5000", path: "agent", tag: "1.0", digest: testDigest}},
		{"registry.k8s.io/ingress-nginx/controller:v1.11.3@" + testDigest, imageRef{domain: "registry.k8s.io", path: "ingress-nginx/controller", tag: "v1.11.3", digest: testDigest}},
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
	// repository, a digest too short, an empty tag, odd characters (the
	// corpus's two placeholders among them).
	for _, image := range []string{"shop/Web:1", "nginx@sha256:abc", "nginx:1.27@sha256:abc", "nginx:", "<image_url>", "<YOUR-CONTAINER>", "nginx:1:2", "a b"} {
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

// BenchmarkParseImageRef parses every image of the corpus and the
// fixtures.
func BenchmarkParseImageRef(b *testing.B) {
	checktest.BenchEach(b, corpusImages(b), map[string]func(string){
		"reference": func(s string) { parseImageRef(s) },
	})
}
