package fix

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

// Change is one fix: fields to set on an existing object, a new object,
// or a suggestion that needs a person's decision.
type Change struct {
	// Check is the check whose findings it fixes.
	Check string `json:"check"`
	// Target is the object it changes or creates.
	Target Ref `json:"target"`
	// Sets are the fields set on an existing object.
	Sets []Set `json:"sets,omitempty"`
	// Create is a new object, and File the name of the file it goes in.
	Create map[string]any `json:"create,omitempty"`
	File   string         `json:"file,omitempty"`
	// Suggestion marks a change that needs a decision (a probe's endpoint,
	// a resource number): it is shown, never applied unless asked for, and
	// its values are placeholders to review.
	Suggestion bool `json:"suggestion,omitempty"`
	// Summary says what it does; Note what to know before taking it (the
	// traffic a default-deny policy cuts, values to review).
	Summary string `json:"summary"`
	Note    string `json:"note,omitempty"`
	// Fixes are the findings it is expected to remove: a check on an
	// object (its ID, as audit.Object.ID names it).
	Fixes []Finding `json:"fixes"`
}

// Finding names a failure of a check on an object.
type Finding struct {
	Check  string `json:"check"`
	Object string `json:"object"`
	// source is where the object was read: inputs may declare two objects
	// of one name (copies of an app meant for different clusters), and the
	// proof counts each one's failures apart.
	source string
}

// creates reports whether the change makes a new object.
func (c *Change) creates() bool { return c.Create != nil }

// Fixer makes the changes that fix a check's failure on an object. It may
// return nothing when no safe change exists.
type Fixer struct {
	// Summary says, for plimsoll checks and checks explain, what the fix
	// does.
	Summary string
	// Decision marks fixes that are only suggestions.
	Decision bool
	Fix      func(o *inventory.Object, c *Context) []Change
}

// Context is what a fixer consults: the inventory of the inputs.
type Context struct {
	Inventory *inventory.Inventory
}

// Describe says what the fix of a check does, or "" when it has none.
func Describe(checkID string) string {
	f, ok := fixers[checkID]
	if !ok {
		return ""
	}
	if f.Decision {
		return "suggested, not applied: " + f.Summary
	}
	return f.Summary
}

// Options choose the changes a plan makes.
type Options struct {
	// Checks, when set, limits the plan to these checks.
	Checks []string
	// Layers, when set, limits it to the checks of these layers.
	Layers []string
	// Suggest includes the suggestions as changes with placeholder values.
	Suggest bool
}

// Plan returns the changes that fix the failures of an audit of inv, one
// per object and check, sorted; a new object that several findings call
// for (a namespace's NetworkPolicy) is made once.
func Plan(inv *inventory.Inventory, a *audit.Audit, o Options) []Change {
	c := &Context{Inventory: inv}
	byID := map[string]*inventory.Object{}
	for _, obj := range inv.Objects() {
		byID[objectKey(obj.ID(), obj.Source)] = obj
	}
	seen := map[string]bool{}
	var out []Change
	for _, r := range a.Results {
		if r.Status != audit.Fail {
			continue
		}
		f, ok := fixers[r.Check.ID]
		if !ok || (len(o.Checks) > 0 && !slices.Contains(o.Checks, r.Check.ID)) || (len(o.Layers) > 0 && !slices.Contains(o.Layers, string(r.Check.Layer))) {
			continue
		}
		key := r.Check.ID + "\x00" + objectKey(r.Object.ID(), r.Object.Source)
		obj := byID[objectKey(r.Object.ID(), r.Object.Source)]
		if seen[key] || obj == nil {
			continue
		}
		seen[key] = true
		for _, ch := range f.Fix(obj, c) {
			ch.Check = r.Check.ID
			ch.Suggestion = ch.Suggestion || f.Decision
			out = append(out, ch)
		}
	}
	return merge(out)
}

// merge makes each new object once, joining what the changes that create
// it fix, and sorts the changes by target, then check.
func merge(changes []Change) []Change {
	same := map[string]int{}
	var out []Change
	for _, ch := range changes {
		// One object created once; one patch made once when two checks
		// call for it.
		k := ch.Target.key()
		if !ch.creates() {
			k += "\x00" + ch.Summary
		}
		if i, ok := same[k]; ok {
			out[i].Fixes = append(out[i].Fixes, ch.Fixes...)
			continue
		}
		same[k] = len(out)
		out = append(out, ch)
	}
	for i := range out {
		if len(out[i].Fixes) < 2 {
			continue // most changes fix one finding: no copy to hold
		}
		out[i].Fixes = slices.Compact(slices.SortedFunc(slices.Values(out[i].Fixes), func(a, b Finding) int {
			return cmp.Or(strings.Compare(a.Check, b.Check), strings.Compare(a.Object, b.Object), strings.Compare(a.source, b.source))
		}))
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Target.key() != b.Target.key() {
			return a.Target.key() < b.Target.key()
		}
		return a.Check < b.Check
	})
	return out
}

// key tells objects apart: two inputs may declare objects of one name
// (copies of an app in files meant for different clusters).
func (r Ref) key() string {
	return strings.Join([]string{r.Namespace, r.Kind, r.Name, r.APIVersion, r.File, fmt.Sprint(r.Line)}, "/")
}

// objectKey names an object and where it was read.
func objectKey(id string, src inventory.Source) string {
	return id + "\x00" + src.String()
}

// ID names the object as audit.Object.ID does.
func (r Ref) ID() string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

// RefOf names an object and where it was read.
func RefOf(o *inventory.Object) Ref {
	return Ref{APIVersion: o.APIVersion, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name, File: o.Source.File, Line: o.Source.Line}
}

func findingOn(check string, o *inventory.Object) []Finding {
	return []Finding{{Check: check, Object: o.ID(), source: o.Source.String()}}
}

// String says what the change does, for people.
func (c Change) String() string {
	verb := "patch"
	switch {
	case c.Suggestion:
		verb = "suggest"
	case c.creates():
		verb = "create"
	}
	return fmt.Sprintf("%s %s (%s): %s", verb, c.Target.ID(), c.Check, c.Summary)
}
