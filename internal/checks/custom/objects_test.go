package custom

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/pipeline"
)

// TestObjects: plimsoll.objects lists the objects of a kind, in a
// namespace or in all, as an expression sees object: admitted, and in
// namespace default when a namespaced object names none.
func TestObjects(t *testing.T) {
	dir := t.TempDir()
	f := write(t, dir, "c.yaml",
		checkDoc("service-in-namespace", `"plimsoll.objects('v1', 'Service', object.metadata.namespace).exists(s, s.metadata.name == object.metadata.name)"`)+"---\n"+
			checkDoc("one-of-its-name", `"plimsoll.objects('apps/v1', 'Deployment').filter(d, d.metadata.name == object.metadata.name).size() == 1"`)+"---\n"+
			// Listed objects are defaulted as the request's object is: the
			// Service's type, which no manifest below sets.
			checkDoc("listed-defaulted", `"plimsoll.objects('v1', 'Service').all(s, s.spec.type == 'ClusterIP')"`)+"---\n"+
			// A custom kind, scoped by its CustomResourceDefinition.
			checkDoc("has-certificate", `"plimsoll.objects('cert-manager.io/v1', 'Certificate', object.metadata.namespace).size() > 0"`))
	set := Load([]string{f}, builtin)
	if len(set.Errors) > 0 {
		t.Fatal(set.Errors)
	}
	if got := set.Get("service-in-namespace").Reads; !slices.Contains(got, "Service") {
		t.Errorf("service-in-namespace reads %q, want Service among them", got)
	}
	reg, err := check.NewRegistry(set.All())
	if err != nil {
		t.Fatal(err)
	}
	if kinds := pipeline.Kinds(reg); !slices.Contains(kinds, "Service") || !slices.Contains(kinds, "Certificate.cert-manager.io") {
		t.Errorf("a cluster read lists %q, want the kinds the checks list among them", kinds)
	}
	if got := set.Get("has-certificate").Reads; !slices.Contains(got, "Certificate.cert-manager.io") || !slices.Contains(got, crdKey) {
		t.Errorf("has-certificate reads %q, want Certificate.cert-manager.io and the CustomResourceDefinitions", got)
	}
	a := auditWith(t, set, web(`[{name: web, image: "web:1"}]`)+`---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: "web:1"}]}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template: {metadata: {labels: {app: api}}, spec: {containers: [{name: api, image: "api:1"}]}}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec: {selector: {app: api}, ports: [{port: 80}]}
---
`+certificate, nil)
	var got []string
	for _, line := range describe(a) {
		if verdict, _, _ := strings.Cut(line, ":"); !strings.Contains(line, " Certificate ") {
			got = append(got, verdict)
		}
	}
	want := []string{
		"fail has-certificate Deployment web", // in namespace default, where kubectl puts it
		"pass listed-defaulted Deployment web",
		"fail one-of-its-name Deployment web", // two named web
		"pass service-in-namespace Deployment web",
		"pass has-certificate Deployment api",
		"pass listed-defaulted Deployment api",
		"pass one-of-its-name Deployment api",
		"pass service-in-namespace Deployment api",
		"pass has-certificate Deployment web",
		"pass listed-defaulted Deployment web",
		"fail one-of-its-name Deployment web",
		"fail service-in-namespace Deployment web", // no Service web in shop
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}

// TestObjectsRefused: plimsoll.objects names its kind with literals, so
// that plimsoll knows what to read; the API server has no such function,
// so a cluster's own policy that calls it does not compile, as there.
func TestObjectsRefused(t *testing.T) {
	dir := t.TempDir()
	f := write(t, dir, "c.yaml", checkDoc("computed-kind", `"plimsoll.objects('v1', object.kind).size() > 0"`))
	set := Load([]string{f}, builtin)
	if len(set.Errors) != 1 || !strings.Contains(set.Errors[0].Error(), "spec.validations[0].expression") ||
		!strings.Contains(set.Errors[0].Error(), "plimsoll.objects takes the apiVersion and the kind it lists as string literals") {
		t.Fatalf("got errors %v, want one saying the kind must be a literal, at the expression", set.Errors)
	}

	policy := strings.Replace(teamPolicy, `"has(object.metadata.labels) && 'team' in object.metadata.labels"`, `"plimsoll.objects('v1', 'Service').size() > 0"`, 1)
	_, a := auditAdmission(t, map[string]string{"p.yaml": policy + "---\n" + binding("team", "require-team", "Deny", "")}, deployment("web", "shop", "", 1))
	reason := notAssessed(a)["admission-team"]
	if !strings.Contains(reason, "undeclared reference to 'plimsoll'") {
		t.Errorf("a cluster's policy calling plimsoll.objects: got reason %q, want the API server's compile error", reason)
	}
}
