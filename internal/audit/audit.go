// Package audit is plimsoll's engine. It runs every enabled check over an
// inventory, applies the configuration (severities, parameters, exemptions
// from configuration and from annotations), and scores the outcome per
// layer, per namespace and overall, stating what could not be assessed.
//
// A check that panics yields an error result for that object and the audit
// goes on. Output is deterministic: results are sorted by object (namespace,
// kind, name) and then by check ID.
package audit

import (
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/config"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/parallel"
)

// Annotations that exempt an object from checks.
const (
	IgnoreAnnotation       = "plimsoll.dev/ignore"
	IgnoreReasonAnnotation = "plimsoll.dev/ignore-reason"
)

// Status is the outcome of one check on one object.
type Status uint8

// The statuses.
const (
	Pass Status = iota
	Fail
	Skip
	Error
)

func (s Status) String() string {
	return [...]string{"pass", "fail", "skip", "error"}[s]
}

// MarshalText writes the status's name.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Object is what a result keeps of the object it judged: identity and
// provenance. Results do not hold the inventory, so the decoded objects can
// be freed once the audit is done; on a large cluster they are most of the
// memory.
type Object struct {
	APIVersion, Kind, Namespace, Name string
	Source                            inventory.Source
	// ScoreNamespace is the namespace whose score results on the object
	// count in (see inventory.Object.ScoreNamespace).
	ScoreNamespace string
}

// ID names the object for people, as inventory.Object.ID does.
func (o *Object) ID() string {
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

// Result is one check's outcome on one object. A check that finds several
// things wrong with an object gives one fail result per finding.
type Result struct {
	Check  *check.Check
	Object *Object
	// Message is the finding for a failure, the reason for a skip, and what
	// went wrong for an error.
	Message string
	// Path is the field path of a failure, and Key the same path with the
	// elements of lists merged by name named (inventory.Object.NamedPath),
	// and the finding's own key after a "#" when it has one
	// (check.Finding.Key): what a baseline knows the finding by.
	Path     string
	Key      string
	Status   Status
	Severity check.Severity
	// Exempted marks a skip that an exemption caused.
	Exempted bool
	// Unassessed marks a skip because the check could not be judged on the
	// object (check.Unassessable).
	Unassessed bool
}

// Options configure an audit.
type Options struct {
	Registry *check.Registry
	Config   *config.Config
	// NoAnnotationExemptions ignores plimsoll.dev/ignore annotations.
	NoAnnotationExemptions bool
	// Now is the time exemption expiry is judged at.
	Now time.Time
	// At is the time the inputs describe, which checks judge ages at: when
	// a snapshot was taken. Zero means Now.
	At time.Time
	// Workers is how many goroutines run checks; 0 means GOMAXPROCS.
	Workers int
	// Unreadable are the kinds, by kind key, that the inputs could not
	// show, and why: a resource the cluster refused to list, or one outside
	// the namespace the audit was limited to. A check that needs one of
	// them (check.Check.Needs) is not assessed.
	Unreadable map[string]string
	// Namespace is the one namespace a cluster read was limited to, if
	// any: checks that look across namespaces are then not assessed.
	Namespace string
	// Only, if set, is the one object judged: an object at admission,
	// placed into the inventory of the cluster it is entering. The rest of
	// the inventory is what its cross-object checks see (the budgets, the
	// policies, the Services), and no result is about any other object, so
	// that an admission costs the checks of one object, not of the cluster.
	// It must be one of the inventory's objects.
	Only *inventory.Object
	// FailuresOnly keeps only failed results in Audit.Results; the checks'
	// counts and the score are of every result all the same. A caller that
	// wants only what failed (fix, proving its changes by auditing them
	// again and again) then never holds the passes, which on a large input
	// are most of the results.
	FailuresOnly bool
}

// CheckState says whether a check was assessed and how it fared.
type CheckState struct {
	Check    *check.Check
	Severity check.Severity
	// Assessed is false when the inputs could not show what the check
	// needs; Reason says why.
	Assessed bool
	Reason   string
	Pass     int
	Fail     int // objects with at least one finding
	Skip     int
	Error    int
}

// Audit is the outcome of an audit.
type Audit struct {
	Mode inventory.Mode
	// Results are in the inventory's object order, and an object's in
	// check ID order: a check's results on an object are together.
	Results []Result
	// Checks are the enabled checks, sorted by ID.
	Checks []*CheckState
	// Disabled are checks that configuration turned off or left off.
	Disabled []*check.Check
	// ExpiredExemptions no longer apply; the report lists them.
	ExpiredExemptions []config.Exemption
	// UnusedExemptions exempted nothing, though a check they name ran: a
	// typo, or what they exempted is gone. The report warns of them.
	UnusedExemptions []config.Exemption
	Score            Score
	// Objects is how many objects the audit looked at.
	Objects int
	// At is the time the audit describes: Options.At (when the snapshot
	// audited was taken), or else Options.Now, when it ran.
	At time.Time
}

// Run audits the inventory.
func Run(inv *inventory.Inventory, opts Options) *Audit {
	cfg := opts.Config
	if cfg == nil {
		cfg = config.Default()
	}
	a := &Audit{Mode: inv.Mode, Objects: len(inv.Objects())}
	ctx := &check.Context{Inventory: inv, Params: &cfg.Parameters, Now: opts.At}
	if ctx.Now.IsZero() {
		ctx.Now = opts.Now
	}
	a.At = ctx.Now

	var active []*CheckState
	byKind := map[string][]*CheckState{}
	for _, c := range opts.Registry.All() {
		if !cfg.Enabled(c) {
			a.Disabled = append(a.Disabled, c)
			continue
		}
		st := &CheckState{Check: c, Severity: cfg.SeverityOf(c), Assessed: true}
		a.Checks = append(a.Checks, st)
		if reason := notAssessed(c, inv.Mode, opts); reason != "" {
			st.Assessed, st.Reason = false, reason
			continue
		}
		active = append(active, st)
		for _, k := range c.Kinds {
			byKind[k] = append(byKind[k], st)
		}
	}

	var live []config.Exemption
	for _, e := range cfg.Exemptions {
		if e.Expired(opts.Now) {
			a.ExpiredExemptions = append(a.ExpiredExemptions, e)
		} else {
			live = append(live, e)
		}
	}
	r := runner{ctx: ctx, exemptions: live, used: make([]atomic.Bool, len(live)), annotations: !opts.NoAnnotationExemptions}

	objects := inv.Objects()
	if opts.Only != nil {
		objects = []*inventory.Object{opts.Only}
	}
	withCustomResources(byKind, objects)
	// Every check that applies gives at least one result: room for those,
	// and an eighth more for checks that find several things, spares
	// growing the slices.
	room := func(objs []*inventory.Object) int {
		n := 0
		for _, o := range objs {
			if !o.Controlled() {
				n += len(byKind[o.KindKey()])
			}
		}
		return n + n/8
	}
	// Workers judge the objects a chunk at a time; the chunks' results are
	// appended to a.Results in order as they come, so no more than a few
	// chunks' results are ever held twice.
	const chunk = 256
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if !opts.FailuresOnly {
		a.Results = make([]Result, 0, room(objects))
	}
	sum := newSummary(a.Checks)
	// A chunk's buffer is used again once its results are copied: no more
	// than a few are ever in use (parallel.Ordered bounds them).
	free := make(chan []Result, 3*workers)
	parallel.Ordered((len(objects)+chunk-1)/chunk, workers, func(c int) []Result {
		objs := objects[c*chunk : min((c+1)*chunk, len(objects))]
		var out []Result
		select {
		case out = <-free:
		default:
		}
		out = slices.Grow(out[:0], room(objs))
		for _, o := range objs {
			out = r.object(out, o, byKind[o.KindKey()])
		}
		return out
	}, func(rs []Result) {
		sum.add(rs)
		if opts.FailuresOnly {
			for _, r := range rs {
				if r.Status == Fail {
					a.Results = append(a.Results, r)
				}
			}
		} else {
			a.Results = append(a.Results, rs...)
		}
		clear(rs) // drop the buffer's references to messages and objects
		select {
		case free <- rs:
		default:
		}
	})
	sum.tally(a.Checks)
	a.Score = sum.score(a)
	for i, e := range live {
		if !r.used[i].Load() && slices.ContainsFunc(active, func(st *CheckState) bool { return slices.Contains(e.Checks, st.Check.ID) }) {
			a.UnusedExemptions = append(a.UnusedExemptions, e)
		}
	}
	return a
}

// withCustomResources adds the checks of every custom resource
// (inventory.CustomResourceKey) to byKind's list for each custom kind among
// objects, keeping each list in check ID order, the order results are in.
func withCustomResources(byKind map[string][]*CheckState, objects []*inventory.Object) {
	every := byKind[inventory.CustomResourceKey]
	if len(every) == 0 {
		return
	}
	done := map[string]bool{}
	for _, o := range objects {
		k := o.KindKey()
		if done[k] {
			continue
		}
		done[k] = true
		if inventory.IsCustomKey(k) {
			merged := append(slices.Clip(byKind[k]), every...)
			slices.SortStableFunc(merged, func(a, b *CheckState) int { return strings.Compare(a.Check.ID, b.Check.ID) })
			byKind[k] = slices.Compact(merged) // a check may name the kind too
		}
	}
}

// DeclaredOnlyReason is why checks of how manifests declare objects are not
// assessed on a cluster.
const DeclaredOnlyReason = "judges the manifests as written; a cluster shows objects as it stored them (at a version it still serves, defaulted, already accepted), so audit the manifests you apply"

// AdmissionReason is why checks that need a live cluster are not assessed
// on an object at admission: they judge what the cluster reports of
// objects that have run (their status, their pods) or of the platform, and
// an object being admitted has not run yet.
const AdmissionReason = "judges what the cluster reports of objects that have run; an object at admission has not run yet"

func notAssessed(c *check.Check, mode inventory.Mode, opts Options) string {
	unreadable := opts.Unreadable
	switch {
	case c.Requires == check.Cluster && mode != inventory.FromCluster:
		return "needs a live cluster or a snapshot; manifests cannot show it"
	case c.Requires == check.Declared && mode == inventory.FromCluster:
		return DeclaredOnlyReason
	case c.Requires == check.Cluster && opts.Only != nil:
		return AdmissionReason
	case opts.Namespace != "" && c.IsClusterWide():
		return "looks across the whole cluster; the read was limited to namespace " + opts.Namespace
	}
	for _, k := range c.Needs() {
		if why, ok := unreadable[k]; ok {
			return why
		}
		if group, whole := strings.CutPrefix(k, "*."); whole {
			for _, u := range slices.Sorted(maps.Keys(unreadable)) {
				if strings.HasSuffix(u, "."+group) {
					return unreadable[u]
				}
			}
		}
	}
	return ""
}

type runner struct {
	ctx        *check.Context
	exemptions []config.Exemption
	// used marks the exemptions that exempted something; the runs of
	// several objects set them at once.
	used        []atomic.Bool
	annotations bool
}

// object appends to out the results of the checks that apply to one
// object, in check ID order.
func (r *runner) object(out []Result, o *inventory.Object, checks []*CheckState) []Result {
	if len(checks) == 0 || o.Controlled() {
		// A Pod run by a ReplicaSet, or a ReplicaSet run by a Deployment,
		// is judged through its controller.
		return out
	}
	ref := &Object{
		APIVersion: o.APIVersion, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name,
		Source: o.Source, ScoreNamespace: o.ScoreNamespace(),
	}
	for _, st := range checks {
		base := Result{Check: st.Check, Object: ref, Severity: st.Severity}
		if reason, ok := r.exempted(st.Check.ID, o); ok {
			base.Status, base.Message, base.Exempted = Skip, reason, true
			out = append(out, base)
			continue
		}
		out = r.run(out, st.Check, o, base)
	}
	return out
}

// run appends to out the results of one check on one object.
func (r *runner) run(out []Result, c *check.Check, o *inventory.Object, base Result) (res []Result) {
	before := len(out)
	defer func() {
		if p := recover(); p != nil {
			// What the check reported before it panicked is dropped.
			base.Status, base.Message = Error, fmt.Sprintf("check failed: %v", p)
			res = append(out[:before], base)
		}
	}()
	if c.Applies != nil {
		if ok, reason := c.Applies(o, r.ctx); !ok {
			base.Status, base.Message = Skip, "not applicable: "+reason
			return append(out, base)
		}
	}
	var evidence, unassessable []string
	for _, f := range c.Run(o, r.ctx) {
		switch f.Outcome {
		case check.Evidence:
			evidence = append(evidence, f.Message)
		case check.Unassessable:
			unassessable = append(unassessable, f.Message)
		default:
			fail := base
			fail.Status, fail.Message, fail.Path, fail.Key = Fail, f.Message, f.Path, f.Path
			if strings.Contains(f.Path, "[") {
				fail.Key = o.NamedPath(f.Path)
			}
			if f.Key != "" {
				fail.Key += "#" + f.Key
			}
			out = append(out, fail)
		}
	}
	switch {
	case len(out) > before:
		return out
	case len(unassessable) > 0:
		base.Status, base.Unassessed = Skip, true
		base.Message = "not assessed: " + strings.Join(unassessable, "; ")
	default:
		base.Status, base.Message = Pass, strings.Join(evidence, "; ")
	}
	return append(out, base)
}

// The message of an exempted result is one of these, then the reason given
// (and for configuration, the date it expires), as reports show it.
const (
	ExemptedByConfig     = "exempted by configuration: "
	ExemptedByAnnotation = "exempted by annotation " + IgnoreAnnotation + ": "
)

// exempted reports whether configuration or an annotation exempts the
// object from a check, and the reason given.
func (r *runner) exempted(id string, o *inventory.Object) (string, bool) {
	for i, e := range r.exemptions {
		if e.Matches(id, o) {
			r.used[i].Store(true)
			msg := ExemptedByConfig + e.Reason
			if e.Expires != "" {
				msg += " (until " + e.Expires + ")"
			}
			return msg, true
		}
	}
	if !r.annotations {
		return "", false
	}
	ids, ok := o.Annotations[IgnoreAnnotation]
	if !ok {
		return "", false
	}
	for _, x := range strings.Split(ids, ",") {
		if x = strings.TrimSpace(x); x == id || x == "*" {
			reason := strings.TrimSpace(o.Annotations[IgnoreReasonAnnotation])
			if reason == "" {
				reason = "no reason given (" + IgnoreReasonAnnotation + " is not set)"
			}
			return ExemptedByAnnotation + reason, true
		}
	}
	return "", false
}

// eachPair calls f with the results of each check judged on each object:
// one pass, fail, skip or error, or several failures, which still make one
// failed pair. Run keeps a pair's results together.
func eachPair(results []Result, f func(rs []Result)) {
	for i := 0; i < len(results); {
		j := i + 1
		for j < len(results) && results[j].Check == results[i].Check && results[j].Object == results[i].Object {
			j++
		}
		f(results[i:j])
		i = j
	}
}

// summary counts results as the audit makes them, a chunk at a time, for
// the checks' counts (tally) and the score: an object's results are always
// in one chunk, so a pair is never split, and the results need not be kept.
type summary struct {
	byState    map[*check.Check]*CheckState
	judged     map[*CheckState]bool
	unassessed map[*CheckState]string
	// byCheck and byNamespace count the assessed pairs for the score;
	// order is the checks in the order first seen (see score).
	byCheck     map[*check.Check]*pairs
	byNamespace map[string]map[*check.Check]*pairs
	order       []*check.Check
}

func newSummary(states []*CheckState) *summary {
	sum := &summary{
		byState: map[*check.Check]*CheckState{}, judged: map[*CheckState]bool{}, unassessed: map[*CheckState]string{},
		byCheck: map[*check.Check]*pairs{}, byNamespace: map[string]map[*check.Check]*pairs{},
	}
	for _, st := range states {
		sum.byState[st.Check] = st
	}
	return sum
}

// add counts a run of results that holds every result of each object in it.
func (sum *summary) add(results []Result) {
	eachPair(results, func(rs []Result) {
		if rs[0].Status == Fail {
			sum.byState[rs[0].Check].Fail++
		}
		sum.pair(rs[0])
	})
	for _, res := range results {
		st := sum.byState[res.Check]
		switch res.Status {
		case Pass:
			st.Pass++
		case Skip:
			st.Skip++
		case Error:
			st.Error++
		}
		if res.Unassessed {
			if _, ok := sum.unassessed[st]; !ok {
				sum.unassessed[st] = strings.TrimPrefix(res.Message, "not assessed: ")
			}
		} else {
			sum.judged[st] = true
		}
	}
}

// tally settles the checks' states once every result is counted.
func (sum *summary) tally(states []*CheckState) {
	// A check that could judge none of its objects was not assessed.
	for st, reason := range sum.unassessed {
		if !sum.judged[st] {
			st.Assessed, st.Reason = false, reason
		}
	}
	sort.Slice(states, func(i, j int) bool { return states[i].Check.ID < states[j].Check.ID })
}
