package overlay

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/resid"

	"github.com/plimsoll/plimsoll/internal/atomicfile"
)

// objectID names an object as Kustomize tells objects apart.
type objectID struct{ apiVersion, kind, namespace, name string }

func (id objectID) String() string {
	return fmt.Sprintf("%s (%s)", id.kindAndName(), id.apiVersion)
}

// kindAndName is "Kind namespace/name", or "Kind name" without a namespace.
func (id objectID) kindAndName() string {
	if id.namespace == "" {
		return id.kind + " " + id.name
	}
	return id.kind + " " + id.namespace + "/" + id.name
}

func idOf(obj map[string]any) objectID {
	meta, _ := obj["metadata"].(map[string]any)
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	return objectID{str(obj, "apiVersion"), str(obj, "kind"), str(meta, "namespace"), str(meta, "name")}
}

// builtObject is an object as Kustomize built it.
type builtObject struct {
	// res is nil for an object indexed from what the caller read (see
	// readPlain): one that is not patched, or one whose file is read only
	// when it is (unread).
	res    *resource.Resource
	unread bool
	id     objectID
	rid    resid.ResId
	// file is the base's file that declares it, when it is read file by
	// file; err is why a file could not be read.
	file string
	err  error
}

// built is what Kustomize built from a directory, by ID and by kind and
// name.
type built struct {
	byID   map[objectID]*builtObject
	byName map[[2]string][]*builtObject
	// dir is the base's directory, and inFile the objects of each of its
	// files still to be read, in the file's order (see readPlain).
	dir    string
	inFile map[string][]*builtObject
}

// build builds the kustomization in dir as kubectl kustomize does: default
// options, so only files inside each kustomization's directory are read.
func build(dir string) (built, error) {
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return built{}, kustomizeError(err)
	}
	b := built{byID: map[objectID]*builtObject{}, byName: map[[2]string][]*builtObject{}}
	for _, r := range m.Resources() {
		o, err := newBuilt(r)
		if err != nil {
			return built{}, err
		}
		b.add(o)
	}
	return b, nil
}

// maxKustomizeError bounds the text kept of Kustomize's error.
const maxKustomizeError = 1000

// kustomizeError is Kustomize's error fit to show. Kustomize may end it with
// the whole resource as YAML, a Secret's values included: that part is left
// out.
func kustomizeError(err error) error {
	msg, _, found := strings.Cut(err.Error(), " for the following resource")
	if found {
		msg += " (the resource is not shown: it may hold secret values)"
	}
	if head, more := cut(msg, maxKustomizeError); more > 0 {
		msg = fmt.Sprintf("%s... (%d more bytes)", head, more)
	}
	return errors.New(msg)
}

// cut keeps at most n bytes of s, whole runes only, and says how many it
// left out.
func cut(s string, n int) (string, int) {
	if len(s) <= n {
		return s, 0
	}
	head := strings.ToValidUTF8(s[:n], "")
	return head, len(s) - len(head)
}

// kustomizationIn returns the name of the kustomization file in dir, or ""
// when there is none (a directory of that name is not one).
func kustomizationIn(dir string) (string, error) {
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		info, err := os.Stat(filepath.Join(dir, name))
		if err == nil && !info.IsDir() {
			return name, nil
		}
		if err == nil {
			continue
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	return "", nil
}

// kustomization is the part of a kustomization.yaml that Write writes, in
// the order Kustomize's documentation writes it.
type kustomization struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	// HelmGlobals and HelmCharts render a chart, for an overlay over one.
	HelmGlobals *types.HelmGlobals `yaml:"helmGlobals,omitempty"`
	HelmCharts  []types.HelmChart  `yaml:"helmCharts,omitempty"`
	Resources   []string           `yaml:"resources,omitempty"`
	Patches     []patchRef         `yaml:"patches,omitempty"`
}

type patchRef struct {
	Path   string       `yaml:"path"`
	Target targetFields `yaml:"target"`
}

type targetFields struct {
	Group     string `yaml:"group,omitempty"`
	Version   string `yaml:"version,omitempty"`
	Kind      string `yaml:"kind,omitempty"`
	Namespace string `yaml:"namespace,omitempty"`
	Name      string `yaml:"name,omitempty"`
}

func newKustomization(resources []string) kustomization {
	return kustomization{APIVersion: "kustomize.config.k8s.io/v1beta1", Kind: "Kustomization", Resources: resources}
}

// initBase writes base/kustomization.yaml listing the base's manifests, and
// returns what removes it.
func initBase(base string) (remove func(), err error) {
	list, notes, err := manifestsOf(base)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, errors.New("it holds no Kubernetes manifests")
	}
	header := []string{
		"Written by plimsoll fix (--init-base): the manifests of this directory,",
		"so that a Kustomize overlay can build on it. Kustomize builds only the",
		"files and directories listed here.",
	}
	if len(notes) > 0 {
		header = append(header, "Not listed:")
		for _, n := range notes {
			header = append(header, "- "+n)
		}
	}
	data, err := encode(header, newKustomization(list))
	if err != nil {
		return nil, err
	}
	return createFile(filepath.Join(base, kustomizationFile), data)
}

// createFile writes a file that must not exist, whole or not at all, and
// returns what removes it.
func createFile(path string, data []byte) (remove func(), err error) {
	if err := atomicfile.Create(path, data); err != nil {
		return nil, err
	}
	return func() { _ = os.Remove(path) }, nil
}

// manifestsOf lists what a kustomization of base must list to build what
// plimsoll read there: every *.yaml, *.yml and *.json file that holds
// Kubernetes objects, and each directory that has a kustomization of its
// own (Kustomize builds that; its files are not listed). Hidden files and
// directories are passed over, as plimsoll's reader passes them over; a
// Helm chart and files without objects are not listed, and notes say so.
func manifestsOf(base string) (list, notes []string, err error) {
	err = filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(base, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if path != base && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return manifestDir(path, rel, path == base, &list, &notes)
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".yaml", ".yml", ".json":
		default:
			return nil
		}
		if !d.Type().IsRegular() && d.Type()&fs.ModeSymlink == 0 {
			notes = append(notes, rel+": not a regular file")
			return nil
		}
		objects, others, err := countObjects(path)
		switch {
		case err != nil:
			return fmt.Errorf("%s: %w", rel, err)
		case objects > 0 && others > 0:
			return fmt.Errorf("%s holds Kubernetes objects and other documents, which Kustomize cannot build; put them in separate files", rel)
		case objects == 0:
			notes = append(notes, rel+": no Kubernetes objects")
		default:
			list = append(list, rel)
		}
		return nil
	})
	return list, notes, err
}

// manifestDir decides about a directory of the base: a kustomization is
// listed as a directory, a Helm chart is left out, and any other directory
// is walked.
func manifestDir(path, rel string, root bool, list, notes *[]string) error {
	if !root {
		k, err := kustomizationIn(path)
		if err != nil {
			return err
		}
		if k != "" {
			*list = append(*list, rel)
			return filepath.SkipDir
		}
	}
	if _, err := os.Stat(filepath.Join(path, "Chart.yaml")); err == nil {
		if root {
			return errors.New("it is a Helm chart, whose templates are not manifests until rendered")
		}
		*notes = append(*notes, rel+"/: a Helm chart, whose templates are not manifests until rendered")
		return filepath.SkipDir
	}
	return nil
}

// countObjects counts the documents of a YAML or JSON file that are
// Kubernetes objects (they have an apiVersion and a kind) and those that are
// not; empty documents count as neither.
func countObjects(path string) (objects, others int, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return objects, others, nil
		}
		if err != nil {
			return 0, 0, fmt.Errorf("not YAML, so whether it holds Kubernetes objects is unknown: %w", err)
		}
		m, _ := doc.(map[string]any)
		apiVersion, _ := m["apiVersion"].(string)
		kind, _ := m["kind"].(string)
		switch {
		case doc == nil:
		case apiVersion != "" && kind != "":
			objects++
		default:
			others++
		}
	}
}

// newObject is an Object checked, with its content normalized.
type newObject struct {
	file    string
	id      objectID
	content map[string]any
	comment string
}

// newObjects checks the new objects: each has a plain YAML file name of its
// own, and an apiVersion, a kind and a name.
func newObjects(in []Object) ([]newObject, error) {
	var out []newObject
	files := map[string]bool{}
	ids := map[objectID]bool{}
	for _, o := range in {
		if err := checkFileName(o.File); err != nil {
			return nil, err
		}
		content, err := normalize(o.Content)
		if err != nil {
			return nil, fmt.Errorf("new object in %s: %w", o.File, err)
		}
		m, _ := content.(map[string]any)
		id := idOf(m)
		if id.apiVersion == "" || id.kind == "" || id.name == "" {
			return nil, fmt.Errorf("new object in %s: it needs an apiVersion, a kind and a metadata.name", o.File)
		}
		if files[o.File] {
			return nil, fmt.Errorf("two new objects go in %s; give each a file of its own", o.File)
		}
		if ids[id] {
			return nil, fmt.Errorf("new object %s is given twice", id)
		}
		files[o.File], ids[id] = true, true
		out = append(out, newObject{file: o.File, id: id, content: m, comment: o.Comment})
	}
	slices.SortFunc(out, func(a, b newObject) int { return strings.Compare(a.file, b.file) })
	return out, nil
}

func checkFileName(name string) error {
	switch {
	case name == "" || name != filepath.Base(name) || strings.ContainsAny(name, `/\`):
		return fmt.Errorf("new object's file %q: a file name is needed, without a directory", name)
	case strings.HasPrefix(name, "."):
		return fmt.Errorf("new object's file %q: a hidden file would be missed by readers of the overlay", name)
	case slices.Contains(konfig.RecognizedKustomizationFileNames(), name):
		return fmt.Errorf("new object's file %q is the kustomization's name", name)
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml":
		return nil
	}
	return fmt.Errorf("new object's file %q: it is written as YAML, so its name ends in .yaml", name)
}

// notInBase refuses a new object that the base has already: Kustomize would
// refuse the overlay.
func notInBase(objects []newObject, base built) error {
	for _, o := range objects {
		if base.byID[o.id] != nil {
			return fmt.Errorf("new object %s (%s) is already among the base's objects; patch it instead", o.id, o.file)
		}
	}
	return nil
}
