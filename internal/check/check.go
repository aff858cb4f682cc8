// Package check is plimsoll's vocabulary: what a check is, the layers and
// severities it is filed under, the findings it returns and the registry that
// holds every check. It does no I/O.
//
// A check is a value. Its ID is public API: it appears in configuration,
// annotations, metrics and reports, and is never renamed. Its Run function is
// pure: everything it needs is in the inventory and the parameters handed to
// it, built before any check runs.
package check

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// Layer is one of the six layers of the production-readiness checklists.
type Layer string

// The layers, in the order reports show them.
const (
	Infrastructure  Layer = "infrastructure"
	ClusterServices Layer = "cluster-services"
	Security        Layer = "security"
	Workloads       Layer = "workloads"
	Governance      Layer = "governance"
	Upgrade         Layer = "upgrade"
)

// Layers returns every layer in report order.
func Layers() []Layer {
	return []Layer{Infrastructure, ClusterServices, Security, Workloads, Governance, Upgrade}
}

// Severity says how much a failure matters. Info findings are shown but never
// lower a score.
type Severity int

// The severities, lowest first.
const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = []string{"info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < Info || s > Critical {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// Weight is the severity's weight in a score.
func (s Severity) Weight() int {
	return []int{0, 1, 3, 6, 10}[s]
}

// ParseSeverity reads a severity name as written in configuration and flags.
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(name, n) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want one of %s)", name, strings.Join(severityNames, ", "))
}

// MarshalText writes the severity's name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a severity's name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Requirement says what an audit must be able to see for a check to be
// assessed at all.
type Requirement string

const (
	// Manifests checks can be assessed from declared objects alone.
	Manifests Requirement = ""
	// Cluster checks need a live cluster or a snapshot of one.
	Cluster Requirement = "cluster"
	// Declared checks judge how manifests declare objects, which a cluster
	// does not show: it serves every object at whatever version is asked
	// for, and holds only objects its API server accepted.
	Declared Requirement = "declared"
)

// Outcome says what a Finding is. The zero value is a failure, so most
// checks never name it.
type Outcome uint8

const (
	// Failed findings are something wrong with the object.
	Failed Outcome = iota
	// Evidence says what satisfied the check: the object and field that
	// show a requirement is met. It never fails the check; a check that
	// returns only evidence passes, with the evidence as its message.
	Evidence
	// Unassessable says the check cannot be judged on this object from
	// what the audit can see (a managed control plane hides its flags).
	// Such a result is not counted as passed or failed, and a check with
	// nothing but such results is reported as not assessed.
	Unassessable
)

// Finding is one thing a check found about an object: by default, something
// wrong with it.
type Finding struct {
	// Message says what is wrong, naming the container or field and its
	// value. It never contains a secret value.
	Message string
	// Path is the field path of the offending field, such as
	// spec.template.spec.containers[0].readinessProbe.
	Path    string
	Outcome Outcome
	// Key tells the finding apart from the check's other findings at the
	// same Path of the same object (the Pod Security control a pod
	// violates), so that a baseline knows each apart (report.Fingerprint).
	// It stays the same while the problem does: a name, never a value the
	// message quotes.
	Key string
}

// Failf is a shorthand for a Finding at path.
func Failf(path, format string, args ...any) Finding {
	return Finding{Path: path, Message: fmt.Sprintf(format, args...)}
}

// Passf is a shorthand for Evidence: what made the check pass.
func Passf(format string, args ...any) Finding {
	return Finding{Message: fmt.Sprintf(format, args...), Outcome: Evidence}
}

// NotAssessedf is a shorthand for an Unassessable finding: why the check
// cannot be judged.
func NotAssessedf(format string, args ...any) Finding {
	return Finding{Message: fmt.Sprintf(format, args...), Outcome: Unassessable}
}

// Context is what a check may consult besides the object it is given.
type Context struct {
	Inventory *inventory.Inventory
	Params    *Params
	// Now is the time the inventory describes: the present for a live
	// cluster, the moment a snapshot was taken for a snapshot. Checks that
	// judge ages (the last backup, a certificate's expiry) judge them at
	// Now.
	Now time.Time
}

// Check is one production-readiness requirement.
type Check struct {
	// ID is stable kebab-case that names the requirement.
	ID string
	// Title is a one-line summary for lists.
	Title string
	Layer Layer
	// Severity is the default severity; configuration may override it.
	Severity Severity
	// Kinds are the kinds the check applies to, matched against
	// inventory.Object.KindKey; inventory.CustomResourceKey matches every
	// custom resource. Workload kinds match only top-level workloads:
	// objects controlled by another object are judged through their
	// controller.
	Kinds []string
	// Reads are the kinds, besides Kinds, whose objects the check consults
	// through the inventory (a workload check that looks for the
	// PodDisruptionBudgets selecting it reads PodDisruptionBudget). An audit
	// that could not list one of them cannot assess the check.
	Reads []string
	// Rationale says why the requirement matters in production.
	Rationale string
	// Remediation says what to do, ending with a period.
	Remediation string
	// ChecklistItem names, in words, the item of the production-readiness
	// checklists this check implements and the checklist it is from. Users
	// read it: it never names an internal document number.
	ChecklistItem string
	// Example is a manifest that passes the check.
	Example string
	// Admission, when set, is the check written as the spec of a
	// ValidatingAdmissionPolicy (YAML: its variables, matchConditions and
	// validations) that gives exactly the check's verdict and messages on
	// one object, as the API server admits it. It is empty for a check
	// that needs more than the object it judges: other objects, the
	// cluster's state or parameters. plimsoll export vap writes it out.
	Admission string
	// Optional checks run only when configuration enables them.
	Optional bool
	// Requires says what the audit must see; see Requirement.
	Requires Requirement
	// AllNamespaces marks a check that looks across namespaces (is there a
	// backup Schedule, in any namespace, that covers this one?), so it
	// cannot be assessed when a cluster read was limited to one namespace.
	// Checks of the cluster object always are; see IsClusterWide.
	AllNamespaces bool
	// Applies, when set, says whether the check applies to an object, and
	// why not when it does not. Such objects are reported as skipped.
	Applies func(o *inventory.Object, c *Context) (bool, string)
	// Run returns the findings for one object; none means pass.
	Run func(o *inventory.Object, c *Context) []Finding
}

// AppliesToKind reports whether the check targets objects of this kind key.
func (c *Check) AppliesToKind(key string) bool {
	for _, k := range c.Kinds {
		if k == key || k == inventory.CustomResourceKey && inventory.IsCustomKey(key) {
			return true
		}
	}
	return false
}

// IsClusterWide reports whether the check needs every namespace read:
// AllNamespaces, or a check of the cluster as a whole.
func (c *Check) IsClusterWide() bool {
	return c.AllNamespaces || c.AppliesToKind(inventory.ClusterKey)
}

// Needs returns every kind key the check looks at: Kinds, then Reads.
func (c *Check) Needs() []string {
	return append(append([]string{}, c.Kinds...), c.Reads...)
}

var idPattern = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// documentNumber matches the file number of a checklist ("004 ..."), which
// users never see.
var documentNumber = regexp.MustCompile(`^\d{3}\s`)

// Registry holds every known check, sorted by ID.
type Registry struct {
	checks []*Check
	byID   map[string]*Check
}

// NewRegistry validates the checks and returns a registry of them. It fails
// on a duplicate ID or a check missing what every check must have.
func NewRegistry(checks []*Check) (*Registry, error) {
	r := &Registry{byID: make(map[string]*Check, len(checks))}
	for _, c := range checks {
		if err := validate(c); err != nil {
			return nil, err
		}
		if _, dup := r.byID[c.ID]; dup {
			return nil, fmt.Errorf("check %s: duplicate id", c.ID)
		}
		r.byID[c.ID] = c
		r.checks = append(r.checks, c)
	}
	sort.Slice(r.checks, func(i, j int) bool { return r.checks[i].ID < r.checks[j].ID })
	return r, nil
}

func validate(c *Check) error {
	switch {
	case !idPattern.MatchString(c.ID):
		return fmt.Errorf("check %q: id must be kebab-case", c.ID)
	case c.Title == "":
		return fmt.Errorf("check %s: no title", c.ID)
	case !validLayer(c.Layer):
		return fmt.Errorf("check %s: unknown layer %q", c.ID, c.Layer)
	case len(c.Kinds) == 0:
		return fmt.Errorf("check %s: no kinds", c.ID)
	case c.Rationale == "":
		return fmt.Errorf("check %s: no rationale", c.ID)
	case !strings.HasSuffix(c.Remediation, "."):
		return fmt.Errorf("check %s: remediation must be a sentence ending with a period", c.ID)
	case c.ChecklistItem == "":
		return fmt.Errorf("check %s: no checklist item", c.ID)
	case documentNumber.MatchString(c.ChecklistItem):
		return fmt.Errorf("check %s: the checklist item must name its checklist in words, not by a file number: %q", c.ID, c.ChecklistItem)
	case c.Run == nil:
		return fmt.Errorf("check %s: no run function", c.ID)
	}
	return nil
}

func validLayer(l Layer) bool {
	for _, x := range Layers() {
		if x == l {
			return true
		}
	}
	return false
}

// All returns every check, sorted by ID.
func (r *Registry) All() []*Check { return r.checks }

// Get returns the check with this ID, or nil.
func (r *Registry) Get(id string) *Check { return r.byID[id] }
