package manifest

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checklist"
	"github.com/plimsoll/plimsoll/internal/checks/pod"
	"github.com/plimsoll/plimsoll/internal/checks/say"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/platform"
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
			Title:         "The ConfigMaps pods mount or read exist, with the keys they name",
			Layer:         check.Workloads,
			Severity:      check.Critical,
			Kinds:         pod.WorkloadKinds,
			Reads:         lookupReads("ConfigMap"),
			Rationale:     "A pod that mounts a ConfigMap that does not exist, or a key of it that is not there, never starts (MountVolume.SetUp failed), and a container that takes env from one, or from a key it does not have, is never started (CreateContainerConfigError), unless the reference is optional. plimsoll keeps a ConfigMap's keys, never its values, and does not read ConfigMaps from a cluster.",
			Remediation:   "Create the ConfigMap, with the keys the workload names, in the workload's namespace with the workload, fix the name or the key, or mark the reference optional: true if the pod can run without it.",
			ChecklistItem: checklist.GitOpsDesiredState,
			Applies:       refersTo("ConfigMap"),
			Run:           referencesExistRun("ConfigMap"),
		},
		{
			ID:            "secret-references-exist",
			Title:         "The Secrets pods mount or read exist, with the keys they name",
			Layer:         check.Workloads,
			Severity:      check.Critical,
			Kinds:         pod.WorkloadKinds,
			Reads:         lookupReads("Secret"),
			Rationale:     "A pod that mounts a Secret that does not exist, or a key of it that is not there, never starts, and a container that takes env from one, or from a key it does not have, is never started, unless the reference is optional. plimsoll never reads Secrets from a cluster, so it judges only manifests, where it sees whether the Secret is declared and which keys it declares, never what they hold; the keys of a Secret an operator writes (a Certificate's, an ExternalSecret's) are the operator's, and are not judged.",
			Remediation:   "Create the Secret, with the keys the workload names, in the workload's namespace (or the ExternalSecret or SealedSecret that makes it), fix the name or the key, or mark the reference optional: true if the pod can run without it.",
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
		if sc := ct.SecurityContext; sc != nil {
			if sc.RunAsNonRoot != nil {
				nonRoot, nonRootOn = sc.RunAsNonRoot, "the container"
			}
			if sc.RunAsUser != nil {
				user, userOn = sc.RunAsUser, "the container"
			}
		}
		if nonRoot == nil || !*nonRoot || user == nil || *user != 0 {
			continue
		}
		userPath := o.SpecPath("securityContext.runAsUser")
		if userOn == "the container" {
			userPath = ct.Path() + ".securityContext.runAsUser"
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
	// keys are the keys of a ConfigMap or a Secret it names: an env
	// reference's key, or a volume's items.
	keys []string
	// volume is the volume that mounts it, or "" for an env reference.
	volume string
	// container is the container whose env takes it, for env references.
	container string
	// at says where the name is, for path.
	at refAt
}

// refAt is where a reference's name is: the volume (and projected source)
// or the env entry, and the field below it. Most references are found,
// so the field path is built only for a finding (podRef.path).
type refAt struct {
	o  *inventory.Object
	ct pod.Container // of an env reference
	// list is "volumes", "env" or "envFrom"; i the index in it, and j a
	// volume's projected source, or -1.
	list  string
	i, j  int
	field string
}

// keyPath is the field path of the reference's k-th key.
func (r podRef) keyPath(k int) string {
	at := r.path()
	at = at[:strings.LastIndexByte(at, '.')] // the name's field
	if r.volume == "" {
		return at + ".key"
	}
	return fmt.Sprintf("%s.items[%d].key", at, k)
}

// path is the field path of the reference's name.
func (r podRef) path() string {
	a := r.at
	if a.list != "volumes" {
		return fmt.Sprintf("%s.%s[%d].%s", a.ct.Path(), a.list, a.i, a.field)
	}
	at := a.o.SpecPath(fmt.Sprintf("volumes[%d]", a.i))
	if a.j >= 0 {
		at += fmt.Sprintf(".projected.sources[%d]", a.j)
	}
	return at + "." + a.field
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
	var out []podRef
	add := func(name string, optional *bool, keys []string, at refAt) {
		if name == "" {
			return
		}
		r := podRef{kind: kind, name: name, optional: isTrue(optional), keys: keys, at: at}
		if at.list == "volumes" {
			r.volume = spec.Volumes[at.i].Name
		} else {
			r.container = at.ct.Name
		}
		out = append(out, r)
	}
	for i, v := range spec.Volumes {
		vol := refAt{o: o, list: "volumes", i: i, j: -1}
		switch {
		case kind == "ConfigMap" && v.ConfigMap != nil:
			vol.field = "configMap.name"
			add(v.ConfigMap.Name, v.ConfigMap.Optional, itemKeys(v.ConfigMap.Items), vol)
		case kind == "Secret" && v.Secret != nil:
			vol.field = "secret.secretName"
			add(v.Secret.SecretName, v.Secret.Optional, itemKeys(v.Secret.Items), vol)
		case kind == "PersistentVolumeClaim" && v.PersistentVolumeClaim != nil && !claimTemplate(o, v.Name):
			vol.field = "persistentVolumeClaim.claimName"
			add(v.PersistentVolumeClaim.ClaimName, nil, nil, vol)
		case v.Projected != nil:
			for j, src := range v.Projected.Sources {
				vol.j = j
				if kind == "ConfigMap" && src.ConfigMap != nil {
					vol.field = "configMap.name"
					add(src.ConfigMap.Name, src.ConfigMap.Optional, itemKeys(src.ConfigMap.Items), vol)
				}
				if kind == "Secret" && src.Secret != nil {
					vol.field = "secret.name"
					add(src.Secret.Name, src.Secret.Optional, itemKeys(src.Secret.Items), vol)
				}
			}
		}
	}
	if kind != "ConfigMap" && kind != "Secret" {
		return out
	}
	for _, ct := range pod.Containers(o) {
		for i, e := range ct.Env {
			if e.ValueFrom == nil {
				continue
			}
			at := refAt{o: o, ct: ct, list: "env", i: i}
			if r := e.ValueFrom.ConfigMapKeyRef; kind == "ConfigMap" && r != nil {
				at.field = "valueFrom.configMapKeyRef.name"
				add(r.Name, r.Optional, []string{r.Key}, at)
			}
			if r := e.ValueFrom.SecretKeyRef; kind == "Secret" && r != nil {
				at.field = "valueFrom.secretKeyRef.name"
				add(r.Name, r.Optional, []string{r.Key}, at)
			}
		}
		for i, e := range ct.EnvFrom {
			at := refAt{o: o, ct: ct, list: "envFrom", i: i}
			if r := e.ConfigMapRef; kind == "ConfigMap" && r != nil {
				at.field = "configMapRef.name"
				add(r.Name, r.Optional, nil, at)
			}
			if r := e.SecretRef; kind == "Secret" && r != nil {
				at.field = "secretRef.name"
				add(r.Name, r.Optional, nil, at)
			}
		}
	}
	return out
}

// itemKeys are the keys a volume's items name.
func itemKeys(items []corev1.KeyToPath) []string {
	keys := make([]string, 0, len(items))
	for _, it := range items {
		keys = append(keys, it.Key)
	}
	return keys
}

// claimTemplate reports whether a StatefulSet makes the claim of a volume
// of that name from its volumeClaimTemplates.
func claimTemplate(o *inventory.Object, volume string) bool {
	sts, ok := o.Typed.(*appsv1.StatefulSet)
	return ok && slices.ContainsFunc(sts.Spec.VolumeClaimTemplates, func(t corev1.PersistentVolumeClaim) bool { return t.Name == volume })
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
				out = append(out, check.Failf(r.path(), "%s", missingRefMessage(r, f.missing)))
			case f.object != nil && len(r.keys) > 0:
				keys, why := declaredKeys(c.Inventory, r, f.object)
				if why != "" && !unknown[why] {
					unknown[why] = true
					out = append(out, check.NotAssessedf("%s", why))
				}
				for k, key := range r.keys {
					if keys != nil && !keys[key] {
						out = append(out, check.Failf(r.keyPath(k), "%s", missingKeyMessage(r, f.object, key, keys)))
					}
				}
			}
		}
		return out
	}
}

// serviceAccountTokenKeys are the keys the token controller writes into
// a Secret of type kubernetes.io/service-account-token.
var serviceAccountTokenKeys = []string{corev1.ServiceAccountTokenKey, corev1.ServiceAccountRootCAKey, corev1.ServiceAccountNamespaceKey}

// declaredKeys are the keys a reference may name in the ConfigMap or
// Secret it found: a ConfigMap's data, and for a volume its binaryData too
// (the kubelet reads env from data alone); a Secret's data and stringData,
// which the API server merges, and the keys the token controller writes
// into a service-account-token Secret. They are nil, and not judged, for
// an object the platform makes (builtin) and a Secret that a custom
// resource's operator writes (a Certificate's): their keys are the
// platform's and the operator's, as for such objects the inputs do not
// declare (lookup's made). They are nil too, with why, for an object that
// declares no keys at all: it is filled where the inputs do not show.
func declaredKeys(inv *inventory.Inventory, r podRef, o *inventory.Object) (keys map[string]bool, why string) {
	if builtin(o) {
		return nil, ""
	}
	keys = map[string]bool{}
	declared := 0
	switch t := o.Typed.(type) {
	case *corev1.ConfigMap:
		declared = len(t.Data) + len(t.BinaryData)
		for k := range t.Data {
			keys[k] = true
		}
		for k := range t.BinaryData {
			if r.volume != "" {
				keys[k] = true
			}
		}
	case *corev1.Secret:
		if platform.SecretMakerOf(inv, o.Namespace, o.Name, false) != nil {
			return nil, "" // the operator's keys, as for a Secret it makes undeclared
		}
		for k := range t.Data {
			keys[k] = true
		}
		for k := range t.StringData {
			keys[k] = true
		}
		if t.Type == corev1.SecretTypeServiceAccountToken {
			for _, k := range serviceAccountTokenKeys {
				keys[k] = true
			}
		}
		declared = len(keys)
	default:
		return nil, ""
	}
	if declared == 0 {
		return nil, fmt.Sprintf("%s %q declares no keys, so it is filled where the inputs do not show, and which keys it has cannot be told", o.Kind, o.Name)
	}
	return keys, ""
}

// missingKeyMessage says what a key the object does not have does to the
// pod, in the kubelet's words (makeEnvironmentVariables; the configmap and
// secret volume plugins' MakePayload).
func missingKeyMessage(r podRef, o *inventory.Object, key string, keys map[string]bool) string {
	holder := "it"
	cm, isConfigMap := o.Typed.(*corev1.ConfigMap)
	if isConfigMap && r.volume == "" {
		holder = "its data" // the kubelet reads env from data alone
	}
	has := holder + " has no keys"
	if len(keys) > 0 {
		has = holder + " has " + say.List(slices.Sorted(maps.Keys(keys)), ", ")
	}
	if isConfigMap {
		if _, binary := cm.BinaryData[key]; binary {
			has = "binaryData holds it, which env references do not read"
		}
	}
	missing := fmt.Sprintf("%s %q has no key %q (%s)", r.kind, r.name, key, has)
	if r.volume != "" {
		kubelet := "references non-existent secret key: " + key
		if r.kind == "ConfigMap" {
			kubelet = "configmap references non-existent config key: " + key
		}
		return fmt.Sprintf("volume %q: %s, and the volume is not optional: the kubelet cannot mount it and the pod never starts (MountVolume.SetUp failed for volume %q : %s)", r.volume, missing, r.volume, kubelet)
	}
	return fmt.Sprintf("container %q: %s, and its env reference is not optional: the kubelet never starts the container (CreateContainerConfigError: couldn't find key %s in %s %s/%s)", r.container, missing, key, r.kind, o.Namespace, r.name)
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
