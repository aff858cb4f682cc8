package policy

import (
	"github.com/distribution/reference"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// The defaults the API server sets on an object it is asked to create,
// before admission: a policy judges the object with them. They are written
// out here because they live in k8s.io/kubernetes (pkg/apis/*/v1, the
// SetDefaults_ functions and the zz_generated.defaults.go that calls them),
// which plimsoll does not import. Each function names the upstream one it
// follows; what they leave out (feature-gated defaults that are off by
// default, the rounding of quantities to milli-units) a policy sees unset,
// and so it does what the API server sets that is not a default (what it
// allocates, what admission plugins and the registry add).
// test/e2e's TestDefaultsParity holds them to what a real API server
// returns from a dry-run create of every workload, Pod, Service and claim
// of the examples and the public corpus.

// SetDefaults sets the API server's defaults on a built-in object of
// k8s.io/api's types, in place, as the generated SetObjectDefaults_ of its
// kind does. Objects of other types are left as they are.
func SetDefaults(obj any) {
	switch o := obj.(type) {
	case *corev1.Pod:
		setPodDefaults(o)
	case *corev1.Service:
		setServiceDefaults(o)
	case *corev1.Namespace:
		// SetDefaults_Namespace: the name label.
		if o.Name != "" {
			if o.Labels == nil {
				o.Labels = map[string]string{}
			}
			o.Labels[corev1.LabelMetadataName] = o.Name
		}
	case *corev1.Secret:
		// SetDefaults_Secret.
		if o.Type == "" {
			o.Type = corev1.SecretTypeOpaque
		}
	case *corev1.PersistentVolumeClaim:
		setClaimDefaults(o)
	case *corev1.ReplicationController:
		setReplicationControllerDefaults(o)
	case *appsv1.Deployment:
		setDeploymentDefaults(o)
	case *appsv1.StatefulSet:
		setStatefulSetDefaults(o)
	case *appsv1.DaemonSet:
		setDaemonSetDefaults(o)
	case *appsv1.ReplicaSet:
		// SetDefaults_ReplicaSet.
		orDefault(&o.Spec.Replicas, 1)
		setPodSpecDefaults(&o.Spec.Template.Spec)
	case *batchv1.Job:
		setJobDefaults(o)
	case *batchv1.CronJob:
		setCronJobDefaults(o)
	}
}

// orDefault sets an unset field to its default.
func orDefault[T any](p **T, def T) {
	if *p == nil {
		*p = ptr.To(def)
	}
}

// setPodDefaults follows SetObjectDefaults_Pod: SetDefaults_Pod, then the
// pod spec's.
func setPodDefaults(p *corev1.Pod) {
	// SetDefaults_Pod: on a Pod, not on a pod template.
	if g := p.Spec.TerminationGracePeriodSeconds; g != nil && *g < 0 {
		p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](1)
	}
	for _, cs := range [][]corev1.Container{p.Spec.Containers, p.Spec.InitContainers} {
		for i := range cs {
			// Requests default to limits where only limits are set.
			res := &cs[i].Resources
			if res.Limits == nil {
				continue
			}
			if res.Requests == nil {
				res.Requests = corev1.ResourceList{}
			}
			for k, v := range res.Limits {
				if _, ok := res.Requests[k]; !ok {
					res.Requests[k] = v.DeepCopy()
				}
			}
		}
	}
	orDefault(&p.Spec.EnableServiceLinks, corev1.DefaultEnableServiceLinks)
	if p.Spec.HostNetwork {
		// defaultHostNetworkPorts: a host-network pod's ports are host ports.
		for _, cs := range [][]corev1.Container{p.Spec.Containers, p.Spec.InitContainers} {
			for i := range cs {
				for j := range cs[i].Ports {
					if cs[i].Ports[j].HostPort == 0 {
						cs[i].Ports[j].HostPort = cs[i].Ports[j].ContainerPort
					}
				}
			}
		}
	}
	setPodSpecDefaults(&p.Spec)
}

// setPodSpecDefaults follows SetDefaults_PodSpec and what the generated
// defaulters set below a pod spec: volumes, containers of every sort, their
// ports, environment and probes.
func setPodSpecDefaults(s *corev1.PodSpec) {
	if s.ServiceAccountName == "" {
		s.ServiceAccountName = s.DeprecatedServiceAccount
	}
	s.DeprecatedServiceAccount = s.ServiceAccountName
	if s.DNSPolicy == "" {
		s.DNSPolicy = corev1.DNSClusterFirst
	}
	if s.RestartPolicy == "" {
		s.RestartPolicy = corev1.RestartPolicyAlways
	}
	if s.SecurityContext == nil {
		s.SecurityContext = &corev1.PodSecurityContext{}
	}
	orDefault[int64](&s.TerminationGracePeriodSeconds, corev1.DefaultTerminationGracePeriodSeconds)
	if s.SchedulerName == "" {
		s.SchedulerName = corev1.DefaultSchedulerName
	}
	for i := range s.Volumes {
		setVolumeDefaults(&s.Volumes[i])
	}
	for i := range s.InitContainers {
		setContainerDefaults(&s.InitContainers[i])
	}
	for i := range s.Containers {
		setContainerDefaults(&s.Containers[i])
	}
	for i := range s.EphemeralContainers {
		setContainerDefaults((*corev1.Container)(&s.EphemeralContainers[i].EphemeralContainerCommon))
	}
}

// setVolumeDefaults follows SetDefaults_Volume (no source is an emptyDir)
// and the defaults of the common sources' modes and field references.
func setVolumeDefaults(v *corev1.Volume) {
	src := &v.VolumeSource
	if *src == (corev1.VolumeSource{}) {
		src.EmptyDir = &corev1.EmptyDirVolumeSource{}
	}
	switch {
	case src.Secret != nil:
		orDefault(&src.Secret.DefaultMode, corev1.SecretVolumeSourceDefaultMode)
	case src.ConfigMap != nil:
		orDefault(&src.ConfigMap.DefaultMode, corev1.ConfigMapVolumeSourceDefaultMode)
	case src.DownwardAPI != nil:
		orDefault(&src.DownwardAPI.DefaultMode, corev1.DownwardAPIVolumeSourceDefaultMode)
		for i := range src.DownwardAPI.Items {
			setFieldRefDefaults(src.DownwardAPI.Items[i].FieldRef)
		}
	case src.Projected != nil:
		orDefault(&src.Projected.DefaultMode, corev1.ProjectedVolumeSourceDefaultMode)
		for _, s := range src.Projected.Sources {
			if s.DownwardAPI != nil {
				for i := range s.DownwardAPI.Items {
					setFieldRefDefaults(s.DownwardAPI.Items[i].FieldRef)
				}
			}
			// SetDefaults_ServiceAccountTokenProjection: an hour.
			if t := s.ServiceAccountToken; t != nil {
				orDefault[int64](&t.ExpirationSeconds, 60*60)
			}
		}
	case src.HostPath != nil:
		// SetDefaults_HostPathVolumeSource.
		orDefault(&src.HostPath.Type, corev1.HostPathUnset)
	case src.Ephemeral != nil && src.Ephemeral.VolumeClaimTemplate != nil:
		setVolumeMode(&src.Ephemeral.VolumeClaimTemplate.Spec)
	case src.ISCSI != nil:
		// SetDefaults_ISCSIVolumeSource.
		if src.ISCSI.ISCSIInterface == "" {
			src.ISCSI.ISCSIInterface = "default"
		}
	case src.RBD != nil:
		// SetDefaults_RBDVolumeSource.
		orEmpty(&src.RBD.RBDPool, "rbd")
		orEmpty(&src.RBD.RadosUser, "admin")
		orEmpty(&src.RBD.Keyring, "/etc/ceph/keyring")
	case src.AzureDisk != nil:
		// SetDefaults_AzureDiskVolumeSource.
		orDefault(&src.AzureDisk.CachingMode, corev1.AzureDataDiskCachingReadWrite)
		orDefault(&src.AzureDisk.Kind, corev1.AzureSharedBlobDisk)
		orDefault(&src.AzureDisk.FSType, "ext4")
		orDefault(&src.AzureDisk.ReadOnly, false)
	case src.ScaleIO != nil:
		// SetDefaults_ScaleIOVolumeSource.
		orEmpty(&src.ScaleIO.StorageMode, "ThinProvisioned")
		orEmpty(&src.ScaleIO.FSType, "xfs")
	}
}

// orEmpty sets an empty string to def.
func orEmpty(s *string, def string) {
	if *s == "" {
		*s = def
	}
}

// setVolumeMode follows SetDefaults_PersistentVolumeClaimSpec.
func setVolumeMode(s *corev1.PersistentVolumeClaimSpec) {
	orDefault(&s.VolumeMode, corev1.PersistentVolumeFilesystem)
}

// setClaimDefaults follows SetDefaults_PersistentVolumeClaim and
// SetDefaults_PersistentVolumeClaimSpec.
func setClaimDefaults(c *corev1.PersistentVolumeClaim) {
	if c.Status.Phase == "" {
		c.Status.Phase = corev1.ClaimPending
	}
	setVolumeMode(&c.Spec)
}

// setFieldRefDefaults follows SetDefaults_ObjectFieldSelector.
func setFieldRefDefaults(f *corev1.ObjectFieldSelector) {
	if f != nil && f.APIVersion == "" {
		f.APIVersion = "v1"
	}
}

// setContainerDefaults follows SetDefaults_Container and the generated
// defaults of a container's ports (protocol TCP), environment and probes.
func setContainerDefaults(c *corev1.Container) {
	if c.ImagePullPolicy == "" {
		// Always for the tag latest, written or implied (no tag and no
		// digest), else IfNotPresent: parsers.ParseImageName's reading.
		c.ImagePullPolicy = corev1.PullIfNotPresent
		if imageTag(c.Image) == "latest" {
			c.ImagePullPolicy = corev1.PullAlways
		}
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = corev1.TerminationMessagePathDefault
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	}
	for i := range c.Ports {
		if c.Ports[i].Protocol == "" {
			c.Ports[i].Protocol = corev1.ProtocolTCP
		}
	}
	for i := range c.Env {
		if from := c.Env[i].ValueFrom; from != nil {
			setFieldRefDefaults(from.FieldRef)
			if from.FileKeyRef != nil {
				orDefault(&from.FileKeyRef.Optional, false)
			}
		}
	}
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		setProbeDefaults(p)
	}
	if l := c.Lifecycle; l != nil {
		for _, h := range []*corev1.LifecycleHandler{l.PostStart, l.PreStop} {
			if h != nil {
				setHTTPGetDefaults(h.HTTPGet)
			}
		}
	}
}

// imageTag is the tag of an image reference as the kubelet reads it
// (reference.ParseNormalizedNamed): "latest" when it has neither a tag nor
// a digest, "" when it does not parse.
func imageTag(image string) string {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return ""
	}
	if t, ok := named.(reference.Tagged); ok {
		return t.Tag()
	}
	if _, ok := named.(reference.Digested); ok {
		return ""
	}
	return "latest"
}

// setProbeDefaults follows SetDefaults_Probe and the generated defaults of
// a probe's handlers.
func setProbeDefaults(p *corev1.Probe) {
	if p == nil {
		return
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	setHTTPGetDefaults(p.HTTPGet)
	if p.GRPC != nil {
		orDefault(&p.GRPC.Service, "")
	}
}

// setHTTPGetDefaults follows SetDefaults_HTTPGetAction.
func setHTTPGetDefaults(h *corev1.HTTPGetAction) {
	if h == nil {
		return
	}
	if h.Path == "" {
		h.Path = "/"
	}
	if h.Scheme == "" {
		h.Scheme = corev1.URISchemeHTTP
	}
}

// setServiceDefaults follows SetDefaults_Service.
func setServiceDefaults(s *corev1.Service) {
	spec := &s.Spec
	if spec.SessionAffinity == "" {
		spec.SessionAffinity = corev1.ServiceAffinityNone
	}
	if spec.SessionAffinity == corev1.ServiceAffinityNone {
		spec.SessionAffinityConfig = nil
	}
	if spec.SessionAffinity == corev1.ServiceAffinityClientIP {
		if c := spec.SessionAffinityConfig; c == nil || c.ClientIP == nil || c.ClientIP.TimeoutSeconds == nil {
			spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr.To(corev1.DefaultClientIPServiceAffinitySeconds)}}
		}
	}
	if spec.Type == "" {
		spec.Type = corev1.ServiceTypeClusterIP
	}
	for i := range spec.Ports {
		p := &spec.Ports[i]
		if p.Protocol == "" {
			p.Protocol = corev1.ProtocolTCP
		}
		if p.TargetPort == intstr.FromInt32(0) || p.TargetPort == intstr.FromString("") {
			p.TargetPort = intstr.FromInt32(p.Port)
		}
	}
	// service.ExternallyAccessible: a NodePort or LoadBalancer Service, or
	// a ClusterIP one with external IPs.
	external := spec.Type == corev1.ServiceTypeNodePort || spec.Type == corev1.ServiceTypeLoadBalancer ||
		spec.Type == corev1.ServiceTypeClusterIP && len(spec.ExternalIPs) > 0
	if external && spec.ExternalTrafficPolicy == "" {
		spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
	}
	if spec.Type == corev1.ServiceTypeNodePort || spec.Type == corev1.ServiceTypeLoadBalancer || spec.Type == corev1.ServiceTypeClusterIP {
		orDefault(&spec.InternalTrafficPolicy, corev1.ServiceInternalTrafficPolicyCluster)
	}
	if spec.Type == corev1.ServiceTypeLoadBalancer {
		orDefault(&spec.AllocateLoadBalancerNodePorts, true)
	}
}

// setReplicationControllerDefaults follows SetDefaults_ReplicationController
// (the selector and labels from the template's) and the declarative
// default of its replicas.
func setReplicationControllerDefaults(rc *corev1.ReplicationController) {
	orDefault(&rc.Spec.Replicas, 1)
	if rc.Spec.Template == nil {
		return
	}
	if l := rc.Spec.Template.Labels; l != nil {
		if len(rc.Spec.Selector) == 0 {
			rc.Spec.Selector = l
		}
		if len(rc.Labels) == 0 {
			rc.Labels = l
		}
	}
	setPodSpecDefaults(&rc.Spec.Template.Spec)
}

// setDeploymentDefaults follows SetDefaults_Deployment.
func setDeploymentDefaults(d *appsv1.Deployment) {
	orDefault(&d.Spec.Replicas, 1)
	st := &d.Spec.Strategy
	if st.Type == "" {
		st.Type = appsv1.RollingUpdateDeploymentStrategyType
	}
	if st.Type == appsv1.RollingUpdateDeploymentStrategyType {
		if st.RollingUpdate == nil {
			st.RollingUpdate = &appsv1.RollingUpdateDeployment{}
		}
		quarter := intstr.FromString("25%")
		orDefault(&st.RollingUpdate.MaxUnavailable, quarter)
		orDefault(&st.RollingUpdate.MaxSurge, quarter)
	}
	orDefault[int32](&d.Spec.RevisionHistoryLimit, 10)
	orDefault[int32](&d.Spec.ProgressDeadlineSeconds, 600)
	setPodSpecDefaults(&d.Spec.Template.Spec)
}

// setStatefulSetDefaults follows SetDefaults_StatefulSet, with the
// MaxUnavailableStatefulSet feature off, as it is by default.
func setStatefulSetDefaults(s *appsv1.StatefulSet) {
	spec := &s.Spec
	if spec.PodManagementPolicy == "" {
		spec.PodManagementPolicy = appsv1.OrderedReadyPodManagement
	}
	if spec.UpdateStrategy.Type == "" {
		spec.UpdateStrategy.Type = appsv1.RollingUpdateStatefulSetStrategyType
		if spec.UpdateStrategy.RollingUpdate == nil {
			spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{}
		}
	}
	if ru := spec.UpdateStrategy.RollingUpdate; spec.UpdateStrategy.Type == appsv1.RollingUpdateStatefulSetStrategyType && ru != nil {
		orDefault[int32](&ru.Partition, 0)
	}
	if spec.PersistentVolumeClaimRetentionPolicy == nil {
		spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{}
	}
	if p := spec.PersistentVolumeClaimRetentionPolicy; p.WhenDeleted == "" {
		p.WhenDeleted = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	}
	if p := spec.PersistentVolumeClaimRetentionPolicy; p.WhenScaled == "" {
		p.WhenScaled = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	}
	orDefault(&spec.Replicas, 1)
	orDefault[int32](&spec.RevisionHistoryLimit, 10)
	for i := range spec.VolumeClaimTemplates {
		t := &spec.VolumeClaimTemplates[i]
		setClaimDefaults(t)
		// Not a default but what a policy sees: apps/v1 writes each
		// template's apiVersion and kind, as before 1.17
		// (Convert_apps_StatefulSetSpec_To_v1_StatefulSetSpec).
		t.APIVersion, t.Kind = "v1", "PersistentVolumeClaim"
	}
	setPodSpecDefaults(&spec.Template.Spec)
}

// setDaemonSetDefaults follows SetDefaults_DaemonSet.
func setDaemonSetDefaults(d *appsv1.DaemonSet) {
	st := &d.Spec.UpdateStrategy
	if st.Type == "" {
		st.Type = appsv1.RollingUpdateDaemonSetStrategyType
	}
	if st.Type == appsv1.RollingUpdateDaemonSetStrategyType {
		if st.RollingUpdate == nil {
			st.RollingUpdate = &appsv1.RollingUpdateDaemonSet{}
		}
		orDefault(&st.RollingUpdate.MaxUnavailable, intstr.FromInt32(1))
		orDefault(&st.RollingUpdate.MaxSurge, intstr.FromInt32(0))
	}
	orDefault[int32](&d.Spec.RevisionHistoryLimit, 10)
	setPodSpecDefaults(&d.Spec.Template.Spec)
}

// setJobDefaults follows SetObjectDefaults_Job: SetDefaults_Job, the pod
// failure policy's patterns (status True) and the pod spec's defaults.
func setJobDefaults(j *batchv1.Job) {
	s := &j.Spec
	if s.Completions == nil && s.Parallelism == nil {
		s.Completions = ptr.To[int32](1)
	}
	orDefault(&s.Parallelism, 1)
	if s.BackoffLimit == nil {
		s.BackoffLimit = ptr.To[int32](6)
		if s.BackoffLimitPerIndex != nil {
			s.BackoffLimit = ptr.To[int32](1<<31 - 1)
		}
	}
	orDefault(&s.CompletionMode, batchv1.NonIndexedCompletion)
	orDefault(&s.Suspend, false)
	if s.PodReplacementPolicy == nil {
		s.PodReplacementPolicy = ptr.To(batchv1.TerminatingOrFailed)
		if s.PodFailurePolicy != nil {
			s.PodReplacementPolicy = ptr.To(batchv1.Failed)
		}
	}
	orDefault(&s.ManualSelector, false)
	if l := s.Template.Labels; l != nil && len(j.Labels) == 0 {
		j.Labels = l
	}
	setPodFailurePolicyDefaults(s.PodFailurePolicy)
	setPodSpecDefaults(&s.Template.Spec)
}

// setPodFailurePolicyDefaults follows
// SetDefaults_PodFailurePolicyOnPodConditionsPattern.
func setPodFailurePolicyDefaults(p *batchv1.PodFailurePolicy) {
	if p == nil {
		return
	}
	for i := range p.Rules {
		for j := range p.Rules[i].OnPodConditions {
			if c := &p.Rules[i].OnPodConditions[j]; c.Status == "" {
				c.Status = corev1.ConditionTrue
			}
		}
	}
}

// setCronJobDefaults follows SetObjectDefaults_CronJob: SetDefaults_CronJob
// and the defaults below its job template, which does not get
// SetDefaults_Job's (a Job made from it does).
func setCronJobDefaults(c *batchv1.CronJob) {
	if c.Spec.ConcurrencyPolicy == "" {
		c.Spec.ConcurrencyPolicy = batchv1.AllowConcurrent
	}
	orDefault(&c.Spec.Suspend, false)
	orDefault[int32](&c.Spec.SuccessfulJobsHistoryLimit, 3)
	orDefault[int32](&c.Spec.FailedJobsHistoryLimit, 1)
	setPodFailurePolicyDefaults(c.Spec.JobTemplate.Spec.PodFailurePolicy)
	setPodSpecDefaults(&c.Spec.JobTemplate.Spec.Template.Spec)
}
