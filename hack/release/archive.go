package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// entry is one file of an archive.
type entry struct {
	name string
	mode int64 // permission bits; a directory when name ends in "/"
	data []byte
}

// writeArchive writes p's archive: the binary, LICENSE and README.md, at
// the top level (krew installs the archive's files as they are).
func writeArchive(o options, p platform, bin string) error {
	var entries []entry
	for _, f := range []struct {
		name, path string
		mode       int64
	}{
		{p.exe(), bin, 0o755},
		{"LICENSE", filepath.Join(o.root, "LICENSE"), 0o644},
		{"README.md", filepath.Join(o.root, "README.md"), 0o644},
	} {
		data, err := os.ReadFile(f.path)
		if err != nil {
			return err
		}
		entries = append(entries, entry{f.name, f.mode, data})
	}
	var buf bytes.Buffer
	var err error
	if p.OS == "windows" {
		err = writeZip(&buf, entries, o.date)
	} else {
		err = writeTarGz(&buf, entries, o.date)
	}
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(o.out, o.archiveName(p)), buf.Bytes(), 0o644)
}

// sorted returns the entries sorted by name: the order of the archive.
func sorted(entries []entry) []entry {
	s := append([]entry(nil), entries...)
	sort.Slice(s, func(i, j int) bool { return s[i].name < s[j].name })
	return s
}

// writeTar writes entries as a tar stream owned by root (uid and gid 0, no
// user or group names) with every time set to date.
func writeTar(w io.Writer, entries []entry, date time.Time) error {
	tw := tar.NewWriter(w)
	for _, e := range sorted(entries) {
		h := &tar.Header{
			Name:    e.name,
			Mode:    e.mode,
			Size:    int64(len(e.data)),
			ModTime: date,
			Format:  tar.FormatPAX,
		}
		if e.name[len(e.name)-1] == '/' {
			h.Typeflag, h.Size = tar.TypeDir, 0
		} else {
			h.Typeflag = tar.TypeReg
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(e.data); err != nil {
			return err
		}
	}
	return tw.Close()
}

// writeTarGz writes entries as a gzip-compressed tar stream; the gzip
// header carries no file name and no time.
func writeTarGz(w io.Writer, entries []entry, date time.Time) error {
	zw, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return err
	}
	if err := writeTar(zw, entries, date); err != nil {
		return err
	}
	return zw.Close()
}

// writeZip writes entries as a zip archive, every time set to date.
func writeZip(w io.Writer, entries []entry, date time.Time) error {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.DefaultCompression)
	})
	for _, e := range sorted(entries) {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: date}
		h.SetMode(os.FileMode(e.mode))
		f, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if _, err := f.Write(e.data); err != nil {
			return err
		}
	}
	return zw.Close()
}
