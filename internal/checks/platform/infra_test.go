package platform

import (
	"os"
	"regexp"
	"testing"

	"github.com/plimsoll/plimsoll/internal/checks/manifest"
)

// TestReleaseCalendarIsCurrent fails when plimsoll builds with a newer
// Kubernetes API module than the release calendar knows, so that bumping
// client-go forces a calendar row for the new release.
func TestReleaseCalendarIsCurrent(t *testing.T) {
	mod, err := os.ReadFile("../../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*k8s\.io/api v0\.(\d+)\.`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod requires no k8s.io/api")
	}
	minor := "1." + string(m[1])
	if _, ok := releaseOf(minor); !ok {
		t.Errorf("go.mod builds with Kubernetes %s, but the release calendar in internal/checks/platform/infra.go stops at %s: add the new releases' end-of-life dates from https://kubernetes.io/releases/", minor, releases[len(releases)-1].minor)
	}
	if minor != manifest.LatestKnownVersion {
		t.Errorf("go.mod builds with Kubernetes %s but LatestKnownVersion is %s", minor, manifest.LatestKnownVersion)
	}
}

func TestMinorOf(t *testing.T) {
	for in, want := range map[string]string{
		"v1.33.2": "1.33", "1.30.14-eks-931bdca": "1.30", "v1.31.1+k3s1": "1.31", "v1.29.8-gke.1211000": "1.29", "v1.27": "1.27",
	} {
		if got, ok := minorOf(in); !ok || got != want {
			t.Errorf("minorOf(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "v1", "vx.y.z", "v1.x", "v0.8.0"} {
		if got, ok := minorOf(in); ok {
			t.Errorf("minorOf(%q) = %q, want not ok", in, got)
		}
	}
}
