package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// left fails the test when dir holds anything but names.
func left(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if len(got) != len(names) {
		t.Fatalf("got %q in the directory, want only %q: a temporary file was left", got, names)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestWriteFileReplacesKeepingPermissions(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.yaml")
	if err := WriteFile(p, []byte("one\n")); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o644 {
		t.Errorf("a new file has mode %v, want 0644", st.Mode().Perm())
	}
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("two\n")); err != nil {
		t.Fatal(err)
	}
	if got := read(t, p); got != "two\n" {
		t.Errorf("got %q, want the new content", got)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Errorf("the replaced file has mode %v, want its own 0600", st.Mode().Perm())
	}
	left(t, dir, "f.yaml")
}

func TestWriteFailureLeavesThePreviousFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.yaml")
	if err := WriteFile(p, []byte("before\n")); err != nil {
		t.Fatal(err)
	}
	broken := errors.New("the encoder failed half-way")
	err := Write(p, func(w io.Writer) error {
		if _, err := io.WriteString(w, "half"); err != nil {
			return err
		}
		return broken
	})
	if !errors.Is(err, broken) {
		t.Fatalf("got %v, want the writer's error", err)
	}
	if got := read(t, p); got != "before\n" {
		t.Errorf("got %q, want the previous content untouched", got)
	}
	left(t, dir, "f.yaml")
}

func TestCreateRefusesAnExistingFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "kustomization.yaml")
	if err := Create(p, []byte("first\n")); err != nil {
		t.Fatal(err)
	}
	err := Create(p, []byte("second\n"))
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("got %v, want fs.ErrExist", err)
	}
	if got := read(t, p); got != "first\n" {
		t.Errorf("got %q, want the existing file untouched", got)
	}
	left(t, dir, "kustomization.yaml")
}

// TestNoDirectory: where no temporary file can be made, nothing is
// written and the error says so (a path under a file, which refuses root
// as well as anyone).
func TestNoDirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(filepath.Join(file, "f.yaml"), []byte("x")); err == nil {
		t.Fatal("wrote into a path under a file")
	}
}
