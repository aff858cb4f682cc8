// Package drill predicts what a disruption does to every workload of a
// cluster: a node drain, a rolling upgrade of the nodes in waves (both
// voluntary: they go through the eviction API and its
// PodDisruptionBudgets), or the loss of a zone or of the nodes a selector
// matches (involuntary: every pod on them goes at once). It never touches
// the cluster: it reads the inventory of a cluster read or a snapshot and
// simulates, with the rules of the eviction API, the disruption
// controller, kubectl drain and the scheduler's filters, each cited where
// it is mirrored. What the model leaves out is said in the report, never
// taken as fine.
package drill

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// Kind names a scenario.
type Kind string

// The scenarios.
const (
	// Drain drains the named nodes one after another, as kubectl drain
	// NODE... does: all are cordoned first, then each is emptied.
	Drain Kind = "drain"
	// Upgrade drains every node (or those a selector matches) in waves of
	// MaxUnavailable; a drained node comes back empty before the next wave.
	Upgrade Kind = "upgrade"
	// Zone loses every node of a zone at once.
	Zone Kind = "zone"
	// Nodes loses every node a label selector matches at once (spot
	// capacity reclaimed, a node pool lost).
	Nodes Kind = "nodes"
)

// Scenario is what a drill disrupts.
type Scenario struct {
	Kind Kind `json:"kind"`
	// Nodes are the nodes to drain, in order (Drain).
	Nodes []string `json:"nodes,omitempty"`
	// Zone is the zone to lose (Zone).
	Zone string `json:"zone,omitempty"`
	// Selector selects the nodes to lose (Nodes) or to upgrade (Upgrade;
	// every node when empty).
	Selector string `json:"selector,omitempty"`
	// MaxUnavailable is how many nodes an upgrade drains at once.
	MaxUnavailable int `json:"maxUnavailable,omitempty"`
	// NodesDeleted says the lost nodes' objects are deleted too (Zone,
	// Nodes), as a cloud controller does when the instances are gone: their
	// pods are then garbage-collected, every controller replaces them, and
	// their topology domains no longer count. By default lost nodes stay,
	// unreachable, as in an outage.
	NodesDeleted bool `json:"nodesDeleted,omitempty"`
}

// Voluntary reports whether the scenario goes through the eviction API.
func (s Scenario) Voluntary() bool { return s.Kind == Drain || s.Kind == Upgrade }

// The verdicts of a workload.
const (
	Unaffected   = "unaffected"
	Degraded     = "degraded"
	Pending      = "pending"
	Blocks       = "blocks"
	Outage       = "outage"
	Undetermined = "unknown"
)

// The verdicts of a node or a wave.
const (
	Drains     = "drains"
	Serializes = "serializes"
	Lost       = "lost"
	// and Blocks, as for a workload, or Undetermined when something in the
	// way could not be judged.
)

// rank orders workload verdicts from best to worst.
var rank = map[string]int{Unaffected: 0, Undetermined: 1, Degraded: 2, Pending: 3, Blocks: 4, Outage: 5}

// Worse reports whether verdict a is worse than b.
func Worse(a, b string) bool { return rank[a] > rank[b] }

// Report is the result of one drill: a stable, documented contract
// (docs/drill.md); fields may be added.
type Report struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Scenario   Scenario `json:"scenario"`
	// Source is what was read: "cluster CONTEXT" or "snapshot FILE".
	Source string `json:"source,omitempty"`
	// At is when the cluster was read.
	At *time.Time `json:"at,omitempty"`
	// Verdict is the worst workload verdict, or blocks when a node's drain
	// cannot finish.
	Verdict string `json:"verdict"`
	// Summary counts the workloads the drill touched by verdict.
	Summary   map[string]int   `json:"summary"`
	Nodes     []NodeResult     `json:"nodes"`
	Workloads []WorkloadResult `json:"workloads"`
	// PDBs are the budgets in the drill's way whose recorded status differs
	// from the one recomputed, or that cannot be met or computed.
	PDBs     []PDBStatus `json:"pdbs"`
	Unknowns []Unknown   `json:"unknowns"`
	// Assumptions are what the model takes as given; see docs/drill.md.
	Assumptions []string `json:"assumptions"`
}

// NodeResult is what happens to one node.
type NodeResult struct {
	Name string `json:"name"`
	Zone string `json:"zone,omitempty"`
	// Wave is the node's wave in an upgrade, from 1.
	Wave int `json:"wave,omitempty"`
	// Verdict: drains, serializes, blocks or unknown for a drained node;
	// lost for a lost one.
	Verdict string `json:"verdict"`
	// Rounds is how many rounds of evictions the drain takes: one when
	// every pod can go at once, more when budgets let pods go one at a
	// time, as their replacements become ready.
	Rounds int `json:"rounds,omitempty"`
	// Needs are the kubectl drain flags the drain needs.
	Needs   []string `json:"needs"`
	Reason  string   `json:"reason"`
	Pods    int      `json:"pods"`
	Evicted int      `json:"evicted,omitempty"`
}

// WorkloadResult is what happens to one workload the drill touches.
type WorkloadResult struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Verdict   string `json:"verdict"`
	// ReadyBefore, ReadyDuring and ReadyAfter count its ready pods before
	// the drill, at its lowest point, and once replacements are placed.
	ReadyBefore int `json:"readyBefore"`
	ReadyDuring int `json:"readyDuring"`
	ReadyAfter  int `json:"readyAfter"`
	// Displaced counts its pods on the drained or lost nodes.
	Displaced int    `json:"displaced"`
	Reason    string `json:"reason"`
	// PDBs name the budgets that select its pods.
	PDBs []string `json:"pdbs"`
}

// ID names the workload for people.
func (w WorkloadResult) ID() string { return w.Kind + " " + w.Namespace + "/" + w.Name }

// Unknown is something the drill could not judge, and why.
type Unknown struct {
	Object string `json:"object,omitempty"`
	Reason string `json:"reason"`
}

// Options are what a drill knows besides the inventory.
type Options struct {
	// Source names what was read, for the report.
	Source string
	// At is when the cluster was read; zero when unknown.
	At time.Time
	// Now is the present, to judge a snapshot's age; zero skips that.
	Now time.Time
	// MaxAge is the age beyond which a snapshot is stale: nothing it shows
	// is then called unaffected. Zero means DefaultMaxAge.
	MaxAge time.Duration
	// Unreadable are the kind keys the read could not show, and why.
	Unreadable map[string]string
}

// DefaultMaxAge is how old a snapshot may be before a drill calls it stale.
const DefaultMaxAge = 24 * time.Hour

// APIVersion is the version of the report's contract.
const APIVersion = "plimsoll.dev/v1alpha1"

// Run runs a drill of the scenario on the inventory of a cluster read.
// An error means the scenario names nothing to disrupt (a node or zone the
// cluster does not have) or the cluster's nodes or pods could not be read.
func Run(inv *inventory.Inventory, sc Scenario, o Options) (*Report, error) {
	for _, k := range []string{"Node", "Pod"} {
		if why, ok := o.Unreadable[k]; ok {
			return nil, fmt.Errorf("cannot drill: the %ss could not be read (%s)", k, why)
		}
	}
	return run(inventory.Memo(inv, "drill.model", build), sc, o)
}

func run(m *model, sc Scenario, o Options) (*Report, error) {
	targets, err := m.targets(sc)
	if err != nil {
		return nil, err
	}
	s := newState(m)
	var nodes []NodeResult
	switch sc.Kind {
	case Drain:
		for _, n := range targets {
			s.cordon(n)
		}
		for _, n := range targets {
			nodes = append(nodes, s.drain([]int{n}, 0)...)
		}
	case Upgrade:
		size := max(sc.MaxUnavailable, 1)
		for i := 0; i < len(targets); i += size {
			wave := targets[i:min(i+size, len(targets))]
			for _, n := range wave {
				s.cordon(n)
			}
			nodes = append(nodes, s.drain(wave, i/size+1)...)
			for _, n := range wave {
				s.uncordon(n)
			}
		}
	case Zone, Nodes:
		nodes = s.lose(targets, sc.NodesDeleted)
	}
	r := &Report{
		APIVersion: APIVersion, Kind: "DrillReport", Scenario: sc, Source: o.Source,
		Nodes: nodes, Summary: map[string]int{}, Unknowns: []Unknown{},
		Assumptions: assumptions(sc),
	}
	if !o.At.IsZero() {
		at := o.At.UTC()
		r.At = &at
	}
	general := s.generalUnknowns(o)
	r.Unknowns = append(r.Unknowns, general...)
	r.Workloads = s.verdicts(sc, len(general) > 0)
	// Worst first, then by name: what needs attention leads every format.
	sort.SliceStable(r.Workloads, func(i, j int) bool { return rank[r.Workloads[i].Verdict] > rank[r.Workloads[j].Verdict] })
	for _, w := range r.Workloads {
		if w.Verdict == Undetermined && len(general) == 0 {
			r.Unknowns = append(r.Unknowns, Unknown{Object: w.ID(), Reason: w.Reason})
		}
	}
	r.PDBs = s.budgetsInTheWay()
	r.Verdict = Unaffected
	for _, w := range r.Workloads {
		r.Summary[w.Verdict]++
		if Worse(w.Verdict, r.Verdict) {
			r.Verdict = w.Verdict
		}
	}
	for _, n := range r.Nodes {
		if n.Verdict == Blocks && Worse(Blocks, r.Verdict) {
			r.Verdict = Blocks
		}
	}
	return r, nil
}

// targets returns the nodes the scenario disrupts, in order.
func (m *model) targets(sc Scenario) ([]int, error) {
	var out []int
	switch sc.Kind {
	case Drain:
		if len(sc.Nodes) == 0 {
			return nil, fmt.Errorf("name the nodes to drain")
		}
		for _, name := range sc.Nodes {
			i, ok := m.nodeIndex[name]
			if !ok {
				return nil, fmt.Errorf("node %q not found among the cluster's %d nodes", name, len(m.nodes))
			}
			if !slices.Contains(out, i) {
				out = append(out, i)
			}
		}
		return out, nil
	case Zone:
		zones := map[string]int{}
		for i, n := range m.nodes {
			zones[n.zone]++
			if n.zone == sc.Zone && sc.Zone != "" {
				out = append(out, i)
			}
		}
		if len(out) == 0 {
			delete(zones, "")
			return nil, fmt.Errorf("no node is in zone %q (the nodes' zones: %s)", sc.Zone, orNone(joinNames(slices.Sorted(maps.Keys(zones)))))
		}
		return out, nil
	case Nodes, Upgrade:
		sel := labels.Everything()
		if sc.Selector != "" {
			var err error
			if sel, err = labels.Parse(sc.Selector); err != nil {
				return nil, fmt.Errorf("selector %q: %w", sc.Selector, err)
			}
		} else if sc.Kind == Nodes {
			return nil, fmt.Errorf("give a label selector (-l) for the nodes to lose")
		}
		for i, n := range m.nodes {
			if sel.Matches(labels.Set(n.obj.Labels)) {
				out = append(out, i)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("no node matches %q", sc.Selector)
		}
		if sc.Kind == Upgrade {
			// Zone by zone, then by name, as node pools are rolled.
			sort.SliceStable(out, func(a, b int) bool {
				na, nb := m.nodes[out[a]], m.nodes[out[b]]
				if na.zone != nb.zone {
					return na.zone < nb.zone
				}
				return na.name < nb.name
			})
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown drill %q", sc.Kind)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// assumptions are what the model takes as given, said in every report.
func assumptions(sc Scenario) []string {
	out := []string{
		"A replacement pod is ready as soon as it is scheduled: image pulls, start-up and readiness probes take time the drill does not count.",
		"Scheduling uses the scheduler's filters for taints, node affinity and selectors, host ports, requested resources, bound volumes' node affinity, DoNotSchedule topology spread and required inter-pod (anti-)affinity; preemption, volume attach limits, dynamic resource claims and scheduler extenders are out of the model.",
		"Autoscalers are not modelled: no node is added and no HorizontalPodAutoscaler changes a scale during the drill.",
	}
	if sc.Voluntary() {
		out = append(out, "kubectl drain runs with the flags each node needs (listed per node) and no --timeout; --disable-eviction is not used.")
	} else if sc.NodesDeleted {
		out = append(out, "The lost nodes' objects are deleted: their pods are garbage-collected and every controller replaces them.")
	} else {
		out = append(out, "The lost nodes stay, unreachable: their pods are evicted once their toleration of node.kubernetes.io/unreachable runs out (300 s by default) but stay Terminating, so a StatefulSet does not replace them until they are force-deleted.")
	}
	return out
}
