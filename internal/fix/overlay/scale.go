package overlay

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/google/go-cmp/cmp"
	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/filters/patchjson6902"
	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/resid"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/plimsoll/plimsoll/internal/parallel"
)

// Kustomize builds in time that grows with the square of the objects (each
// one added is checked against all before it) and with objects times
// patches (each patch is matched against every object, and the objects are
// added again after it): 722 objects take it two seconds, and twenty
// thousand would take it most of an hour. So that plimsoll fix --overlay
// grows with the objects rather than their square, this file does what a
// build does without the scans, with Kustomize's own code for each step: it reads a
// base that only lists manifest files (what --init-base writes) file by
// file, and proves the overlay by applying each patch file, as written,
// to the one object its target selects.

// resourceFactory reads and patches objects as Kustomize does.
var resourceFactory = provider.NewDefaultDepProvider().GetResourceFactory()

// plainResources returns the files a kustomization lists, when it does
// nothing but list files of its own directory; ok is false otherwise (it
// transforms, generates or builds on other directories), and the base is
// then built by Kustomize.
func plainResources(dir string) (files []string, ok bool) {
	name, err := kustomizationIn(dir)
	if err != nil || name == "" {
		return nil, false
	}
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, false
	}
	var k map[string]any
	if yaml.Unmarshal(data, &k) != nil {
		return nil, false
	}
	for key := range k {
		if key != "apiVersion" && key != "kind" && key != "resources" {
			return nil, false
		}
	}
	list, _ := k["resources"].([]any)
	for _, r := range list {
		f, _ := r.(string)
		if f == "" || !filepath.IsLocal(f) {
			return nil, false
		}
		info, err := os.Lstat(filepath.Join(dir, f))
		if err != nil || !info.Mode().IsRegular() {
			return nil, false
		}
		files = append(files, f)
	}
	return files, len(files) > 0
}

// readPlain reads the objects of a base that lists files alone, as
// Kustomize accumulates them (its resource reader, its order, and its
// refusal of an object declared twice), indexing them instead of scanning.
// A file whose objects the caller read already (known, by the file's path
// in the base) is indexed from those. If it holds one of the objects to
// patch (need), it is read again, as Kustomize reads it, only when that
// object is patched (see built.read): the objects to patch are not all
// held at once. Without known, every file is read now, on every core, and
// only the objects to patch are kept whole.
func readPlain(dir string, files []string, known map[string][]objectID, need map[string]map[objectID]bool) (built, error) {
	b := built{byID: map[objectID]*builtObject{}, byName: map[[2]string][]*builtObject{}, dir: dir, inFile: map[string][]*builtObject{}}
	seen := map[resid.ResId]string{}
	var firstErr error
	parallel.Ordered(len(files), runtime.GOMAXPROCS(0), func(i int) []*builtObject {
		f := files[i]
		key := filepath.Clean(filepath.FromSlash(f))
		if ids, ok := known[key]; ok {
			objs := make([]*builtObject, len(ids))
			for j, id := range ids {
				objs[j] = &builtObject{id: id, rid: residOf(id), file: f, unread: need[key] != nil}
			}
			return objs
		}
		objs, err := readFile(dir, f)
		if err != nil {
			return []*builtObject{{err: err}}
		}
		for _, o := range objs {
			if need[key] != nil && !need[key][o.id] {
				o.res = nil // not patched: its ID will do
			}
		}
		return objs
	}, func(objs []*builtObject) {
		for _, o := range objs {
			if firstErr != nil {
				return
			}
			if o.err != nil {
				firstErr = o.err
				return
			}
			if other, dup := seen[o.rid]; dup {
				firstErr = fmt.Errorf("%s and %s both declare %s: a base builds each object once", other, o.file, o.rid)
				return
			}
			seen[o.rid] = o.file
			b.add(o)
			if o.unread {
				b.inFile[o.file] = append(b.inFile[o.file], o)
			}
		}
	})
	return b, firstErr
}

// read reads a file of the base that readPlain indexed from what the caller
// read, as Kustomize reads it, and gives the objects of it that are
// patched (want) what they are patched from. Kustomize must read the
// objects the caller read, in order. The files' objects are apart, so files
// may be read at once.
func (b built) read(file string, want []*builtObject) error {
	objs, err := readFile(b.dir, file)
	if err != nil {
		return err
	}
	indexed := b.inFile[file]
	if !slices.EqualFunc(objs, indexed, func(o, i *builtObject) bool { return o.id == i.id }) {
		return fmt.Errorf("%s: plimsoll and Kustomize read its objects differently (a bug in plimsoll fix; please report it)", file)
	}
	for i, o := range indexed {
		o.unread = false
		if slices.Contains(want, o) {
			o.res = objs[i].res
		}
	}
	return nil
}

// readFile reads the objects of one file of a base as Kustomize reads them.
func readFile(dir, f string) ([]*builtObject, error) {
	data, err := os.ReadFile(filepath.Join(dir, f))
	if err != nil {
		return nil, err
	}
	rs, err := readResources(data)
	if err != nil {
		return nil, kustomizeError(fmt.Errorf("%s: %w", f, err))
	}
	objs := make([]*builtObject, len(rs))
	for i, r := range rs {
		if objs[i], err = newBuilt(r); err != nil {
			return nil, err
		}
		objs[i].file = f
	}
	return objs, nil
}

// readResources reads a file's objects as Kustomize's resource factory
// does (SliceFromBytes). That copies every node of every object to replace
// YAML aliases, which costs most of the time on a large base: here only an
// object that has an anchor or an alias is copied so, every other step
// alike. A file that holds a List to expand is read by the factory itself.
func readResources(data []byte) ([]*resource.Resource, error) {
	nodes, err := (&kio.ByteReader{OmitReaderAnnotations: true, Reader: bytes.NewReader(data)}).Read()
	if err != nil {
		return nil, err
	}
	var good []*kyaml.RNode
	for _, n := range nodes {
		if strings.HasSuffix(n.GetKind(), "List") {
			return resourceFactory.SliceFromBytes(data)
		}
		if hasAnchors(n.YNode()) {
			if err := n.DeAnchor(); err != nil {
				return nil, err
			}
		}
		if n.IsNilOrEmpty() {
			continue
		}
		if _, err := n.GetValidatedMetadata(); err != nil {
			return nil, err
		}
		if foundNil, path := n.HasNilEntryInList(); foundNil {
			return nil, fmt.Errorf("empty item at %v in object %v", path, n.GetName())
		}
		good = append(good, n)
	}
	return resourceFactory.ResourcesFromRNodes(good)
}

func hasAnchors(n *kyaml.Node) bool {
	if n.Anchor != "" || n.Kind == kyaml.AliasNode {
		return true
	}
	for _, c := range n.Content {
		if hasAnchors(c) {
			return true
		}
	}
	return false
}

// newBuilt is an object of the base as Kustomize read it.
func newBuilt(r *resource.Resource) (*builtObject, error) {
	if r.GetKind() == "" || r.GetName() == "" {
		return nil, fmt.Errorf("an object of the base has no kind or no name: %s", r.CurId())
	}
	return &builtObject{res: r, id: objectID{r.GetApiVersion(), r.GetKind(), r.GetNamespace(), r.GetName()}, rid: r.CurId()}, nil
}

// residOf is the ID Kustomize gives an object (Resource.CurId).
func residOf(id objectID) resid.ResId {
	g, v := resid.ParseGroupVersion(id.apiVersion)
	return resid.NewResIdWithNamespace(resid.NewGvk(g, v, id.kind), id.name, id.namespace)
}

// add indexes an object of the base.
func (b *built) add(o *builtObject) {
	b.byID[o.id] = o
	k := [2]string{o.id.kind, o.id.name}
	b.byName[k] = append(b.byName[k], o)
}

// selects returns the objects of the base a patch's target selects, as
// Kustomize's selector matches them. Write names a target's kind and name
// literally, so only the objects of that kind and name are candidates.
func (b *built) selects(sel targetFields) ([]*builtObject, error) {
	s, err := types.NewSelectorRegex(&types.Selector{ResId: resid.ResId{
		Gvk: resid.Gvk{Group: sel.Group, Version: sel.Version, Kind: sel.Kind}, Name: sel.Name, Namespace: sel.Namespace,
	}})
	if err != nil {
		return nil, err
	}
	var out []*builtObject
	for _, o := range b.byName[[2]string{unquote(sel.Kind), unquote(sel.Name)}] {
		id := o.rid
		if s.MatchGvk(id.Gvk) && s.MatchName(id.Name) && s.MatchNamespace(id.EffectiveNamespace()) {
			out = append(out, o)
		}
	}
	return out, nil
}

// unquote undoes regexp.QuoteMeta on a name: the names Write selects by
// are literal.
func unquote(quoted string) string {
	var b strings.Builder
	for i := 0; i < len(quoted); i++ {
		if quoted[i] == '\\' && i+1 < len(quoted) {
			i++
		}
		b.WriteByte(quoted[i])
	}
	return b.String()
}

// readBase reads what a base builds: file by file when it only lists
// files (see readPlain), else by Kustomize's build.
func readBase(dir string, known map[string][]objectID, need map[string]map[objectID]bool) (built, error) {
	if files, ok := plainResources(dir); ok {
		return readPlain(dir, files, known, need)
	}
	return build(dir)
}

// proveObjects reads each new object's file back as Kustomize reads it,
// and requires the object intended.
func proveObjects(files map[string][]byte, objects []newObject) error {
	for _, o := range objects {
		rs, err := resourceFactory.SliceFromBytes(files[o.file])
		if err != nil || len(rs) != 1 {
			return fmt.Errorf("the file of %s does not read back as one object (a bug in plimsoll fix; please report it): %v", o.id, err)
		}
		if err := intended(rs[0], o.content, o.id); err != nil {
			return err
		}
	}
	return nil
}

// prove applies the target's patch files, as written, to its object with
// Kustomize's own patch code (what its PatchTransformer does to the object
// a target selects: a strategic merge of a copy of the patch given the
// object's group and version, or a JSON patch), the move last, and
// requires the object the sets intend. The object is patched in place:
// nothing needs it after the proof.
func (t *target) prove() error {
	res := t.base.res
	if len(t.sets) > 0 {
		if err := applyPatch(res, t.patch, t.jsonWhy != ""); err != nil {
			return fmt.Errorf("the patch of %s does not apply (a bug in plimsoll fix; please report it): %w", t.id, err)
		}
	}
	if t.move != "" {
		if err := applyPatch(res, t.movePatchFile, true); err != nil {
			return fmt.Errorf("the move of %s does not apply (a bug in plimsoll fix; please report it): %w", t.id, err)
		}
	}
	return intended(res, t.intended, t.id)
}

// onEveryCore calls work(i) for every i in [0, n) on every core, and
// returns the first error in the order of i.
func onEveryCore(n int, work func(i int) error) error {
	var first error
	parallel.Ordered(n, runtime.GOMAXPROCS(0), work, func(err error) {
		if first == nil {
			first = err
		}
	})
	return first
}

// intended requires an object of the overlay to be the one intended, null
// fields aside.
func intended(res *resource.Resource, want map[string]any, id objectID) error {
	got, err := res.Map()
	if err != nil {
		return err
	}
	if g, w := withoutNulls(got), withoutNulls(want); !sameJSON(g, w) {
		if id.kind == "Secret" {
			// The difference would show its values.
			return fmt.Errorf("the overlay does not build %s as intended (a bug in plimsoll fix; please report it)", id)
		}
		diff, _ := cut(cmp.Diff(w, g), 2000)
		return fmt.Errorf("the overlay does not build %s as intended (a bug in plimsoll fix; please report it); -intended +built:\n%s", id, diff)
	}
	return nil
}

func applyPatch(res *resource.Resource, data []byte, json bool) error {
	if data == nil {
		return errors.New("no patch file")
	}
	if json {
		return res.ApplyFilter(patchjson6902.Filter{Patch: string(data)})
	}
	patch, err := resourceFactory.FromBytes(data)
	if err != nil {
		return err
	}
	// As resWrangler.ApplySmPatch prepares the patch for each object.
	p := patch.DeepCopy()
	p.CopyMergeMetaDataFieldsFrom(patch)
	p.SetGvk(res.GetGvk())
	p.SetKind(patch.GetKind())
	return res.ApplySmPatch(p)
}

// withoutNulls drops the null fields of an object, which Kustomize drops
// when it patches one and the API server reads as absent.
func withoutNulls(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			if e != nil {
				out[k] = withoutNulls(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = withoutNulls(e)
		}
		return out
	}
	return v
}
