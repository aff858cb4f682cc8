package manifest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

const kustomizeOriginAnnotation = "config.kubernetes.io/origin"

// LoadKustomize builds a Kustomization in-process, as kustomize build would,
// and reads the objects it emits. Each object's source is the file it was
// declared in (Kustomize's origin tracking), without a line: the build
// rewrites the object.
func LoadKustomize(dir string) Result {
	origin := "kustomize build " + dir
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resources, err := k.Run(originTracking{filesys.MakeFsOnDisk()}, dir)
	if err != nil {
		return Result{Errors: []*Error{{File: dir, Err: fmt.Errorf("kustomize build: %w", libraryError(err))}}}
	}
	var res Result
	files := map[string]bool{} // declaring files parsed, and whether they had errors
	for _, r := range resources.Resources() {
		src := inventory.Source{File: dir, Origin: origin}
		if o, err := r.GetOrigin(); err == nil && o != nil && o.Path != "" {
			src.File = filepath.Join(dir, o.Path)
			if o.Repo != "" {
				src.File = o.Repo + "//" + o.Path
			}
		}
		m, err := r.Map()
		if err != nil {
			res.Errors = append(res.Errors, builtResourceErrors(r, src, files)...)
			continue
		}
		if meta, ok := m["metadata"].(map[string]any); ok {
			if ann, ok := meta["annotations"].(map[string]any); ok {
				delete(ann, kustomizeOriginAnnotation)
				if len(ann) == 0 {
					delete(meta, "annotations")
				}
			}
		}
		o, oErr := newObject(m, nil, 0, src)
		if oErr != nil {
			oErr.File = src.File
			res.Errors = append(res.Errors, oErr)
			continue
		}
		res.Objects = append(res.Objects, o)
	}
	res.Files = 1
	res.sortErrors()
	return res
}

// builtResourceErrors say why a resource Kustomize built cannot be read.
// Kustomize's own error carries the whole resource as YAML, a Secret's
// values included, so it is never shown. The file that declared the
// resource is parsed by plimsoll's parser instead, whose errors have the
// file's lines, name the key, and never quote a value that may be secret.
// When that file reads cleanly (Kustomize's changes made the problem), or
// is not a local file, the built resource is parsed, and its errors say so.
//
// files records each declaring file parsed so far, and whether its parse
// found errors: those are reported once, with the first of its resources
// that cannot be read, and stand for the others; a file that reads cleanly
// is parsed once, and each of its resources is reported as built.
func builtResourceErrors(r *resource.Resource, src inventory.Source, files map[string]bool) []*Error {
	if !strings.Contains(src.File, "//") { // a local file, not a remote base
		hadErrors, parsed := files[src.File]
		switch {
		case hadErrors:
			return nil
		case !parsed:
			files[src.File] = false
			if data, err := os.ReadFile(src.File); err == nil {
				if p := Parse(src.File, data, inventory.Source{File: src.File}); len(p.Errors) > 0 {
					files[src.File] = true
					return p.Errors
				}
			}
		}
	}
	what := fmt.Sprintf("%s %q as Kustomize built it", r.GetKind(), r.GetName())
	if y, err := r.RNode.String(); err == nil {
		if p := Parse("", []byte(y), inventory.Source{}); len(p.Errors) > 0 {
			return []*Error{{File: src.File, Err: fmt.Errorf("%s: %v", what, p.Errors[0].Err)}}
		}
	}
	return []*Error{{File: src.File, Err: fmt.Errorf("%s: cannot be read", what)}}
}

// originTracking turns on Kustomize's origin annotations in every
// kustomization it reads, so each built object says which file declared it,
// without asking users to change their kustomization.
type originTracking struct{ filesys.FileSystem }

func (fs originTracking) ReadFile(path string) ([]byte, error) {
	data, err := fs.FileSystem.ReadFile(path)
	if err != nil || !isKustomization(filepath.Base(path)) {
		return data, err
	}
	var k map[string]any
	if yaml.Unmarshal(data, &k) != nil || k == nil {
		return data, nil // let Kustomize report its own error
	}
	meta, _ := k["buildMetadata"].([]any)
	for _, m := range meta {
		if m == "originAnnotations" {
			return data, nil
		}
	}
	k["buildMetadata"] = append(meta, "originAnnotations")
	out, err := yaml.Marshal(k)
	if err != nil {
		return data, nil
	}
	return out, nil
}
