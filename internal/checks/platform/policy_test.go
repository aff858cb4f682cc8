package platform

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// TestAPIServerHidden: a cluster whose kube-apiserver runs outside it (a
// managed control plane) is not assessed, naming the provider when the
// nodes give it away; bare pods that are not the API server are not
// judged.
func TestAPIServerHidden(t *testing.T) {
	const eks = `apiVersion: v1
kind: Node
metadata:
  name: ip-10-0-1-17.eu-west-1.compute.internal
  labels: {eks.amazonaws.com/nodegroup: general, eks.amazonaws.com/capacityType: ON_DEMAND}
---
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: default}
spec: {containers: [{name: shell, image: busybox:1.37}]}
`
	const unknown = `apiVersion: v1
kind: Node
metadata: {name: worker-a}
`
	for _, tc := range []struct{ name, yaml, want string }{
		{"EKS", eks, "managed: the kube-apiserver's flags are not visible (Amazon EKS: Node ip-10-0-1-17.eu-west-1.compute.internal label eks.amazonaws.com/capacityType)"},
		{"no provider known", unknown, "managed: the kube-apiserver's flags are not visible (no kube-apiserver pod in kube-system: the control plane runs outside the cluster)"},
	} {
		for _, id := range []string{"apiserver-audit-logging", "apiserver-oidc"} {
			t.Run(tc.name+"/"+id, func(t *testing.T) {
				got := auditClusterLines(t, parseCluster(t, tc.yaml), id)
				want := []string{"Cluster cluster: unassessed: not assessed: " + tc.want}
				if tc.name == "EKS" {
					want = append(want, "Pod default/debug: skip: not applicable: not a kube-apiserver pod")
				}
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("results differ (-want +got):\n%s", d)
				}
			})
		}
	}
}

func TestParseFlags(t *testing.T) {
	got := parseFlags([]string{"kube-apiserver", "--audit-log-path=/var/log/audit.log", "--allow-privileged", "--authentication-config", "/etc/auth.yaml", "--v", "2", "--oidc-issuer-url="})
	want := map[string]string{"audit-log-path": "/var/log/audit.log", "allow-privileged": "", "authentication-config": "/etc/auth.yaml", "v": "2", "oidc-issuer-url": ""}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("flags differ (-want +got):\n%s", d)
	}
}

func TestSameImage(t *testing.T) {
	report := func(repo, tag, digest string) *inventory.Object {
		return &inventory.Object{Content: map[string]any{"report": map[string]any{"artifact": map[string]any{"repository": repo, "tag": tag, "digest": digest}}}}
	}
	for _, tc := range []struct {
		image  string
		report *inventory.Object
		want   bool
	}{
		{"nginx:1.27.3", report("library/nginx", "1.27.3", ""), true},
		{"docker.io/library/nginx:1.27.3", report("library/nginx", "1.27.3", ""), true},
		{"nginx", report("library/nginx", "latest", ""), true},
		{"nginx:1.27.4", report("library/nginx", "1.27.3", ""), false},
		{"registry.example.com/shop/web:1.4.2", report("shop/web", "1.4.2", ""), true},
		{"registry.example.com/shop/web@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", report("shop/web", "", "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"), true},
		{"registry.example.com/shop/web:1.4.2@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", report("shop/web", "1.4.2", "sha256:4c3ad2b7f6a1e2d9c0b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6"), true},
		// A digest that is not one makes no valid reference: the kubelet
		// cannot pull it, so it is no report's image.
		{"registry.example.com/shop/web@sha256:abc", report("shop/web", "", "sha256:abc"), false},
		{"registry.example.com/shop/api:1.4.2", report("shop/web", "1.4.2", ""), false},
		{"registry.example.com/myshop/web:1.4.2", report("shop/web", "1.4.2", ""), false},
	} {
		if got := sameImage(tc.image, tc.report); got != tc.want {
			t.Errorf("sameImage(%q, %v): got %v, want %v", tc.image, tc.report.Content, got, tc.want)
		}
	}
}

// TestStaleVulnerabilityReport: a report of an image the container no
// longer runs is not judged, and a workload with nothing else is not
// assessed.
func TestStaleVulnerabilityReport(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "image-vulnerabilities-critical", "fail-critical.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := "DaemonSet shop/log-agent: unassessed: not assessed: its Trivy VulnerabilityReports are about images its containers no longer run: VulnerabilityReport daemonset-log-agent-agent (container agent, image registry.example.com/shop/log-agent:1.9.0)"
	for _, r := range auditClusterLines(t, parseCluster(t, string(data)), "image-vulnerabilities-critical") {
		if strings.HasPrefix(r, "DaemonSet ") {
			if r != want {
				t.Errorf("got %q, want %q", r, want)
			}
			return
		}
	}
	t.Errorf("got no result for the DaemonSet, want %q", want)
}

func TestPolicyEnforcementModes(t *testing.T) {
	kyverno := func(spec string) string {
		return "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: p}\nspec:\n" + spec
	}
	for _, tc := range []struct {
		name, yaml string
		want       bool
	}{
		{"rule Audit overrides policy Enforce", kyverno("  validationFailureAction: Enforce\n  rules: [{name: r, validate: {failureAction: Audit}}]\n"), false},
		{"policy Enforce applies to rules without their own", kyverno("  validationFailureAction: Enforce\n  rules: [{name: r, validate: {pattern: {}}}]\n"), true},
		{"Enforce on a mutate rule enforces nothing", kyverno("  validationFailureAction: Enforce\n  rules: [{name: r, mutate: {}}]\n"), false},
		{"verifyImages Enforce", kyverno("  rules: [{name: r, verifyImages: [{failureAction: Enforce}]}]\n"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := parseCluster(t, tc.yaml)
			if got := kyvernoEnforces(objs[0]); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	scoped := parseCluster(t, `apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sRequiredLabels
metadata: {name: owner}
spec:
  enforcementAction: scoped
  scopedEnforcementActions: [{action: warn, enforcementPoints: [{name: audit.gatekeeper.sh}]}, {action: deny, enforcementPoints: [{name: validation.gatekeeper.sh}]}]
`)
	if !scopedDeny(scoped[0]) {
		t.Error("scoped constraint with a deny action: got not enforcing, want enforcing")
	}
}
