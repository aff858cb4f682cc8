package manifest

import (
	"maps"
	"math"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/checks/pod"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

// The rules of api-server-accepts mirror, one by one, the validation
// kube-apiserver runs in Go before it stores an object: the functions of
// k8s.io/kubernetes/pkg/apis/{core,apps,batch,policy,autoscaling}/validation
// that each rule names, at Kubernetes 1.36. k8s.io/kubernetes is not
// imported (it is not meant to be a library and would pull in the whole
// API server); what those functions call from k8s.io/apimachinery (field
// paths and errors, names, labels, port numbers) is called here too, so
// the field paths and the wording are the API server's own. Each rule
// applies the defaults the API server sets before it validates (a probe's
// successThreshold 0 becomes 1), and no rule judges what only an update
// would: a manifest is judged as the object it creates. On a cluster the
// check is not assessed: every object there was accepted when it was
// stored. test/e2e's TestAPIServerParity holds every fail fixture to a
// real API server: it must refuse exactly those fields. Custom resources
// are validated against their CustomResourceDefinition's schema, when it is
// among the inputs, by k8s.io/apiextensions-apiserver's own code
// (accepts_crd.go).

// acceptsKinds are the kinds api-server-accepts judges: those that run
// pods, the Services, PodDisruptionBudgets and autoscalers beside them, and
// custom resources (accepts_crd.go).
var acceptsKinds = append(append([]string{}, pod.WorkloadKinds...), "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", inventory.CustomResourceKey)

func apiServerChecks() []*check.Check {
	return []*check.Check{{
		ID:            "api-server-accepts",
		Title:         "The API server accepts the object",
		Layer:         check.Workloads,
		Severity:      check.Critical,
		Kinds:         acceptsKinds,
		Reads:         []string{crdKey},
		Rationale:     "kube-apiserver validates every object before it stores it and refuses the whole object for one bad field: a selector that does not match the template's labels, a request above its limit, two containers or ports of one name, a volume mount of no volume; for a custom resource, what its CustomResourceDefinition's schema and x-kubernetes-validations rules forbid, a field the schema does not have, or a version it does not serve. Nothing of such a manifest runs, however ready the rest of it is, and an apply of many objects stops or leaves a release half applied.",
		Remediation:   "Fix the field the finding names as the API server's message says; kubectl apply --dry-run=server shows the same errors before a release.",
		ChecklistItem: checklist.GitOpsDesiredState,
		// Every object a cluster holds was accepted when it was stored:
		// a finding there would be false by construction.
		Requires: check.Declared,
		Run:      apiServerAcceptsRun,
	}}
}

// apiServerAcceptsRun is api-server-accepts's Run.
func apiServerAcceptsRun(o *inventory.Object, c *check.Context) []check.Finding {
	errs := validateMeta(o)
	if inventory.IsCustomKey(o.KindKey()) {
		return customResourceRun(o, c.Inventory, errs)
	}
	switch t := legacyDefaults(o).(type) {
	case *appsv1.Deployment:
		errs = append(errs, validateDeployment(t)...)
	case *appsv1.ReplicaSet:
		errs = append(errs, validateReplicaSet(t)...)
	case *appsv1.StatefulSet:
		errs = append(errs, validateStatefulSet(t)...)
	case *appsv1.DaemonSet:
		errs = append(errs, validateDaemonSet(t)...)
	case *corev1.ReplicationController:
		errs = append(errs, validateReplicationController(t)...)
	case *batchv1.Job:
		errs = append(errs, validateJob(t, o.Name, string(o.UID))...)
	case *batchv1.CronJob:
		errs = append(errs, validateCronJob(t)...)
	case *corev1.Pod:
		errs = append(errs, validatePod(t)...)
	case *corev1.Service:
		errs = append(errs, validateService(t)...)
	case *policyv1.PodDisruptionBudget:
		errs = append(errs, validatePDB(t)...)
	case *autoscalingv2.HorizontalPodAutoscaler:
		errs = append(errs, validateHPA(t)...)
	}
	return refusals(errs)
}

// refusals are the findings of the errors the API server refuses an object
// for, in its words.
func refusals(errs field.ErrorList) []check.Finding {
	out := make([]check.Finding, 0, len(errs))
	for _, e := range errs {
		out = append(out, check.Finding{Path: e.Field, Message: "the API server refuses it: " + e.ErrorBody()})
	}
	return out
}

// legacyDefaults returns the object as the API version it is written in
// would have defaulted it, where that differs from the current one: in
// extensions/v1beta1 and apps/v1beta1 a workload's selector defaulted to
// its template's labels, and extensions/v1beta1 set no progress deadline.
// No API server serves those versions any more (api-removed reports it);
// judged by the current version's defaults, every such workload without a
// selector would be reported again. The inventory's object is not changed:
// the defaults go on a copy.
func legacyDefaults(o *inventory.Object) any {
	legacy := o.APIVersion == "extensions/v1beta1" || o.APIVersion == "apps/v1beta1"
	if !legacy {
		return o.Typed
	}
	fromLabels := func(sel **metav1.LabelSelector, tmpl map[string]string) {
		if *sel == nil && len(tmpl) > 0 {
			*sel = &metav1.LabelSelector{MatchLabels: tmpl}
		}
	}
	switch t := o.Typed.(type) {
	case *appsv1.Deployment:
		d := t.DeepCopy()
		fromLabels(&d.Spec.Selector, d.Spec.Template.Labels)
		if o.APIVersion == "extensions/v1beta1" && d.Spec.ProgressDeadlineSeconds == nil {
			never := int32(math.MaxInt32)
			d.Spec.ProgressDeadlineSeconds = &never
		}
		return d
	case *appsv1.DaemonSet:
		d := t.DeepCopy()
		fromLabels(&d.Spec.Selector, d.Spec.Template.Labels)
		return d
	case *appsv1.ReplicaSet:
		d := t.DeepCopy()
		fromLabels(&d.Spec.Selector, d.Spec.Template.Labels)
		return d
	case *appsv1.StatefulSet:
		d := t.DeepCopy()
		fromLabels(&d.Spec.Selector, d.Spec.Template.Labels)
		return d
	}
	return o.Typed
}

// nameRules are the name validation of each kind, as its strategy's
// Validate passes it to ValidateObjectMeta: ValidateDeploymentName and the
// like (a DNS subdomain), ValidateStatefulSetName (a DNS label: it names
// the pods), and for a Service what ValidateServiceCreate uses since 1.36,
// where RelaxedServiceNameValidation is on by default: a DNS label (before
// 1.36, an RFC 1035 label, which may not start with a digit).
var nameRules = map[string]apivalidation.ValidateNameFunc{
	"StatefulSet": apivalidation.NameIsDNSLabel,
	"Service":     apivalidation.NameIsDNSLabel,
}

// validateMeta mirrors ValidateObjectMeta (k8s.io/apimachinery's
// api/validation, which the strategies call): the name by the kind's rule,
// the namespace, labels and annotations; and the 52 characters
// ValidateCronJobCreate leaves a CronJob's name room for its Jobs'
// suffixes in (pkg/apis/batch/validation).
func validateMeta(o *inventory.Object) field.ErrorList {
	meta := field.NewPath("metadata")
	var errs field.ErrorList
	name, generated := strings.CutSuffix(o.Name, "*") // generateName: the name is its prefix
	rule := nameRules[o.KindKey()]                    // a custom kind called Service is no Service
	if rule == nil {
		rule = apivalidation.NameIsDNSSubdomain
	}
	for _, msg := range rule(name, generated) {
		errs = append(errs, field.Invalid(meta.Child(nameOrGenerate(generated)), name, msg))
	}
	if o.Namespace != "" {
		for _, msg := range apivalidation.ValidateNamespaceName(o.Namespace, false) {
			errs = append(errs, field.Invalid(meta.Child("namespace"), o.Namespace, msg))
		}
	}
	errs = append(errs, validateLabels(o.Labels, meta.Child("labels"))...)
	errs = append(errs, validateAnnotations(o.Annotations, meta.Child("annotations"))...)
	if o.Kind == "CronJob" && !generated && len(name) > 52 {
		errs = append(errs, field.Invalid(meta.Child("name"), name, "must be no more than 52 characters"))
	}
	return errs
}

func nameOrGenerate(generated bool) string {
	if generated {
		return "generateName"
	}
	return "name"
}

// validateLabels is metav1validation.ValidateLabels (which the API server
// calls on every object's labels and on pod templates'), label by label in
// the order of their keys, so findings come out in the same order every
// time.
func validateLabels(set map[string]string, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, k := range slices.Sorted(maps.Keys(set)) {
		errs = append(errs, metavalidation.ValidateLabels(map[string]string{k: set[k]}, fld)...)
	}
	return errs
}

// validateAnnotations is apivalidation.ValidateAnnotations, key by key in
// order: every key a qualified name in lower case, and all of them within
// the size limit.
func validateAnnotations(set map[string]string, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, k := range slices.Sorted(maps.Keys(set)) {
		for _, msg := range validation.IsQualifiedName(strings.ToLower(k)) {
			errs = append(errs, field.Invalid(fld, k, msg))
		}
	}
	if apivalidation.ValidateAnnotationsSize(set) != nil {
		errs = append(errs, field.TooLong(fld, "", apivalidation.TotalAnnotationSizeLimitB))
	}
	return errs
}

// validateService mirrors the port rules of ValidateService and
// validateServicePort (pkg/apis/core/validation): ports are required but
// for a headless or ExternalName Service; with more than one, each needs a
// name; names are DNS labels, once each; port numbers are ports, and no
// port and protocol twice.
func validateService(s *corev1.Service) field.ErrorList {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	headless := s.Spec.ClusterIP == corev1.ClusterIPNone
	if len(s.Spec.Ports) == 0 && !headless && s.Spec.Type != corev1.ServiceTypeExternalName {
		errs = append(errs, field.Required(spec.Child("ports"), ""))
	}
	names := map[string]bool{}
	type portKey struct {
		protocol corev1.Protocol
		port     int32
	}
	seen := map[portKey]bool{}
	for i, p := range s.Spec.Ports {
		at := spec.Child("ports").Index(i)
		switch {
		case len(s.Spec.Ports) > 1 && p.Name == "":
			errs = append(errs, field.Required(at.Child("name"), ""))
		case p.Name != "":
			for _, msg := range validation.IsDNS1123Label(p.Name) {
				errs = append(errs, field.Invalid(at.Child("name"), p.Name, msg))
			}
			if names[p.Name] {
				errs = append(errs, field.Duplicate(at.Child("name"), p.Name))
			}
			names[p.Name] = true
		}
		for _, msg := range validation.IsValidPortNum(int(p.Port)) {
			errs = append(errs, field.Invalid(at.Child("port"), p.Port, msg))
		}
		if !(p.TargetPort.Type == intstr.Int && p.TargetPort.IntVal == 0) && !(p.TargetPort.Type == intstr.String && p.TargetPort.StrVal == "") {
			errs = append(errs, portNumOrName(p.TargetPort, at.Child("targetPort"))...)
		}
		if p.NodePort != 0 && (s.Spec.Type == "" || s.Spec.Type == corev1.ServiceTypeClusterIP) {
			errs = append(errs, field.Forbidden(at.Child("nodePort"), "may not be used when `type` is 'ClusterIP'"))
		}
	}
	for i, p := range s.Spec.Ports {
		k := portKey{protocolOrTCP(p.Protocol), p.Port}
		if seen[k] {
			errs = append(errs, field.Duplicate(spec.Child("ports").Index(i), struct {
				Protocol corev1.Protocol `json:"protocol"`
				Port     int32           `json:"port"`
			}{k.protocol, k.port}))
		}
		seen[k] = true
	}
	return append(errs, validateLabels(s.Spec.Selector, spec.Child("selector"))...)
}

// portNumOrName mirrors ValidatePortNumOrName.
func portNumOrName(p intstr.IntOrString, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if p.Type == intstr.Int {
		for _, msg := range validation.IsValidPortNum(p.IntValue()) {
			errs = append(errs, field.Invalid(fld, p.IntValue(), msg))
		}
		return errs
	}
	for _, msg := range validation.IsValidPortName(p.StrVal) {
		errs = append(errs, field.Invalid(fld, p.StrVal, msg))
	}
	return errs
}

// validatePDB mirrors ValidatePodDisruptionBudgetSpec
// (pkg/apis/policy/validation).
func validatePDB(p *policyv1.PodDisruptionBudget) field.ErrorList {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	if p.Spec.MinAvailable != nil && p.Spec.MaxUnavailable != nil {
		errs = append(errs, field.Invalid(spec, p.Spec, "minAvailable and maxUnavailable cannot be both set"))
	}
	for _, f := range []struct {
		v    *intstr.IntOrString
		name string
	}{{p.Spec.MinAvailable, "minAvailable"}, {p.Spec.MaxUnavailable, "maxUnavailable"}} {
		if f.v != nil {
			errs = append(errs, positiveIntOrPercent(*f.v, spec.Child(f.name))...)
			errs = append(errs, notMoreThan100Percent(*f.v, spec.Child(f.name))...)
		}
	}
	if p.Spec.Selector != nil {
		errs = append(errs, metavalidation.ValidateLabelSelector(p.Spec.Selector, metavalidation.LabelSelectorValidationOptions{}, spec.Child("selector"))...)
	}
	return errs
}

// validateHPA mirrors validateHorizontalPodAutoscalerSpec and
// validateMetrics (pkg/apis/autoscaling/validation), with HPAScaleToZero
// off, as it is by default.
func validateHPA(h *autoscalingv2.HorizontalPodAutoscaler) field.ErrorList {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	minR := h.Spec.MinReplicas
	if minR != nil && *minR < 1 {
		errs = append(errs, field.Invalid(spec.Child("minReplicas"), *minR, "must be greater than or equal to 1"))
	}
	switch {
	case h.Spec.MaxReplicas == 0:
		errs = append(errs, field.Required(spec.Child("maxReplicas"), "must be set and greater than 0"))
	case h.Spec.MaxReplicas < 0:
		errs = append(errs, field.Invalid(spec.Child("maxReplicas"), h.Spec.MaxReplicas, "must be greater than or equal to 1"))
	}
	if minR != nil && h.Spec.MaxReplicas < *minR {
		errs = append(errs, field.Invalid(spec.Child("maxReplicas"), h.Spec.MaxReplicas, "must be greater than or equal to `minReplicas`"))
	}
	// validateMetrics: scaling to zero needs a metric that does not come
	// from the pods.
	if minR != nil && *minR == 0 && !slices.ContainsFunc(h.Spec.Metrics, func(m autoscalingv2.MetricSpec) bool {
		return m.Type == autoscalingv2.ObjectMetricSourceType || m.Type == autoscalingv2.ExternalMetricSourceType
	}) {
		errs = append(errs, field.Forbidden(spec.Child("metrics"), "must specify at least one Object or External metric to support scaling to zero replicas"))
	}
	return errs
}
