package platform

import (
	"strings"
)

// SignalsOf says what recognition looks for to find a component, for a
// finding that reports none was found: "Prometheus (label
// app.kubernetes.io/name=prometheus or app=prometheus, image
// prometheus/prometheus, name prometheus or prometheus-server) or
// VictoriaMetrics (...)".
func SignalsOf(c Component) string {
	var impls []string
	for i := range Implementations {
		impl := &Implementations[i]
		if impl.Component != c {
			continue
		}
		var signals []string
		for _, s := range []struct {
			what string
			list []string
		}{{"label", impl.Labels}, {"image", impl.Images}, {"name", impl.Names}} {
			if len(s.list) > 0 {
				signals = append(signals, s.what+" "+strings.Join(s.list, " or "))
			}
		}
		impls = append(impls, impl.Name+" ("+strings.Join(signals, ", ")+")")
	}
	return strings.Join(impls, " or ")
}

// CollectsLogs says whether a recognised agent whose log collection is
// switched on apart (Implementation.LogsEnv) ships logs: a container of its
// pod template sets that variable to that value (compared without regard
// to case, as the agents parse it). It returns the evidence: "env
// DD_LOGS_ENABLED=true in container agent".
func CollectsLogs(m Match) (string, bool) {
	name, want, ok := strings.Cut(m.Impl.LogsEnv, "=")
	tmpl, _ := m.Workload.PodTemplate()
	if !ok || tmpl == nil {
		return "", false
	}
	for _, c := range tmpl.Spec.Containers {
		for _, e := range c.Env {
			if e.Name == name && e.ValueFrom == nil && strings.EqualFold(e.Value, want) {
				return "env " + name + "=" + e.Value + " in container " + c.Name, true
			}
		}
	}
	return "", false
}
