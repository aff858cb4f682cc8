package manifest

import (
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The workload rules of api-server-accepts: what the apps, batch and core
// validation of each kind that runs pods refuses besides its pod template
// (accepts_pod.go): selectors, restart policies, replica counts, rollout
// settings.

// selectorRules mirror how the apps validation treats a workload's
// selector (ValidateDeploymentSpec, ValidateReplicaSetSpec,
// ValidateStatefulSetSpec in pkg/apis/apps/validation): it is required,
// may not be empty, and a selector that is not empty must match the pod
// template's labels (ValidatePodTemplateSpecForReplicaSet,
// ValidatePodTemplateSpecForStatefulSet). kind is the word the API
// server's message uses: ReplicaSets are told "deployment", as upstream
// says.
func selectorRules(sel *metav1.LabelSelector, tmplLabels map[string]string, spec *field.Path, kind string) field.ErrorList {
	var errs field.ErrorList
	if sel == nil {
		errs = append(errs, field.Required(spec.Child("selector"), ""))
	} else {
		errs = append(errs, metavalidation.ValidateLabelSelector(sel, metavalidation.LabelSelectorValidationOptions{}, spec.Child("selector"))...)
		if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
			errs = append(errs, field.Invalid(spec.Child("selector"), sel, "empty selector is invalid for "+kind))
		}
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return append(errs, field.Invalid(spec.Child("selector"), sel, "invalid label selector"))
	}
	if !s.Empty() && !s.Matches(labels.Set(tmplLabels)) {
		errs = append(errs, selectorMismatch(spec, tmplLabels))
	}
	return errs
}

// selectorMismatch is the error every workload validation gives a
// selector that does not match its template's labels.
func selectorMismatch(spec *field.Path, tmplLabels map[string]string) *field.Error {
	return field.Invalid(spec.Child("template", "metadata", "labels"), tmplLabels, "`selector` does not match template `labels`")
}

// alwaysRestarts mirrors the rule of the controllers that keep pods
// running (ValidatePodTemplateSpecForReplicaSet, ValidateStatefulSetSpec,
// ValidateDaemonSetSpec, ValidatePodTemplateSpecForRC): the template's
// restartPolicy, defaulted to Always, must be Always, and
// activeDeadlineSeconds is not supported.
func alwaysRestarts(spec *corev1.PodSpec, tmpl *field.Path, kind string) field.ErrorList {
	var errs field.ErrorList
	if p := restartPolicy(spec); p != corev1.RestartPolicyAlways && validRestartPolicy(p) {
		errs = append(errs, field.NotSupported(tmpl.Child("spec", "restartPolicy"), p, []corev1.RestartPolicy{corev1.RestartPolicyAlways}))
	}
	if spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(tmpl.Child("spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in "+kind+" is not Supported"))
	}
	return errs
}

// restartPolicy is a pod spec's restartPolicy as SetDefaults_PodSpec
// leaves it.
func restartPolicy(spec *corev1.PodSpec) corev1.RestartPolicy {
	if spec.RestartPolicy == "" {
		return corev1.RestartPolicyAlways
	}
	return spec.RestartPolicy
}

func validRestartPolicy(p corev1.RestartPolicy) bool {
	return p == corev1.RestartPolicyAlways || p == corev1.RestartPolicyOnFailure || p == corev1.RestartPolicyNever
}

// nonnegative is ValidateNonnegativeField for an optional field; one left
// unset gets a default that is (a replica count's is 1).
func nonnegative[T int32 | int64](v *T, fld *field.Path) field.ErrorList {
	if v == nil {
		return nil
	}
	return apivalidation.ValidateNonnegativeField(int64(*v), fld)
}

// validateDeployment mirrors ValidateDeploymentSpec
// (pkg/apis/apps/validation) after SetDefaults_Deployment.
func validateDeployment(d *appsv1.Deployment) field.ErrorList {
	spec := field.NewPath("spec")
	errs := nonnegative(d.Spec.Replicas, spec.Child("replicas"))
	errs = append(errs, selectorRules(d.Spec.Selector, d.Spec.Template.Labels, spec, "deployment")...)
	errs = append(errs, validatePodTemplate(&d.Spec.Template, spec.Child("template"), nil)...)
	errs = append(errs, alwaysRestarts(&d.Spec.Template.Spec, spec.Child("template"), "ReplicaSet")...)
	errs = append(errs, validateDeploymentStrategy(d.Spec.Strategy, spec.Child("strategy"))...)
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(d.Spec.MinReadySeconds), spec.Child("minReadySeconds"))...)
	errs = append(errs, nonnegative(d.Spec.RevisionHistoryLimit, spec.Child("revisionHistoryLimit"))...)
	// progressDeadlineSeconds defaults to 600.
	pds := int32(600)
	if d.Spec.ProgressDeadlineSeconds != nil {
		pds = *d.Spec.ProgressDeadlineSeconds
	}
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(pds), spec.Child("progressDeadlineSeconds"))...)
	if pds <= d.Spec.MinReadySeconds {
		errs = append(errs, field.Invalid(spec.Child("progressDeadlineSeconds"), &pds, "must be greater than minReadySeconds"))
	}
	return errs
}

// validateDeploymentStrategy mirrors ValidateDeploymentStrategy and
// ValidateRollingUpdateDeployment (pkg/apis/apps/validation): a rolling
// update's maxUnavailable and maxSurge, each 25% when unset, may not both
// be 0, and maxUnavailable may not pass 100%.
func validateDeploymentStrategy(s appsv1.DeploymentStrategy, fld *field.Path) field.ErrorList {
	switch s.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if s.RollingUpdate != nil {
			return field.ErrorList{field.Forbidden(fld.Child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'")}
		}
		return nil
	case "", appsv1.RollingUpdateDeploymentStrategyType:
	default:
		return nil // NotSupported: the type does not decode into anything else
	}
	quarter := intstr.FromString("25%")
	mu, ms := quarter, quarter
	if ru := s.RollingUpdate; ru != nil {
		if ru.MaxUnavailable != nil {
			mu = *ru.MaxUnavailable
		}
		if ru.MaxSurge != nil {
			ms = *ru.MaxSurge
		}
	}
	ru := fld.Child("rollingUpdate")
	errs := positiveIntOrPercent(mu, ru.Child("maxUnavailable"))
	errs = append(errs, positiveIntOrPercent(ms, ru.Child("maxSurge"))...)
	if intOrPercentValue(mu) == 0 && intOrPercentValue(ms) == 0 {
		errs = append(errs, field.Invalid(ru.Child("maxUnavailable"), mu, "may not be 0 when `maxSurge` is 0"))
	}
	return append(errs, notMoreThan100Percent(mu, ru.Child("maxUnavailable"))...)
}

// positiveIntOrPercent mirrors ValidatePositiveIntOrPercent
// (pkg/apis/apps/validation).
func positiveIntOrPercent(v intstr.IntOrString, fld *field.Path) field.ErrorList {
	if v.Type == intstr.String {
		var errs field.ErrorList
		for _, msg := range validation.IsValidPercent(v.StrVal) {
			errs = append(errs, field.Invalid(fld, v, msg))
		}
		return errs
	}
	return apivalidation.ValidateNonnegativeField(int64(v.IntValue()), fld)
}

// intOrPercentValue mirrors getIntOrPercentValue: a valid percentage's
// number, else the integer.
func intOrPercentValue(v intstr.IntOrString) int {
	if p, ok := percent(v); ok {
		return p
	}
	return v.IntValue()
}

func percent(v intstr.IntOrString) (int, bool) {
	if v.Type != intstr.String || len(validation.IsValidPercent(v.StrVal)) != 0 {
		return 0, false
	}
	n := 0
	for _, r := range strings.TrimSuffix(v.StrVal, "%") {
		n = n*10 + int(r-'0')
	}
	return n, true
}

// notMoreThan100Percent mirrors IsNotMoreThan100Percent.
func notMoreThan100Percent(v intstr.IntOrString, fld *field.Path) field.ErrorList {
	if p, ok := percent(v); ok && p > 100 {
		return field.ErrorList{field.Invalid(fld, v, "must not be greater than 100%")}
	}
	return nil
}

// validateReplicaSet mirrors ValidateReplicaSetSpec.
func validateReplicaSet(rs *appsv1.ReplicaSet) field.ErrorList {
	spec := field.NewPath("spec")
	errs := nonnegative(rs.Spec.Replicas, spec.Child("replicas"))
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(rs.Spec.MinReadySeconds), spec.Child("minReadySeconds"))...)
	errs = append(errs, selectorRules(rs.Spec.Selector, rs.Spec.Template.Labels, spec, "deployment")...)
	errs = append(errs, validatePodTemplate(&rs.Spec.Template, spec.Child("template"), nil)...)
	return append(errs, alwaysRestarts(&rs.Spec.Template.Spec, spec.Child("template"), "ReplicaSet")...)
}

// validateStatefulSet mirrors ValidateStatefulSetSpec: the volume claim
// templates count as volumes of the pod template, as
// volumesToAddForTemplates adds them.
func validateStatefulSet(s *appsv1.StatefulSet) field.ErrorList {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	switch s.Spec.PodManagementPolicy {
	case "", appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement:
	default:
		errs = append(errs, field.Invalid(spec.Child("podManagementPolicy"), s.Spec.PodManagementPolicy, "must be 'OrderedReady' or 'Parallel'"))
	}
	errs = append(errs, nonnegative(s.Spec.Replicas, spec.Child("replicas"))...)
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(s.Spec.MinReadySeconds), spec.Child("minReadySeconds"))...)
	if s.Spec.ServiceName != "" {
		for _, msg := range validation.IsDNS1123Label(s.Spec.ServiceName) {
			errs = append(errs, field.Invalid(spec.Child("serviceName"), s.Spec.ServiceName, msg))
		}
	}
	errs = append(errs, selectorRules(s.Spec.Selector, s.Spec.Template.Labels, spec, "statefulset")...)
	var claims []string
	for _, t := range s.Spec.VolumeClaimTemplates {
		claims = append(claims, t.Name)
	}
	errs = append(errs, validatePodTemplate(&s.Spec.Template, spec.Child("template"), claims)...)
	return append(errs, alwaysRestarts(&s.Spec.Template.Spec, spec.Child("template"), "StatefulSet")...)
}

// validateDaemonSet mirrors ValidateDaemonSetSpec: unlike the others it
// matches even an unset selector against the template's labels.
func validateDaemonSet(ds *appsv1.DaemonSet) field.ErrorList {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	if sel := ds.Spec.Selector; sel != nil {
		errs = append(errs, metavalidation.ValidateLabelSelector(sel, metavalidation.LabelSelectorValidationOptions{}, spec.Child("selector"))...)
	}
	if s, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector); err == nil && !s.Matches(labels.Set(ds.Spec.Template.Labels)) {
		errs = append(errs, selectorMismatch(spec, ds.Spec.Template.Labels))
	}
	if sel := ds.Spec.Selector; sel != nil && len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
		errs = append(errs, field.Invalid(spec.Child("selector"), sel, "empty selector is invalid for daemonset"))
	}
	errs = append(errs, validatePodTemplate(&ds.Spec.Template, spec.Child("template"), nil)...)
	errs = append(errs, alwaysRestarts(&ds.Spec.Template.Spec, spec.Child("template"), "DaemonSet")...)
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(ds.Spec.MinReadySeconds), spec.Child("minReadySeconds"))...)
	return append(errs, nonnegative(ds.Spec.RevisionHistoryLimit, spec.Child("revisionHistoryLimit"))...)
}

// validateReplicationController mirrors ValidateReplicationControllerSpec
// (pkg/apis/core/validation) after SetDefaults_ReplicationController,
// which takes an unset selector from the template's labels.
func validateReplicationController(rc *corev1.ReplicationController) field.ErrorList {
	spec := field.NewPath("spec")
	errs := apivalidation.ValidateNonnegativeField(int64(rc.Spec.MinReadySeconds), spec.Child("minReadySeconds"))
	errs = append(errs, nonnegative(rc.Spec.Replicas, spec.Child("replicas"))...)
	if rc.Spec.Template == nil {
		return append(errs, field.Required(spec.Child("template"), ""))
	}
	sel := rc.Spec.Selector
	if len(sel) == 0 {
		sel = rc.Spec.Template.Labels
	}
	if s := labels.Set(sel).AsSelector(); !s.Empty() && !s.Matches(labels.Set(rc.Spec.Template.Labels)) {
		errs = append(errs, selectorMismatch(spec, rc.Spec.Template.Labels))
	}
	errs = append(errs, validatePodTemplate(rc.Spec.Template, spec.Child("template"), nil)...)
	return append(errs, alwaysRestarts(&rc.Spec.Template.Spec, spec.Child("template"), "ReplicationController")...)
}

// validateJob mirrors ValidateJob, ValidateJobSpec and validateJobSpec
// (pkg/apis/batch/validation). A Job with manualSelector: true must have a
// selector that matches its template's labels; for the others the API
// server generates one, and refuses a selector of the user's own that the
// generated labels do not satisfy.
func validateJob(j *batchv1.Job, name string, uid string) field.ErrorList {
	spec := field.NewPath("spec")
	errs := validateJobSpec(&j.Spec, spec)
	sel, tmplLabels := j.Spec.Selector, j.Spec.Template.Labels
	if ms := j.Spec.ManualSelector; ms == nil || !*ms {
		// generateSelector (pkg/registry/batch/job/strategy.go) labels the
		// template with the Job's name and UID and adds the UID to the
		// selector; validateGeneratedSelector then refuses a selector of
		// the user's own that those labels do not satisfy.
		generated := map[string]string{
			batchv1.ControllerUidLabel: uid, "controller-uid": uid,
			batchv1.JobNameLabel: name, "job-name": name,
		}
		if sel == nil {
			return errs
		}
		withUID := sel.DeepCopy()
		if withUID.MatchLabels == nil {
			withUID.MatchLabels = map[string]string{}
		}
		if _, ok := withUID.MatchLabels[batchv1.ControllerUidLabel]; !ok {
			withUID.MatchLabels[batchv1.ControllerUidLabel] = uid
		}
		sel, tmplLabels = withUID, labels.Merge(generated, tmplLabels)
		if s, err := metav1.LabelSelectorAsSelector(sel); err == nil && !s.Matches(labels.Set(generated)) {
			errs = append(errs, field.Invalid(spec.Child("selector"), j.Spec.Selector, "`selector` not auto-generated"))
		}
	} else if sel == nil {
		errs = append(errs, field.Required(spec.Child("selector"), ""))
	}
	if s, err := metav1.LabelSelectorAsSelector(sel); err == nil && !s.Matches(labels.Set(tmplLabels)) {
		errs = append(errs, selectorMismatch(spec, j.Spec.Template.Labels))
	}
	return errs
}

// validateJobSpec mirrors validateJobSpec: counts and durations may not be
// negative, and the template's restartPolicy, defaulted to Always, must be
// OnFailure or Never.
func validateJobSpec(s *batchv1.JobSpec, spec *field.Path) field.ErrorList {
	errs := nonnegative(s.Parallelism, spec.Child("parallelism"))
	errs = append(errs, nonnegative(s.Completions, spec.Child("completions"))...)
	errs = append(errs, nonnegative(s.ActiveDeadlineSeconds, spec.Child("activeDeadlineSeconds"))...)
	errs = append(errs, nonnegative(s.BackoffLimit, spec.Child("backoffLimit"))...)
	errs = append(errs, nonnegative(s.TTLSecondsAfterFinished, spec.Child("ttlSecondsAfterFinished"))...)
	errs = append(errs, validatePodTemplate(&s.Template, spec.Child("template"), nil)...)
	policy := spec.Child("template", "spec", "restartPolicy")
	switch p := restartPolicy(&s.Template.Spec); {
	case p == corev1.RestartPolicyAlways:
		errs = append(errs, field.Required(policy, `valid values: "OnFailure", "Never"`))
	case s.PodFailurePolicy != nil && p != corev1.RestartPolicyNever:
		errs = append(errs, field.Invalid(policy, p, `only "Never" is supported when podFailurePolicy is specified`))
	}
	return errs
}

// validateCronJob mirrors validateCronJobSpec and ValidateJobTemplateSpec:
// the Job template may not choose its own selector.
func validateCronJob(cj *batchv1.CronJob) field.ErrorList {
	spec := field.NewPath("spec")
	errs := nonnegative(cj.Spec.StartingDeadlineSeconds, spec.Child("startingDeadlineSeconds"))
	jt := spec.Child("jobTemplate", "spec")
	errs = append(errs, validateJobSpec(&cj.Spec.JobTemplate.Spec, jt)...)
	if cj.Spec.JobTemplate.Spec.Selector != nil {
		errs = append(errs, field.Invalid(jt.Child("selector"), cj.Spec.JobTemplate.Spec.Selector, "`selector` will be auto-generated"))
	}
	if ms := cj.Spec.JobTemplate.Spec.ManualSelector; ms != nil && *ms {
		errs = append(errs, field.NotSupported(jt.Child("manualSelector"), ms, []string{"nil", "false"}))
	}
	errs = append(errs, nonnegative(cj.Spec.SuccessfulJobsHistoryLimit, spec.Child("successfulJobsHistoryLimit"))...)
	return append(errs, nonnegative(cj.Spec.FailedJobsHistoryLimit, spec.Child("failedJobsHistoryLimit"))...)
}
