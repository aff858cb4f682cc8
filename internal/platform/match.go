package platform

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/distribution/reference"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// CRDKey is the kind key of CustomResourceDefinitions.
const CRDKey = "CustomResourceDefinition.apiextensions.k8s.io"

// workloadKeys are the kinds a platform component runs as.
var workloadKeys = []string{"DaemonSet", "Deployment", "StatefulSet"}

// Reads are the kinds recognition (Find, InNamespace) consults: a
// check that calls them lists these in its Reads. Installed reads CRDKey.
var Reads = []string{"DaemonSet", "Deployment", "StatefulSet"}

// Match is one workload recognised as an implementation, and the signal
// that gave it away.
type Match struct {
	Impl     *Implementation
	Workload *inventory.Object
	// Signal names the field that matched: label app=x, image y, name z.
	Signal string
}

// String names the workload and the evidence, as findings quote it.
func (m Match) String() string {
	return fmt.Sprintf("%s %s (%s)", m.Impl.Name, m.Workload.ID(), m.Signal)
}

// Find returns the workloads recognised as implementations of a component,
// sorted by workload. A workload is the first implementation in the table
// it matches, by any signal.
func Find(inv *inventory.Inventory, c Component) []Match {
	return byComponent(inv)[c]
}

// InNamespace returns the recognised workloads of a namespace, sorted.
func InNamespace(inv *inventory.Inventory, ns string) []Match {
	return index(inv).byNamespace[ns]
}

func byComponent(inv *inventory.Inventory) map[Component][]Match {
	return index(inv).byComponent
}

type matches struct {
	byComponent map[Component][]Match
	byNamespace map[string][]Match
}

// index recognises every workload once per inventory.
func index(inv *inventory.Inventory) *matches {
	return inventory.Memo(inv, "platform.index", func(inv *inventory.Inventory) *matches {
		var all []Match
		for _, k := range workloadKeys {
			for _, o := range inv.OfKind(k) {
				if m, ok := recognise(o); ok && !o.Controlled() {
					all = append(all, m)
				}
			}
		}
		slices.SortStableFunc(all, func(a, b Match) int { return inventory.Compare(a.Workload, b.Workload) })
		idx := &matches{byComponent: map[Component][]Match{}, byNamespace: map[string][]Match{}}
		for _, m := range all {
			idx.byComponent[m.Impl.Component] = append(idx.byComponent[m.Impl.Component], m)
			idx.byNamespace[m.Workload.Namespace] = append(idx.byNamespace[m.Workload.Namespace], m)
		}
		return idx
	})
}

func recognise(o *inventory.Object) (Match, bool) {
	tmpl, _ := o.PodTemplate()
	selectors := labelSelectors()
	repos := repositories(tmpl)
	for i := range Implementations {
		impl := &Implementations[i]
		if impl.DaemonSet && o.KindKey() != "DaemonSet" {
			continue
		}
		if sig := impl.matchLabels(selectors[i], o, tmpl); sig != "" {
			return Match{impl, o, sig}, true
		}
		if sig := impl.matchImages(tmpl, repos); sig != "" {
			return Match{impl, o, sig}, true
		}
		if sig := impl.matchName(o.Name); sig != "" {
			return Match{impl, o, sig}, true
		}
	}
	return Match{}, false
}

// matchLabels tries each label set ("k=v,k2=v2", all of which must match),
// parsed as selectors, on the workload's labels, then on its pod
// template's.
func (impl *Implementation) matchLabels(selectors []labels.Selector, o *inventory.Object, tmpl *corev1.PodTemplateSpec) string {
	sets := []labels.Set{o.Labels}
	if tmpl != nil {
		sets = append(sets, tmpl.Labels)
	}
	for i, sel := range selectors {
		for _, have := range sets {
			if sel.Matches(have) {
				return "label " + impl.Labels[i]
			}
		}
	}
	return ""
}

// labelSelectors are the label sets of Implementations parsed once, by
// implementation and label set. An entry that does not parse matches
// nothing, and TestTableLabelSets fails on it.
var labelSelectors = sync.OnceValue(func() [][]labels.Selector {
	selectors, _ := parseLabelSets(Implementations)
	return selectors
})

// parseLabelSets parses each implementation's label sets, "k=v,k2=v2" with
// valid label keys and values and no key twice, into selectors that match
// labels having all of them. It returns an error naming every entry that
// does not parse, which then matches nothing.
func parseLabelSets(impls []Implementation) ([][]labels.Selector, error) {
	out := make([][]labels.Selector, len(impls))
	var errs []error
	for i, impl := range impls {
		for _, l := range impl.Labels {
			set, err := labels.ConvertSelectorToLabelsMap(l)
			switch {
			case err != nil:
			case len(set) == 0:
				// An empty selector would match every workload.
				err = errors.New("no key=value")
			case len(set) <= strings.Count(l, ","):
				err = errors.New("a key appears twice")
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: label set %q: %w", impl.Name, l, err))
				out[i] = append(out[i], labels.Nothing())
				continue
			}
			out[i] = append(out[i], labels.SelectorFromValidatedSet(set))
		}
	}
	return out, errors.Join(errs...)
}

// repositories returns the repository of each container's image, in the
// order of the pod template's containers, read once for all the table.
func repositories(tmpl *corev1.PodTemplateSpec) []string {
	if tmpl == nil {
		return nil
	}
	repos := make([]string, len(tmpl.Spec.Containers))
	for i, c := range tmpl.Spec.Containers {
		repos[i] = Repository(c.Image)
	}
	return repos
}

// matchImages looks for the implementation's images among the containers'
// repositories, which repositories read.
func (impl *Implementation) matchImages(tmpl *corev1.PodTemplateSpec, repos []string) string {
	if tmpl == nil || len(impl.Images) == 0 {
		return ""
	}
	for i, repo := range repos {
		for _, want := range impl.Images {
			if repo == want || strings.HasSuffix(repo, "/"+want) {
				return "image " + tmpl.Spec.Containers[i].Image
			}
		}
	}
	return ""
}

func (impl *Implementation) matchName(name string) string {
	for _, want := range impl.Names {
		if name == want || strings.HasSuffix(name, "-"+want) {
			return "name " + name
		}
	}
	return ""
}

// Repository returns an image reference without its tag and digest, as
// written: not normalised, so nginx:1.27 gives nginx, and the result is the
// start of the image. It returns "" for an image that is not a valid
// reference (reference.Parse), which the kubelet refuses to pull.
func Repository(image string) string {
	ref, err := reference.Parse(image)
	if err != nil {
		return ""
	}
	named, ok := ref.(reference.Named)
	if !ok {
		return ""
	}
	return named.Name()
}

// CRD is a CustomResourceDefinition that shows an implementation was
// installed.
type CRD struct {
	Impl *Implementation
	Name string
}

// Installed returns the CRDs in the inventory that belong to
// implementations of a component.
func Installed(inv *inventory.Inventory, c Component) []CRD {
	var out []CRD
	for i := range Implementations {
		impl := &Implementations[i]
		if impl.Component != c {
			continue
		}
		for _, name := range impl.CRDs {
			if inv.Get(CRDKey, "", name) != nil {
				out = append(out, CRD{impl, name})
			}
		}
	}
	return out
}

// Describe lists matches for a finding: "Prometheus StatefulSet
// monitoring/prometheus-k8s (label app.kubernetes.io/name=prometheus), ...".
func Describe(ms []Match) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return strings.Join(parts, ", ")
}

// Ready returns a workload's ready and desired replicas: ready pods of a
// DaemonSet against the nodes it should run on.
func Ready(o *inventory.Object) (ready, desired int32) {
	switch w := o.Typed.(type) {
	case *appsv1.Deployment:
		return w.Status.ReadyReplicas, replicas(w.Spec.Replicas)
	case *appsv1.StatefulSet:
		return w.Status.ReadyReplicas, replicas(w.Spec.Replicas)
	case *appsv1.DaemonSet:
		return w.Status.NumberReady, w.Status.DesiredNumberScheduled
	}
	return 0, 0
}

func replicas(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

// Running returns the matches whose workloads have at least one ready
// replica, and a description of those that have none.
func Running(ms []Match) (running []Match, down []string) {
	for _, m := range ms {
		ready, desired := Ready(m.Workload)
		if ready > 0 {
			running = append(running, m)
		} else {
			down = append(down, fmt.Sprintf("%s has %d of %d replicas ready", m, ready, desired))
		}
	}
	return running, down
}
