package manifest

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

// TestLoadSkipsSpecialFiles puts a named pipe (which nothing writes to)
// among the files of a directory: reading it would block forever, so it is
// skipped with the reason, and the regular file beside it is read.
func TestLoadSkipsSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cm.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "pipe.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(fifo, filepath.Join(dir, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	res := Load(context.Background(), []string{dir}, Options{})
	if len(res.Objects) != 1 || len(res.Errors) != 0 {
		t.Errorf("got %d objects and errors %v, want the ConfigMap and no error", len(res.Objects), res.Errors)
	}
	want := []string{filepath.Join(dir, "link.yaml") + ": a named pipe, not a regular file", fifo + ": a named pipe, not a regular file"}
	if !slices.Equal(res.Skipped, want) {
		t.Errorf("got skipped %q, want %q", res.Skipped, want)
	}
}
