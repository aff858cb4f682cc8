package inventory

// ClusterKey is the kind key of the one object that stands for the cluster
// itself in an inventory read from a cluster. Checks of the platform as a
// whole (is there monitoring, is the control plane highly available) judge
// it, so their results have one subject like every other result.
const ClusterKey = "Cluster.plimsoll.dev"

// ClusterAPIVersion is the apiVersion of the cluster object.
const ClusterAPIVersion = "plimsoll.dev/v1alpha1"

// ClusterInfo is what an audit knows of the cluster besides its objects.
type ClusterInfo struct {
	// Server is the API server's URL.
	Server string
	// Version is the API server's Kubernetes version, as v1.33.2.
	Version string
	// Context is the kubeconfig context the cluster was read through.
	Context string
}

// ClusterObject returns the object that stands for a cluster, named
// "cluster". Build adds one, with no information, to an inventory read from a
// cluster that has none.
func ClusterObject(info ClusterInfo) *Object {
	o, err := New(map[string]any{
		"apiVersion": ClusterAPIVersion,
		"kind":       "Cluster",
		"metadata":   map[string]any{"name": "cluster"},
		"status": map[string]any{
			"server":            info.Server,
			"kubernetesVersion": info.Version,
			"context":           info.Context,
		},
	}, Source{Origin: "cluster"})
	if err != nil {
		panic(err) // the content above is always a valid object
	}
	return o
}

// Cluster returns the object that stands for the cluster, or nil for an
// inventory of manifests.
func (inv *Inventory) Cluster() *Object {
	if cs := inv.OfKind(ClusterKey); len(cs) > 0 {
		return cs[0]
	}
	return nil
}

// ClusterInfo returns what the cluster object records.
func (o *Object) ClusterInfo() ClusterInfo {
	status, _ := o.Content["status"].(map[string]any)
	str := func(k string) string { s, _ := status[k].(string); return s }
	return ClusterInfo{Server: str("server"), Version: str("kubernetesVersion"), Context: str("context")}
}
