package check

// Params are the knobs that checks read. Configuration sets them; Defaults
// gives the values used when it does not.
type Params struct {
	// MinReplicas is the replica count below which a Deployment or
	// StatefulSet is a single point of failure.
	MinReplicas int32 `yaml:"minReplicas" json:"minReplicas"`
	// CostLabels must be set on workloads and namespaces for cost attribution.
	CostLabels []string `yaml:"costLabels" json:"costLabels"`
	// RecommendedLabels are the app.kubernetes.io labels the optional
	// recommended-labels check asks for.
	RecommendedLabels []string `yaml:"recommendedLabels" json:"recommendedLabels"`
	// AllowedRegistries, when not empty, are the only image registries (or
	// registry/path prefixes) that workloads may pull from.
	AllowedRegistries []string `yaml:"allowedRegistries" json:"allowedRegistries"`
	// SystemNamespaces are not application namespaces: namespace-level
	// application checks skip them.
	SystemNamespaces []string `yaml:"systemNamespaces" json:"systemNamespaces"`
	// KubernetesVersion is the version upgrade checks judge against, as
	// "1.33". Empty means the newest release plimsoll knows.
	KubernetesVersion string `yaml:"kubernetesVersion" json:"kubernetesVersion"`
	// SlowStartSeconds is the liveness initialDelaySeconds from which a
	// container counts as slow to start and should have a startup probe.
	SlowStartSeconds int32 `yaml:"slowStartSeconds" json:"slowStartSeconds"`
	// MaxGracePeriodSeconds is the largest terminationGracePeriodSeconds that
	// is not absurd.
	MaxGracePeriodSeconds int64 `yaml:"maxGracePeriodSeconds" json:"maxGracePeriodSeconds"`
	// MaxRestarts is the most restarts a running container may have had
	// before runtime-pods-restarts reports it. Kubernetes counts restarts
	// over the pod's lifetime, so a long-lived pod may reach it slowly.
	MaxRestarts int32 `yaml:"maxRestarts" json:"maxRestarts"`
	// MinWorkerNodes is the fewest schedulable worker nodes a cluster
	// should have (seed 000: three or more instances).
	MinWorkerNodes int32 `yaml:"minWorkerNodes" json:"minWorkerNodes"`
	// MinZones is the fewest zones the schedulable worker nodes should
	// span.
	MinZones int32 `yaml:"minZones" json:"minZones"`
	// AlertTopics are the failures some alerting rule must cover for
	// monitoring-alert-rules to pass. Setting it replaces the whole list.
	AlertTopics []AlertTopic `yaml:"alertTopics" json:"alertTopics"`
}

// Defaults returns the parameters used when configuration sets none.
func Defaults() Params {
	return Params{
		MinReplicas:       2,
		CostLabels:        []string{"team", "environment", "cost-center", "app"},
		RecommendedLabels: []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version"},
		SystemNamespaces: []string{
			"kube-system", "kube-public", "kube-node-lease",
		},
		SlowStartSeconds:      30,
		MaxGracePeriodSeconds: 3600,
		MaxRestarts:           5,
		MinWorkerNodes:        3,
		MinZones:              2,
		AlertTopics:           DefaultAlertTopics(),
	}
}

// IsSystemNamespace reports whether ns is one of the system namespaces.
func (p *Params) IsSystemNamespace(ns string) bool {
	for _, s := range p.SystemNamespaces {
		if s == ns {
			return true
		}
	}
	return false
}
