// Package fix turns findings into changes: objects to create, fields to set
// on existing objects, and suggestions that need a person's decision. The
// changes are written as a diff, in place (internal/fix/yamledit) or as a
// Kustomize overlay (internal/fix/overlay), and each is proven by a
// re-audit before anything is written.
package fix

// Ref names an object and where it was read.
type Ref struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	// File and Line locate the object among the inputs (Line is where its
	// mapping starts, 1-based); empty for an object that does not exist yet.
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
}

// Step is one step of a field path: a mapping key, or an element of a
// sequence, found by its index and, for lists Kubernetes merges by name
// (containers, initContainers, ports, volumes...), by that name.
type Step struct {
	Key string `json:"key,omitempty"`
	// Index is the element's index in the sequence, when Key is empty.
	Index int `json:"index,omitempty"`
	// Name is the element's merge key value (its name), when the list is
	// merged by name; a strategic-merge patch finds the element by it.
	Name string `json:"name,omitempty"`
}

// Set sets the value at a path of an object; the mappings on the way are
// created when missing. Value is a scalar, a map[string]any or a []any.
type Set struct {
	Path  []Step `json:"path"`
	Value any    `json:"value"`
}
