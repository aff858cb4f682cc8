package inventory

import (
	"maps"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	extensionsv1beta1 "k8s.io/api/extensions/v1beta1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// A pod carries its template's labels and those its controller adds: a
// StatefulSet names each pod in statefulset.kubernetes.io/pod-name, the
// API server labels a Job's pods with its name, a Deployment's ReplicaSets
// add a hash of the template. Selectors are matched against both, so a
// Service that fronts one StatefulSet pod selects what the cluster would.

// Labels Kubernetes sets on pods that k8s.io/api names only as deprecated
// or not at all.
const (
	legacyJobNameLabel       = "job-name"
	legacyControllerUIDLabel = "controller-uid"
)

// Keys whose values the inputs do not show: a hash of the template, a UID,
// the generated name of a CronJob's Job, a generation. A selector that needs
// one of them may match: nothing in the inputs says it does not.
var (
	deploymentUnknown  = []string{appsv1.DefaultDeploymentUniqueLabelKey}
	statefulSetUnknown = []string{appsv1.ControllerRevisionHashLabelKey}
	daemonSetUnknown   = []string{appsv1.ControllerRevisionHashLabelKey, extensionsv1beta1.DaemonSetTemplateGenerationKey}
	jobUnknown         = []string{batchv1.ControllerUidLabel, legacyControllerUIDLabel}
	cronJobUnknown     = []string{batchv1.ControllerUidLabel, legacyControllerUIDLabel, batchv1.JobNameLabel, legacyJobNameLabel}
)

// builtinUnknown holds every key above, and a StatefulSet pod's name and
// index. A selector that names none of them, nor a key a PodRunner's
// controller sets out of sight, is matched against the pods' label set
// alone, which is the common case and costs one map lookup a key.
var builtinUnknown = func() map[string]bool {
	m := map[string]bool{appsv1.StatefulSetPodNameLabel: true, appsv1.PodIndexLabel: true}
	for _, keys := range [][]string{deploymentUnknown, statefulSetUnknown, daemonSetUnknown, jobUnknown, cronJobUnknown} {
		for _, k := range keys {
			m[k] = true
		}
	}
	return m
}()

// PodRunner describes a kind of custom resource whose controller runs pods
// that carry labels no pod template in the resource shows, such as the
// Prometheus Operator's Prometheus: its pods get the resource's
// spec.podMetadata.labels and, over those, the operator's own. Build takes
// a table of them (WithPodRunners), so that selectors are matched against
// the labels such pods will carry. A custom resource of any other kind runs
// pods when it has a pod template in spec.template, as an Argo Rollout
// does.
type PodRunner struct {
	// Kind is the kind key of the custom resource (Kind.group).
	Kind string
	// LabelsPath is the dot-separated field path of the labels the
	// resource gives its pods, such as spec.podMetadata.labels; values
	// there that are not strings are left out.
	LabelsPath string
	// Labels are the labels the controller sets over those, with the
	// values they always have.
	Labels map[string]string
	// NameLabels are the keys of the labels the controller sets, over all
	// the above, to the resource's name.
	NameLabels []string
	// Unknown are the keys of the labels the controller sets to values the
	// resource does not show, such as a hash or a shard. A selector that
	// requires one of them may match: nothing in the inputs says it does
	// not. A selector that requires one to be absent does not match.
	Unknown []string
}

// Option configures Build.
type Option func(*Inventory)

// WithPodRunners tells Build which kinds of custom resources run pods with
// labels of their controllers' making, and what those labels are. Without
// it, only custom resources with a pod template in spec.template run pods.
func WithPodRunners(runners []PodRunner) Option {
	return func(inv *Inventory) {
		if inv.runners == nil {
			inv.runners = map[string]*podRunner{}
		}
		inv.unknownKeys = maps.Clone(inv.unknownKeys)
		for _, r := range runners {
			var path []string
			if r.LabelsPath != "" {
				path = strings.Split(r.LabelsPath, ".")
			}
			inv.runners[r.Kind] = &podRunner{PodRunner: r, path: path}
			for _, k := range r.Unknown {
				inv.unknownKeys[k] = true
			}
		}
	}
}

// podRunner is a PodRunner with its labels' path split.
type podRunner struct {
	PodRunner
	path []string
}

// labels returns the labels of the pods a custom resource of the runner's
// kind runs.
func (r *podRunner) labels(o *Object) podLabels {
	set := stringLabels(o.Field(r.path...))
	for k, val := range r.Labels {
		set[k] = val
	}
	for _, k := range r.NameLabels {
		set[k] = o.Name
	}
	return podLabels{set: set, unknown: r.Unknown}
}

// podLabels are the labels the pods of a workload, or of a custom resource
// that runs pods, carry as far as the inputs show.
type podLabels struct {
	// set holds the template's labels, overlaid with those the controller
	// sets to a value the inputs show, such as a Job's name.
	set labels.Set
	// unknown are the keys the controller sets to values the inputs do not
	// show.
	unknown []string
	// ordinals are a StatefulSet's: its pods are named <name>-<i> and
	// indexed i, for i from start up to start+replicas.
	ordinals *ordinals
}

type ordinals struct {
	name     string
	start, n int
}

// workloadPodLabels returns the labels of a built-in workload's pods.
// replicas bounds a StatefulSet's ordinals: its replica count, or more when
// an HPA may scale it up.
func workloadPodLabels(w *Object, replicas int32) podLabels {
	tmpl, _ := w.PodTemplate()
	p := podLabels{set: tmpl.Labels}
	switch t := w.Typed.(type) {
	case *appsv1.Deployment:
		p.unknown = deploymentUnknown
	case *appsv1.DaemonSet:
		p.unknown = daemonSetUnknown
	case *appsv1.StatefulSet:
		p.unknown = statefulSetUnknown
		o := &ordinals{name: w.Name, n: int(replicas)}
		if t.Spec.Ordinals != nil {
			o.start = int(t.Spec.Ordinals.Start)
		}
		p.ordinals = o
	case *batchv1.Job:
		// The API server labels the template with the Job's name and UID
		// unless the Job chose its own selector.
		if t.Spec.ManualSelector == nil || !*t.Spec.ManualSelector {
			p.set = withLabels(p.set, batchv1.JobNameLabel, w.Name, legacyJobNameLabel, w.Name)
			p.unknown = jobUnknown
		}
	case *batchv1.CronJob:
		if ms := t.Spec.JobTemplate.Spec.ManualSelector; ms == nil || !*ms {
			p.unknown = cronJobUnknown
		}
	}
	return p
}

// customPodLabels returns the labels of the pods a custom resource runs,
// and false when it runs none the inputs show. A kind Build was given a
// PodRunner for gives the labels the runner describes; any other, a pod
// template in spec.template (an Argo Rollout, an OpenKruise CloneSet).
func (inv *Inventory) customPodLabels(o *Object) (podLabels, bool) {
	if r, ok := inv.runners[o.key]; ok {
		return r.labels(o), true
	}
	spec, _ := o.Content["spec"].(map[string]any)
	tmpl, _ := spec["template"].(map[string]any)
	podSpec, _ := tmpl["spec"].(map[string]any)
	if containers, _ := podSpec["containers"].([]any); len(containers) == 0 {
		// Not a pod template: a Karpenter NodePool's spec.template
		// labels nodes.
		return podLabels{}, false
	}
	meta, _ := tmpl["metadata"].(map[string]any)
	set := stringLabels(meta["labels"])
	return podLabels{set: set}, len(set) > 0
}

// stringLabels reads a label map from a custom resource's content, leaving
// out values that are not strings.
func stringLabels(v any) labels.Set {
	m, _ := v.(map[string]any)
	set := make(labels.Set, len(m))
	for k, v := range m {
		if s, ok := v.(string); ok {
			set[k] = s
		}
	}
	return set
}

// withLabels returns a copy of set with key, value pairs set over it.
func withLabels(set labels.Set, kv ...string) labels.Set {
	out := make(labels.Set, len(set)+len(kv)/2)
	for k, v := range set {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// mentionsUnknown reports whether a selector names a key whose value the
// controllers set out of the inputs' sight, or a StatefulSet pod's name or
// index: only such selectors need mayMatch.
func (inv *Inventory) mentionsUnknown(sel labels.Selector) bool {
	reqs, _ := sel.Requirements()
	for i := range reqs {
		if inv.unknownKeys[reqs[i].Key()] {
			return true
		}
	}
	return false
}

// selects reports whether a selector may select some of the pods. slow
// says whether it names a key whose value the inputs do not show
// (mentionsUnknown): only then is it matched requirement by requirement
// (mayMatch); otherwise the pods' label set decides, which is the common
// case and costs one map lookup a key.
func (p podLabels) selects(sel labels.Selector, slow bool) bool {
	if slow {
		return p.mayMatch(sel)
	}
	return sel.Matches(p.set)
}

// varies reports whether the pods' values of a label differ from pod to
// pod or are not shown: a StatefulSet pod's name and index, and the keys
// the controller sets out of the inputs' sight.
func (p podLabels) varies(key string) bool {
	return contains(p.unknown, key) || p.ordinals != nil && (key == appsv1.StatefulSetPodNameLabel || key == appsv1.PodIndexLabel)
}

// mayMatch reports whether the selector may select some of the pods: it
// does unless a requirement fails on the labels the inputs show. A
// requirement on a key whose value is unknown holds unless it demands the
// key be absent; requirements on a StatefulSet pod's name and index must
// hold together for one of its ordinals.
func (p podLabels) mayMatch(sel labels.Selector) bool {
	reqs, _ := sel.Requirements()
	var byOrdinal []labels.Requirement
	for i := range reqs {
		r := &reqs[i] // not a copy: Requirement's methods would move it to the heap
		k := r.Key()
		switch {
		case p.ordinals != nil && (k == appsv1.StatefulSetPodNameLabel || k == appsv1.PodIndexLabel):
			byOrdinal = append(byOrdinal, *r)
			continue
		case contains(p.unknown, k):
			if r.Operator() == selection.DoesNotExist {
				return false
			}
			continue
		}
		if !r.Matches(p.set) {
			return false
		}
	}
	return len(byOrdinal) == 0 || p.ordinals.anyMatches(byOrdinal)
}

// anyMatches reports whether some pod of the StatefulSet has a name and
// index that meet every requirement. Only the ordinals the requirements
// name, and one they do not, need trying: every other ordinal meets them
// as that one does. So a StatefulSet of many replicas is never walked.
func (o *ordinals) anyMatches(reqs []labels.Requirement) bool {
	named := map[int]bool{}
	for k := range reqs {
		for _, v := range reqs[k].ValuesUnsorted() {
			if i, ok := o.ordinalOf(reqs[k].Key(), v); ok {
				named[i] = true
			}
		}
	}
	try := func(i int) bool {
		if i < o.start || i >= o.start+o.n {
			return false
		}
		pod := labels.Set{appsv1.StatefulSetPodNameLabel: o.name + "-" + strconv.Itoa(i), appsv1.PodIndexLabel: strconv.Itoa(i)}
		for k := range reqs {
			if !reqs[k].Matches(pod) {
				return false
			}
		}
		return true
	}
	for i := range named {
		if try(i) {
			return true
		}
	}
	for i := o.start; i < o.start+o.n; i++ {
		if !named[i] {
			return try(i)
		}
	}
	return false
}

// ordinalOf reads the ordinal a pod name or index label value stands for,
// if it is one of this StatefulSet's form (no leading zeros or signs).
func (o *ordinals) ordinalOf(key, value string) (int, bool) {
	if key == appsv1.StatefulSetPodNameLabel {
		var ok bool
		if value, ok = strings.CutPrefix(value, o.name+"-"); !ok {
			return 0, false
		}
	}
	i, err := strconv.Atoi(value)
	if err != nil || i < 0 || strconv.Itoa(i) != value {
		return 0, false
	}
	return i, true
}
