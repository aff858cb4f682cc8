package inventory_test

import (
	"fmt"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/manifest"
)

// cacheRunner is a made-up operator's kind: its pods get the resource's
// spec.pod.labels, then tier=cache, then cache=<name>, and a generation
// that the resource does not show.
var cacheRunner = inventory.PodRunner{
	Kind:       "Cache.example.com",
	LabelsPath: "spec.pod.labels",
	Labels:     map[string]string{"tier": "cache", "owner": "operator"},
	NameLabels: []string{"cache"},
	Unknown:    []string{"example.com/generation"},
}

// caches are resources of that kind, one with no labels of its own.
const caches = `
apiVersion: example.com/v1
kind: Cache
metadata: {name: hot, namespace: shop}
spec:
  pod:
    labels: {app: shop, owner: me, size: 3}
---
apiVersion: example.com/v1
kind: Cache
metadata: {name: bare, namespace: shop}
spec: {}
`

// TestWithPodRunners matches selectors against the pods of custom resources
// as a PodRunner describes them, and proves that without one such a
// resource runs no pods the inputs show.
func TestWithPodRunners(t *testing.T) {
	for _, tc := range []struct {
		name     string
		selector string // a LabelSelector in YAML flow style
		want     []string
	}{
		{"the resource's labels", "{matchLabels: {app: shop}}", []string{"Cache hot"}},
		{"a label that is not a string is left out", "{matchLabels: {size: \"3\"}}", nil},
		{"the controller's labels over the resource's", "{matchLabels: {owner: operator}}", []string{"Cache bare", "Cache hot"}},
		{"the controller's labels replace the resource's", "{matchLabels: {owner: me}}", nil},
		{"the resource's name", "{matchLabels: {cache: bare}}", []string{"Cache bare"}},
		{"a label whose value is unknown may match", "{matchLabels: {cache: hot, example.com/generation: \"7\"}}", []string{"Cache hot"}},
		{"a label whose value is unknown is set", "{matchLabels: {cache: hot}, matchExpressions: [{key: example.com/generation, operator: DoesNotExist}]}", nil},
		{"an unknown value rescues no other label", "{matchLabels: {cache: cold, example.com/generation: \"7\"}}", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := selectedCustom(t, tc.selector, inventory.WithPodRunners([]inventory.PodRunner{cacheRunner}))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("selected (-want +got):\n%s", diff)
			}
		})
	}
	if got := selectedCustom(t, "{matchLabels: {tier: cache}}"); got != nil {
		t.Errorf("without the runner: got %v selected, want none", got)
	}
}

// selectedCustom returns the custom resources among caches whose pods a
// PodDisruptionBudget with this selector selects, as Kind name, sorted.
func selectedCustom(t *testing.T, selector string, opts ...inventory.Option) []string {
	t.Helper()
	doc := caches + fmt.Sprintf(`---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: pdb, namespace: shop}
spec: {maxUnavailable: 1, selector: %s}
`, selector)
	loaded := manifest.Parse("inputs.yaml", []byte(doc), inventory.Source{File: "inputs.yaml"})
	for _, e := range loaded.Errors {
		t.Fatal(e)
	}
	inv := inventory.Build(inventory.FromManifests, loaded.Objects, opts...)
	var got []string
	for _, o := range inv.SelectedCustom(inv.Get("PodDisruptionBudget", "shop", "pdb")) {
		got = append(got, o.Kind+" "+o.Name)
	}
	sort.Strings(got)
	return got
}
