package manifest

import (
	"fmt"
	"path/filepath"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/krusty"
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
		return Result{Errors: []*Error{{File: dir, Err: fmt.Errorf("kustomize build: %w", err)}}}
	}
	var res Result
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
			res.Errors = append(res.Errors, &Error{File: src.File, Err: err})
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
		o, err := inventory.New(m, src)
		if err != nil {
			res.Errors = append(res.Errors, &Error{File: src.File, Err: err})
			continue
		}
		res.Objects = append(res.Objects, o)
	}
	res.Files = 1
	res.sortErrors()
	return res
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
