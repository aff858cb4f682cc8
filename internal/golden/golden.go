// Package golden compares what a test produced with a file that holds what
// it should produce, and rewrites the file on request (go test -update).
package golden

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Check fails the test when got differs from the file at path. With update
// set (each package's -update flag), it first writes got to the file.
func Check(t testing.TB, path string, got []byte, update bool) {
	t.Helper()
	if update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s is out of date (-file +got; go test -update rewrites it):\n%s", path, diff)
	}
}
