package manifest

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/plimsoll/plimsoll/internal/checks/pod"
)

// The pod spec rules of api-server-accepts: what ValidatePodSpec and the
// functions it calls (pkg/apis/core/validation) refuse in the containers,
// their ports, volumes, mounts, resources and probes.

// validatePod mirrors ValidatePodCreate: a Pod may not be created with
// ephemeral containers, which only the ephemeralcontainers subresource
// adds.
func validatePod(p *corev1.Pod) field.ErrorList {
	spec := field.NewPath("spec")
	errs := validatePodSpec(&p.Spec, spec, nil)
	if len(p.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(spec.Child("ephemeralContainers"), "cannot be set on create"))
	}
	return errs
}

// validatePodTemplate mirrors ValidatePodTemplateSpec: the template's
// labels (at <template>.labels, as upstream names them), its pod spec,
// and no ephemeral containers. claims are the names of the volumes a
// StatefulSet's volumeClaimTemplates add.
func validatePodTemplate(t *corev1.PodTemplateSpec, tmpl *field.Path, claims []string) field.ErrorList {
	errs := validateLabels(t.Labels, tmpl.Child("labels"))
	errs = append(errs, validateAnnotations(t.Annotations, tmpl.Child("annotations"))...)
	errs = append(errs, validatePodSpec(&t.Spec, tmpl.Child("spec"), claims)...)
	if len(t.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(tmpl.Child("spec", "ephemeralContainers"), "ephemeral containers not allowed in pod template"))
	}
	return errs
}

// validatePodSpec mirrors the parts of ValidatePodSpec named at each step.
func validatePodSpec(spec *corev1.PodSpec, fld *field.Path, claims []string) field.ErrorList {
	vols, errs := validateVolumes(spec.Volumes, fld.Child("volumes"), claims)
	errs = append(errs, validateContainers(spec, vols, fld.Child("containers"))...)
	errs = append(errs, validateInitContainers(spec, vols, fld.Child("initContainers"))...)
	errs = append(errs, validateEphemeralContainers(spec, vols, fld.Child("ephemeralContainers"))...)
	// validateRestartPolicy: one of the three, Always when unset.
	if p := restartPolicy(spec); !validRestartPolicy(p) {
		errs = append(errs, field.NotSupported(fld.Child("restartPolicy"), p, []corev1.RestartPolicy{corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever}))
	}
	if sa := spec.ServiceAccountName; sa != "" {
		for _, msg := range apivalidation.ValidateServiceAccountName(sa, false) {
			errs = append(errs, field.Invalid(fld.Child("serviceAccountName"), sa, msg))
		}
	}
	if d := spec.ActiveDeadlineSeconds; d != nil && (*d < 1 || *d > math.MaxInt32) {
		errs = append(errs, field.Invalid(fld.Child("activeDeadlineSeconds"), *d, validation.InclusiveRangeError(1, math.MaxInt32)))
	}
	return errs
}

// validateVolumes mirrors the naming rules of ValidateVolumes: a DNS label,
// once each. It returns the names mounts may use: the volumes without an
// error, and the StatefulSet claims.
func validateVolumes(volumes []corev1.Volume, fld *field.Path, claims []string) (map[string]bool, field.ErrorList) {
	names := map[string]bool{}
	for _, c := range claims {
		names[c] = true
	}
	var errs field.ErrorList
	for i, v := range volumes {
		name := fld.Index(i).Child("name")
		var el field.ErrorList
		if v.Name == "" {
			el = append(el, field.Required(name, ""))
		} else {
			for _, msg := range validation.IsDNS1123Label(v.Name) {
				el = append(el, field.Invalid(name, v.Name, msg))
			}
		}
		if names[v.Name] && !slices.Contains(claims, v.Name) {
			el = append(el, field.Duplicate(name, v.Name))
		}
		if len(el) == 0 {
			names[v.Name] = true
		}
		errs = append(errs, el...)
	}
	return names, errs
}

// validateContainers mirrors validateContainers: at least one container,
// names unique among them, and no host port twice across them
// (checkHostPortConflicts).
func validateContainers(spec *corev1.PodSpec, vols map[string]bool, fld *field.Path) field.ErrorList {
	if len(spec.Containers) == 0 {
		return field.ErrorList{field.Required(fld, "")}
	}
	var errs field.ErrorList
	names := map[string]bool{}
	for i := range spec.Containers {
		ctr := &spec.Containers[i]
		at := fld.Index(i)
		errs = append(errs, validateContainerCommon(ctr, vols, at)...)
		if names[ctr.Name] {
			errs = append(errs, field.Duplicate(at.Child("name"), ctr.Name))
		}
		names[ctr.Name] = true
		errs = append(errs, validateProbes(ctr, at)...)
	}
	return append(errs, hostPortConflicts(spec.Containers, fld)...)
}

// validateInitContainers mirrors validateInitContainers: names unique
// among the app and init containers, host ports checked one container at
// a time (they run one by one), and an init container that is not a
// sidecar (restartPolicy: Always) may have no probes or lifecycle hooks.
func validateInitContainers(spec *corev1.PodSpec, vols map[string]bool, fld *field.Path) field.ErrorList {
	names := map[string]bool{}
	for _, c := range spec.Containers {
		names[c.Name] = true
	}
	var errs field.ErrorList
	for i := range spec.InitContainers {
		ctr := &spec.InitContainers[i]
		at := fld.Index(i)
		errs = append(errs, validateContainerCommon(ctr, vols, at)...)
		if names[ctr.Name] {
			errs = append(errs, field.Duplicate(at.Child("name"), ctr.Name))
		} else if ctr.Name != "" {
			names[ctr.Name] = true
		}
		errs = append(errs, hostPortConflicts(spec.InitContainers[i:i+1], fld)...)
		if pod.IsSidecar(ctr) {
			errs = append(errs, validateProbes(ctr, at)...)
			continue
		}
		for _, f := range []struct {
			set  bool
			name string
		}{{ctr.Lifecycle != nil, "lifecycle"}, {ctr.LivenessProbe != nil, "livenessProbe"}, {ctr.ReadinessProbe != nil, "readinessProbe"}, {ctr.StartupProbe != nil, "startupProbe"}} {
			if f.set {
				errs = append(errs, field.Forbidden(at.Child(f.name), "may not be set for init containers without restartPolicy=Always"))
			}
		}
	}
	return errs
}

// validateEphemeralContainers mirrors the naming rule of
// validateEphemeralContainers: an ephemeral container's name is unique
// across all three lists.
func validateEphemeralContainers(spec *corev1.PodSpec, vols map[string]bool, fld *field.Path) field.ErrorList {
	names := map[string]bool{}
	for _, list := range [][]corev1.Container{spec.Containers, spec.InitContainers} {
		for _, c := range list {
			names[c.Name] = true
		}
	}
	var errs field.ErrorList
	for i := range spec.EphemeralContainers {
		ec := &spec.EphemeralContainers[i]
		at := fld.Index(i)
		errs = append(errs, validateContainerCommon((*corev1.Container)(&ec.EphemeralContainerCommon), vols, at)...)
		if names[ec.Name] {
			errs = append(errs, field.Duplicate(at.Child("name"), ec.Name))
		}
		names[ec.Name] = true
	}
	return errs
}

// validateContainerCommon mirrors validateContainerCommon: a name that is
// a DNS label, an image, an image pull policy the kubelet knows, and the
// container's ports, env, mounts and resources.
func validateContainerCommon(ctr *corev1.Container, vols map[string]bool, at *field.Path) field.ErrorList {
	var errs field.ErrorList
	if ctr.Name == "" {
		errs = append(errs, field.Required(at.Child("name"), ""))
	} else {
		for _, msg := range validation.IsDNS1123Label(ctr.Name) {
			errs = append(errs, field.Invalid(at.Child("name"), ctr.Name, msg))
		}
	}
	if ctr.Image == "" {
		errs = append(errs, field.Required(at.Child("image"), ""))
	}
	switch ctr.ImagePullPolicy {
	case "", corev1.PullAlways, corev1.PullNever, corev1.PullIfNotPresent:
	default: // validatePullPolicy
		errs = append(errs, field.NotSupported(at.Child("imagePullPolicy"), ctr.ImagePullPolicy, []corev1.PullPolicy{corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever}))
	}
	errs = append(errs, validateContainerPorts(ctr.Ports, at.Child("ports"))...)
	errs = append(errs, validateEnvNames(ctr.Env, at.Child("env"))...)
	errs = append(errs, validateVolumeMounts(ctr.VolumeMounts, vols, at.Child("volumeMounts"))...)
	return append(errs, validateResources(&ctr.Resources, at.Child("resources"))...)
}

// validateContainerPorts mirrors validateContainerPorts: a port's name is
// an IANA service name, once each in the container; containerPort is
// required and a port number, as is a hostPort.
func validateContainerPorts(ports []corev1.ContainerPort, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := map[string]bool{}
	for i, p := range ports {
		at := fld.Index(i)
		if p.Name != "" {
			if msgs := validation.IsValidPortName(p.Name); len(msgs) != 0 {
				for _, msg := range msgs {
					errs = append(errs, field.Invalid(at.Child("name"), p.Name, msg))
				}
			} else if names[p.Name] {
				errs = append(errs, field.Duplicate(at.Child("name"), p.Name))
			} else {
				names[p.Name] = true
			}
		}
		if p.ContainerPort == 0 {
			errs = append(errs, field.Required(at.Child("containerPort"), ""))
		} else {
			for _, msg := range validation.IsValidPortNum(int(p.ContainerPort)) {
				errs = append(errs, field.Invalid(at.Child("containerPort"), p.ContainerPort, msg))
			}
		}
		if p.HostPort != 0 {
			for _, msg := range validation.IsValidPortNum(int(p.HostPort)) {
				errs = append(errs, field.Invalid(at.Child("hostPort"), p.HostPort, msg))
			}
		}
	}
	return errs
}

// hostPortConflicts mirrors AccumulateUniqueHostPorts: no two ports of the
// containers claim the same host port, protocol and host IP.
func hostPortConflicts(containers []corev1.Container, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for ci, ctr := range containers {
		for pi, p := range ctr.Ports {
			if p.HostPort == 0 {
				continue
			}
			key := fmt.Sprintf("%s/%s/%d", protocolOrTCP(p.Protocol), p.HostIP, p.HostPort)
			if seen[key] {
				errs = append(errs, field.Duplicate(fld.Index(ci).Child("ports").Index(pi).Child("hostPort"), key))
			}
			seen[key] = true
		}
	}
	return errs
}

// validateEnvNames mirrors the naming rule of ValidateEnv, with the relaxed
// names that are the default since Kubernetes 1.34.
func validateEnvNames(env []corev1.EnvVar, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, e := range env {
		name := fld.Index(i).Child("name")
		if e.Name == "" {
			errs = append(errs, field.Required(name, ""))
			continue
		}
		for _, msg := range validation.IsRelaxedEnvVarName(e.Name) {
			errs = append(errs, field.Invalid(name, e.Name, msg))
		}
	}
	return errs
}

// validateVolumeMounts mirrors ValidateVolumeMounts: a mount names a
// volume of the pod, and no two mounts share a path.
func validateVolumeMounts(mounts []corev1.VolumeMount, vols map[string]bool, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	paths := map[string]bool{}
	for i, m := range mounts {
		at := fld.Index(i)
		if m.Name == "" {
			errs = append(errs, field.Required(at.Child("name"), ""))
		}
		if !vols[m.Name] {
			errs = append(errs, field.NotFound(at.Child("name"), m.Name))
		}
		if m.MountPath == "" {
			errs = append(errs, field.Required(at.Child("mountPath"), ""))
		}
		if paths[m.MountPath] {
			errs = append(errs, field.Invalid(at.Child("mountPath"), m.MountPath, "must be unique"))
		}
		paths[m.MountPath] = true
	}
	return errs
}

// validateResources mirrors validateResourceRequirements: no quantity is
// negative, a request is at most its limit, and a resource that cannot be
// overcommitted (an extended resource such as a GPU, huge pages) needs a
// limit equal to its request. A request left unset is not compared: on a
// Pod it is defaulted to the limit, on a template it stays unset.
func validateResources(r *corev1.ResourceRequirements, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	lim, req := fld.Child("limits"), fld.Child("requests")
	for _, name := range slices.Sorted(maps.Keys(r.Limits)) {
		errs = append(errs, nonnegativeQuantity(r.Limits[name], lim.Key(string(name)))...)
	}
	for _, name := range slices.Sorted(maps.Keys(r.Requests)) {
		q := r.Requests[name]
		errs = append(errs, nonnegativeQuantity(q, req.Key(string(name)))...)
		l, ok := r.Limits[name]
		switch {
		case ok && q.Cmp(l) != 0 && !overcommitAllowed(name):
			errs = append(errs, field.Invalid(req, q.String(), fmt.Sprintf("must be equal to %s limit of %s", name, l.String())))
		case ok && q.Cmp(l) > 0:
			errs = append(errs, field.Invalid(req, q.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", name, l.String())))
		case !ok && !overcommitAllowed(name):
			errs = append(errs, field.Required(lim, "Limit must be set for non overcommitable resources"))
		}
	}
	return errs
}

// nonnegativeQuantity mirrors ValidateNonnegativeQuantity.
func nonnegativeQuantity(q resource.Quantity, fld *field.Path) field.ErrorList {
	if q.Sign() < 0 {
		return field.ErrorList{field.Invalid(fld, q.String(), apivalidation.IsNegativeErrorMsg)}
	}
	return nil
}

// overcommitAllowed mirrors helper.IsOvercommitAllowed: native resources
// (no domain, or a kubernetes.io one) but huge pages.
func overcommitAllowed(name corev1.ResourceName) bool {
	s := string(name)
	native := !strings.Contains(s, "/") || strings.Contains(s, corev1.ResourceDefaultNamespacePrefix)
	return native && !strings.HasPrefix(s, corev1.ResourceHugePagesPrefix)
}

// validateProbes mirrors validateLivenessProbe, validateReadinessProbe,
// validateStartupProbe and validateProbe, after SetDefaults_Probe: one
// handler exactly, no negative timing, a successThreshold of 1 on
// liveness and startup probes, and no terminationGracePeriodSeconds on a
// readiness probe or below 1 on the others.
func validateProbes(ctr *corev1.Container, at *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, p := range []struct {
		probe *corev1.Probe
		name  string
	}{{ctr.LivenessProbe, "livenessProbe"}, {ctr.ReadinessProbe, "readinessProbe"}, {ctr.StartupProbe, "startupProbe"}} {
		if p.probe == nil {
			continue
		}
		fld := at.Child(p.name)
		d := defaultedProbe(*p.probe)
		errs = append(errs, validateHandler(&d.ProbeHandler, fld)...)
		for _, n := range []struct {
			v    int32
			name string
		}{{d.InitialDelaySeconds, "initialDelaySeconds"}, {d.TimeoutSeconds, "timeoutSeconds"}, {d.PeriodSeconds, "periodSeconds"}, {d.SuccessThreshold, "successThreshold"}, {d.FailureThreshold, "failureThreshold"}} {
			errs = append(errs, apivalidation.ValidateNonnegativeField(int64(n.v), fld.Child(n.name))...)
		}
		if g := d.TerminationGracePeriodSeconds; g != nil && *g <= 0 {
			errs = append(errs, field.Invalid(fld.Child("terminationGracePeriodSeconds"), *g, "must be greater than 0"))
		}
		switch {
		case p.name == "readinessProbe" && d.TerminationGracePeriodSeconds != nil:
			errs = append(errs, field.Invalid(fld.Child("terminationGracePeriodSeconds"), d.TerminationGracePeriodSeconds, "must not be set for readinessProbes"))
		case p.name != "readinessProbe" && d.SuccessThreshold != 1:
			errs = append(errs, field.Invalid(fld.Child("successThreshold"), d.SuccessThreshold, "must be 1"))
		}
	}
	return errs
}

// defaultedProbe is a probe as SetDefaults_Probe leaves it.
func defaultedProbe(p corev1.Probe) corev1.Probe {
	for _, f := range []struct {
		v   *int32
		def int32
	}{{&p.TimeoutSeconds, 1}, {&p.PeriodSeconds, 10}, {&p.SuccessThreshold, 1}, {&p.FailureThreshold, 3}} {
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	return p
}

// validateHandler mirrors validateHandler: exactly one of exec, httpGet,
// tcpSocket and grpc, and a port that is a number or a name.
func validateHandler(h *corev1.ProbeHandler, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	for _, kind := range []struct {
		set  bool
		name string
	}{{h.Exec != nil, "exec"}, {h.HTTPGet != nil, "httpGet"}, {h.TCPSocket != nil, "tcpSocket"}, {h.GRPC != nil, "grpc"}} {
		if !kind.set {
			continue
		}
		if n > 0 {
			errs = append(errs, field.Forbidden(fld.Child(kind.name), "may not specify more than 1 handler type"))
			continue
		}
		n++
		switch kind.name {
		case "exec":
			if len(h.Exec.Command) == 0 {
				errs = append(errs, field.Required(fld.Child("exec", "command"), ""))
			}
		case "httpGet":
			errs = append(errs, portNumOrName(h.HTTPGet.Port, fld.Child("httpGet", "port"))...)
		case "tcpSocket":
			errs = append(errs, portNumOrName(h.TCPSocket.Port, fld.Child("tcpSocket", "port"))...)
		case "grpc":
			for _, msg := range validation.IsValidPortNum(int(h.GRPC.Port)) {
				errs = append(errs, field.Invalid(fld.Child("grpc", "port"), int(h.GRPC.Port), msg))
			}
		}
	}
	if n == 0 {
		errs = append(errs, field.Required(fld, "must specify a handler type"))
	}
	return errs
}
