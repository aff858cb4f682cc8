// Package custombench writes the fifty custom checks that the benchmarks
// of custom checks audit with (go test -bench in internal/checks/custom,
// and go run ./hack/bench): the house rules teams write, in the proportions
// they write them. Most judge Pods, and so every workload's template; the
// others judge workloads, Services, Ingresses and Namespaces.
package custombench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Count is how many checks Write writes.
const Count = 50

// rule is one house rule, written as a custom check with an ID, a layer,
// the resources it matches, its variables and its validations, and the
// params object it reads, if any.
type rule struct {
	id, layer  string
	resources  string // a resourceRules list
	params     string // a ConfigMap's data, when the rule reads params
	variables  string
	validation string
}

const (
	pods      = `[{apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [pods]}]`
	apps      = `[{apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments, statefulsets, daemonsets]}]`
	workloads = `[{apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments, statefulsets, daemonsets]}, {apiGroups: [batch], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [cronjobs]}]`
)

// rules are the fifty checks: ten kinds of rule, five variants of each.
func rules() []rule {
	var out []rule
	for i := range 5 {
		n := fmt.Sprint(i)
		out = append(out,
			rule{id: "bench-label-" + n, layer: "governance", resources: workloads,
				validation: fmt.Sprintf(`{expression: "has(object.metadata.labels) && 'owner-%d' in object.metadata.labels", messageExpression: "'no label owner-%d'"}`, i, i)},
			rule{id: "bench-template-label-" + n, layer: "governance", resources: apps,
				validation: fmt.Sprintf(`{expression: "has(object.spec.template.metadata.labels) && 'tier-%d' in object.spec.template.metadata.labels"}`, i)},
			rule{id: "bench-registry-" + n, layer: "security", resources: pods,
				variables:  fmt.Sprintf(`[{name: outside, expression: "object.spec.containers.filter(c, !c.image.startsWith('registry-%d.example.com/')).map(c, c.name)"}]`, i),
				validation: `{expression: "size(variables.outside) == 0", messageExpression: "'from other registries: ' + variables.outside.join(', ')"}`},
			rule{id: "bench-memory-" + n, layer: "workloads", resources: pods, params: fmt.Sprintf("maxMemory: %dGi", i+2),
				validation: `{expression: "object.spec.containers.all(c, has(c.resources.limits) && 'memory' in c.resources.limits && quantity(c.resources.limits.memory).compareTo(quantity(params.data.maxMemory)) <= 0)"}`},
			rule{id: "bench-cpu-request-" + n, layer: "workloads", resources: pods,
				validation: fmt.Sprintf(`{expression: "object.spec.containers.all(c, has(c.resources.requests) && 'cpu' in c.resources.requests && quantity(c.resources.requests.cpu).asApproximateFloat() >= 0.0%d)"}`, i+1)},
			rule{id: "bench-privileged-" + n, layer: "security", resources: pods,
				validation: `{expression: "object.spec.containers.all(c, !has(c.securityContext) || !has(c.securityContext.privileged) || !c.securityContext.privileged)"}`},
			rule{id: "bench-probe-" + n, layer: "workloads", resources: pods,
				validation: fmt.Sprintf(`{expression: "object.spec.containers.all(c, has(c.readinessProbe) && c.readinessProbe.periodSeconds <= %d)"}`, 10+i)},
			rule{id: "bench-replicas-" + n, layer: "workloads", resources: `[{apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments, statefulsets]}]`,
				variables:  `[{name: replicas, expression: "object.spec.replicas"}]`,
				validation: fmt.Sprintf(`{expression: "variables.replicas >= 2 && variables.replicas <= %d", messageExpression: "'replicas: ' + string(variables.replicas)"}`, 50+i)},
			rule{id: "bench-service-type-" + n, layer: "security", resources: `[{apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [services]}]`,
				validation: fmt.Sprintf(`{expression: "object.spec.type != 'LoadBalancer' || object.metadata.name.endsWith('-public-%d')"}`, i)},
			rule{id: "bench-namespace-" + n, layer: "governance", resources: `[{apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [namespaces]}]`,
				validation: fmt.Sprintf(`{expression: "has(object.metadata.labels) && 'cost-center-%d' in object.metadata.labels"}`, i)},
		)
	}
	return out
}

// Write writes the checks to dir, one file each, and the params of those
// that read params beside them.
func Write(dir string) error {
	// Params go in a subdirectory: every file of a directory of checks is
	// a check.
	if err := os.MkdirAll(filepath.Join(dir, "params"), 0o755); err != nil {
		return err
	}
	for _, r := range rules() {
		var b strings.Builder
		fmt.Fprintf(&b, `apiVersion: plimsoll.dev/v1alpha1
kind: Check
metadata:
  name: %s
check:
  title: A house rule of the benchmark (%s)
  layer: %s
  severity: medium
  rationale: The benchmark's rules are the kinds of house rule teams write.
  remediation: Follow the house rule.
  checklistItem: "Benchmark house rule %s"
`, r.id, r.id, r.layer, r.id)
		if r.params != "" {
			fmt.Fprintf(&b, "  params: params/%s.yaml\n", r.id)
		}
		b.WriteString("spec:\n")
		if r.params != "" {
			b.WriteString("  paramKind: {apiVersion: v1, kind: ConfigMap}\n")
		}
		fmt.Fprintf(&b, "  matchConstraints:\n    resourceRules: %s\n", r.resources)
		if r.variables != "" {
			fmt.Fprintf(&b, "  variables: %s\n", r.variables)
		}
		fmt.Fprintf(&b, "  validations: [%s]\n", r.validation)
		if err := os.WriteFile(filepath.Join(dir, r.id+".yaml"), []byte(b.String()), 0o644); err != nil {
			return err
		}
		if r.params == "" {
			continue
		}
		params := fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {%s}\n", r.id, r.params)
		if err := os.WriteFile(filepath.Join(dir, "params", r.id+".yaml"), []byte(params), 0o644); err != nil {
			return err
		}
	}
	return nil
}
