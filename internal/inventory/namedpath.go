package inventory

import (
	"regexp"
	"strconv"

	corev1 "k8s.io/api/core/v1"
)

// listIndex finds "name[i]" steps of a field path.
var listIndex = regexp.MustCompile(`([A-Za-z]+)\[(\d+)\]`)

// NamedPath is a field path with the elements of the lists Kubernetes
// merges by name, under the object's pod template, named rather than
// counted: spec.template.spec.containers[1].image becomes
// spec.template.spec.containers[name=app].image. Reordering a workload's
// containers, volumes, env or ports then leaves it unchanged. Elements of
// other lists, and of these lists when they have no name, keep their index.
func (o *Object) NamedPath(path string) string {
	if o.pod == nil {
		return path
	}
	spec := &o.pod.Spec
	var ctr *corev1.Container
	return listIndex.ReplaceAllStringFunc(path, func(step string) string {
		m := listIndex.FindStringSubmatch(step)
		i, _ := strconv.Atoi(m[2])
		name := ""
		switch m[1] {
		case "containers", "initContainers":
			list := spec.Containers
			if m[1] == "initContainers" {
				list = spec.InitContainers
			}
			if i < len(list) {
				ctr, name = &list[i], list[i].Name
			}
		case "ephemeralContainers":
			if i < len(spec.EphemeralContainers) {
				name = spec.EphemeralContainers[i].Name
			}
		case "volumes":
			if i < len(spec.Volumes) {
				name = spec.Volumes[i].Name
			}
		case "env":
			if ctr != nil && i < len(ctr.Env) {
				name = ctr.Env[i].Name
			}
		case "ports":
			if ctr != nil && i < len(ctr.Ports) {
				name = ctr.Ports[i].Name
			}
		case "volumeMounts":
			if ctr != nil && i < len(ctr.VolumeMounts) {
				name = ctr.VolumeMounts[i].Name
			}
		}
		if name == "" {
			return step
		}
		return m[1] + "[name=" + name + "]"
	})
}
