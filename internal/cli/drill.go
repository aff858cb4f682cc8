package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/plimsoll/plimsoll/internal/drill"
	"github.com/plimsoll/plimsoll/internal/memory"
	"github.com/plimsoll/plimsoll/internal/pipeline"
	"github.com/plimsoll/plimsoll/internal/platform"
	"github.com/plimsoll/plimsoll/internal/report"
)

type drillOptions struct {
	output       string
	failOn       string
	snapshot     string
	selector     string
	maxUnav      int
	nodesDeleted bool
	maxAge       time.Duration
	cluster      *clusterOptions
}

// failLevels are --fail-on's levels, each with the workload verdicts that
// reach it: degraded is the strictest.
var failLevels = map[string][]string{
	"outage":   {drill.Outage},
	"blocked":  {drill.Outage, drill.Blocks},
	"degraded": {drill.Outage, drill.Blocks, drill.Pending, drill.Degraded},
}

func newDrillCommand(s Streams) *cobra.Command {
	o := &drillOptions{cluster: newClusterOptions()}
	cmd := &cobra.Command{
		Use:   "drill (drain NODE... | zone ZONE | nodes -l SELECTOR | upgrade)",
		Short: "Predict what a node drain, a zone loss or a node upgrade does to every workload",
		Long: `Drill predicts, without touching the cluster, what a disruption does to every
workload: which drains serialize or block and on which PodDisruptionBudget,
which workloads lose every ready pod for a while (outage), fall below what
their budget asks (degraded), or get replacements that cannot be scheduled
(pending), and which kubectl drain flags each node needs.

It reads the cluster of the current kubeconfig context as 'plimsoll audit'
does (read-only, the same flags and the same least-privilege role; every
namespace, since other namespaces' pods take room on the nodes too), or a
snapshot with --snapshot. It never evicts, cordons or writes anything.

Voluntary drills (drain, upgrade) follow the eviction API: budgets are
recomputed as the disruption controller does and consumed one eviction at a
time. Involuntary ones (zone, nodes) take the nodes away at once: budgets do
not protect. Replacements are placed with the scheduler's filters. What the
model leaves out is listed in every report, and what it cannot judge is
reported unknown, never fine. See docs/drill.md.

Exit codes: 0 when no --fail-on level was reached, 1 when one was, 2 when
the drill could not run or some inputs could not be read (the prediction is
still written).`,
		Example: `  plimsoll drill drain worker-3 worker-4
  plimsoll drill zone eu-west-1b
  plimsoll drill nodes -l karpenter.sh/capacity-type=spot --nodes-deleted
  plimsoll drill upgrade --max-unavailable 2
  plimsoll drill upgrade --snapshot prod.json.gz -o html > upgrade.html
  plimsoll drill zone eu-west-1a --fail-on outage`,
	}
	f := cmd.PersistentFlags()
	f.StringVarP(&o.output, "output", "o", "text", "output format: "+strings.Join(drill.Formats(), ", "))
	f.StringVar(&o.failOn, "fail-on", "", "exit 1 when a workload reaches this level: outage, blocked (a drain cannot finish, or an outage), degraded (any harm)")
	f.StringVar(&o.snapshot, "snapshot", "", "drill a snapshot taken with 'plimsoll snapshot' instead of a live cluster")
	f.DurationVar(&o.maxAge, "max-age", drill.DefaultMaxAge, "a snapshot older than this is stale: no workload is then called unaffected")
	o.cluster.addFlags(f)

	sub := func(use, short string, args cobra.PositionalArgs, scenario func([]string) drill.Scenario) *cobra.Command {
		return &cobra.Command{
			Use: use, Short: short, Args: args,
			RunE: func(c *cobra.Command, args []string) error {
				return untilInterrupted(c.Context(), func() error { return runDrill(c, s, o, scenario(args)) })
			},
		}
	}
	drain := sub("drain NODE...", "Drain these nodes, one after another, as kubectl drain does", cobra.MinimumNArgs(1), func(args []string) drill.Scenario {
		return drill.Scenario{Kind: drill.Drain, Nodes: args}
	})
	zone := sub("zone ZONE", "Lose every node of a zone at once (topology.kubernetes.io/zone)", cobra.ExactArgs(1), func(args []string) drill.Scenario {
		return drill.Scenario{Kind: drill.Zone, Zone: args[0], NodesDeleted: o.nodesDeleted}
	})
	nodes := sub("nodes -l SELECTOR", "Lose every node a label selector matches at once", cobra.NoArgs, func([]string) drill.Scenario {
		return drill.Scenario{Kind: drill.Nodes, Selector: o.selector, NodesDeleted: o.nodesDeleted}
	})
	upgrade := sub("upgrade", "Drain every node (or those -l selects) in waves, as a node-pool upgrade does", cobra.NoArgs, func([]string) drill.Scenario {
		return drill.Scenario{Kind: drill.Upgrade, Selector: o.selector, MaxUnavailable: o.maxUnav}
	})
	for _, c := range []*cobra.Command{zone, nodes} {
		c.Flags().BoolVar(&o.nodesDeleted, "nodes-deleted", false, "the lost nodes' objects are deleted too (a spot reclaim, a cloud controller removing them); by default they stay, unreachable, as in an outage")
	}
	for _, c := range []*cobra.Command{nodes, upgrade} {
		c.Flags().StringVarP(&o.selector, "selector", "l", "", "label selector of the nodes")
	}
	upgrade.Flags().IntVar(&o.maxUnav, "max-unavailable", 1, "nodes drained at once in each wave")
	cmd.AddCommand(drain, zone, nodes, upgrade)
	return cmd
}

func runDrill(cmd *cobra.Command, s Streams, o *drillOptions, sc drill.Scenario) error {
	if !contains(drill.Formats(), o.output) {
		return &exitError{ExitPartial, fmt.Errorf("--output %q: want one of %s", o.output, strings.Join(drill.Formats(), ", "))}
	}
	if _, ok := failLevels[o.failOn]; o.failOn != "" && !ok {
		return &exitError{ExitPartial, fmt.Errorf("--fail-on %q: want outage, blocked or degraded", o.failOn)}
	}
	if sc.Kind == drill.Upgrade && o.maxUnav < 1 {
		return &exitError{ExitPartial, errors.New("--max-unavailable must be at least 1")}
	}
	if cmd.Flags().Changed("namespace") {
		return &exitError{ExitPartial, errors.New("a drill reads every namespace: the pods of other namespaces take room on the nodes too; -n cannot narrow it")}
	}
	defer memory.Bound(s.Getenv)()
	in, err := pipeline.Read(cmd.Context(), pipeline.Source{
		Snapshot: o.snapshot,
		Cluster:  o.cluster.source(cmd.Flags(), s, drill.Kinds, o.output != "text"),
	})
	if err != nil {
		return &exitError{ExitPartial, err}
	}
	source := strings.Join(in.Sources, ", ")
	inv := platform.Inventory(in.Mode, in.Objects)
	rep, err := drill.Run(inv, sc, drill.Options{Source: source, At: in.At, Now: s.Now(), MaxAge: o.maxAge, Unreadable: pipeline.Unreadable(in, drill.Kinds)})
	if err != nil {
		return &exitError{ExitPartial, err}
	}
	if err := drill.Write(s.Out, o.output, rep); err != nil {
		return &exitError{ExitPartial, fmt.Errorf("write drill report: %w", err)}
	}
	if len(in.Errors) > 0 {
		for _, e := range in.Errors {
			fmt.Fprintln(s.Err, "plimsoll: cannot read", report.EscapeTerminal(e.Where()+": "+e.Message))
		}
		return &exitError{ExitPartial, fmt.Errorf("partial read: %d input(s) could not be read; the prediction covers the rest", len(in.Errors))}
	}
	if o.failOn != "" {
		n := 0
		for _, w := range rep.Workloads {
			if contains(failLevels[o.failOn], w.Verdict) {
				n++
			}
		}
		for _, nd := range rep.Nodes {
			if o.failOn != "outage" && nd.Verdict == drill.Blocks {
				n++
			}
		}
		if n > 0 {
			return &exitError{ExitGate, fmt.Errorf("gate failed: %d workload(s) or node(s) reach %s (--fail-on)", n, o.failOn)}
		}
	}
	return nil
}
