package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"

	"github.com/plimsoll/plimsoll/internal/cluster"
	"github.com/plimsoll/plimsoll/internal/pipeline"
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

// source is the cluster the flags name, to read kinds from. Progress shows
// on stderr when it is a terminal, outside CI, unless quiet
// (machine-readable output).
func (c *clusterOptions) source(f *pflag.FlagSet, s Streams, kinds []string, quiet bool) pipeline.Cluster {
	pc := pipeline.Cluster{
		Connect:     func() (*pipeline.Connection, error) { return c.connect(f, s) },
		Kinds:       kinds,
		PageSize:    c.chunkSize,
		Concurrency: c.concurrency,
	}
	if !quiet && s.ErrIsTerminal && s.Getenv("CI") == "" {
		pc.Progress = s.Err
	}
	return pc
}

// connect reaches the cluster the flags name, when it is read.
func (c *clusterOptions) connect(f *pflag.FlagSet, s Streams) (*pipeline.Connection, error) {
	ns, err := c.namespace(f)
	if err != nil {
		return nil, err
	}
	cfg, context, err := restConfig(s, c.kube)
	if errors.Is(err, errNoKubeconfig) {
		return nil, errors.New("nothing to audit: no paths, no --snapshot, and no kubeconfig to reach a cluster with (KUBECONFIG, ~/.kube/config or --kubeconfig)")
	}
	if err != nil {
		return nil, err
	}
	return &pipeline.Connection{Config: cfg, Context: context, Namespace: ns}, nil
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
