package manifest

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/checks/pod"
	"github.com/plimsoll/plimsoll/internal/inventory"
)

// The kubelet family: admission let the pod in and the scheduler placed
// it, but the kubelet cannot start it. The pod sits in ContainerCreating
// or CreateContainerConfigError (or, for a missing claim, Pending) for
// ever, and the workload is never available.

func kubeletChecks() []*check.Check {
	return []*check.Check{
		{
			ID:            "run-as-non-root-consistent",
			Title:         "Containers that must run as non-root do not run as root",
			Layer:         check.Workloads,
			Severity:      check.Critical,
			Kinds:         pod.WorkloadKinds,
			Rationale:     "runAsNonRoot: true with runAsUser: 0, whether both are set on the container or one is inherited from the pod, contradicts itself. The API server stores it, and the kubelet refuses to start the container (CreateContainerConfigError: container's runAsUser breaks non-root policy), so the pod never runs.",
			Remediation:   "Set runAsUser to the non-zero user the image runs as, or drop runAsUser: 0 where it overrides the pod's user.",
			ChecklistItem: checklist.PSSRestricted,
			Run:           runAsNonRootConsistentRun,
		},
		{
			ID:            "configmap-references-exist",
			Title:         "The ConfigMaps pods mount or read exist",
			Layer:         check.Workloads,
			Severity:      check.Critical,
			Kinds:         pod.WorkloadKinds,
			Reads:         lookupReads("ConfigMap"),
			Rationale:     "A pod that mounts a ConfigMap that does not exist never starts (MountVolume.SetUp failed), and a container that takes env from one is never started (CreateContainerConfigError), unless the reference is optional. Whether a referenced key exists is not judged: plimsoll keeps no ConfigMap contents, and does not read ConfigMaps from a cluster.",
			Remediation:   "Create the ConfigMap in the workload's namespace with the workload, fix the name, or mark the reference optional: true if the pod can run without it.",
			ChecklistItem: checklist.GitOpsDesiredState,
			Applies:       refersTo("ConfigMap"),
			Run:           referencesExistRun("ConfigMap"),
		},
		{
			ID:            "secret-references-exist",
			Title:         "The Secrets pods mount or read exist",
			Layer:         check.Workloads,
			Severity:      check.Critical,
			Kinds:         pod.WorkloadKinds,
			Reads:         lookupReads("Secret"),
			Rationale:     "A pod that mounts a Secret that does not exist never starts, and a container that takes env from one is never started, unless the reference is optional. plimsoll never reads Secrets from a cluster, so it judges only manifests, where it sees whether the Secret is declared, never what it holds.",
			Remediation:   "Create the Secret in the workload's namespace (or the ExternalSecret or SealedSecret that makes it), fix the name, or mark the reference optional: true if the pod can run without it.",
			ChecklistItem: checklist.SecretReferencesInGit,
			Applies:       refersTo("Secret"),
			Run:           referencesExistRun("Secret"),
		},
		{
			ID:            "pvc-references-exist",
			Title:         "The PersistentVolumeClaims pods mount exist",
			Layer:         check.Workloads,
			Severity:      check.Critical,
			Kinds:         pod.WorkloadKinds,
			Reads:         lookupReads("PersistentVolumeClaim"),
			Rationale:     "The scheduler does not place a pod whose PersistentVolumeClaim does not exist: it stays Pending (persistentvolumeclaim not found) and the workload never runs. A StatefulSet's volumeClaimTemplates make their claims themselves and are not judged.",
			Remediation:   "Create the PersistentVolumeClaim in the workload's namespace, fix claimName, or use a StatefulSet volumeClaimTemplate or an ephemeral volume so the claim is made with the pod.",
			ChecklistItem: checklist.PersistentState,
			Applies:       refersTo("PersistentVolumeClaim"),
			Run:           referencesExistRun("PersistentVolumeClaim"),
		},
	}
}

// runAsNonRootConsistentRun is run-as-non-root-consistent's Run. It
// mirrors the kubelet's verifyRunAsNonRoot
// (pkg/kubelet/kuberuntime/security_context_others.go) on the effective
// security context (DetermineEffectiveSecurityContext: the container's
// settings over the pod's). Windows pods are checked by user name there,
// not here.
func runAsNonRootConsistentRun(o *inventory.Object, c *check.Context) []check.Finding {
	spec := pod.Spec(o)
	if spec == nil || (spec.OS != nil && spec.OS.Name == corev1.Windows) {
		return nil
	}
	var podNonRoot *bool
	var podUser *int64
	if sc := spec.SecurityContext; sc != nil {
		podNonRoot, podUser = sc.RunAsNonRoot, sc.RunAsUser
	}
	var out []check.Finding
	for _, ct := range pod.Containers(o) {
		nonRoot, user := podNonRoot, podUser
		nonRootOn, userOn := "the pod", "the pod"
		userPath := o.SpecPath("securityContext.runAsUser")
		if sc := ct.SecurityContext; sc != nil {
			if sc.RunAsNonRoot != nil {
				nonRoot, nonRootOn = sc.RunAsNonRoot, "the container"
			}
			if sc.RunAsUser != nil {
				user, userOn, userPath = sc.RunAsUser, "the container", ct.Path()+".securityContext.runAsUser"
			}
		}
		if nonRoot == nil || !*nonRoot || user == nil || *user != 0 {
			continue
		}
		out = append(out, check.Failf(userPath,
			"container %q runs as runAsUser: 0, set on %s, with runAsNonRoot: true, set on %s: the kubelet refuses to start it (CreateContainerConfigError: container's runAsUser breaks non-root policy)",
			ct.Name, userOn, nonRootOn))
	}
	return out
}

// podRef is one reference of a pod to a ConfigMap, Secret or
// PersistentVolumeClaim.
type podRef struct {
	kind, name string
	optional   bool
	// path is the field path of the name.
	path string
	// volume is the volume that mounts it, or "" for an env reference.
	volume string
	// container is the container whose env takes it, for env references.
	container string
}

// podRefs lists a workload's references to objects of kind: its volumes
// (projected sources included), and the env and envFrom of its init and
// app containers. A StatefulSet's claim templates make their own claims
// and are left out.
func podRefs(o *inventory.Object, kind string) []podRef {
	spec := pod.Spec(o)
	if spec == nil {
		return nil
	}
	claims := map[string]bool{}
	if sts, ok := o.Typed.(*appsv1.StatefulSet); ok {
		for _, t := range sts.Spec.VolumeClaimTemplates {
			claims[t.Name] = true
		}
	}
	var out []podRef
	add := func(r podRef) {
		if r.kind == kind && r.name != "" {
			out = append(out, r)
		}
	}
	for i, v := range spec.Volumes {
		at := o.SpecPath(fmt.Sprintf("volumes[%d]", i))
		switch {
		case v.ConfigMap != nil:
			add(podRef{kind: "ConfigMap", name: v.ConfigMap.Name, optional: isTrue(v.ConfigMap.Optional), path: at + ".configMap.name", volume: v.Name})
		case v.Secret != nil:
			add(podRef{kind: "Secret", name: v.Secret.SecretName, optional: isTrue(v.Secret.Optional), path: at + ".secret.secretName", volume: v.Name})
		case v.PersistentVolumeClaim != nil && !claims[v.Name]:
			add(podRef{kind: "PersistentVolumeClaim", name: v.PersistentVolumeClaim.ClaimName, path: at + ".persistentVolumeClaim.claimName", volume: v.Name})
		case v.Projected != nil:
			for j, s := range v.Projected.Sources {
				src := fmt.Sprintf("%s.projected.sources[%d]", at, j)
				if s.ConfigMap != nil {
					add(podRef{kind: "ConfigMap", name: s.ConfigMap.Name, optional: isTrue(s.ConfigMap.Optional), path: src + ".configMap.name", volume: v.Name})
				}
				if s.Secret != nil {
					add(podRef{kind: "Secret", name: s.Secret.Name, optional: isTrue(s.Secret.Optional), path: src + ".secret.name", volume: v.Name})
				}
			}
		}
	}
	for _, ct := range pod.Containers(o) {
		for i, e := range ct.Env {
			if e.ValueFrom == nil {
				continue
			}
			at := fmt.Sprintf("%s.env[%d].valueFrom", ct.Path(), i)
			if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
				add(podRef{kind: "ConfigMap", name: r.Name, optional: isTrue(r.Optional), path: at + ".configMapKeyRef.name", container: ct.Name})
			}
			if r := e.ValueFrom.SecretKeyRef; r != nil {
				add(podRef{kind: "Secret", name: r.Name, optional: isTrue(r.Optional), path: at + ".secretKeyRef.name", container: ct.Name})
			}
		}
		for i, e := range ct.EnvFrom {
			at := fmt.Sprintf("%s.envFrom[%d]", ct.Path(), i)
			if r := e.ConfigMapRef; r != nil {
				add(podRef{kind: "ConfigMap", name: r.Name, optional: isTrue(r.Optional), path: at + ".configMapRef.name", container: ct.Name})
			}
			if r := e.SecretRef; r != nil {
				add(podRef{kind: "Secret", name: r.Name, optional: isTrue(r.Optional), path: at + ".secretRef.name", container: ct.Name})
			}
		}
	}
	return out
}

func isTrue(b *bool) bool { return b != nil && *b }

// refersTo is the Applies of the reference checks: a workload whose pods
// refer to no object of the kind, or only optionally, has nothing to judge.
func refersTo(kind string) func(o *inventory.Object, c *check.Context) (bool, string) {
	return func(o *inventory.Object, c *check.Context) (bool, string) {
		for _, r := range podRefs(o, kind) {
			if !r.optional {
				return true, ""
			}
		}
		return false, "its pods refer to no " + kind + " they need"
	}
}

// referencesExistRun is the Run of the reference checks. A missing
// object stops the pod where the kubelet (or, for a claim, the scheduler)
// looks it up: the messages quote what each says
// (pkg/kubelet/kubelet_pods.go makeEnvironmentVariables and the
// configmap and secret volume plugins; the scheduler's VolumeBinding
// plugin for claims).
func referencesExistRun(kind string) func(o *inventory.Object, c *check.Context) []check.Finding {
	return func(o *inventory.Object, c *check.Context) []check.Finding {
		var out []check.Finding
		unknown := map[string]bool{}
		for _, r := range podRefs(o, kind) {
			if r.optional {
				continue
			}
			f := lookup(c.Inventory, kind, o.Namespace, r.name)
			switch {
			case f.unknown != "":
				if !unknown[f.unknown] {
					unknown[f.unknown] = true
					out = append(out, check.NotAssessedf("%s", f.unknown))
				}
			case f.missing != "":
				out = append(out, check.Failf(r.path, "%s", missingRefMessage(r, f.missing)))
			}
		}
		return out
	}
}

// missingRefMessage says what a missing object does to the pod.
func missingRefMessage(r podRef, missing string) string {
	notFound := fmt.Sprintf("%s %q not found", strings.ToLower(r.kind), r.name)
	switch {
	case r.kind == "PersistentVolumeClaim":
		return fmt.Sprintf("volume %q: %s: the scheduler leaves every pod of it Pending (%s)", r.volume, missing, notFound)
	case r.volume != "":
		return fmt.Sprintf("volume %q: %s, and the volume is not optional: the kubelet cannot mount it and the pod never starts (MountVolume.SetUp failed for volume %q : %s)", r.volume, missing, r.volume, notFound)
	}
	return fmt.Sprintf("container %q: %s, and its env reference is not optional: the kubelet never starts the container (CreateContainerConfigError: %s)", r.container, missing, notFound)
}
