package drill

import (
	"slices"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// Survey is the drills an audit runs over a whole cluster: every node
// drained alone, and the loss of each zone with its nodes left
// unreachable, as in an outage.
type Survey struct {
	// Drains are, by workload ID, the single-node drains that harm it.
	Drains map[string][]Harm
	// Zones are, by workload ID, the zone losses that harm it.
	Zones map[string][]Harm
	// ZoneNames are the zones the nodes are spread over.
	ZoneNames []string
}

// Harm is what one drill does to a workload: any verdict but unaffected.
type Harm struct {
	// Scenario names the drill: the node drained or the zone lost.
	Scenario string
	Result   WorkloadResult
}

// SurveyOf runs the survey of an inventory read from a cluster, once per
// inventory.
func SurveyOf(inv *inventory.Inventory) *Survey {
	return inventory.Memo(inv, "drill.survey", func(inv *inventory.Inventory) *Survey {
		return survey(inventory.Memo(inv, "drill.model", build))
	})
}

func survey(m *model) *Survey {
	s := &Survey{Drains: map[string][]Harm{}, Zones: map[string][]Harm{}}
	add := func(to map[string][]Harm, scenario string, r *Report) {
		for _, w := range r.Workloads {
			if w.Verdict != Unaffected {
				to[w.ID()] = append(to[w.ID()], Harm{scenario, w})
			}
		}
	}
	zones := map[string]bool{}
	for _, n := range m.nodes {
		if n.zone != "" {
			zones[n.zone] = true
		}
		if !m.hasEvictable(n.name) {
			continue
		}
		if r, err := run(m, Scenario{Kind: Drain, Nodes: []string{n.name}}, Options{}); err == nil {
			add(s.Drains, n.name, r)
		}
	}
	for z := range zones {
		s.ZoneNames = append(s.ZoneNames, z)
	}
	slices.Sort(s.ZoneNames)
	if len(s.ZoneNames) < 2 {
		return s
	}
	for _, z := range s.ZoneNames {
		if r, err := run(m, Scenario{Kind: Zone, Zone: z}, Options{}); err == nil {
			add(s.Zones, z, r)
		}
	}
	return s
}

// hasEvictable reports whether a node runs a pod a drain would move.
func (m *model) hasEvictable(node string) bool {
	i := m.nodeIndex[node]
	for _, p := range m.pods {
		if p.node == i && !p.daemon && !p.mirror && !p.terminal {
			return true
		}
	}
	return false
}
