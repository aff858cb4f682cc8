package custom

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

// target is one request an object makes that a check judges: the object's
// own creation, or the creation of a Pod from a workload's template.
type target struct {
	pod bool
}

// targets are the requests of an object the check judges.
func (c *Check) targets(o *inventory.Object) []target {
	var out []target
	key := o.KindKey()
	if slices.Contains(c.self, key) || inventory.IsCustomKey(key) && slices.Contains(c.self, inventory.CustomResourceKey) {
		out = append(out, target{})
	}
	if w, ok := inventory.WorkloadKindOf(key); c.pods && ok && w.Controller {
		if tmpl, _ := o.PodTemplate(); tmpl != nil {
			out = append(out, target{pod: true})
		}
	}
	return out
}

// params is the check's params object, or nil.
func (c *Check) params() runtime.Object { return c.paramsObject }

// applies is the check's Applies: it applies to an object when its policy
// matches one of the object's requests, or cannot tell.
func (c *Check) applies(o *inventory.Object, ctx *check.Context) (bool, string) {
	if len(c.Policy.CompileErrors()) > 0 {
		return true, "" // Run says why it cannot judge
	}
	var whys []string
	for _, t := range c.targets(o) {
		req := requestsOf(ctx, o).get(t, o, ctx.Inventory)
		if req.why != "" {
			return true, ""
		}
		m := req.evaluate(c, ctx.Inventory).match
		if m.Matched || m.Unknown {
			return true, ""
		}
		whys = append(whys, t.describe(o)+m.Why)
	}
	return false, strings.Join(whys, "; ")
}

// run is the check's Run: a failure for each validation that refuses a
// request the policy matches, and not assessed, with the reason, for what
// cannot be evaluated.
func (c *Check) run(o *inventory.Object, ctx *check.Context) []check.Finding {
	if errs := c.Policy.CompileErrors(); len(errs) > 0 {
		if c.binding != nil {
			return []check.Finding{check.NotAssessedf("the policy does not compile (the API server's validation of a new policy refuses it): %s", fieldErrors(errs))}
		}
		return []check.Finding{check.NotAssessedf("the API server would refuse the policy: %s", fieldErrors(errs))}
	}
	var out []check.Finding
	for _, t := range c.targets(o) {
		req := requestsOf(ctx, o).get(t, o, ctx.Inventory)
		if req.why != "" {
			out = append(out, check.NotAssessedf("%s%s", t.describe(o), req.why))
			continue
		}
		res := req.evaluate(c, ctx.Inventory)
		m, decisions := res.match, res.decisions
		if m.Unknown {
			out = append(out, check.NotAssessedf("%s%s", t.describe(o), m.Why))
		}
		path := ""
		if t.pod {
			_, path = o.PodTemplate()
		}
		for _, d := range decisions {
			switch {
			case d.Error:
				where := ""
				if d.Field != "" {
					where = d.Field + ": "
				}
				out = append(out, check.NotAssessedf("%s%s%s", t.describe(o), where, d.Message))
			case d.Denied:
				out = append(out, check.Finding{Path: path, Message: c.failure(ctx.Inventory, t, o, d.Message)})
			}
		}
	}
	return out
}

// failureKey is what a failure message is made of.
type failureKey struct {
	check         *Check
	pod           bool
	kind, message string
}

// failure is the message of a failed validation on a target: the same
// string for every object of the inventory that fails alike. Most objects
// a check fails fail for the same reason, and an audit holds every message
// until it reports.
func (c *Check) failure(inv *inventory.Inventory, t target, o *inventory.Object, message string) string {
	made := inventory.Memo(inv, "checks/custom.failures", func(*inventory.Inventory) *sync.Map { return &sync.Map{} })
	key := failureKey{check: c, pod: t.pod, message: message}
	if t.pod {
		key.kind = o.Kind
	}
	if m, ok := made.Load(key); ok {
		return m.(string)
	}
	m, _ := made.LoadOrStore(key, t.describe(o)+c.verdictOn(t)+message)
	return m.(string)
}

// describe prefixes what is said of a target: nothing for the object
// itself, which findings name anyway.
func (t target) describe(o *inventory.Object) string {
	if !t.pod {
		return ""
	}
	return fmt.Sprintf("in the Pods this %s would create: ", o.Kind)
}

// verdictOn says what the API server does with a target the check fails:
// nothing for a custom check, which has no binding.
func (c *Check) verdictOn(t target) string {
	if c.verdict == nil {
		return ""
	}
	return c.verdict(t.pod)
}
