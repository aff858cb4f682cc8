// Package inventory holds the objects an audit looks at and the relations
// between them that checks need: which PodDisruptionBudgets, Services,
// NetworkPolicies and HorizontalPodAutoscalers select which workloads (and
// which custom resources' pods), matched against the labels pods carry,
// their controllers' included; who owns what, which namespaces exist
// (declared or only implied), and which roles a binding grants. It is built
// once, before any check runs, and is read-only afterwards, so checks can
// run concurrently over it.
package inventory

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/scheme"
)

// Source says where an object came from.
type Source struct {
	// File is the path of the file, "-" for standard input, the chart
	// template a Helm chart rendered the object from, or empty for objects
	// read from a cluster.
	File string `json:"file,omitempty"`
	// Line is the 1-based line of the object's first line in File.
	Line int `json:"line,omitempty"`
	// Origin names what produced File when it is not a plain file: a Helm
	// chart, a Kustomize build, a cluster or a snapshot.
	Origin string `json:"origin,omitempty"`
}

func (s Source) String() string {
	loc := s.File
	if s.Line > 0 {
		loc = fmt.Sprintf("%s:%d", s.File, s.Line)
	}
	switch {
	case s.Origin != "" && loc != "":
		return loc + " (" + s.Origin + ")"
	case s.Origin != "":
		return s.Origin
	}
	return loc
}

// Object is one Kubernetes object as the audit sees it.
type Object struct {
	APIVersion  string
	Kind        string
	Namespace   string
	Name        string
	UID         types.UID
	Labels      map[string]string
	Annotations map[string]string
	OwnerRefs   []metav1.OwnerReference
	Source      Source

	// Typed is the decoded object for the kinds plimsoll knows (for example
	// *appsv1.Deployment), or nil. Older API versions are decoded into the
	// current version's type.
	Typed any
	// Content is the object's content for kinds without a typed decoding
	// (custom resources). CustomResourceDefinitions keep only their names
	// and scope (their schemas are in CRDVersions), and the values of
	// ConfigMaps and Secrets are never kept.
	Content map[string]any
	// CRDVersions is, for a CustomResourceDefinition read from manifests,
	// the text (YAML or JSON) of its spec.versions, schemas included, that
	// custom resources are validated against. It stays text, parsed only
	// for a CRD whose custom resources are among the inputs: the schemas
	// are most of the bytes of a typical install. Empty for a CRD read from
	// a cluster, which validated every custom resource it stored.
	CRDVersions string
	// Implied marks a Namespace that no input declared: objects were placed
	// in it, but the Namespace object itself was not among the inputs.
	Implied bool

	group   string
	key     string
	pod     *corev1.PodTemplateSpec
	podPath string
	// converted is the content of an object Typed holds at another API
	// version's shape (an autoscaling/v1 HorizontalPodAutoscaler, an
	// Ingress at v1beta1), as it was written.
	converted  map[string]any
	controlled bool
}

// Group returns the object's API group ("" for the core group).
func (o *Object) Group() string { return o.group }

// GroupKind returns the object's group and kind.
func (o *Object) GroupKind() schema.GroupKind {
	return schema.GroupKind{Group: o.group, Kind: o.Kind}
}

// KindKey is how checks name kinds: the bare kind for the built-in kinds that
// plimsoll decodes, Kind.group for every other kind, so a custom resource
// that happens to be called Deployment is never taken for one.
func (o *Object) KindKey() string { return o.key }

// CustomResourceKey stands, in a check's Kinds, for every custom resource:
// every object of a kind that no built-in API group serves, whose
// CustomResourceDefinition (or aggregated API server) defines it.
const CustomResourceKey = "CustomResource"

// IsCustomKey reports whether a kind key names a custom resource's kind: a
// Kind.group whose group is not one of Kubernetes' own (client-go's
// scheme's, and the two kube-apiserver serves besides).
func IsCustomKey(key string) bool {
	_, group, found := strings.Cut(key, ".")
	switch {
	case !found || key == ClusterKey:
		return false
	case group == "apiextensions.k8s.io" || group == "apiregistration.k8s.io":
		return false
	}
	return !scheme.Scheme.IsGroupRegistered(group)
}

// ID names the object for people: Kind namespace/name, or Kind name.
func (o *Object) ID() string {
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

// PodTemplate returns the pod template of a workload (for a bare Pod, its
// own metadata and spec) and the field path of its pod spec, or nil when the
// object has none.
func (o *Object) PodTemplate() (*corev1.PodTemplateSpec, string) {
	return o.pod, o.podPath
}

// Controlled reports whether a built-in workload controller owns the object
// (a ReplicaSet owned by a Deployment, a Pod owned by a ReplicaSet). Such
// objects are judged through their controller.
func (o *Object) Controlled() bool { return o.controlled }

// controllerRef returns the owner reference marked as the object's
// controller, or nil.
func (o *Object) controllerRef() *metav1.OwnerReference {
	for i := range o.OwnerRefs {
		if c := o.OwnerRefs[i].Controller; c != nil && *c {
			return &o.OwnerRefs[i]
		}
	}
	return nil
}

// IsWorkload reports whether the object runs pods and is not itself run by
// another workload.
func (o *Object) IsWorkload() bool { return o.pod != nil && !o.controlled }

// Field returns the value at a path of the object's content (a custom
// resource's, or a kind's without a typed decoding), or nil.
func (o *Object) Field(path ...string) any {
	var v any = o.Content
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// FieldString returns the string at a path of the object's content, or "".
func (o *Object) FieldString(path ...string) string {
	s, _ := o.Field(path...).(string)
	return s
}

// Label returns a label's value and whether it is set.
func (o *Object) Label(k string) (string, bool) {
	v, ok := o.Labels[k]
	return v, ok
}

// ScoreNamespace is the namespace whose score the object's results count
// in: its own, or for a Namespace, the namespace it is.
func (o *Object) ScoreNamespace() string {
	if o.key == "Namespace" {
		return o.Name
	}
	return o.Namespace
}

// Converted is the content of an object that Typed holds in the shape of
// another API version than its own (an autoscaling/v1
// HorizontalPodAutoscaler, an Ingress at v1beta1), as it was written; nil
// for every other object.
func (o *Object) Converted() map[string]any { return o.converted }
