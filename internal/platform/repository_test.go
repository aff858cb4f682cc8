package platform_test

import (
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/internal/checks/checktest"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// These tests load the corpus through checktest, which imports platform,
// so they are in a package of their own.

// corpusImages returns the image of every container of a pod template in
// the corpus.
func corpusImages(tb testing.TB) []string {
	tb.Helper()
	var images []string
	for _, o := range checktest.CorpusObjects(tb) {
		if tmpl, _ := o.PodTemplate(); tmpl != nil {
			for _, c := range tmpl.Spec.Containers {
				images = append(images, c.Image)
			}
		}
	}
	return images
}

// TestRepositoryAsBefore holds the library to the hand-written Repository
// it replaced on every image of the corpus: the same repository, except
// for the corpus's two placeholders, which are not valid references.
func TestRepositoryAsBefore(t *testing.T) {
	for _, image := range corpusImages(t) {
		got, before := platform.Repository(image), handWrittenRepository(image)
		if got != before && (got != "" || image != "<image_url>" && image != "<YOUR-CONTAINER>") {
			t.Errorf("Repository(%q) = %q, was %q", image, got, before)
		}
	}
}

// BenchmarkRepository compares the library with the hand-written
// Repository it replaced on every image of the corpus. Recognition reads
// each container's repository once, not once an implementation.
func BenchmarkRepository(b *testing.B) {
	checktest.BenchEach(b, corpusImages(b), map[string]func(string){
		"reference":    func(s string) { platform.Repository(s) },
		"hand-written": func(s string) { handWrittenRepository(s) },
	})
}

// handWrittenRepository is Repository before it used
// github.com/distribution/reference, kept to compare the two.
func handWrittenRepository(image string) string {
	if at := strings.Index(image, "@"); at >= 0 {
		image = image[:at]
	}
	if colon := strings.LastIndex(image, ":"); colon > strings.LastIndex(image, "/") {
		image = image[:colon]
	}
	return image
}
