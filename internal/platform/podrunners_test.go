package platform

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// TestPodRunnersWellFormed checks the table's entries: one a custom kind,
// a field path to read labels from, label keys Kubernetes accepts, and each
// key either set to a known value, set to the name, or unknown.
func TestPodRunnersWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range PodRunners {
		kind, group, _ := strings.Cut(r.Kind, ".")
		if kind == "" || group == "" || inventory.KindKeyOf(group+"/v1", kind) != r.Kind {
			t.Errorf("%s: not the kind key of a custom resource (Kind.group)", r.Kind)
		}
		if seen[r.Kind] {
			t.Errorf("%s: listed twice", r.Kind)
		}
		seen[r.Kind] = true
		if r.LabelsPath == "" || slices.Contains(strings.Split(r.LabelsPath, "."), "") {
			t.Errorf("%s: LabelsPath %q is not a field path", r.Kind, r.LabelsPath)
		}
		keys := map[string]string{} // key -> which list holds it
		add := func(list, k string) {
			if errs := validation.IsQualifiedName(k); len(errs) > 0 {
				t.Errorf("%s: %s key %q: %s", r.Kind, list, k, strings.Join(errs, "; "))
			}
			if other, dup := keys[k]; dup {
				t.Errorf("%s: key %q is in both %s and %s", r.Kind, k, other, list)
			}
			keys[k] = list
		}
		for k := range r.Labels {
			add("Labels", k)
		}
		for _, k := range r.NameLabels {
			add("NameLabels", k)
		}
		for _, k := range r.Unknown {
			add("Unknown", k)
		}
	}
}

// TestPodRunnersSelected proves that the pods of each kind in the table
// are selected by the labels the table gives them: the resource's own, the
// controller's, the name and a value the resource does not show.
func TestPodRunnersSelected(t *testing.T) {
	for _, r := range PodRunners {
		t.Run(r.Kind, func(t *testing.T) {
			kind, group, _ := strings.Cut(r.Kind, ".")
			// The resource's labels at LabelsPath, in YAML flow style.
			labels := "{team: obs}"
			parts := strings.Split(r.LabelsPath, ".")
			for i := len(parts) - 1; i >= 0; i-- {
				labels = "{" + parts[i] + ": " + labels + "}"
			}
			resource := "apiVersion: " + group + "/v1\nkind: " + kind + "\nmetadata: {name: main, namespace: monitoring}\n" +
				strings.TrimSuffix(strings.TrimPrefix(labels, "{"), "}") + "\n"
			selector := map[string]string{"team": "obs"}
			for k, v := range r.Labels {
				selector[k] = v
			}
			for _, k := range r.NameLabels {
				selector[k] = "main"
			}
			for _, k := range r.Unknown {
				selector[k] = "anything"
			}
			var sel []string
			for k, v := range selector {
				sel = append(sel, `"`+k+`": "`+v+`"`)
			}
			slices.Sort(sel)
			inv := build(t, resource+"---\napiVersion: v1\nkind: Service\nmetadata: {name: main, namespace: monitoring}\nspec: {selector: {"+strings.Join(sel, ", ")+"}}\n")
			var got []string
			for _, o := range inv.SelectedCustom(inv.Get("Service", "monitoring", "main")) {
				got = append(got, o.KindKey()+" "+o.Name)
			}
			if want := []string{r.Kind + " main"}; !slices.Equal(got, want) {
				t.Errorf("selected: got %v, want %v", got, want)
			}
		})
	}
}
