package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/cluster"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/report"
)

// clusterOptions are the kubectl-style flags of the commands that read a
// cluster, from k8s.io/cli-runtime, plus how to read.
type clusterOptions struct {
	kube          *genericclioptions.ConfigFlags
	allNamespaces bool
	chunkSize     int64
	concurrency   int
}

func newClusterOptions() *clusterOptions {
	kube := genericclioptions.NewConfigFlags(false)
	// plimsoll never writes to the cluster and never caches discovery on
	// disk: it reads once.
	kube.CacheDir = nil
	return &clusterOptions{kube: kube}
}

func (c *clusterOptions) addFlags(f *pflag.FlagSet) {
	c.kube.AddFlags(f)
	f.BoolVarP(&c.allNamespaces, "all-namespaces", "A", false, "read every namespace (the default when -n is not given)")
	f.Int64Var(&c.chunkSize, "chunk-size", cluster.DefaultPageSize, "objects per LIST page when reading a cluster")
	f.IntVar(&c.concurrency, "list-concurrency", cluster.DefaultConcurrency, "resource types listed at once when reading a cluster")
}

// namespace is the namespace a cluster read is limited to: the one -n
// names, or "" for all. Unlike kubectl, the kubeconfig context's namespace
// does not narrow an audit: a cluster audit covers the cluster unless asked.
func (c *clusterOptions) namespace(f *pflag.FlagSet) (string, error) {
	if !f.Changed("namespace") {
		return "", nil
	}
	if c.allNamespaces {
		return "", errors.New("-n and -A (--all-namespaces) exclude each other")
	}
	return *c.kube.Namespace, nil
}

// readCluster reads the kinds that checks need from the cluster the flags
// name, and describes the read. Progress shows on stderr when it is a
// terminal, outside CI, unless quiet (machine-readable output).
func readCluster[T any](ctx context.Context, f *pflag.FlagSet, s Streams, c *clusterOptions, kinds []string, quiet bool, decode cluster.Decode[T]) (*cluster.Result[T], cluster.Header, error) {
	var h cluster.Header
	ns, err := c.namespace(f)
	if err != nil {
		return nil, h, err
	}
	cfg, context, err := restConfig(s, c.kube)
	if errors.Is(err, errNoKubeconfig) {
		return nil, h, errors.New("nothing to audit: no paths, no --snapshot, and no kubeconfig to reach a cluster with (KUBECONFIG, ~/.kube/config or --kubeconfig)")
	}
	if err != nil {
		return nil, h, err
	}
	opts := cluster.Options{Config: cfg, Namespace: ns, Kinds: kinds, PageSize: c.chunkSize, Concurrency: c.concurrency}
	var p *progressLine
	if !quiet && s.ErrIsTerminal && s.Getenv("CI") == "" {
		p = &progressLine{w: s.Err}
		opts.Progress = p.update
	}
	res, err := cluster.Read(ctx, opts, decode)
	p.clear()
	if err != nil {
		return nil, h, err
	}
	return res, res.Header(context, ns), nil
}

// errNoKubeconfig says there is no kubeconfig, no --server, and no pod's
// service account to reach a cluster with.
var errNoKubeconfig = errors.New("no kubeconfig to reach a cluster with (KUBECONFIG, ~/.kube/config or --kubeconfig)")

// restConfig is the client configuration the kubeconfig flags give, and
// the name of their context ("" in a pod).
func restConfig(s Streams, kube *genericclioptions.ConfigFlags) (*rest.Config, string, error) {
	raw, err := kube.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig: %w", err)
	}
	if len(raw.Contexts) == 0 && *kube.APIServer == "" && !inCluster(s) {
		return nil, "", errNoKubeconfig
	}
	cfg, err := kube.ToRESTConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig: %w", err)
	}
	// Deprecation warnings are about the API versions plimsoll lists, not
	// about the cluster; they would only clutter the output.
	cfg.WarningHandler = rest.NoWarnings{}
	if cfg.QPS == 0 {
		// client-go's default of 5 requests a second would make a big
		// cluster's read crawl; the server's priority and fairness and
		// its 429 answers still have the last word.
		cfg.QPS, cfg.Burst = 50, 100
	}
	context := raw.CurrentContext
	if *kube.Context != "" {
		context = *kube.Context
	}
	return cfg, context, nil
}

// inCluster says plimsoll runs in a pod, where client-go reads the pod's
// service account instead of a kubeconfig.
func inCluster(s Streams) bool {
	return s.Getenv("KUBERNETES_SERVICE_HOST") != "" && s.Getenv("KUBERNETES_SERVICE_PORT") != ""
}

// neededKinds are the kinds a cluster read lists: every kind some check
// needs, plus Namespaces and Nodes, which every report describes.
func neededKinds(reg *check.Registry) []string {
	seen := map[string]bool{"Namespace": true, "Node": true, inventory.ClusterKey: true}
	kinds := []string{"Namespace", "Node"}
	for _, c := range reg.All() {
		if c.Requires == check.Declared {
			continue
		}
		for _, k := range c.Needs() {
			if !seen[k] {
				seen[k] = true
				kinds = append(kinds, k)
			}
		}
	}
	return kinds
}

// clusterInputs turns what a cluster read (live or from a snapshot) into
// the audit's inputs: kinds that could not be read make the checks that
// need them not assessed, and the ones that failed (rather than being out
// of the namespace's scope) make the run partial.
func clusterInputs(header cluster.Header, objs []*inventory.Object, decodeErrs []error, origin string) *inputs {
	in := &inputs{
		mode:       inventory.FromCluster,
		objects:    objs,
		unreadable: map[string]string{"Secret": "plimsoll never reads Secrets"},
		cluster: &report.Cluster{
			Server: header.Server, Version: header.ServerVersion, Context: header.Context,
			Namespace: header.Namespace,
		},
		sources:   []string{origin},
		at:        header.Created,
		namespace: header.Namespace,
	}
	in.objects = append(in.objects, inventory.ClusterObject(inventory.ClusterInfo{
		Server: header.Server, Version: header.ServerVersion, Context: header.Context,
	}))
	zones := map[string]bool{}
	for _, o := range objs {
		if o.KindKey() == "Node" {
			in.cluster.Nodes++
			if z, ok := o.Label(corev1.LabelTopologyZone); ok {
				zones[z] = true
			}
		}
	}
	in.cluster.Zones = append([]string{}, slices.Sorted(maps.Keys(zones))...) // never null in JSON
	for _, u := range header.Unread {
		in.unreadable[u.Type.Key] = u.Why()
		if !u.OutOfScope {
			in.errors = append(in.errors, report.InputError{Object: u.Type.Name(), Message: "cannot list: " + u.Reason})
		}
	}
	for _, e := range decodeErrs {
		in.errors = append(in.errors, report.InputError{Message: e.Error()})
	}
	return in
}

// progressLine shows, on a terminal, which types are being listed and how
// many objects were read, on one line it rewrites.
type progressLine struct {
	w     io.Writer
	shown bool
}

func (p *progressLine) update(pr cluster.Progress) {
	p.shown = true
	fmt.Fprintf(p.w, "\r\033[Kreading the cluster: %d/%d resource types, %d objects (%s)", pr.TypesDone, pr.Types, pr.Objects, pr.Listing)
}

func (p *progressLine) clear() {
	if p != nil && p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
