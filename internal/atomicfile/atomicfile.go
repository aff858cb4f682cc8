// Package atomicfile writes files whole or not at all, as everything
// plimsoll writes is written (fixes, overlays' files, baselines,
// snapshots, exported policies): the data goes to a temporary file beside
// the target, is synced, and only then takes the target's name, so a
// failed or interrupted write leaves the previous file, or none, as it was.
package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Write writes to path what write writes, whole or not at all. A file it
// replaces keeps its permissions; a new one is 0644.
func Write(path string, write func(io.Writer) error) error {
	perm := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		perm = st.Mode().Perm()
	}
	tmp, err := temp(path, write, perm)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// WriteFile writes data to path as Write does.
func WriteFile(path string, data []byte) error {
	return Write(path, bytesWriter(data))
}

func bytesWriter(data []byte) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}
}

// Create writes data to path, which must not exist, whole or not at all:
// the temporary file is linked to path (link(2) fails when path exists,
// where rename(2) would replace it). Its error for an existing path is
// fs.ErrExist.
func Create(path string, data []byte) error {
	tmp, err := temp(path, bytesWriter(data), 0o644)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return &fs.PathError{Op: "create", Path: path, Err: fs.ErrExist}
		}
		return err
	}
	return nil
}

// temp writes a synced temporary file beside path, with perm, and returns
// its name; on an error it leaves none.
func temp(path string, write func(io.Writer) error, perm os.FileMode) (name string, err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = write(f); err != nil {
		return "", err
	}
	if err = f.Chmod(perm); err != nil {
		return "", err
	}
	if err = f.Sync(); err != nil {
		return "", err
	}
	if err = f.Close(); err != nil {
		return "", err
	}
	return f.Name(), nil
}
