// Package release tests hack/release-snapshot end to end: it builds a
// release of this checkout, twice, and reads what it wrote as a user, krew
// and a container runtime would.
package release

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const module = "github.com/plimsoll/plimsoll"

type platform struct{ os, arch string }

var platforms = []platform{
	{"linux", "amd64"}, {"linux", "arm64"},
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

func (p platform) exe() string {
	if p.os == "windows" {
		return "plimsoll.exe"
	}
	return "plimsoll"
}

func (p platform) archive(version string) string {
	ext := ".tar.gz"
	if p.os == "windows" {
		ext = ".zip"
	}
	return fmt.Sprintf("plimsoll_%s_%s_%s%s", version, p.os, p.arch, ext)
}

var repo = func() string {
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		panic(err)
	}
	return dir
}()

// TestReleaseSnapshot builds the release twice and checks each part of it.
// Warm (the Go build cache holds the six platforms' packages) it takes
// about two minutes a build on two cores, most of it linking.
func TestReleaseSnapshot(t *testing.T) {
	version, commit, date := expected(t)
	first := filepath.Join(t.TempDir(), "dist")
	snapshot(t, first)

	files := readDir(t, first)
	binaries := map[platform][]byte{}
	t.Run("archives", func(t *testing.T) {
		for _, p := range platforms {
			name := p.archive(version)
			data, ok := files[name]
			if !ok {
				t.Errorf("no %s", name)
				continue
			}
			got := unpack(t, name, data, date)
			for _, f := range []string{"LICENSE", "README.md"} {
				want, err := os.ReadFile(filepath.Join(repo, f))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got[f].data, want) || got[f].mode != 0o644 {
					t.Errorf("%s: %s is not the checkout's, with mode 0644 (got mode %o)", name, f, got[f].mode)
				}
			}
			if bin := got[p.exe()]; len(bin.data) == 0 || bin.mode != 0o755 {
				t.Errorf("%s: got %s of %d bytes, mode %o; want the binary, mode 0755", name, p.exe(), len(bin.data), bin.mode)
			}
			binaries[p] = got[p.exe()].data
			var names []string
			for n := range got {
				names = append(names, n)
			}
			sort.Strings(names)
			if diff := cmp.Diff([]string{"LICENSE", "README.md", p.exe()}, names); diff != "" {
				t.Errorf("%s: files (-want +got):\n%s", name, diff)
			}
		}
	})

	t.Run("checksums", func(t *testing.T) {
		name := "plimsoll_" + version + "_checksums.txt"
		cmd := exec.Command("sha256sum", "--check", "--strict", name)
		cmd.Dir = first
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sha256sum --check: %v\n%s", err, out)
		}
		var listed []string
		for _, line := range strings.Split(strings.TrimSuffix(string(files[name]), "\n"), "\n") {
			_, file, ok := strings.Cut(line, "  ")
			if !ok {
				t.Fatalf("got line %q, want <sha256>  <file>", line)
			}
			listed = append(listed, file)
		}
		var want []string
		for f := range files {
			if f != name {
				want = append(want, f)
			}
		}
		sort.Strings(want)
		if diff := cmp.Diff(want, listed); diff != "" {
			t.Errorf("files the checksums cover (-want: every other file +got):\n%s", diff)
		}
	})

	t.Run("version", func(t *testing.T) {
		host := platform{runtime.GOOS, runtime.GOARCH}
		bin, ok := binaries[host]
		if !ok {
			t.Fatalf("no binary for this machine, %s/%s", host.os, host.arch)
		}
		file := filepath.Join(t.TempDir(), host.exe())
		if err := os.WriteFile(file, bin, 0o755); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(file, "version").CombinedOutput()
		if err != nil {
			t.Fatalf("%s version: %v\n%s", file, err, out)
		}
		want := fmt.Sprintf("plimsoll %s (commit %s, go", version, shortCommit(commit))
		if !strings.HasPrefix(string(out), want) {
			t.Errorf("got %q, want it to start %q", out, want)
		}
	})

	t.Run("sbom", func(t *testing.T) {
		for _, p := range platforms {
			name := strings.TrimSuffix(strings.TrimSuffix(p.archive(version), ".zip"), ".tar.gz") + ".sbom.cdx.json"
			checkSBOM(t, name, files[name], p, version)
		}
	})

	t.Run("krew", func(t *testing.T) { checkKrew(t, files, version) })

	t.Run("image", func(t *testing.T) {
		name := "plimsoll_" + version + "_image.oci.tar"
		checkImage(t, files[name], version, commit, binaries)
	})

	t.Run("reproducible", func(t *testing.T) {
		second := filepath.Join(t.TempDir(), "dist")
		snapshot(t, second)
		again := readDir(t, second)
		if len(again) != len(files) {
			t.Errorf("got %d files the second time, want %d", len(again), len(files))
		}
		for name, data := range files {
			if !bytes.Equal(again[name], data) {
				t.Errorf("%s differs between two builds of the same commit", name)
			}
		}
	})
}

// expected is the version, commit and time hack/release-snapshot should
// give this checkout.
func expected(t *testing.T) (version, commit string, date time.Time) {
	t.Helper()
	describe := git(t, "describe", "--tags", "--always", "--dirty")
	version = "v0.0.0-snapshot+" + strings.TrimPrefix(describe, "v")
	if exact := exec.Command("git", "describe", "--tags", "--exact-match"); !strings.HasSuffix(describe, "-dirty") &&
		regexp.MustCompile(`^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`).MatchString(describe) {
		exact.Dir = repo
		if exact.Run() == nil {
			version = describe
		}
	}
	commit = git(t, "rev-parse", "HEAD")
	if strings.HasSuffix(describe, "-dirty") {
		commit += "-dirty"
	}
	sec, err := strconv.ParseInt(git(t, "log", "-1", "--format=%ct"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		if sec, err = strconv.ParseInt(s, 10, 64); err != nil {
			t.Fatal(err)
		}
	}
	return version, commit, time.Unix(sec, 0).UTC()
}

func shortCommit(c string) string {
	hash, suffix, _ := strings.Cut(c, "-")
	if suffix != "" {
		return hash[:12] + "-" + suffix
	}
	return hash[:12]
}

func git(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = repo
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

// snapshot runs hack/release-snapshot into out.
func snapshot(t *testing.T, out string) {
	t.Helper()
	start := time.Now()
	cmd := exec.Command(filepath.Join(repo, "hack", "release-snapshot"), out)
	cmd.Dir = repo
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hack/release-snapshot: %v\n%s", err, b)
	}
	t.Logf("hack/release-snapshot took %s", time.Since(start).Round(time.Second))
}

func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = data
	}
	return files
}

type file struct {
	mode int64
	data []byte
}

// unpack reads a tar.gz or zip archive, checking every entry is a regular
// file dated date.
func unpack(t *testing.T, name string, data []byte, date time.Time) map[string]file {
	t.Helper()
	files := map[string]file{}
	if strings.HasSuffix(name, ".zip") {
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, f := range zr.File {
			if !f.Modified.Equal(date) {
				t.Errorf("%s: %s is dated %s, want the commit's time %s", name, f.Name, f.Modified, date)
			}
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			files[f.Name] = file{int64(f.Mode().Perm()), b}
		}
		return files
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() {
		t.Errorf("%s: the gzip header names %q and time %s, want neither", name, zr.Name, zr.ModTime)
	}
	for name, f := range untar(t, zr) {
		if f.hdr.Typeflag != tar.TypeReg || f.hdr.Uid != 0 || f.hdr.Gid != 0 || !f.hdr.ModTime.Equal(date) {
			t.Errorf("%s: got type %c, owner %d:%d, time %s; want a file owned by 0:0 at %s", name, f.hdr.Typeflag, f.hdr.Uid, f.hdr.Gid, f.hdr.ModTime, date)
		}
		files[name] = file{f.hdr.Mode, f.data}
	}
	return files
}

type tarFile struct {
	hdr  *tar.Header
	data []byte
}

func untar(t *testing.T, r io.Reader) map[string]tarFile {
	t.Helper()
	files := map[string]tarFile{}
	tr := tar.NewReader(r)
	var last string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name < last {
			t.Errorf("%s comes after %s: want the entries sorted", h.Name, last)
		}
		last = h.Name
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = tarFile{h, b}
	}
}

func sum(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}
