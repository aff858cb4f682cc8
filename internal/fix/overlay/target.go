package overlay

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/kustomize/kyaml/openapi"
	"sigs.k8s.io/kustomize/kyaml/resid"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/plimsoll/plimsoll/internal/fix"
)

// target is one object of the base to patch, and how.
type target struct {
	id       objectID
	base     *builtObject
	selector targetFields
	file     string
	sets     []fix.Set
	reasons  []string
	// resolved are the sets, in order, each resolved against the object as
	// the sets before it left it; intended is the object after them all.
	resolved []resolved
	intended map[string]any
	// jsonWhy says why the patch is a JSON patch; "" for a strategic merge.
	jsonWhy string
	sch     schemaNode
	// merge is the strategic-merge patch, when there is one; filled says
	// whether its lists name elements only to keep their order.
	merge  map[string]any
	filled bool
	// move is the apiVersion a set moves the object to, or "": a patch of
	// its own, listed after every other, as those find the object at the
	// version the base builds it at.
	move string
	// patch and movePatchFile are the files of the patch and of the move,
	// as written (see write).
	patch, movePatchFile []byte
}

// planTargets finds each patch's target among the base's objects, joins
// the patches of one object, works out the patch of each and writes its
// files. With prove, it proves each target's files as it writes them (see
// prove), and then frees what the proof needed: the base's object, and
// the object intended. The targets of one file of the base that is still
// to be read (see readPlain) are done together, on one core, after it is
// read; each other target on its own. So no more than a few files'
// objects are held at once.
func planTargets(base built, patches []Patch, prove bool) ([]*target, error) {
	var targets []*target
	byID := map[objectID]*target{}
	for _, p := range patches {
		b, sel, err := find(base, p.Target)
		if err != nil {
			return nil, err
		}
		id := b.id
		t := byID[id]
		if t == nil {
			t = &target{id: id, base: b, selector: sel, file: patchFileName(p.Target)}
			byID[id] = t
			targets = append(targets, t)
		}
		t.sets = append(t.sets, p.Sets...)
		for _, r := range p.Reasons {
			if !slices.Contains(t.reasons, r) {
				t.reasons = append(t.reasons, r)
			}
		}
	}
	files := map[string]objectID{}
	for _, t := range targets {
		if other, dup := files[t.file]; dup {
			return nil, fmt.Errorf("the patches of %s and %s would both be %s", other, t.id, t.file)
		}
		files[t.file] = t.id
	}
	var units [][]*target
	unitOf := map[string]int{} // a file still to be read -> its unit
	for _, t := range targets {
		if !t.base.unread {
			units = append(units, []*target{t})
			continue
		}
		i, ok := unitOf[t.base.file]
		if !ok {
			i = len(units)
			unitOf[t.base.file] = i
			units = append(units, nil)
		}
		units[i] = append(units[i], t)
	}
	err := onEveryCore(len(units), func(i int) error {
		if u := units[i]; u[0].base.unread {
			want := make([]*builtObject, len(u))
			for j, t := range u {
				want[j] = t.base
			}
			if err := base.read(u[0].base.file, want); err != nil {
				return err
			}
		}
		for _, t := range units[i] {
			if err := t.plan(); err != nil {
				return err
			}
			if err := t.write(); err != nil {
				return err
			}
			if !prove {
				continue
			}
			if err := t.prove(); err != nil {
				return err
			}
			t.base.res, t.intended, t.resolved, t.merge = nil, nil, nil, nil
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(targets, func(a, b *target) int { return strings.Compare(a.file, b.file) })
	return targets, nil
}

// find finds a patch's target among the base's objects by group, kind,
// namespace and name, and returns the selector the kustomization names it
// by. Kustomize matches each of a selector's fields as a regular
// expression, an empty one as anything, and an object without a namespace
// as one in "default": the selector must match that one object of the
// base, and nothing else.
func find(base built, ref fix.Ref) (*builtObject, targetFields, error) {
	what := objectID{ref.APIVersion, ref.Kind, ref.Namespace, ref.Name}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil || ref.Kind == "" || ref.Name == "" {
		return nil, targetFields{}, fmt.Errorf("patch target %s: an apiVersion, a kind and a name are needed", what)
	}
	candidates := base.byName[[2]string{ref.Kind, ref.Name}]
	var found []*builtObject
	for _, b := range candidates {
		g, _ := schema.ParseGroupVersion(b.id.apiVersion)
		if g.Group == gv.Group && b.id.namespace == ref.Namespace {
			found = append(found, b)
		}
	}
	if len(found) > 1 { // the same object at two versions: take the one named
		found = slices.DeleteFunc(found, func(b *builtObject) bool { return b.id.apiVersion != ref.APIVersion })
	}
	switch len(found) {
	case 0:
		var near []string // the same kind and name elsewhere
		for _, b := range candidates {
			near = append(near, b.id.String())
		}
		slices.Sort(near)
		if len(near) > 0 {
			return nil, targetFields{}, fmt.Errorf("patch target %s is not among the objects the base builds (it has %s)", what, strings.Join(near, ", "))
		}
		return nil, targetFields{}, fmt.Errorf("patch target %s is not among the objects the base builds", what)
	case 1:
	default:
		return nil, targetFields{}, fmt.Errorf("patch target %s: the base builds it at more than one version; name the version", what)
	}
	gvk := found[0].rid.Gvk
	namespace := found[0].rid.EffectiveNamespace()
	if namespace == resid.TotallyNotANamespace {
		namespace = ""
	}
	sel := targetFields{
		Group:     regexp.QuoteMeta(gvk.Group),
		Version:   regexp.QuoteMeta(gvk.Version),
		Kind:      regexp.QuoteMeta(gvk.Kind),
		Namespace: regexp.QuoteMeta(namespace),
		Name:      regexp.QuoteMeta(found[0].id.name),
	}
	matches, err := base.selects(sel)
	if err != nil {
		return nil, targetFields{}, fmt.Errorf("patch target %s: %w", what, err)
	}
	for _, m := range matches {
		if m != found[0] {
			return nil, targetFields{}, fmt.Errorf("patch target %s: Kustomize's selector for it would also patch %s", what, m.id)
		}
	}
	return found[0], sel, nil
}

// patchFileName is patch-<kind>-<namespace>-<name>.yaml, lower case, with
// any character a file name should not have replaced.
func patchFileName(ref fix.Ref) string {
	parts := []string{"patch", ref.Kind}
	if ref.Namespace != "" {
		parts = append(parts, ref.Namespace)
	}
	parts = append(parts, ref.Name)
	name := strings.ToLower(strings.Join(parts, "-"))
	return unsafeInFileName.ReplaceAllString(name, "_") + ".yaml"
}

var unsafeInFileName = regexp.MustCompile(`[^a-z0-9._-]`)

// plan resolves the target's sets one after another, works out the object
// they leave, and whether a strategic merge can express them.
func (t *target) plan() error {
	t.sets = slices.DeleteFunc(t.sets, func(s fix.Set) bool {
		v, ok := s.Value.(string)
		if ok && len(s.Path) == 1 && s.Path[0].Key == "apiVersion" && t.move == "" {
			t.move = v
			return true
		}
		return false
	})
	if len(t.sets) == 0 && t.move == "" {
		return fmt.Errorf("the patch of %s sets nothing", t.id)
	}
	sch := schemaNode{openapi.SchemaForResourceType(kyaml.TypeMeta{APIVersion: t.id.apiVersion, Kind: t.id.kind})}
	content, err := t.base.res.Map()
	if err != nil {
		return fmt.Errorf("%s: %w", t.id, err)
	}
	obj := content
	if len(t.sets) == 0 {
		t.intended = t.moved(obj)
		return nil
	}
	wrote := map[string]any{} // what the sets so far wrote, by JSON pointer
	for _, s := range t.sets {
		r, err := resolve(obj, sch, s)
		if err != nil {
			return fmt.Errorf("the patch of %s: %s: %w", t.id, fix.PathString(s.Path), err)
		}
		obj = put(obj, r.hops, r.value, atIndex).(map[string]any)
		for p, v := range wrote {
			if !sameJSON(valueAt(obj, p), v) {
				return fmt.Errorf("the patch of %s: %s: two sets give it different values", t.id, fix.PathString(s.Path))
			}
		}
		for _, p := range leaves(r.pointer(), r.old, r.value) {
			wrote[p] = valueAt(obj, p)
		}
		t.resolved = append(t.resolved, r)
		if t.jsonWhy == "" {
			t.jsonWhy = r.jsonWhy
		}
	}
	t.intended = t.moved(obj)
	t.sch = sch
	if t.jsonWhy == "" {
		var ok bool
		if t.merge, t.filled, ok = t.strategicMerge(); !ok {
			t.jsonWhy = "an element that a strategic merge must name, to keep the order of its list, has no merge key"
		}
	}
	return nil
}

// moved is obj at the version the target moves to.
func (t *target) moved(obj map[string]any) map[string]any {
	if t.move != "" {
		obj = clone(obj).(map[string]any)
		obj["apiVersion"] = t.move
	}
	return obj
}

// builtID is what the overlay builds the target as.
func (t *target) builtID() objectID {
	id := t.id
	if t.move != "" {
		id.apiVersion = t.move
	}
	return id
}

// movePatch is the JSON patch that moves the target to another version,
// testing the version it moves from.
func (t *target) movePatch() []any {
	return []any{jsonOp("test", "/apiVersion", t.id.apiVersion), jsonOp("replace", "/apiVersion", t.move)}
}

// moveFile is the name of the file of a target's move.
func moveFile(t *target) string { return "move-" + strings.TrimPrefix(t.file, "patch-") }
