package platform_test

import (
	"testing"

	"github.com/plimsoll/plimsoll/internal/checks/checktest"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// The benchmark loads the corpus through checktest, which imports
// platform, so it is in a package of its own.

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

// BenchmarkRepository reads the repository of every image of the corpus.
// Recognition reads each container's repository once, not once an
// implementation.
func BenchmarkRepository(b *testing.B) {
	checktest.BenchEach(b, corpusImages(b), map[string]func(string){
		"reference": func(s string) { platform.Repository(s) },
	})
}
