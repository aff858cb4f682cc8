package ci

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// module is the module path go install names.
const module = "github.com/plimsoll/plimsoll"

// TestActionInstallsAVersion runs the install step with a version, as a
// workflow pinning one does: go install module/cmd/plimsoll@VERSION, from a
// module proxy. The proxy here is a directory (GOPROXY=file://) serving
// this checkout as that version, in front of the module cache's downloads,
// so nothing is fetched; what it proves is that the module installs by
// its path at a version (a replace directive in go.mod would break that)
// and that the binary then says its version.
func TestActionInstallsAVersion(t *testing.T) {
	files := moduleFiles(t)
	sum := sha256.New()
	for _, f := range files {
		sum.Write([]byte(f + "\x00"))
		data, err := os.ReadFile(filepath.Join(repo, f))
		if err != nil {
			t.Fatal(err)
		}
		sum.Write(data)
	}
	// A pseudo-version of the content: a changed checkout is another
	// version, never one the module cache already holds.
	version := "v0.0.0-20260101000000-" + hex.EncodeToString(sum.Sum(nil))[:12]

	proxy := t.TempDir()
	at := filepath.Join(proxy, filepath.FromSlash(module), "@v")
	goMod, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(at, "list"), version+"\n")
	writeFile(t, filepath.Join(at, version+".info"), `{"Version":"`+version+`","Time":"2026-01-01T00:00:00Z"}`)
	writeFile(t, filepath.Join(at, version+".mod"), string(goMod))
	writeFile(t, filepath.Join(at, version+".zip"), string(moduleZip(t, version, files)))

	modCache := goEnv(t, "GOMODCACHE")
	removeFromModuleCache(t, modCache, version)
	a := loadAction(t)
	r := newRunner(t, a, t.TempDir(), t.TempDir(), nil, map[string]string{"version": version})
	r.env = []string{
		"GOPROXY=file://" + filepath.ToSlash(proxy) + ",file://" + filepath.ToSlash(filepath.Join(modCache, "cache", "download")),
		// The checksum database has never seen this version, and may be
		// out of reach; the cache's downloads were checked when fetched.
		"GOSUMDB=off",
		"GOTOOLCHAIN=local",
	}
	res := r.run(a.step(t, "Install plimsoll"))
	wantExit(t, "install "+version, res, 0)
	if !strings.HasPrefix(res.out, "plimsoll "+version+" ") {
		t.Errorf("got %q, want plimsoll to say it is %s", res.out, version)
	}
}

// moduleFiles are the files of the module as git knows them (committed or
// not, but not ignored), without the modules nested in it (test/tools).
func moduleFiles(t *testing.T) []string {
	t.Helper()
	cmd := exec.Command("git", "ls-files", "--cached", "--others", "--exclude-standard")
	cmd.Dir = repo
	res := execute(t, cmd)
	wantExit(t, "git ls-files", res, 0)
	all := strings.Split(strings.TrimSpace(res.out), "\n")
	var nested []string
	for _, f := range all {
		if path.Base(f) == "go.mod" && f != "go.mod" {
			nested = append(nested, path.Dir(f)+"/")
		}
	}
	var out []string
	for _, f := range all {
		inNested := false
		for _, n := range nested {
			inNested = inNested || strings.HasPrefix(f, n)
		}
		if _, err := os.Lstat(filepath.Join(repo, f)); !inNested && err == nil {
			out = append(out, f)
		}
	}
	return out
}

// moduleZip is the module's zip as a proxy serves it: every file under
// module@version/.
func moduleZip(t *testing.T, version string, files []string) []byte {
	t.Helper()
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(repo, f))
		if err != nil {
			t.Fatal(err)
		}
		w, err := z.Create(module + "@" + version + "/" + f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func goEnv(t *testing.T, name string) string {
	t.Helper()
	res := execute(t, exec.Command("go", "env", name))
	wantExit(t, "go env "+name, res, 0)
	return strings.TrimSpace(res.out)
}

// removeFromModuleCache undoes, when the test ends, what installing the
// version does to the module cache (shared with every other build on the
// machine): it removes the extracted module, read-only as Go leaves it,
// and the downloaded files, and puts back the list of versions and the
// module's directory as they were.
func removeFromModuleCache(t *testing.T, modCache, version string) {
	t.Helper()
	extracted := filepath.Join(modCache, filepath.FromSlash(module)+"@"+version)
	parent := filepath.Dir(extracted)
	downloads := filepath.Join(modCache, "cache", "download", filepath.FromSlash(module), "@v")
	list := filepath.Join(downloads, "list")
	_, parentErr := os.Stat(parent)
	listBefore, listErr := os.ReadFile(list)
	t.Cleanup(func() {
		filepath.WalkDir(extracted, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				os.Chmod(p, 0o755)
			}
			return nil
		})
		if err := os.RemoveAll(extracted); err != nil {
			t.Error(err)
		}
		matches, _ := filepath.Glob(filepath.Join(downloads, version+".*"))
		for _, m := range matches {
			if err := os.Remove(m); err != nil {
				t.Error(err)
			}
		}
		if listErr == nil {
			os.WriteFile(list, listBefore, 0o644)
		} else {
			os.Remove(list)
		}
		if parentErr != nil {
			os.Remove(parent) // only when empty
		}
	})
}
