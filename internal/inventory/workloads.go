package inventory

// WorkloadKind is a built-in kind that runs pods, with the properties that
// set it apart from the others. The lists of kinds that checks target and
// that the inventory walks are all derived from one table of them (see
// WorkloadKinds), so a kind is described in one place.
type WorkloadKind struct {
	// Kind is the kind key.
	Kind string
	// Controller marks a kind that runs pods from a pod template rather
	// than being one: every kind but Pod. An object whose controller is of
	// such a kind is judged through that controller.
	Controller bool
	// Through is, for a controller that does not own its pods directly,
	// the kind of the objects in between: a Deployment's pods belong to
	// its ReplicaSets, a CronJob's to its Jobs.
	Through string
	// Finishes marks the kinds whose pods run to completion (Jobs and
	// CronJobs) rather than being meant to keep running.
	Finishes bool
	// Replicas marks the kinds that have a replica count, spec.replicas,
	// and so the kinds a HorizontalPodAutoscaler can scale.
	Replicas bool
	// Replicated marks the kinds people declare to run a replicated
	// service: a replica count and a rollout that replaces the pods. A
	// ReplicaSet or a ReplicationController has a count too, but is what a
	// rollout is made of, not what checks of replication judge.
	Replicated bool
	// WaitsReady marks the controllers whose rollouts wait for new pods to
	// be Ready (a Deployment's progress and availability, a StatefulSet's
	// ordered updates, a DaemonSet's maxUnavailable): their pods'
	// readiness matters whether or not a Service selects them.
	WaitsReady bool
}

// workloadTable describes every built-in kind that runs pods, sorted by
// kind, so that the lists derived from it are sorted too.
var workloadTable = []WorkloadKind{
	{Kind: "CronJob", Controller: true, Through: "Job", Finishes: true},
	{Kind: "DaemonSet", Controller: true, WaitsReady: true},
	{Kind: "Deployment", Controller: true, Through: "ReplicaSet", Replicas: true, Replicated: true, WaitsReady: true},
	{Kind: "Job", Controller: true, Finishes: true},
	{Kind: "Pod"},
	{Kind: "ReplicaSet", Controller: true, Replicas: true},
	{Kind: "ReplicationController", Controller: true, Replicas: true},
	{Kind: "StatefulSet", Controller: true, Replicas: true, Replicated: true, WaitsReady: true},
}

// workloadByKind indexes workloadTable by kind key.
var workloadByKind = func() map[string]WorkloadKind {
	m := make(map[string]WorkloadKind, len(workloadTable))
	for _, w := range workloadTable {
		m[w.Kind] = w
	}
	return m
}()

// podTemplateKinds are the kinds a top-level workload can be: every kind
// of the table.
var podTemplateKinds = WorkloadKinds(nil)

// WorkloadKinds returns the keys of the built-in kinds that run pods and
// that keep accepts (all of them when keep is nil), sorted. Callers derive
// their lists of kinds from it, as in
//
//	WorkloadKinds(func(w WorkloadKind) bool { return w.Replicas })
//
// for the kinds an HPA can scale. Each call returns a new slice.
func WorkloadKinds(keep func(WorkloadKind) bool) []string {
	var out []string
	for _, w := range workloadTable {
		if keep == nil || keep(w) {
			out = append(out, w.Kind)
		}
	}
	return out
}

// WorkloadKindOf returns the description of a built-in kind that runs pods,
// and false for any other kind key.
func WorkloadKindOf(key string) (WorkloadKind, bool) {
	w, ok := workloadByKind[key]
	return w, ok
}
