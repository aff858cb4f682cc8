package platform

import (
	"fmt"
	"strings"
	"time"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// This file holds what the checks of the platform (cluster services and
// infrastructure) share: which namespaces are the applications', and how
// to read the status of a custom resource.

// listedNodes is how many nodes (or pods of a node) a finding names
// before it says how many more there are: more than say.Listed, as a
// node's name is short and says where to look.
const listedNodes = 10

// clusterKinds are the Kinds of a check of the cluster as a whole: it is
// judged once, on the object that stands for the cluster.
var clusterKinds = []string{inventory.ClusterKey}

// appNamespaceReads are the kinds appNamespace consults: every kind a
// workload can be (platform.Reads among them). appNamespaces also reads
// Namespace.
var appNamespaceReads = inventory.WorkloadKinds(nil)

// appNamespace says whether a Namespace holds applications, for the
// Applies of namespace checks: it is not a system namespace, runs at least
// one workload, and hosts no recognised platform component (the monitoring
// or ingress namespace belongs to the platform, not to an application).
func appNamespace(o *inventory.Object, c *check.Context) (bool, string) {
	if c.Params.IsSystemNamespace(o.Name) {
		return false, "system namespace"
	}
	if ms := platform.InNamespace(c.Inventory, o.Name); len(ms) > 0 {
		return false, "a platform namespace: it runs " + ms[0].String()
	}
	if len(c.Inventory.Workloads(o.Name)) == 0 {
		return false, "runs no workloads"
	}
	return true, ""
}

// appNamespaces returns the application namespaces, sorted.
func appNamespaces(c *check.Context) []*inventory.Object {
	var out []*inventory.Object
	for _, ns := range c.Inventory.Namespaces() {
		if ok, _ := appNamespace(ns, c); ok {
			out = append(out, ns)
		}
	}
	return out
}

// condition is one entry of a custom resource's status.conditions.
type condition struct {
	Type, Status, Reason, Message string
	// Index is the entry's index, for a field path.
	Index int
}

// conditionOf returns the status.conditions entry of a type, if any.
func conditionOf(o *inventory.Object, typ string) (condition, bool) {
	list, _ := o.Field("status", "conditions").([]any)
	for i, item := range list {
		m, _ := item.(map[string]any)
		if t, _ := m["type"].(string); t == typ {
			str := func(k string) string { s, _ := m[k].(string); return s }
			return condition{Type: typ, Status: str("status"), Reason: str("reason"), Message: str("message"), Index: i}, true
		}
	}
	return condition{}, false
}

// describe says what a condition says, for a finding: Ready=False
// (IssuerNotReady: the issuer is not ready).
func (c condition) describe() string {
	s := c.Type + "=" + c.Status
	if c.Reason != "" || c.Message != "" {
		s += " (" + strings.TrimSuffix(strings.Join(nonEmpty(c.Reason, c.Message), ": "), ".") + ")"
	}
	return s
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// number reads a count from decoded YAML or JSON.
func number(v any) int {
	switch n := v.(type) {
	case int64:
		return int(n)
	case int:
		return n
	case float64:
		return int(n)
	}
	return 0
}

// fieldTime parses an RFC 3339 time at a path of a custom resource's
// content.
func fieldTime(o *inventory.Object, path ...string) (time.Time, bool) {
	s := o.FieldString(path...)
	if s == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	return t, err == nil
}

// age says how long ago t was, in whole hours or days, for findings.
func age(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 0:
		return "in the future"
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}
