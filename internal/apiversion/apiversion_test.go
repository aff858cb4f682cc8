package apiversion_test

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/plimsoll/plimsoll/internal/apiversion"
	"github.com/plimsoll/plimsoll/internal/config"
)

// TestTable keeps the table consistent: versions parse, no row is listed
// twice, a retired version names its replacement, and a version is
// deprecated before it is removed (an alpha one may be removed without
// being deprecated), by Latest at the latest.
func TestTable(t *testing.T) {
	release := func(id, what, v string) (minor int, ok bool) {
		_, minor, err := config.ParseVersion(v)
		if err != nil {
			t.Errorf("%s: %s: %v", id, what, err)
			return 0, false
		}
		return minor, true
	}
	latest, _ := release("Latest", "Latest", apiversion.Latest)
	seen := map[[2]string]bool{}
	for _, r := range apiversion.All() {
		id := r.APIVersion + " " + r.Kind
		gv, err := schema.ParseGroupVersion(r.APIVersion)
		if err != nil || r.Kind == "" || r.Retired() != (r.Replacement != "") {
			t.Errorf("%s: incomplete row %+v", id, r)
		}
		if seen[[2]string{r.APIVersion, r.Kind}] {
			t.Errorf("%s: listed twice", id)
		}
		seen[[2]string{r.APIVersion, r.Kind}] = true
		dep := 0
		switch {
		case r.Deprecated != "":
			var ok bool
			if dep, ok = release(id, "deprecated", r.Deprecated); ok && dep > latest {
				t.Errorf("%s: deprecated in %s, after Latest %s", id, r.Deprecated, apiversion.Latest)
			}
		case r.Removed != "" && !strings.Contains(gv.Version, "alpha"):
			t.Errorf("%s: removed in %s but never deprecated; only alpha versions are", id, r.Removed)
		}
		if r.Removed == "" {
			continue
		}
		if rem, _ := release(id, "removed", r.Removed); rem <= dep || rem > latest {
			t.Errorf("%s: deprecated %q, removed %s: want deprecated < removed <= %s", id, r.Deprecated, r.Removed, apiversion.Latest)
		}
	}
}

func TestLookup(t *testing.T) {
	for _, tc := range []struct {
		apiVersion, kind string
		want             bool
	}{
		{"apps/v1", "Deployment", true},
		{"extensions/v1beta1", "Deployment", true},
		{"apps/v1beta9", "Deployment", false},
		{"apps/v1", "Ingress", false},
		{"rbac.authorization.k8s.io/v1alpha1", "Role", true},
		{"autoscaling/v1", "HorizontalPodAutoscaler", true},
	} {
		if got := apiversion.Lookup(tc.apiVersion, tc.kind) != nil; got != tc.want {
			t.Errorf("Lookup(%s, %s): got a row %v, want %v", tc.apiVersion, tc.kind, got, tc.want)
		}
	}
	if !apiversion.InGroup("apps", "Deployment") || !apiversion.InGroup("extensions", "Deployment") || apiversion.InGroup("batch", "Deployment") {
		t.Error("InGroup: want Deployments in apps and extensions and not in batch")
	}
}

func TestCurrent(t *testing.T) {
	for kind, want := range map[string]string{
		"Deployment":              "apps/v1",
		"HorizontalPodAutoscaler": "autoscaling/v2", // autoscaling/v1 is served too
		"Ingress":                 "networking.k8s.io/v1",
		"Endpoints":               "v1", // deprecated, not removed
		"PodSecurityPolicy":       "",   // removed everywhere
	} {
		if got := apiversion.Current(kind); got != want {
			t.Errorf("Current(%s) = %q, want %q", kind, got, want)
		}
	}
}
