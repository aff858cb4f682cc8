// Package overlay writes plimsoll fix's changes as a Kustomize overlay: a
// directory whose kustomization.yaml builds on the audited base, patches the
// objects that need fields set, and adds the objects fix creates. A GitOps
// repository takes the directory as one reviewed commit.
//
// The overlay builds under Kustomize's default load restrictions, as kubectl
// kustomize, Argo CD and Flux build it: a kustomization reads only files
// inside its own directory, and takes another directory as a resource only
// when that directory has a kustomization of its own. A base that is a plain
// directory of manifests is refused unless Options.InitBase asks for its
// kustomization to be written; the restrictions are never loosened.
//
// A fix.Set reads as plimsoll fix's edits of the files themselves
// (internal/fix/yamledit) read it, so that both give the same object: an
// element is found by its name field or its index, a new one is added at
// the end, a mapping value is merged key by key into the mapping that is
// there, and a list or a scalar replaces what is there. Two Sets that give
// one field different values are refused.
//
// Each patched object gets one patch file, with an explicit target. It is a
// strategic-merge patch wherever one can say it. Kustomize merges lists by
// the keys of its own schema of the built-in kinds (the Kubernetes OpenAPI
// that kyaml embeds, which agrees with the patchMergeKey tags of k8s.io/api
// where both know a list), so elements are named by those keys, and a list
// replaced where Kustomize would merge it starts with "$patch: replace".
// Kustomize moves a list's patched elements first
// (kubernetes-sigs/kustomize#5904), so the patch names the elements before
// them, unchanged: the order holds, and a new element goes last. The patch
// is a JSON patch (RFC 6902) instead when a Set goes through a list
// Kustomize does not merge by key (tolerations, args, lists newer than its
// schema, every list of a custom resource), or sets the key an element is
// merged by. A JSON patch tests the name of each element it found by name,
// and the value it replaces below an element found by its index, so that a
// base changed there fails to build rather than be patched elsewhere.
//
// Write proves the overlay before it is in place: it applies each patch
// file, as written, to the object its target selects with Kustomize's own
// patch code, and requires the object with the fields set; it reads each new
// object's file back. A whole build would prove the same at a cost that
// grows with objects times patches (see scale.go); the tests build every
// overlay they write with Kustomize, and audit the build.
package overlay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/plimsoll/plimsoll/internal/fix"
)

// Patch is the fields to set on one existing object.
type Patch struct {
	Target fix.Ref
	// Sets are applied in order; two that give one field different values
	// are refused.
	Sets []fix.Set
	// Reasons say why, one line each (for example the findings the fields
	// resolve); they head the patch file.
	Reasons []string
}

// Object is a new object to create, with the file name it goes in (for
// example "pdb-shop-web.yaml").
type Object struct {
	File    string
	Content map[string]any
	// Comment heads the file: what the object does, or "review these
	// values".
	Comment string
}

// Options say what to write where.
type Options struct {
	// Base is what the overlay builds on: a directory with a
	// kustomization.yaml, or a plain directory of manifests (see InitBase).
	Base string
	// Dir is the overlay directory to create; it must not exist. Missing
	// directories above it are created.
	Dir     string
	Patches []Patch
	Objects []Object
	// Read are the objects the caller read from Base's files, each with its
	// file, if it read them all (plimsoll fix audited them). A base that
	// only lists files is then indexed from them, and Kustomize's reader
	// reads again only the files of the objects to patch; the objects read
	// again must be those, or Write fails. Without them every file is read.
	Read []fix.Ref
	// InitBase writes Base/kustomization.yaml, listing the base's manifests,
	// when the base has no kustomization; Write refuses such a base
	// without it. It is refused when the base has one.
	InitBase bool
}

// ErrNoKustomization is wrapped by the error for a base that has no
// kustomization, and InitBase is not set.
var ErrNoKustomization = errors.New("the base has no kustomization")

// kustomizationFile is the name of every kustomization Write writes.
const kustomizationFile = "kustomization.yaml"

// Write writes the overlay and returns the files it wrote, sorted. Nothing
// is half-written: it builds the overlay in a temporary directory beside
// Dir, proves it, and renames it into place; on any error nothing it wrote
// is left behind (the base's kustomization included).
func Write(o Options) (written []string, err error) {
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
			written = nil
		}
	}()

	dir, base, err := paths(o.Base, o.Dir)
	if err != nil {
		return nil, err
	}
	if len(o.Patches) == 0 && len(o.Objects) == 0 {
		return nil, errors.New("nothing to write: no patches and no objects")
	}
	objects, err := newObjects(o.Objects)
	if err != nil {
		return nil, err
	}

	existing, err := kustomizationIn(base)
	switch {
	case err != nil:
		return nil, fmt.Errorf("reading base %s: %w", o.Base, err)
	case existing != "" && o.InitBase:
		return nil, fmt.Errorf("base %s already has %s: its kustomization is written only where there is none", o.Base, existing)
	case existing == "" && !o.InitBase:
		return nil, fmt.Errorf("%s has no kustomization.yaml; create one listing its manifests (plimsoll can: --init-base), or point --overlay at a base that has one: %w", o.Base, ErrNoKustomization)
	case existing == "":
		remove, err := initBase(base)
		if err != nil {
			return nil, fmt.Errorf("writing the kustomization of base %s: %w", o.Base, err)
		}
		undo = append(undo, remove)
		written = append(written, filepath.Join(o.Base, kustomizationFile))
	}

	known, need := readAlready(o)
	built, err := readBase(base, known, need)
	if err != nil {
		return nil, fmt.Errorf("base %s does not build: %w", o.Base, err)
	}
	targets, err := planTargets(built, o.Patches, true)
	if err != nil {
		return nil, err
	}
	if err := notInBase(objects, built); err != nil {
		return nil, err
	}

	rel, err := filepath.Rel(dir, base)
	if err != nil {
		return nil, err
	}
	files, err := render(filepath.ToSlash(rel), targets, objects)
	if err != nil {
		return nil, err
	}

	if err := proveObjects(files, objects); err != nil {
		return nil, err
	}
	tmp, remove, err := stage(dir, files)
	if err != nil {
		return nil, err
	}
	undo = append(undo, remove)
	if err := place(tmp, dir, o.Dir); err != nil {
		return nil, err
	}
	written = append(written, filesIn(o.Dir, files)...)
	slices.Sort(written)
	return written, nil
}

// readAlready indexes Options.Read by file, as a path in the base, and
// says which files hold a patch's target, and which objects of theirs.
func readAlready(o Options) (known map[string][]objectID, need map[string]map[objectID]bool) {
	inBase := func(file string) (string, bool) {
		rel, err := filepath.Rel(o.Base, file)
		return rel, err == nil && filepath.IsLocal(rel)
	}
	known, need = map[string][]objectID{}, map[string]map[objectID]bool{}
	for _, r := range o.Read {
		if f, ok := inBase(r.File); ok {
			known[f] = append(known[f], objectID{r.APIVersion, r.Kind, r.Namespace, r.Name})
		}
	}
	for _, p := range o.Patches {
		if f, ok := inBase(p.Target.File); ok {
			if need[f] == nil {
				need[f] = map[objectID]bool{}
			}
			need[f][objectID{p.Target.APIVersion, p.Target.Kind, p.Target.Namespace, p.Target.Name}] = true
		}
	}
	return known, need
}

// WriteObjects writes an overlay of new objects alone, with no base: what
// a cluster read lacks, for the repository that deploys to it. As Write
// does, it builds the overlay in a temporary directory beside dir, proves
// that it builds exactly the objects, and renames it into place.
func WriteObjects(dir string, objs []Object) ([]string, error) {
	if len(objs) == 0 {
		return nil, errors.New("nothing to write: no objects")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(abs); !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("overlay %s exists already", dir)
	}
	objects, err := newObjects(objs)
	if err != nil {
		return nil, err
	}
	files, err := render("", nil, objects)
	if err != nil {
		return nil, err
	}
	if err := proveObjects(files, objects); err != nil {
		return nil, err
	}
	tmp, remove, err := stage(abs, files)
	if err != nil {
		return nil, err
	}
	if err := place(tmp, abs, dir); err != nil {
		remove()
		return nil, err
	}
	return filesIn(dir, files), nil
}

// stage writes files into a new temporary directory beside dir (creating
// the directories above it that are missing) and returns it, with what
// removes all it made.
func stage(dir string, files map[string][]byte) (tmp string, remove func(), err error) {
	removeParents, err := mkdirAll(filepath.Dir(dir))
	if err != nil {
		return "", nil, err
	}
	tmp, err = os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		removeParents()
		return "", nil, err
	}
	remove = func() {
		_ = os.RemoveAll(tmp)
		removeParents()
	}
	if err := writeFiles(tmp, files); err != nil {
		remove()
		return "", nil, err
	}
	// MkdirTemp's 0700 would stay the overlay's.
	if err := os.Chmod(tmp, 0o755); err != nil {
		remove()
		return "", nil, err
	}
	return tmp, remove, nil
}

func writeFiles(dir string, files map[string][]byte) error {
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if err := os.WriteFile(filepath.Join(dir, name), files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// place renames the staged overlay tmp to dir (given as dirArg), which
// must still not exist: rename(2) would replace an empty directory made
// since it was checked.
func place(tmp, dir, dirArg string) error {
	if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("overlay %s exists already", dirArg)
	}
	return os.Rename(tmp, dir)
}

// filesIn names the files of an overlay in dir, sorted.
func filesIn(dir string, files map[string][]byte) []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(files)) {
		out = append(out, filepath.Join(dir, name))
	}
	return out
}

// paths checks Base and Dir and returns them absolute, with symbolic links
// resolved, so the base's path relative to the overlay is the one
// Kustomize follows.
func paths(baseArg, dirArg string) (dir, base string, err error) {
	if baseArg == "" || dirArg == "" {
		return "", "", errors.New("both the base and the overlay directory are needed")
	}
	if _, err := os.Lstat(dirArg); err == nil {
		return "", "", fmt.Errorf("overlay %s exists already; give a new directory", dirArg)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", "", fmt.Errorf("overlay %s: %w", dirArg, err)
	}
	info, err := os.Stat(baseArg)
	if errors.Is(err, fs.ErrNotExist) {
		return "", "", fmt.Errorf("base %s does not exist", baseArg)
	}
	if err != nil {
		return "", "", fmt.Errorf("base %s: %w", baseArg, err)
	}
	if !info.IsDir() {
		return "", "", fmt.Errorf("base %s is not a directory: an overlay builds on a directory", baseArg)
	}
	if _, err := os.ReadDir(baseArg); err != nil {
		return "", "", fmt.Errorf("base %s cannot be read: %w", baseArg, err)
	}
	if base, err = filepath.Abs(baseArg); err == nil {
		base, err = filepath.EvalSymlinks(base)
	}
	if err != nil {
		return "", "", err
	}
	if dir, err = absolute(dirArg); err != nil {
		return "", "", err
	}
	if rel, err := filepath.Rel(base, dir); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", "", fmt.Errorf("overlay %s is inside its base %s, which Kustomize refuses (a cycle); put it beside the base", dirArg, baseArg)
	}
	return dir, base, nil
}

// absolute makes a path that may not exist yet absolute, with the symbolic
// links of its existing part resolved.
func absolute(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	var rest []string
	for p := abs; ; p = filepath.Dir(p) {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			slices.Reverse(rest)
			return filepath.Join(append([]string{real}, rest...)...), nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		if p == filepath.Dir(p) {
			return abs, nil
		}
		rest = append(rest, filepath.Base(p))
	}
}

// mkdirAll creates dir and the directories above it that are missing, and
// returns what removes the ones it created.
func mkdirAll(dir string) (remove func(), err error) {
	var created []string
	for p := dir; ; p = filepath.Dir(p) {
		if _, err := os.Stat(p); err == nil || p == filepath.Dir(p) {
			break
		}
		created = append(created, p)
	}
	remove = func() {
		for _, p := range created {
			_ = os.Remove(p)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		remove()
		return nil, err
	}
	return remove, nil
}

// sameJSON says whether two objects are equal as JSON, whatever Go types
// hold their numbers.
func sameJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}
