package custom

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/config"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/manifest"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// teamPolicy refuses Deployments without the label team; its bindings
// follow.
const teamPolicy = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: require-team}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments]}
  validations:
    - expression: "has(object.metadata.labels) && 'team' in object.metadata.labels"
      messageExpression: "'Deployment ' + object.metadata.name + ' has no label team'"
`

// replicaPolicy is the upstream documentation's params example: the most
// replicas a Deployment may ask for is the params' maxReplicas.
const replicaPolicy = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: replica-limit}
spec:
  paramKind: {apiVersion: v1, kind: ConfigMap}
  matchConstraints:
    resourceRules:
      - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments]}
  validations:
    - expression: "object.spec.replicas <= int(params.data.maxReplicas)"
      messageExpression: "'object.spec.replicas must be no greater than ' + params.data.maxReplicas"
      reason: Invalid
`

func binding(name, policy, actions, extra string) string {
	return `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: ` + name + `}
spec:
  policyName: ` + policy + `
  validationActions: [` + actions + `]
` + extra
}

// deployment is a Deployment in a namespace, with labels and replicas.
func deployment(name, ns, labels string, replicas int) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ` + name + `, namespace: ` + ns + `, labels: {` + labels + `}}
spec:
  replicas: ` + string(rune('0'+replicas)) + `
  selector: {matchLabels: {app: ` + name + `}}
  template: {metadata: {labels: {app: ` + name + `}}, spec: {containers: [{name: app, image: "app:1"}]}}
`
}

// auditAdmission loads the admission policies of files (name → text) and
// audits manifests with them alone.
func auditAdmission(t *testing.T, files map[string]string, manifests string) (*AdmissionSet, *audit.Audit) {
	t.Helper()
	return auditAdmissionAs(t, inventory.FromManifests, files, manifests)
}

// auditAdmissionAs is auditAdmission with the objects read as mode says:
// from manifests, or from a cluster.
func auditAdmissionAs(t *testing.T, mode inventory.Mode, files map[string]string, manifests string) (*AdmissionSet, *audit.Audit) {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		write(t, dir, name, text)
	}
	loaded := manifest.Parse("test.yaml", []byte(manifests), inventory.Source{File: "test.yaml"})
	if len(loaded.Errors) > 0 {
		t.Fatal(loaded.Errors[0])
	}
	objs, errs := ReadAdmission([]string{dir})
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	set := LoadAdmission(append(AdmissionFromInventory(loaded.Objects), objs...), builtin)
	reg, err := check.NewRegistry(set.All())
	if err != nil {
		t.Fatal(err)
	}
	return set, audit.Run(platform.Inventory(mode, loaded.Objects), audit.Options{Registry: reg, Config: config.Default(), Now: now})
}

// notAssessed words the checks an audit could not assess, and why.
func notAssessed(a *audit.Audit) map[string]string {
	out := map[string]string{}
	for _, st := range a.Checks {
		if !st.Assessed {
			out[st.Check.ID] = st.Reason
		}
	}
	return out
}

func TestAdmissionActions(t *testing.T) {
	set, a := auditAdmission(t, map[string]string{"team.yaml": teamPolicy + "---\n" +
		binding("team-deny", "require-team", "Deny", "") + "---\n" +
		binding("team.warn", "require-team", "Warn, Audit", "") + "---\n" +
		binding("team-audit", "require-team", "Audit", "")},
		deployment("web", "shop", "", 1)+"---\n"+deployment("api", "shop", "team: a", 1))
	want := []string{
		"pass admission-team-audit Deployment api",
		"pass admission-team-deny Deployment api",
		"pass admission-team-warn Deployment api",
		"fail admission-team-audit Deployment web: admission will record this object as failing, in the audit log: Deployment web has no label team",
		"fail admission-team-deny Deployment web: admission will refuse this object: Deployment web has no label team",
		"fail admission-team-warn Deployment web: admission will warn about this object: Deployment web has no label team",
	}
	if diff := cmp.Diff(want, describe(a)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	severities := map[string]check.Severity{}
	for _, c := range set.Checks {
		severities[c.ID] = c.Severity
		if c.Layer != check.Governance {
			t.Errorf("%s: layer %s, want governance", c.ID, c.Layer)
		}
		if !strings.Contains(c.Title, "ValidatingAdmissionPolicy require-team") {
			t.Errorf("%s: title %q, want it to name the policy", c.ID, c.Title)
		}
	}
	if diff := cmp.Diff(map[string]check.Severity{"admission-team-deny": check.High, "admission-team-warn": check.Medium, "admission-team-audit": check.Info}, severities); diff != "" {
		t.Errorf("severities (-want +got):\n%s", diff)
	}
}

// TestAdmissionSelectors: a binding's matchResources narrow its policy's
// matchConstraints, namespaces judged by the labels of the Namespaces among
// the inputs.
func TestAdmissionSelectors(t *testing.T) {
	files := map[string]string{"team.yaml": teamPolicy + "---\n" +
		binding("team-prod", "require-team", "Deny", `  matchResources:
    namespaceSelector: {matchLabels: {env: prod}}
    objectSelector: {matchExpressions: [{key: exempt, operator: DoesNotExist}]}
`) + "---\n" + binding("team-by-name", "require-team", "Deny", `  matchResources:
    namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: unlisted}}
`)}
	manifests := `apiVersion: v1
kind: Namespace
metadata: {name: prod, labels: {env: prod}}
---
apiVersion: v1
kind: Namespace
metadata: {name: dev, labels: {env: dev}}
---
` + deployment("web", "prod", "", 1) + "---\n" + deployment("exempt", "prod", "exempt: 'yes'", 1) + "---\n" +
		deployment("dev", "dev", "", 1) + "---\n" + deployment("elsewhere", "unlisted", "", 1)
	_, a := auditAdmission(t, files, manifests)
	want := []string{
		"fail admission-team-by-name Deployment elsewhere: admission will refuse this object: Deployment elsewhere has no label team",
		"fail admission-team-prod Deployment web: admission will refuse this object: Deployment web has no label team",
		"skip admission-team-by-name Deployment dev: not applicable: binding team-by-name spec.matchResources.namespaceSelector does not select namespace dev",
		"skip admission-team-by-name Deployment exempt: not applicable: binding team-by-name spec.matchResources.namespaceSelector does not select namespace prod",
		"skip admission-team-by-name Deployment web: not applicable: binding team-by-name spec.matchResources.namespaceSelector does not select namespace prod",
		"skip admission-team-prod Deployment dev: not applicable: binding team-prod spec.matchResources.namespaceSelector does not select namespace dev",
		"skip admission-team-prod Deployment elsewhere: not assessed: namespace unlisted is not among the inputs, so whether binding team-prod spec.matchResources.namespaceSelector selects it is unknown",
		"skip admission-team-prod Deployment exempt: not applicable: binding team-prod spec.matchResources.objectSelector does not select it",
	}
	got := describe(a)
	slices.Sort(want)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}

// TestAdmissionParams: paramRef by name and by selector, in the request's
// namespace or the one it names, and what a missing params object does.
func TestAdmissionParams(t *testing.T) {
	params := `apiVersion: v1
kind: ConfigMap
metadata: {name: limits, namespace: shop}
data: {maxReplicas: "3"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: strict, namespace: policy, labels: {tier: limits}}
data: {maxReplicas: "2"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: lenient, namespace: policy, labels: {tier: limits}}
data: {maxReplicas: "5"}
`
	files := map[string]string{
		"replicas.yaml": replicaPolicy + "---\n" +
			binding("by-name", "replica-limit", "Deny", "  paramRef: {name: limits, parameterNotFoundAction: Deny}\n") + "---\n" +
			binding("by-selector", "replica-limit", "Deny", "  paramRef: {namespace: policy, selector: {matchLabels: {tier: limits}}, parameterNotFoundAction: Deny}\n") + "---\n" +
			binding("missing-allow", "replica-limit", "Deny", "  paramRef: {name: nothing, parameterNotFoundAction: Allow}\n"),
		"params/limits.yaml": params,
	}
	_, a := auditAdmission(t, files, deployment("big", "shop", "", 4)+"---\n"+deployment("small", "shop", "", 1)+"---\n"+deployment("other", "team", "", 1))
	want := []string{
		"fail admission-by-name Deployment big: admission will refuse this object: object.spec.replicas must be no greater than 3",
		"fail admission-by-selector Deployment big: admission will refuse this object: with params strict: object.spec.replicas must be no greater than 2",
		"skip admission-missing-allow Deployment big: not assessed: binding missing-allow: no ConfigMap named nothing in namespace shop is among the inputs or the --admission-policies files; with parameterNotFoundAction Allow the API server admits the object without judging it, unless the cluster has one, which it judges the object by",
		"pass admission-by-name Deployment small",
		"pass admission-by-selector Deployment small",
		"skip admission-missing-allow Deployment small: not assessed: binding missing-allow: no ConfigMap named nothing in namespace shop is among the inputs or the --admission-policies files; with parameterNotFoundAction Allow the API server admits the object without judging it, unless the cluster has one, which it judges the object by",
		"skip admission-by-name Deployment other: not assessed: binding by-name: no ConfigMap named limits in namespace team is among the inputs or the --admission-policies files; with parameterNotFoundAction Deny the API server refuses every object the binding matches, unless the cluster has one",
		"pass admission-by-selector Deployment other",
		"skip admission-missing-allow Deployment other: not assessed: binding missing-allow: no ConfigMap named nothing in namespace team is among the inputs or the --admission-policies files; with parameterNotFoundAction Allow the API server admits the object without judging it, unless the cluster has one, which it judges the object by",
	}
	if diff := cmp.Diff(want, describe(a)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}

	// A ConfigMap among the audited inputs is kept without its values: the
	// policy cannot read it, and says so.
	_, a = auditAdmission(t, map[string]string{"replicas.yaml": replicaPolicy + "---\n" +
		binding("by-name", "replica-limit", "Deny", "  paramRef: {name: limits, parameterNotFoundAction: Deny}\n")},
		deployment("big", "shop", "", 4)+"---\n"+strings.SplitN(params, "---", 2)[0])
	if got, want := describe(a), "skip admission-by-name Deployment big: not assessed: binding by-name: params ConfigMap shop/limits is among the audited inputs, which plimsoll keeps without the values a policy reads; give it in an --admission-policies file instead"; !slices.Contains(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestAdmissionNotAssessed: an expression that asks the authorizer, or
// does not compile, is not assessed; a policy that does not compile is an
// error at its line too.
func TestAdmissionNotAssessed(t *testing.T) {
	authz := strings.Replace(teamPolicy, "name: require-team", "name: authz", 1)
	authz = strings.Replace(authz, `"has(object.metadata.labels) && 'team' in object.metadata.labels"`,
		`"authorizer.group('apps').resource('deployments').namespace('shop').check('delete').allowed()"`, 1)
	broken := strings.Replace(teamPolicy, "name: require-team", "name: broken", 1)
	broken = strings.Replace(broken, `"has(object.metadata.labels) && 'team' in object.metadata.labels"`, `"object.spec.replicas <"`, 1)
	set, a := auditAdmission(t, map[string]string{"p.yaml": authz + "---\n" + binding("authz", "authz", "Deny", "") + "---\n" + broken + "---\n" + binding("broken", "broken", "Deny", "")},
		deployment("web", "shop", "", 1))
	got := notAssessed(a)
	if !strings.Contains(got["admission-authz"], "authorizer") || !strings.Contains(got["admission-authz"], "offline there is no authorizer") {
		t.Errorf("admission-authz: got %q, want not assessed for want of an authorizer", got["admission-authz"])
	}
	if !strings.HasPrefix(got["admission-broken"], "the policy does not compile") {
		t.Errorf("admission-broken: got %q, want not assessed as not compiling", got["admission-broken"])
	}
	if len(set.Errors) != 1 {
		t.Fatalf("errors %v, want one for the policy that does not compile", set.Errors)
	}
	// The expression is on line 10 of the second policy, the 27th of the file.
	if e := set.Errors[0]; !strings.HasSuffix(e.File, "p.yaml") || e.Line != 27 || !strings.Contains(e.Error(), "ValidatingAdmissionPolicy broken does not compile") {
		t.Errorf("got %v, want an error at p.yaml:27 naming the policy", e)
	}
}

func TestAdmissionLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "bad.yaml", teamPolicy+"---\n"+binding("both", "require-team", "Deny, Warn", "")+"---\n"+
		binding("typo", "require-team", "Deny", "  paramRefs: {}\n")+"---\n"+binding("orphan", "nobody", "Deny", "")+"---\n"+
		binding("team", "require-team", "Deny", ""))
	objs, errs := ReadAdmission([]string{dir})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	set := LoadAdmission(objs, func(id string) bool { return id == "admission-team" })
	var got []string
	for _, e := range set.Errors {
		got = append(got, strings.TrimPrefix(e.Error(), dir+"/"))
	}
	want := []string{
		`bad.yaml:17: ValidatingAdmissionPolicyBinding both: spec.validationActions: Invalid value: ["Deny","Warn"]: must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)`,
		`bad.yaml:25: ValidatingAdmissionPolicyBinding typo: unknown field "spec.paramRefs"`,
		`bad.yaml:36: binding team: its check ID admission-team is another check's`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if len(set.Skipped) != 1 || !strings.Contains(set.Skipped[0], "binding orphan names ValidatingAdmissionPolicy nobody, which is not among the policies read; it enforces nothing") {
		t.Errorf("skipped %q, want the binding of no policy", set.Skipped)
	}
}

// TestAdmissionParamsFromCluster: on a cluster, whose params kind was read,
// a params object it lacks is known to be absent: with
// parameterNotFoundAction Deny the API server refuses the object, with
// Allow it admits it unjudged.
func TestAdmissionParamsFromCluster(t *testing.T) {
	limits := strings.NewReplacer("paramKind: {apiVersion: v1, kind: ConfigMap}", "paramKind: {apiVersion: rules.example.com/v1, kind: ReplicaLimit}",
		"int(params.data.maxReplicas)", "params.maxReplicas", "' + params.data.maxReplicas", "' + string(params.maxReplicas)").Replace(replicaPolicy)
	policies := limits + "---\n" +
		binding("deny", "replica-limit", "Deny", "  paramRef: {name: missing, parameterNotFoundAction: Deny}\n") + "---\n" +
		binding("allow", "replica-limit", "Deny", "  paramRef: {name: missing, parameterNotFoundAction: Allow}\n") + "---\n" +
		binding("found", "replica-limit", "Deny", "  paramRef: {name: default, parameterNotFoundAction: Deny}\n")
	cluster := `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: replicalimits.rules.example.com}
spec:
  group: rules.example.com
  names: {kind: ReplicaLimit, plural: replicalimits}
  scope: Cluster
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]
---
apiVersion: rules.example.com/v1
kind: ReplicaLimit
metadata: {name: default}
maxReplicas: 3
---
` + deployment("web", "shop", "", 4)
	_, a := auditAdmissionAs(t, inventory.FromCluster, map[string]string{"p.yaml": policies}, cluster)
	want := []string{
		"skip admission-allow Deployment web: not applicable: binding allow: the cluster has no ReplicaLimit named missing, and with parameterNotFoundAction Allow the API server admits the object without judging it",
		"fail admission-deny Deployment web: admission will refuse this object: no params found for policy binding with `Deny` parameterNotFoundAction",
		"fail admission-found Deployment web: admission will refuse this object: object.spec.replicas must be no greater than 3",
	}
	if diff := cmp.Diff(want, describe(a)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}
