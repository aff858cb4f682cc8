// Package files writes plimsoll fix's changes to the files they belong in:
// patches in place (yamledit), new objects to new files, as a unified diff
// or written through temporary files renamed into place.
package files

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	yaml "go.yaml.in/yaml/v3"

	"github.com/plimsoll/plimsoll/internal/atomicfile"
	"github.com/plimsoll/plimsoll/internal/fix"
	"github.com/plimsoll/plimsoll/internal/fix/yamledit"
)

// FileChange is a file as the changes leave it: an existing file edited in
// place, or a new one.
type FileChange struct {
	Path     string
	Old, New []byte
	// Mode is the existing file's mode, or 0644 for a new one.
	Mode os.FileMode
}

// Plan returns the files the applied changes edit or create. Patches are
// made in place, touching only the lines they change (yamledit); new
// objects go to new files in dir. A patch of an object that no file holds
// (a Helm chart's, a Kustomization's, a cluster's) cannot be made in place:
// it is returned in unplaced.
func Plan(applied []fix.Applied, dir string) (files []FileChange, unplaced []fix.Applied, err error) {
	byFile := map[string][]yamledit.Edit{}
	for _, a := range applied {
		switch {
		case a.Create != nil:
			var content bytes.Buffer
			enc := yaml.NewEncoder(&content)
			enc.SetIndent(2)
			if err := enc.Encode(a.Create); err != nil {
				return nil, nil, err
			}
			header := "# Written by plimsoll fix: " + a.Summary + ".\n"
			if a.Note != "" {
				header += "# " + a.Note + ".\n"
			}
			path := filepath.Join(dir, a.File)
			if _, err := os.Lstat(path); err == nil {
				return nil, nil, fmt.Errorf("%s exists already: plimsoll fix does not overwrite a file it did not write", path)
			}
			files = append(files, FileChange{Path: path, New: append([]byte(header), content.Bytes()...), Mode: 0o644})
		case a.Target.File == "" || a.Target.Line == 0:
			unplaced = append(unplaced, a)
		default:
			byFile[a.Target.File] = append(byFile[a.Target.File], yamledit.Edit{Line: a.Target.Line, Sets: a.Sets})
		}
	}
	names := make([]string, 0, len(byFile))
	for f := range byFile {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, name := range names {
		info, err := os.Stat(name)
		if err != nil {
			return nil, nil, err
		}
		old, err := os.ReadFile(name)
		if err != nil {
			return nil, nil, err
		}
		edited, err := yamledit.Apply(old, byFile[name])
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		files = append(files, FileChange{Path: name, Old: old, New: edited, Mode: info.Mode().Perm()})
	}
	sort.SliceStable(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, unplaced, nil
}

// Diff writes the files' changes as one unified diff.
func Diff(files []FileChange) (string, error) {
	var b strings.Builder
	for _, f := range files {
		name := strings.TrimPrefix(filepath.ToSlash(f.Path), "/")
		from := "a/" + name
		if f.Old == nil {
			from = "/dev/null"
		}
		d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
			A: difflib.SplitLines(string(f.Old)), B: difflib.SplitLines(string(f.New)),
			FromFile: from, ToFile: "b/" + name, Context: 3,
		})
		if err != nil {
			return "", err
		}
		b.WriteString(d)
	}
	return b.String(), nil
}

// Write writes the files: each through a temporary file beside it, renamed
// into place, after checking that an edited file is still what was read.
// Every check is made before the first file is written, so a refusal
// writes nothing.
func Write(files []FileChange) error {
	for _, f := range files {
		if f.Old == nil {
			if _, err := os.Lstat(f.Path); err == nil {
				return fmt.Errorf("%s exists already", f.Path)
			}
			continue
		}
		now, err := os.ReadFile(f.Path)
		if err != nil {
			return err
		}
		if !bytes.Equal(now, f.Old) {
			return fmt.Errorf("%s changed since plimsoll read it: run plimsoll fix again", f.Path)
		}
		if err := writable(f.Path); err != nil {
			return err
		}
	}
	for _, f := range files {
		if err := os.MkdirAll(filepath.Dir(f.Path), 0o755); err != nil {
			return err
		}
		if err := atomicfile.WriteFile(f.Path, f.New); err != nil {
			return err
		}
	}
	return nil
}

// writable refuses a file the user may not write, as an editor would.
func writable(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return fmt.Errorf("%s is not writable", path)
		}
		return err
	}
	return f.Close()
}
