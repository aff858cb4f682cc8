package inventory

import (
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

// unknownKeys holds every key above: a selector that names none of them,
// nor a StatefulSet's pod name or index, is matched against the pods'
// label set alone, which is the common case and costs one map lookup a key.
var unknownKeys = func() map[string]bool {
	m := map[string]bool{appsv1.StatefulSetPodNameLabel: true, appsv1.PodIndexLabel: true}
	for _, keys := range [][]string{deploymentUnknown, statefulSetUnknown, daemonSetUnknown, jobUnknown, cronJobUnknown} {
		for _, k := range keys {
			m[k] = true
		}
	}
	return m
}()

// podLabels are the labels the pods of a workload carry as far as the
// inputs show.
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
func mentionsUnknown(sel labels.Selector) bool {
	reqs, _ := sel.Requirements()
	for i := range reqs {
		if unknownKeys[reqs[i].Key()] {
			return true
		}
	}
	return false
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
