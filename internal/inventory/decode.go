package inventory

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	networkingv1beta1 "k8s.io/api/networking/v1beta1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	kjson "sigs.k8s.io/json"

	"github.com/plimsoll/plimsoll/internal/apiversion"
)

// typedKinds maps the built-in kinds plimsoll decodes to a constructor of
// their current type. They are of that type at every version of every
// group the API version table (package apiversion) lists for them, so an
// extensions/v1beta1 Deployment is still a Deployment.
var typedKinds = map[string]func() any{
	"Pod":                     func() any { return &corev1.Pod{} },
	"Service":                 func() any { return &corev1.Service{} },
	"Namespace":               func() any { return &corev1.Namespace{} },
	"ServiceAccount":          func() any { return &corev1.ServiceAccount{} },
	"LimitRange":              func() any { return &corev1.LimitRange{} },
	"ResourceQuota":           func() any { return &corev1.ResourceQuota{} },
	"ReplicationController":   func() any { return &corev1.ReplicationController{} },
	"PersistentVolumeClaim":   func() any { return &corev1.PersistentVolumeClaim{} },
	"Node":                    func() any { return &corev1.Node{} },
	"ConfigMap":               func() any { return &corev1.ConfigMap{} },
	"Secret":                  func() any { return &corev1.Secret{} },
	"Deployment":              func() any { return &appsv1.Deployment{} },
	"StatefulSet":             func() any { return &appsv1.StatefulSet{} },
	"DaemonSet":               func() any { return &appsv1.DaemonSet{} },
	"ReplicaSet":              func() any { return &appsv1.ReplicaSet{} },
	"Job":                     func() any { return &batchv1.Job{} },
	"CronJob":                 func() any { return &batchv1.CronJob{} },
	"PodDisruptionBudget":     func() any { return &policyv1.PodDisruptionBudget{} },
	"HorizontalPodAutoscaler": func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"NetworkPolicy":           func() any { return &networkingv1.NetworkPolicy{} },
	"Ingress":                 func() any { return &networkingv1.Ingress{} },
	"IngressClass":            func() any { return &networkingv1.IngressClass{} },
	"Role":                    func() any { return &rbacv1.Role{} },
	"ClusterRole":             func() any { return &rbacv1.ClusterRole{} },
	"RoleBinding":             func() any { return &rbacv1.RoleBinding{} },
	"ClusterRoleBinding":      func() any { return &rbacv1.ClusterRoleBinding{} },
	"StorageClass":            func() any { return &storagev1.StorageClass{} },
	"EndpointSlice":           func() any { return &discoveryv1.EndpointSlice{} },
}

// typedGroup reports whether kind is one plimsoll decodes and the group of
// apiVersion one that served it, whatever the version.
func typedGroup(apiVersion, kind string) bool {
	gv, err := schema.ParseGroupVersion(apiVersion)
	_, known := typedKinds[kind]
	return err == nil && known && apiversion.InGroup(gv.Group, kind)
}

// typedVersion reports whether kind is one plimsoll decodes and some
// release served it at apiVersion.
func typedVersion(apiVersion, kind string) bool {
	return typedGroup(apiVersion, kind) && apiversion.Lookup(apiVersion, kind) != nil
}

// clusterScoped lists the built-in kinds that live outside namespaces, so a
// stray metadata.namespace on one of them never implies a namespace.
var clusterScoped = map[string]bool{
	"Namespace": true, "Node": true, "PersistentVolume": true, "ClusterRole": true,
	"ClusterRoleBinding": true, "StorageClass": true, "CustomResourceDefinition": true,
	"PriorityClass": true, "IngressClass": true, "RuntimeClass": true, "CSIDriver": true,
	"ValidatingWebhookConfiguration": true, "MutatingWebhookConfiguration": true,
	"ValidatingAdmissionPolicy": true, "ValidatingAdmissionPolicyBinding": true,
	"APIService": true, "PodSecurityPolicy": true, "VolumeAttachment": true, "CSINode": true,
	"CertificateSigningRequest": true, "VolumeSnapshotClass": true,
}

// NewTyped returns an empty value of the type plimsoll decodes a built-in
// kind into, or nil for other kinds and for versions that never served
// the kind.
func NewTyped(apiVersion, kind string) any {
	if !typedVersion(apiVersion, kind) {
		return nil
	}
	return typedKinds[kind]()
}

// KindKeyOf is the kind key (see Object.KindKey) of objects of this
// apiVersion and kind: the bare kind for the built-in kinds plimsoll
// decodes, Kind.group otherwise. A cluster reader uses it to tell which
// served types hold the kinds checks ask for, so it goes by the group
// alone: a version newer than plimsoll knows is still of the kind.
func KindKeyOf(apiVersion, kind string) string {
	if typedGroup(apiVersion, kind) {
		return kind
	}
	gv, _ := schema.ParseGroupVersion(apiVersion)
	return kind + "." + gv.Group
}

// IsClusterScoped reports whether a built-in kind lives outside namespaces.
func IsClusterScoped(kind string) bool { return clusterScoped[kind] }

// New makes an Object from a decoded manifest or API object. It fails when
// the content is not an object (no kind, no name) or when a built-in kind's
// fields do not fit its type, as the API server would refuse it too.
func New(content map[string]any, src Source) (*Object, error) {
	apiVersion, _ := content["apiVersion"].(string)
	kind, _ := content["kind"].(string)
	o, gv, err := newObject(apiVersion, kind, src)
	if err != nil {
		return nil, err
	}
	meta, _ := content["metadata"].(map[string]any)
	if err := o.readMeta(meta); err != nil {
		return nil, err
	}
	generateName, _ := meta["generateName"].(string)
	if err := o.identify(generateName); err != nil {
		return nil, err
	}
	if err := o.servedVersion(); err != nil {
		return nil, err
	}
	if newTyped, known := typedKinds[kind]; known && o.key == kind {
		if o.Typed, err = decodeTyped(content, gv, kind, newTyped); err != nil {
			return nil, fmt.Errorf("%s: %w", o.ID(), err)
		}
		if convertedKinds[[2]string{kind, gv.Version}] {
			o.converted = content
		}
		o.setTypedMeta()
	} else {
		o.Content = trimContent(content, kind, gv.Group)
	}
	o.setPodTemplate()
	return o, nil
}

// newObject starts an Object of an apiVersion and kind, refusing what is
// not one.
func newObject(apiVersion, kind string, src Source) (*Object, schema.GroupVersion, error) {
	if kind == "" {
		return nil, schema.GroupVersion{}, errors.New("object has no kind")
	}
	if apiVersion == "" {
		return nil, schema.GroupVersion{}, fmt.Errorf("%s has no apiVersion", kind)
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil, gv, fmt.Errorf("%s: %w", kind, err)
	}
	o := &Object{APIVersion: apiVersion, Kind: kind, Source: src, group: gv.Group, key: KindKeyOf(apiVersion, kind)}
	return o, gv, nil
}

// identify completes the object's identity once its metadata is read.
func (o *Object) identify(generateName string) error {
	if o.Name == "" {
		if generateName == "" {
			return fmt.Errorf("%s has no metadata.name", o.Kind)
		}
		o.Name = generateName + "*"
	}
	if clusterScoped[o.Kind] {
		o.Namespace = ""
	}
	return nil
}

// servedVersion refuses a built-in kind at a version of its group that no
// release served (apps/v1beta9), in the API server's words, rather than
// read it as the current version: the API server finds no type to decode
// it into. Every version some release served is read, however long ago it
// was removed: the upgrade checks say so.
func (o *Object) servedVersion() error {
	if o.key != o.Kind || typedVersion(o.APIVersion, o.Kind) {
		return nil
	}
	return &FieldError{Path: "apiVersion", Err: fmt.Errorf("%s: no matches for kind %q in version %q; the API serves %s as %s",
		o.ID(), o.Kind, o.APIVersion, o.Kind, apiversion.Current(o.Kind))}
}

// DecodesJSON reports whether NewFromJSON decodes objects of this
// apiVersion and kind: the built-in kinds read at their current shape. The
// others (custom resources, older shapes that need converting, and the
// kinds whose values are dropped) are made with New.
func DecodesJSON(apiVersion, kind string) bool {
	if !typedVersion(apiVersion, kind) || kind == "Secret" || kind == "ConfigMap" {
		return false
	}
	gv, _ := schema.ParseGroupVersion(apiVersion)
	switch {
	case kind == "HorizontalPodAutoscaler" && gv.Version != "v2":
		return false
	case kind == "Ingress" && gv.Version == "v1beta1":
		return false
	}
	return true
}

// NewFromJSON makes an Object of a kind DecodesJSON accepts from its JSON
// encoding, straight into its type, the way the API server's own decoder
// reads it (case-sensitive field names, as sigs.k8s.io/json does). It gives
// the same Object as New on the same content; a manifest reader saves the
// map New needs. An error means only that the JSON did not fit: New on the
// same content tells what is wrong.
func NewFromJSON(apiVersion, kind string, data []byte, src Source) (*Object, error) {
	o, _, err := newObject(apiVersion, kind, src)
	if err != nil {
		return nil, err
	}
	typed := typedKinds[kind]()
	if err := strictUnmarshal(data, typed); err != nil {
		return nil, err
	}
	meta := typed.(metav1.Object)
	o.Name, o.Namespace, o.UID = meta.GetName(), meta.GetNamespace(), meta.GetUID()
	o.Labels, o.Annotations = meta.GetLabels(), meta.GetAnnotations()
	delete(o.Annotations, corev1.LastAppliedConfigAnnotation)
	for _, ref := range meta.GetOwnerReferences() {
		o.addOwner(ref)
	}
	if err := o.identify(meta.GetGenerateName()); err != nil {
		return nil, err
	}
	o.Typed = typed
	o.setTypedMeta()
	o.setPodTemplate()
	return o, nil
}

func (o *Object) readMeta(meta map[string]any) error {
	o.Name, _ = meta["name"].(string)
	o.Namespace, _ = meta["namespace"].(string)
	uid, _ := meta["uid"].(string)
	o.UID = types.UID(uid)
	var err error
	if o.Labels, err = stringMap(meta["labels"]); err != nil {
		return fmt.Errorf("%s %s: metadata.labels: %w", o.Kind, o.Name, err)
	}
	if o.Annotations, err = stringMap(meta["annotations"]); err != nil {
		return fmt.Errorf("%s %s: metadata.annotations: %w", o.Kind, o.Name, err)
	}
	// The last-applied annotation repeats the whole object, Secret data
	// included; it is never kept.
	delete(o.Annotations, corev1.LastAppliedConfigAnnotation)
	if refs, ok := meta["ownerReferences"].([]any); ok {
		for _, r := range refs {
			// A null entry is an empty reference, as in the typed object.
			var ref metav1.OwnerReference
			if r == nil {
				o.addOwner(ref)
			} else if m, ok := r.(map[string]any); ok && runtime.DefaultUnstructuredConverter.FromUnstructured(m, &ref) == nil {
				o.addOwner(ref)
			}
		}
	}
	return nil
}

func (o *Object) addOwner(ref metav1.OwnerReference) {
	o.OwnerRefs = append(o.OwnerRefs, ref)
	if ref.Controller != nil && *ref.Controller && workloadByKind[ref.Kind].Controller {
		o.controlled = true
	}
}

// setTypedMeta points the object's metadata at the typed object's, so both
// agree and the maps are stored once.
func (o *Object) setTypedMeta() {
	m, ok := o.Typed.(metav1.Object)
	if !ok {
		return
	}
	m.SetAnnotations(o.Annotations)
	m.SetLabels(o.Labels)
	m.SetManagedFields(nil)
}

func stringMap(v any) (map[string]string, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want a map of strings, got %T", v)
	}
	out := make(map[string]string, len(m))
	for k, val := range m {
		s, ok := val.(string)
		if !ok {
			if val == nil {
				out[k] = ""
				continue
			}
			return nil, fmt.Errorf("value of %q is %v (%T), want a string", k, val, val)
		}
		out[k] = s
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// convertedKinds are the kinds, by version, that decodeTyped converts to
// the shape of another version.
var convertedKinds = map[[2]string]bool{
	{"HorizontalPodAutoscaler", "v1"}: true, {"HorizontalPodAutoscaler", "v2beta1"}: true, {"Ingress", "v1beta1"}: true,
}

func decodeTyped(content map[string]any, gv schema.GroupVersion, kind string, make func() any) (any, error) {
	switch {
	case kind == "Secret" || kind == "ConfigMap":
		content = keysOnly(content, kind)
	case kind == "HorizontalPodAutoscaler" && gv.Version == "v1":
		return decodeHPAv1(content)
	case kind == "HorizontalPodAutoscaler" && gv.Version == "v2beta1":
		return decodeHPAv2beta1(content)
	case kind == "Ingress" && gv.Version == "v1beta1":
		return decodeIngressV1beta1(content)
	}
	obj := make()
	if err := fromMap(content, obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// valueFields are the fields of a ConfigMap's and a Secret's values.
var valueFields = map[string][]string{"ConfigMap": {"data", "binaryData"}, "Secret": {"data", "stringData"}}

// keysOnly keeps the keys of a ConfigMap's or a Secret's values and drops
// the values, which no check needs and plimsoll never keeps: every value
// of the typed object is empty. A reference to a key that is not there
// stops the pod that makes it, so the keys are kept. A value field that is
// not a mapping, or that the kind does not have, is dropped: the manifest
// reader reports it without quoting its values.
func keysOnly(content map[string]any, kind string) map[string]any {
	out := withoutKeys(content, "data", "stringData", "binaryData")
	for _, field := range valueFields[kind] {
		values, ok := content[field].(map[string]any)
		if !ok {
			continue
		}
		keys := make(map[string]any, len(values))
		for k := range values {
			keys[k] = nil
		}
		out[field] = keys
	}
	return out
}

func fromMap(content map[string]any, obj any) error {
	meta, _ := content["metadata"].(map[string]any)
	if meta != nil {
		if _, ok := meta["managedFields"]; ok {
			content = withoutKeys(content)
			content["metadata"] = withoutKeys(meta, "managedFields")
		}
	}
	data, err := json.Marshal(content)
	if err != nil {
		// JSON has no infinity or NaN: find the field only once it failed,
		// as walking every object's map cost a third of New.
		if path := nonFinite(content, ""); path != "" {
			return &FieldError{Path: path, Err: fmt.Errorf("field %s is not a finite number (.inf or .nan), which no field of the API holds", path)}
		}
		return fmt.Errorf("fields do not fit the type: %w", err)
	}
	if err := strictUnmarshal(data, obj); err != nil {
		return err
	}
	return nil
}

// maxUnknownFields is how many unknown fields an error names.
const maxUnknownFields = 5

// strictUnmarshal decodes an object's JSON into its type as the API server
// does under strict field validation, kubectl's default: field names are
// case-sensitive, integers stay integers, a number that does not fit its
// field (replicas: 4294967298 into an int32) is an error rather than
// wrapped around, and so is a field the type does not have (a misspelt
// one, or serviceName in a networking.k8s.io/v1 Ingress backend), which
// the API server refuses with "unknown field".
func strictUnmarshal(data []byte, obj any) error {
	strict, err := kjson.UnmarshalStrict(data, obj, kjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	if len(strict) == 0 {
		return nil
	}
	msgs := make([]string, 0, maxUnknownFields)
	for _, e := range strict[:min(len(strict), maxUnknownFields)] {
		msgs = append(msgs, e.Error())
	}
	if len(strict) > maxUnknownFields {
		msgs = append(msgs, fmt.Sprintf("and %d more", len(strict)-maxUnknownFields))
	}
	err = fmt.Errorf("the API server would refuse it: %s", strings.Join(msgs, ", "))
	var field kjson.FieldError
	if errors.As(strict[0], &field) {
		return &FieldError{Path: field.FieldPath(), Err: err}
	}
	return err
}

// A FieldError is an error in one field of an object: the first field its
// type does not have, one that holds a number JSON cannot (.inf, .nan), or
// an apiVersion that never served its kind.
// Path names the field as the API server does, list indexes included
// ("spec.volumes[0].rbd.imageformat"), for a reader to find its line.
type FieldError struct {
	Path string
	Err  error
}

func (e *FieldError) Error() string { return e.Err.Error() }

func (e *FieldError) Unwrap() error { return e.Err }

// nonFinite returns the path of the first infinite or NaN number in v
// (YAML's .inf and .nan), which JSON cannot hold; "" when there is none.
func nonFinite(v any, path string) string {
	switch v := v.(type) {
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return path
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			if p := nonFinite(v[k], strings.TrimPrefix(path+"."+k, ".")); p != "" {
				return p
			}
		}
	case []any:
		for i, x := range v {
			if p := nonFinite(x, fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	}
	return ""
}

func withoutKeys(m map[string]any, keys ...string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if !contains(keys, k) {
			out[k] = v
		}
	}
	return out
}

// trimContent drops what no check reads from the big kinds: a
// CustomResourceDefinition's schemas and status are most of the bytes of a
// typical install, and the audit needs only its names (the manifest reader
// keeps a CRD's schemas as text, in CRDVersions). Other custom resources
// keep their status: it says whether a Certificate is Ready or a Backup
// Completed.
func trimContent(content map[string]any, kind, group string) map[string]any {
	if meta, ok := content["metadata"].(map[string]any); ok {
		content = withoutKeys(content)
		content["metadata"] = withoutKeys(meta, "managedFields")
	}
	if kind != "CustomResourceDefinition" || group != "apiextensions.k8s.io" {
		return content
	}
	// The manifest reader never parses the rest (manifest.crdKeep), so a
	// CRD reads the same from a file as from a cluster.
	content = withoutKeys(content, "status")
	spec, _ := content["spec"].(map[string]any)
	content["spec"] = map[string]any{"group": spec["group"], "names": spec["names"], "scope": spec["scope"]}
	return content
}

func decodeHPAv1(content map[string]any) (any, error) {
	var v1 autoscalingv1.HorizontalPodAutoscaler
	if err := fromMap(content, &v1); err != nil {
		return nil, err
	}
	v2 := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: v1.ObjectMeta,
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{
				Kind: v1.Spec.ScaleTargetRef.Kind, Name: v1.Spec.ScaleTargetRef.Name, APIVersion: v1.Spec.ScaleTargetRef.APIVersion,
			},
			MinReplicas: v1.Spec.MinReplicas,
			MaxReplicas: v1.Spec.MaxReplicas,
		},
	}
	if v1.Spec.TargetCPUUtilizationPercentage != nil {
		v2.Spec.Metrics = []autoscalingv2.MetricSpec{cpuUtilization(*v1.Spec.TargetCPUUtilizationPercentage)}
	}
	return v2, nil
}

func cpuUtilization(pct int32) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{
		Type: autoscalingv2.ResourceMetricSourceType,
		Resource: &autoscalingv2.ResourceMetricSource{
			Name:   corev1.ResourceCPU,
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &pct},
		},
	}
}

// decodeHPAv2beta1 keeps what checks read from the long-removed v2beta1
// shape: the target, the replica bounds and resource metrics.
func decodeHPAv2beta1(content map[string]any) (any, error) {
	spec, _ := content["spec"].(map[string]any)
	metrics, _ := spec["metrics"].([]any)
	base := withoutKeys(content)
	base["spec"] = withoutKeys(spec, "metrics")
	var hpa autoscalingv2.HorizontalPodAutoscaler
	if err := fromMap(base, &hpa); err != nil {
		return nil, err
	}
	for _, m := range metrics {
		mm, _ := m.(map[string]any)
		res, _ := mm["resource"].(map[string]any)
		if res == nil {
			continue
		}
		name, _ := res["name"].(string)
		ms := autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceName(name)}}
		if u, ok := res["targetAverageUtilization"].(int64); ok {
			pct := int32(u)
			ms.Resource.Target = autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &pct}
		} else {
			ms.Resource.Target = autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType}
		}
		hpa.Spec.Metrics = append(hpa.Spec.Metrics, ms)
	}
	return &hpa, nil
}

// decodeIngressV1beta1 reads the extensions and networking.k8s.io v1beta1
// shape and converts the backends to the v1 shape checks read.
func decodeIngressV1beta1(content map[string]any) (any, error) {
	var old networkingv1beta1.Ingress
	if err := fromMap(content, &old); err != nil {
		return nil, err
	}
	ing := &networkingv1.Ingress{ObjectMeta: old.ObjectMeta}
	ing.Spec.IngressClassName = old.Spec.IngressClassName
	ing.Spec.DefaultBackend = convertBackend(old.Spec.Backend)
	for _, t := range old.Spec.TLS {
		ing.Spec.TLS = append(ing.Spec.TLS, networkingv1.IngressTLS{Hosts: t.Hosts, SecretName: t.SecretName})
	}
	for _, r := range old.Spec.Rules {
		rule := networkingv1.IngressRule{Host: r.Host}
		if r.HTTP != nil {
			rule.HTTP = &networkingv1.HTTPIngressRuleValue{}
			for _, p := range r.HTTP.Paths {
				b := convertBackend(&p.Backend)
				rule.HTTP.Paths = append(rule.HTTP.Paths, networkingv1.HTTPIngressPath{Path: p.Path, Backend: *b})
			}
		}
		ing.Spec.Rules = append(ing.Spec.Rules, rule)
	}
	return ing, nil
}

func convertBackend(b *networkingv1beta1.IngressBackend) *networkingv1.IngressBackend {
	if b == nil {
		return nil
	}
	out := &networkingv1.IngressBackend{Resource: b.Resource}
	if b.ServiceName != "" {
		port := networkingv1.ServiceBackendPort{Number: b.ServicePort.IntVal}
		if b.ServicePort.StrVal != "" {
			port = networkingv1.ServiceBackendPort{Name: b.ServicePort.StrVal}
		}
		out.Service = &networkingv1.IngressServiceBackend{Name: b.ServiceName, Port: port}
	}
	return out
}

// setPodTemplate records the pod template of workload kinds.
func (o *Object) setPodTemplate() {
	switch t := o.Typed.(type) {
	case *appsv1.Deployment:
		o.pod, o.podPath = &t.Spec.Template, "spec.template"
	case *appsv1.StatefulSet:
		o.pod, o.podPath = &t.Spec.Template, "spec.template"
	case *appsv1.DaemonSet:
		o.pod, o.podPath = &t.Spec.Template, "spec.template"
	case *appsv1.ReplicaSet:
		o.pod, o.podPath = &t.Spec.Template, "spec.template"
	case *corev1.ReplicationController:
		if t.Spec.Template != nil {
			o.pod, o.podPath = t.Spec.Template, "spec.template"
		}
	case *batchv1.Job:
		o.pod, o.podPath = &t.Spec.Template, "spec.template"
	case *batchv1.CronJob:
		o.pod, o.podPath = &t.Spec.JobTemplate.Spec.Template, "spec.jobTemplate.spec.template"
	case *corev1.Pod:
		o.pod, o.podPath = &corev1.PodTemplateSpec{ObjectMeta: t.ObjectMeta, Spec: t.Spec}, ""
	}
}

// Replicas returns the desired replica count of a Deployment, StatefulSet,
// ReplicaSet or ReplicationController (1 when unset), and false for kinds
// that have none.
func (o *Object) Replicas() (int32, bool) {
	var r *int32
	switch t := o.Typed.(type) {
	case *appsv1.Deployment:
		r = t.Spec.Replicas
	case *appsv1.StatefulSet:
		r = t.Spec.Replicas
	case *appsv1.ReplicaSet:
		r = t.Spec.Replicas
	case *corev1.ReplicationController:
		r = t.Spec.Replicas
	default:
		return 0, false
	}
	if r == nil {
		return 1, true
	}
	return *r, true
}

// SpecPath joins the pod template path with a path below the pod spec:
// SpecPath("containers[0]") is "spec.template.spec.containers[0]" for a
// Deployment and "spec.containers[0]" for a Pod.
func (o *Object) SpecPath(below string) string {
	var p string
	switch o.podPath { // the common ones without a new string each time
	case "":
		p = "spec"
	case "spec.template":
		p = "spec.template.spec"
	default:
		p = o.podPath + ".spec"
	}
	if below == "" {
		return p
	}
	return p + "." + strings.TrimPrefix(below, ".")
}
