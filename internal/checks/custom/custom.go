// Package custom loads the checks a team writes itself: each a document of
// kind Check (plimsoll.dev/v1alpha1) that is a ValidatingAdmissionPolicy,
// CEL expressions and all, with the description every check has (title,
// layer, severity, rationale, remediation, checklist item) beside its spec.
// A loaded check is a check.Check like any built-in one: it is listed,
// explained, run, scored in its layer, exempted by ID and reported in every
// format, because all of that goes through the registry.
//
// The policy is compiled once, when it is loaded, and evaluated on each
// object by internal/policy with the API server's own CEL stack: each
// object as the request that creates it, defaulted as the API server
// defaults it (unless it was read from a cluster, which serves it so). A
// check whose rules match Pods judges the Pods that workloads would create
// too, from their templates. An expression that does not compile, fails or
// spends the cost budget makes the check not assessed on the object, with
// the reason: it never passes.
//
// A cluster's own ValidatingAdmissionPolicies are checks too
// (LoadAdmission): one for each binding of a policy, judged as the API
// server judges a request through that binding (its matchResources, its
// params, its validationActions), from the audited inputs, the files of
// --admission-policies, or a cluster.
package custom

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/policy"
)

// Check is a loaded custom check: the check the registry holds, and where
// it came from.
type Check struct {
	*check.Check
	// File and Line locate the check's document.
	File string
	Line int
	// Policy is the check's compiled policy.
	Policy *policy.Policy
	// Params is the object of spec.paramKind its expressions read, or nil.
	Params *unstructured.Unstructured
	// paramsObject is Params as the validator reads it (policy.ParamsObject).
	paramsObject runtime.Object
	// Fixtures is the directory of the check's fixtures for plimsoll test:
	// the directory named after its ID beside its file.
	Fixtures string
	// Admission says, for the check of a cluster's policy, which policy
	// and binding it is and where each was read; "" for a custom check.
	Admission string

	// self are the kind keys whose objects the check judges themselves;
	// pods is set when its rules match Pods, so that it also judges the
	// Pods workloads would create.
	self []string
	pods bool
	// objects are the kinds the check lists with plimsoll.objects, a
	// non-portable extension: such a check judges an object by others,
	// and cannot be exported.
	objects []policy.Kind

	// binding is set on a check of a cluster's policy: it judges requests
	// through one of its bindings (see LoadAdmission).
	binding *bindingEval
	// verdict, when set, says what the API server does with a request the
	// check fails, for the Pods a workload would create (pods) or for the
	// object itself.
	verdict func(pods bool) string
}

// Set is what Load loaded: the checks, sorted by ID, and the files or
// documents that could not be loaded.
type Set struct {
	Checks []*Check
	Errors []*Error
}

// Get returns the custom check with this ID, or nil.
func (s *Set) Get(id string) *Check {
	for _, c := range s.Checks {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// All returns the checks the registry holds.
func (s *Set) All() []*check.Check {
	out := make([]*check.Check, len(s.Checks))
	for i, c := range s.Checks {
		out[i] = c.Check
	}
	return out
}

// Load loads the custom checks of paths: files, and directories of files
// (*.yaml and *.yml directly inside; their subdirectories hold fixtures and
// params). A file or a document that cannot be loaded is in the Set's
// Errors, located, and every other check is loaded. An ID that a built-in
// check (in builtin) or another custom check has is an error.
func Load(paths []string, builtin func(id string) bool) *Set {
	s := &Set{}
	byID := map[string]*Check{}
	for _, p := range paths {
		files, err := checkFiles(p)
		if err != nil {
			s.Errors = append(s.Errors, &Error{File: p, Err: err})
			continue
		}
		for _, f := range files {
			docs, errs := readFile(f)
			s.Errors = append(s.Errors, errs...)
			for _, d := range docs {
				c, ferr := newCheck(f, d)
				if ferr != nil {
					s.Errors = append(s.Errors, ferr.in(f))
					continue
				}
				switch prev := byID[c.ID]; {
				case builtin(c.ID):
					s.Errors = append(s.Errors, &Error{File: f, Line: lineOf(d.node, "metadata.name"), Err: fmt.Errorf("check %s: a built-in check has this ID; a custom check needs an ID of its own", c.ID)})
				case prev != nil:
					s.Errors = append(s.Errors, &Error{File: f, Line: lineOf(d.node, "metadata.name"), Err: fmt.Errorf("check %s: %s:%d has this ID too", c.ID, prev.File, prev.Line)})
				default:
					byID[c.ID] = c
					s.Checks = append(s.Checks, c)
				}
			}
		}
	}
	slices.SortFunc(s.Checks, func(a, b *Check) int { return strings.Compare(a.ID, b.ID) })
	return s
}

// newCheck makes the check of a document, compiling its policy.
func newCheck(file string, d document) (*Check, *fieldError) {
	doc := &d.doc
	fail := func(field string, err error) (*Check, *fieldError) {
		return nil, &fieldError{node: d.node, field: field, err: err}
	}
	id := doc.Metadata.Name
	desc := doc.Check
	if desc.Severity == nil {
		return fail("check", fmt.Errorf("check %s: check.severity is required (info, low, medium, high, critical)", id))
	}
	spec := doc.Spec.DeepCopy()
	policy.Default(spec)
	if errs := policy.Validate(spec); len(errs) > 0 {
		return fail(errs[0].Field, fmt.Errorf("check %s: %s", id, fieldErrors(errs)))
	}
	self, pods, custom, err := kindsOf(spec)
	if err != nil {
		return fail("spec.matchConstraints.resourceRules", fmt.Errorf("check %s: %w", id, err))
	}
	objects, errs := policy.ObjectsKinds(spec)
	if len(errs) > 0 {
		return fail(errs[0].Field, fmt.Errorf("check %s: %s", id, fieldErrors(errs)))
	}
	c := &Check{File: file, Line: d.line, self: self, pods: pods, objects: objects}
	vap := &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: doc.Metadata, Spec: doc.Spec}
	if len(objects) > 0 {
		c.Policy = policy.CompileWithObjects(vap, nil)
	} else {
		c.Policy = policy.Compile(vap)
	}
	switch {
	case spec.ParamKind != nil && desc.Params == "":
		return fail("check", fmt.Errorf("check %s: spec.paramKind needs check.params, the file of the params object", id))
	case spec.ParamKind == nil && desc.Params != "":
		return fail("check.params", fmt.Errorf("check %s: check.params is given, but spec.paramKind is not", id))
	case desc.Params != "":
		if c.Params, err = readParams(file, desc.Params, spec.ParamKind); err != nil {
			return fail("check.params", fmt.Errorf("check %s: %w", id, err))
		}
		c.paramsObject = policy.ParamsObject(c.Params)
	}
	kinds := checkKinds(self, pods)
	reads := []string{"Namespace"}
	if custom {
		reads = append(reads, crdKey)
	}
	for _, k := range objects {
		if key := inventory.KindKeyOf(k.APIVersion, k.Kind); !slices.Contains(reads, key) {
			reads = append(reads, key)
		}
	}
	if slices.ContainsFunc(reads, inventory.IsCustomKey) && !slices.Contains(reads, crdKey) {
		reads = append(reads, crdKey) // whether a custom kind it lists is namespaced
	}
	c.Check = &check.Check{
		ID: id, Title: desc.Title, Layer: desc.Layer, Severity: *desc.Severity,
		Kinds: kinds, Reads: reads,
		Rationale: desc.Rationale, Remediation: desc.Remediation, ChecklistItem: desc.ChecklistItem,
		Applies: c.applies, Run: c.run,
	}
	c.Example = example(file, id)
	c.Fixtures = fixtureDir(file, id)
	if err := validateCheck(c.Check); err != nil {
		return fail("check", err)
	}
	return c, nil
}

// checkKinds are the kinds a check judges: those its rules match, and,
// when they match Pods, the workloads whose templates make Pods.
func checkKinds(self []string, pods bool) []string {
	kinds := slices.Clone(self)
	if pods {
		for _, k := range inventory.WorkloadKinds(func(w inventory.WorkloadKind) bool { return w.Controller }) {
			if !slices.Contains(kinds, k) {
				kinds = append(kinds, k)
			}
		}
	}
	slices.Sort(kinds)
	return kinds
}

// validateCheck holds a custom check to what the registry requires of
// every check, so that the file, not the registry, is what is wrong.
func validateCheck(c *check.Check) error {
	_, err := check.NewRegistry([]*check.Check{c})
	return err
}

// fieldErrors words a policy's field errors as the API server does.
func fieldErrors(errs field.ErrorList) string {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// kindsOf are the kind keys of the built-in resources a policy's rules
// match for CREATE, whether they match Pods, and whether they may match
// custom resources. Rules that match nothing plimsoll can judge are an
// error: every object is judged as the request that creates it.
func kindsOf(spec *admissionregistrationv1.ValidatingAdmissionPolicySpec) (kinds []string, pods, custom bool, err error) {
	creates := false
	for _, r := range spec.MatchConstraints.ResourceRules {
		rule := r.RuleWithOperations
		if !slices.Contains(rule.Operations, admissionregistrationv1.Create) && !slices.Contains(rule.Operations, admissionregistrationv1.OperationAll) {
			continue
		}
		creates = true
		for _, res := range policy.Builtin().Matching(rule, admissionregistrationv1.Create) {
			key := inventory.KindKeyOf(res.GVR().GroupVersion().String(), res.Kind)
			if !slices.Contains(kinds, key) {
				kinds = append(kinds, key)
			}
			pods = pods || res.Group == "" && res.Resource == "pods"
		}
		for _, g := range rule.APIGroups {
			if g == "*" || g != "" && inventory.IsCustomKey("Kind."+g) {
				custom = true
			}
		}
	}
	if custom {
		kinds = append(kinds, inventory.CustomResourceKey)
	}
	switch {
	case !creates:
		return nil, false, false, errors.New("no rule matches the operation CREATE (or *): plimsoll judges each object as the request that creates it, so the check would judge nothing")
	case len(kinds) == 0:
		return nil, false, false, errors.New("the rules match no resource plimsoll judges (a subresource, or a resource no API serves)")
	}
	slices.Sort(kinds)
	return kinds, pods, custom, nil
}

// Objects are the kinds the check lists with plimsoll.objects: a check
// that lists any judges an object by others, so it cannot be exported.
func (c *Check) Objects() []policy.Kind { return c.objects }
