package custom

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kjson "sigs.k8s.io/json"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/policy"
)

// The kind keys of a cluster's own admission policies.
const (
	VAPKey        = "ValidatingAdmissionPolicy.admissionregistration.k8s.io"
	VAPBindingKey = "ValidatingAdmissionPolicyBinding.admissionregistration.k8s.io"
	admissionV1   = "admissionregistration.k8s.io/v1"
)

// AdmissionPrefix starts the ID of every check made of a cluster's
// ValidatingAdmissionPolicy and one of its bindings: admission-BINDING.
const AdmissionPrefix = "admission-"

// AdmissionObject is an object of a cluster's admission configuration: a
// ValidatingAdmissionPolicy, a binding, or an object their params may
// name, with where it came from.
type AdmissionObject struct {
	Object *unstructured.Unstructured
	// File and Line locate it in a file; File is "" for an object read
	// from a cluster or a snapshot.
	File string
	Line int
	// Origin says where an object came from when it was not a plain file:
	// "cluster prod", "snapshot prod.json.gz".
	Origin string
	// node is its document, to locate fields in; nil when it is not
	// at hand (read again from File when an error needs a line).
	node *yaml.Node
	// fromInputs marks an object among the audited inputs: a params
	// object there is looked up in the inventory instead.
	fromInputs bool
}

// where names the object for people: file:line, or its kind and name and
// where it was read.
func (o AdmissionObject) where() string {
	if o.File != "" {
		return fmt.Sprintf("%s:%d", o.File, o.Line)
	}
	return fmt.Sprintf("%s %s (%s)", o.Object.GetKind(), o.Object.GetName(), o.Origin)
}

// AdmissionError is a policy or a binding that cannot be judged as the API
// server would, located at its file and line, or named as a cluster
// object.
type AdmissionError struct {
	File   string
	Line   int
	Object string
	Err    error
}

func (e *AdmissionError) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	case e.File != "":
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Object, e.Err)
}

// AdmissionSet is what LoadAdmission made of a cluster's admission
// policies: a check for each binding of a policy, sorted by ID; the
// policies and bindings that could not be loaded, or whose expressions
// do not compile; and those passed over, with why (a policy nothing binds
// judges nothing).
type AdmissionSet struct {
	Checks  []*Check
	Errors  []*AdmissionError
	Skipped []string
}

// All returns the checks the registry holds.
func (s *AdmissionSet) All() []*check.Check {
	out := make([]*check.Check, len(s.Checks))
	for i, c := range s.Checks {
		out[i] = c.Check
	}
	return out
}

// Get returns the check with this ID, or nil.
func (s *AdmissionSet) Get(id string) *Check {
	for _, c := range s.Checks {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// ReadAdmission reads the objects of files and directories (recursively:
// *.yaml, *.yml, *.json) that hold a cluster's admission policies, their
// bindings and the objects their params name. Params objects keep every
// value, ConfigMaps' included: they are the policies' configuration, not
// the inputs audited. A document that does not parse is an error at its
// line; the others are read.
func ReadAdmission(paths []string) ([]AdmissionObject, []*AdmissionError) {
	var out []AdmissionObject
	var errs []*AdmissionError
	for _, p := range paths {
		var files []string
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if path != p && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if ext := filepath.Ext(path); !d.IsDir() && (path == p || ext == ".yaml" || ext == ".yml" || ext == ".json") {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, &AdmissionError{File: p, Err: err})
			continue
		}
		if len(files) == 0 {
			errs = append(errs, &AdmissionError{File: p, Err: errors.New("holds no file of admission policies (*.yaml, *.yml, *.json)")})
		}
		for _, f := range files {
			objs, ferrs := readAdmissionFile(f)
			out = append(out, objs...)
			errs = append(errs, ferrs...)
		}
	}
	return out, errs
}

// readAdmissionFile reads every object of one file.
func readAdmissionFile(path string) ([]AdmissionObject, []*AdmissionError) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, []*AdmissionError{{File: path, Err: err}}
	}
	var out []AdmissionObject
	var errs []*AdmissionError
	line, msg := eachDocument(data, func(n *yaml.Node) {
		var m map[string]any
		if err := n.Decode(&m); err != nil {
			errs = append(errs, &AdmissionError{File: path, Line: n.Line, Err: fmt.Errorf("not a mapping: %v", err)})
			return
		}
		// Through JSON: the numbers CEL reads are int64 and float64.
		u := &unstructured.Unstructured{}
		b, err := json.Marshal(m)
		if err == nil {
			err = u.UnmarshalJSON(b)
		}
		if err != nil {
			errs = append(errs, &AdmissionError{File: path, Line: n.Line, Err: err})
			return
		}
		out = append(out, AdmissionObject{Object: u, File: path, Line: contentLine(n), node: n})
	})
	if msg != "" {
		errs = append(errs, &AdmissionError{File: path, Line: line, Err: errors.New(msg)})
	}
	return out, errs
}

// contentLine is the line a document's content starts at.
func contentLine(n *yaml.Node) int {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		return n.Content[0].Line
	}
	return n.Line
}

// AdmissionFromInventory returns the ValidatingAdmissionPolicies and
// bindings among objects: the audited inputs, or what a cluster or a
// snapshot holds.
func AdmissionFromInventory(objs []*inventory.Object) []AdmissionObject {
	var out []AdmissionObject
	for _, o := range objs {
		if k := o.KindKey(); (k != VAPKey && k != VAPBindingKey) || o.Content == nil {
			continue
		}
		out = append(out, AdmissionObject{
			Object: &unstructured.Unstructured{Object: o.Content}, File: o.Source.File, Line: o.Source.Line,
			Origin: o.Source.Origin, fromInputs: true,
		})
	}
	return out
}

// LoadAdmission makes a check of each binding of objs' policies, judged as
// the API server judges a request against the policy through that binding.
// A policy or a binding of another name comes first: the audited inputs,
// then the files of --admission-policies, then the cluster, as the caller
// orders objs. taken says which IDs other checks have.
func LoadAdmission(objs []AdmissionObject, taken func(id string) bool) *AdmissionSet {
	s := &AdmissionSet{}
	policies := map[string]*admissionPolicy{}
	var bindings []*admissionBinding
	boundNames := map[string]bool{}
	var params []*unstructured.Unstructured
	for _, o := range objs {
		gvk := o.Object.GroupVersionKind()
		isVAP := gvk.Group == admissionregistrationv1.GroupName && gvk.Kind == "ValidatingAdmissionPolicy"
		isBinding := gvk.Group == admissionregistrationv1.GroupName && gvk.Kind == "ValidatingAdmissionPolicyBinding"
		if (isVAP || isBinding) && gvk.Version != "v1" {
			s.Skipped = append(s.Skipped, fmt.Sprintf("%s: %s at %s: plimsoll judges admissionregistration.k8s.io/v1, the version the API server stores", o.where(), gvk.Kind, gvk.Version))
			continue
		}
		switch {
		case isVAP:
			if prev, dup := policies[o.Object.GetName()]; dup {
				s.Skipped = append(s.Skipped, fmt.Sprintf("%s: ValidatingAdmissionPolicy %s is also at %s, which is judged", o.where(), o.Object.GetName(), prev.src.where()))
				continue
			}
			p, err := decodePolicy(o)
			if err != nil {
				s.Errors = append(s.Errors, err)
				continue
			}
			policies[o.Object.GetName()] = p
		case isBinding:
			if boundNames[o.Object.GetName()] {
				s.Skipped = append(s.Skipped, fmt.Sprintf("%s: a ValidatingAdmissionPolicyBinding named %s comes earlier, and is judged", o.where(), o.Object.GetName()))
				continue
			}
			boundNames[o.Object.GetName()] = true
			b, err := decodeBinding(o)
			if err != nil {
				s.Errors = append(s.Errors, err)
				continue
			}
			bindings = append(bindings, b)
		case !o.fromInputs:
			params = append(params, o.Object)
		}
	}
	bound := map[string]bool{}
	byID := map[string]*admissionBinding{}
	for _, b := range bindings {
		p := policies[b.binding.Spec().PolicyName]
		if p == nil {
			s.Skipped = append(s.Skipped, fmt.Sprintf("%s: binding %s names ValidatingAdmissionPolicy %s, which is not among the policies read; it enforces nothing", b.src.where(), b.binding.Name(), b.binding.Spec().PolicyName))
			continue
		}
		bound[p.vap.Name] = true
		if p.skip != "" {
			continue
		}
		id := admissionID(b.binding.Name())
		switch prev := byID[id]; {
		case taken(id):
			s.Errors = append(s.Errors, b.src.errorAt("metadata.name", fmt.Errorf("binding %s: its check ID %s is another check's", b.binding.Name(), id)))
			continue
		case prev != nil:
			s.Errors = append(s.Errors, b.src.errorAt("metadata.name", fmt.Errorf("binding %s: its check ID %s is binding %s's too (%s)", b.binding.Name(), id, prev.binding.Name(), prev.src.where())))
			continue
		}
		byID[id] = b
		c, err := newAdmissionCheck(id, p, b, params)
		if err != nil {
			s.Errors = append(s.Errors, err)
			continue
		}
		s.Checks = append(s.Checks, c)
		if errs := c.Policy.CompileErrors(); len(errs) > 0 {
			s.Errors = append(s.Errors, p.src.errorAt(errs[0].Field, fmt.Errorf("ValidatingAdmissionPolicy %s does not compile, and binding %s is not assessed: %s", p.vap.Name, b.binding.Name(), fieldErrors(errs))))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(policies)) {
		p := policies[name]
		switch {
		case p.skip != "":
			s.Skipped = append(s.Skipped, fmt.Sprintf("%s: ValidatingAdmissionPolicy %s %s", p.src.where(), name, p.skip))
		case !bound[name]:
			s.Skipped = append(s.Skipped, fmt.Sprintf("%s: ValidatingAdmissionPolicy %s: no binding among those read names it, and the API server enforces only bound policies", p.src.where(), name))
		}
	}
	slices.SortFunc(s.Checks, func(a, b *Check) int { return strings.Compare(a.ID, b.ID) })
	return s
}

// notKebab are the runs of characters an object name may have and a check
// ID may not.
var notKebab = regexp.MustCompile(`[^a-z0-9]+`)

// admissionID is the check ID of a binding: admission-NAME, with the dots
// of the name made dashes. A binding names exactly one policy and its name
// is unique in a cluster, so the ID is as stable as the binding itself,
// and every binding of a policy (each with its own scope, params and
// actions) is a check of its own.
func admissionID(binding string) string {
	return AdmissionPrefix + strings.Trim(notKebab.ReplaceAllString(strings.ToLower(binding), "-"), "-")
}

// errorAt is an error at a field of the object: its line in the file, or
// the cluster object.
func (o AdmissionObject) errorAt(fieldPath string, err error) *AdmissionError {
	if o.File == "" {
		return &AdmissionError{Object: fmt.Sprintf("%s %s (%s)", o.Object.GetKind(), o.Object.GetName(), o.Origin), Err: err}
	}
	node := o.node
	if node == nil {
		node = documentAt(o.File, o.Line)
	}
	line := o.Line
	if node != nil && fieldPath != "" {
		line = lineOf(node, fieldPath)
	}
	return &AdmissionError{File: o.File, Line: line, Err: err}
}

// documentAt reads again the document of a file that starts at a line, to
// find the line of a field in it; nil when it cannot.
func documentAt(file string, line int) *yaml.Node {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			return nil
		}
		if contentLine(&n) == line || n.Line == line {
			return &n
		}
	}
}

// admissionPolicy is a decoded ValidatingAdmissionPolicy.
type admissionPolicy struct {
	vap *admissionregistrationv1.ValidatingAdmissionPolicy
	src AdmissionObject
	// skip says why the policy judges nothing offline, or "".
	skip string
}

// admissionBinding is a decoded ValidatingAdmissionPolicyBinding.
type admissionBinding struct {
	binding *policy.Binding
	src     AdmissionObject
}

// strictDecode decodes an object as the API server does under strict field
// validation: a field its type does not have is an error, at its path.
func strictDecode(o AdmissionObject, into any) *AdmissionError {
	data, err := json.Marshal(o.Object.Object)
	if err != nil {
		return o.errorAt("", err)
	}
	strict, err := kjson.UnmarshalStrict(data, into, kjson.DisallowUnknownFields)
	if err == nil && len(strict) > 0 {
		err = strict[0]
	}
	if err == nil {
		return nil
	}
	path := ""
	var f kjson.FieldError
	if errors.As(err, &f) {
		path = f.FieldPath()
	}
	return o.errorAt(path, fmt.Errorf("%s %s: %w", o.Object.GetKind(), o.Object.GetName(), err))
}

func decodePolicy(o AdmissionObject) (*admissionPolicy, *AdmissionError) {
	vap := &admissionregistrationv1.ValidatingAdmissionPolicy{}
	if err := strictDecode(o, vap); err != nil {
		return nil, err
	}
	p := &admissionPolicy{vap: vap, src: o}
	spec := vap.Spec.DeepCopy()
	policy.Default(spec)
	if len(spec.Validations) == 0 {
		p.skip = "has no validations (only auditAnnotations, which plimsoll does not evaluate): it refuses nothing"
		return p, nil
	}
	if errs := policy.Validate(spec); len(errs) > 0 {
		return nil, o.errorAt(errs[0].Field, fmt.Errorf("ValidatingAdmissionPolicy %s: %s", vap.Name, fieldErrors(errs)))
	}
	if _, _, _, err := kindsOf(spec); err != nil {
		p.skip = "judges nothing an offline audit sends: " + err.Error()
	}
	return p, nil
}

func decodeBinding(o AdmissionObject) (*admissionBinding, *AdmissionError) {
	b := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{}
	if err := strictDecode(o, b); err != nil {
		return nil, err
	}
	if errs := policy.ValidateBinding(&b.Spec); len(errs) > 0 {
		return nil, o.errorAt(errs[0].Field, fmt.Errorf("ValidatingAdmissionPolicyBinding %s: %s", b.Name, fieldErrors(errs)))
	}
	return &admissionBinding{binding: policy.NewBinding(b), src: o}, nil
}

// severityOf maps a binding's validationActions to a severity: what the
// API server does with an object the policy fails. The highest action
// wins.
func severityOf(actions []admissionregistrationv1.ValidationAction) check.Severity {
	switch {
	case slices.Contains(actions, admissionregistrationv1.Deny):
		return check.High // the object is refused
	case slices.Contains(actions, admissionregistrationv1.Warn):
		return check.Medium // the client is warned
	}
	return check.Info // only the audit log records it
}

// verdict says what the API server does with an object the binding fails.
func verdict(actions []admissionregistrationv1.ValidationAction, pods bool) string {
	them := "this object"
	if pods {
		them = "them"
	}
	switch {
	case slices.Contains(actions, admissionregistrationv1.Deny):
		return "admission will refuse " + them + ": "
	case slices.Contains(actions, admissionregistrationv1.Warn):
		return "admission will warn about " + them + ": "
	}
	return "admission will record " + them + " as failing, in the audit log: "
}

// newAdmissionCheck makes the check of a policy through one binding.
func newAdmissionCheck(id string, p *admissionPolicy, b *admissionBinding, params []*unstructured.Unstructured) (*Check, *AdmissionError) {
	spec := p.vap.Spec.DeepCopy()
	policy.Default(spec)
	self, pods, crs, err := kindsOf(spec)
	if err != nil {
		return nil, p.src.errorAt("spec.matchConstraints.resourceRules", err)
	}
	bs := b.binding.Spec()
	c := &Check{
		File: p.src.File, Line: p.src.Line, self: self, pods: pods,
		Policy:  policy.Compile(p.vap),
		binding: &bindingEval{binding: b.binding, paramKind: spec.ParamKind, extra: params},
	}
	kinds := checkKinds(self, pods)
	reads := []string{"Namespace"}
	if crs {
		reads = append(reads, crdKey)
	}
	if pk := spec.ParamKind; pk != nil && bs.ParamRef != nil {
		c.binding.paramKey = inventory.KindKeyOf(pk.APIVersion, pk.Kind)
		if !slices.Contains(reads, c.binding.paramKey) && !slices.Contains(kinds, c.binding.paramKey) {
			reads = append(reads, c.binding.paramKey)
		}
		// Whether a custom params kind is namespaced is its
		// CustomResourceDefinition's to say.
		if inventory.IsCustomKey(c.binding.paramKey) && !slices.Contains(reads, crdKey) {
			reads = append(reads, crdKey)
		}
	}
	actions := make([]string, len(bs.ValidationActions))
	for i, a := range bs.ValidationActions {
		actions[i] = string(a)
	}
	from := p.src.where()
	c.Check = &check.Check{
		ID:       id,
		Title:    fmt.Sprintf("ValidatingAdmissionPolicy %s admits it (binding %s: %s)", p.vap.Name, b.binding.Name(), strings.Join(actions, ", ")),
		Layer:    check.Governance,
		Severity: severityOf(bs.ValidationActions),
		Kinds:    kinds,
		Reads:    reads,
		Rationale: fmt.Sprintf("The cluster's API server judges every request that ValidatingAdmissionPolicy %s and its binding %s match, with validationActions %s: "+
			"what fails it is refused (Deny), warned about (Warn) or recorded in the audit log (Audit) when it is applied. Found offline, it is fixed before a deploy fails on it.",
			p.vap.Name, b.binding.Name(), strings.Join(actions, ", ")),
		Remediation:   fmt.Sprintf("Change the object so that the validations of ValidatingAdmissionPolicy %s hold (%s), or agree an exception with its owners (the binding's matchResources, or its params).", p.vap.Name, from),
		ChecklistItem: "Governance: objects pass the cluster's own admission policies (ValidatingAdmissionPolicy " + p.vap.Name + ")",
		Applies:       c.applies,
		Run:           c.run,
	}
	c.verdict = func(pods bool) string { return verdict(bs.ValidationActions, pods) }
	c.Admission = fmt.Sprintf("ValidatingAdmissionPolicy %s (%s), through its binding %s (%s)", p.vap.Name, from, b.binding.Name(), b.src.where())
	if err := validateCheck(c.Check); err != nil {
		return nil, b.src.errorAt("metadata.name", err)
	}
	return c, nil
}

// AdmissionParams returns the objects a cluster holds that params may
// name: read from a cluster beside the audited manifests, they are judged
// after the inputs, which replace them.
func AdmissionParams(objs []*inventory.Object) []AdmissionObject {
	var out []AdmissionObject
	for _, o := range objs {
		if o.Content == nil || o.KindKey() == inventory.ClusterKey {
			continue
		}
		out = append(out, AdmissionObject{Object: &unstructured.Unstructured{Object: o.Content}, Origin: o.Source.Origin})
	}
	return out
}
