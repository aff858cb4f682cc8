package cli

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/internal/report"
)

// A cluster's policy and binding that refuse Deployments without the label
// team.
const teamAdmission = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: require-team}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments]}
  validations:
    - expression: "has(object.metadata.labels) && 'team' in object.metadata.labels"
      message: every Deployment names its team in the label team
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: require-team}
spec:
  policyName: require-team
  validationActions: [Deny]
`

const unlabelled = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: "web:1"}]}}
`

// TestAuditAdmissionPolicies: the policies of --admission-policies, and
// those among the audited manifests, are checks like any other: reported
// in every format, scored, exempted by ID and listed.
func TestAuditAdmissionPolicies(t *testing.T) {
	dir := t.TempDir()
	policies := write(t, dir, "policies/team.yaml", teamAdmission)
	k8s := write(t, dir, "k8s/web.yaml", unlabelled)

	o := run(t, "audit", k8s, "--admission-policies", filepath.Dir(policies), "-o", "json")
	wantCode(t, o, ExitOK)
	r := decodeReport(t, o)
	if got, want := results(r, "admission-require-team"), []string{"fail Deployment shop/web"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for _, res := range r.Results {
		if res.Check == "admission-require-team" {
			if res.Severity != "high" || res.Layer != "governance" || res.Message != "admission will refuse this object: every Deployment names its team in the label team" {
				t.Errorf("got %+v, want a high governance failure saying admission will refuse it", res)
			}
		}
	}

	// The same policy among the manifests audited.
	o = run(t, "audit", k8s, policies, "-o", "json")
	wantCode(t, o, ExitOK)
	if got, want := results(decodeReport(t, o), "admission-require-team"), []string{"fail Deployment shop/web"}; !slices.Equal(got, want) {
		t.Errorf("among the inputs: got %q, want %q", got, want)
	}

	// Every format names it.
	for _, format := range report.Formats() {
		o := run(t, "audit", k8s, "--admission-policies", policies, "-o", format)
		wantCode(t, o, ExitOK)
		if !strings.Contains(o.out, "admission-require-team") {
			t.Errorf("-o %s: the output does not name admission-require-team:\n%s", format, o.out)
		}
	}

	// An exemption names it by its ID, and so does --fail-on's gate.
	write(t, dir, "k8s/.plimsoll.yaml", "exemptions:\n  - checks: [admission-require-team]\n    namespaces: [shop]\n    reason: the shop team is migrating\n")
	o = invocation{dir: filepath.Join(dir, "k8s")}.run(t, "audit", k8s, "--admission-policies", policies, "-o", "json", "--fail-on", "high")
	if o.code == ExitPartial {
		t.Fatalf("exit 2: %s", o.errOut)
	}
	for _, res := range decodeReport(t, o).Results {
		if res.Check == "admission-require-team" && (res.Status != "skip" || !res.Exempted) {
			t.Errorf("got %+v, want it exempted by configuration", res)
		}
	}

	// plimsoll checks lists it, with where it is defined.
	o = run(t, "checks", "--admission-policies", policies)
	wantCode(t, o, ExitOK)
	if !strings.Contains(o.out, "admission-require-team") || !strings.Contains(o.out, "ValidatingAdmissionPolicy require-team admits it (binding require-team: Deny)") {
		t.Errorf("checks does not list admission-require-team:\n%s", o.out)
	}
	o = run(t, "checks", "explain", "admission-require-team", "--admission-policies", policies)
	wantCode(t, o, ExitOK)
	if want := "ValidatingAdmissionPolicy require-team (" + policies + ":1), through its binding require-team (" + policies + ":12)"; !strings.Contains(o.out, want) {
		t.Errorf("explain:\n%s\nwant it to contain %q", o.out, want)
	}
}

// TestAuditAdmissionErrors: a policy that does not compile, or a binding the
// API server would refuse, is an error naming the file and line; the rest
// is audited, and the run is partial.
func TestAuditAdmissionErrors(t *testing.T) {
	dir := t.TempDir()
	broken := strings.Replace(teamAdmission, `"has(object.metadata.labels) && 'team' in object.metadata.labels"`, `"object.metadata.labels["`, 1)
	broken = strings.ReplaceAll(broken, "require-team", "broken")
	policies := write(t, dir, "policies/p.yaml", teamAdmission+"---\n"+broken)
	k8s := write(t, dir, "k8s/web.yaml", unlabelled)

	o := run(t, "audit", k8s, "--admission-policies", policies, "-o", "json")
	wantCode(t, o, ExitPartial)
	r := decodeReport(t, o)
	if !r.Partial {
		t.Error("the report is not partial")
	}
	if want := policies + ":27: admission policy: ValidatingAdmissionPolicy broken does not compile"; !strings.Contains(o.errOut, want) {
		t.Errorf("stderr:\n%s\nwant it to contain %q", o.errOut, want)
	}
	if got := results(r, "admission-require-team"); !slices.Equal(got, []string{"fail Deployment shop/web"}) {
		t.Errorf("the policy that compiles: got %q, want it judged", got)
	}
	for _, c := range r.Checks {
		if c.ID == "admission-broken" && (c.Assessed || !strings.Contains(c.Reason, "the policy does not compile")) {
			t.Errorf("admission-broken: got %+v, want not assessed as not compiling", c)
		}
	}
}
