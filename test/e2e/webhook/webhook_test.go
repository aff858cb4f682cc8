package webhook

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/plimsoll/plimsoll/internal/serve"
	"github.com/plimsoll/plimsoll/test/controlplane"
)

func intstrPort(p int) intstr.IntOrString { return intstr.FromInt32(int32(p)) }

// naming reports whether a warning names the check.
func naming(ws []string, id string) bool {
	return slices.ContainsFunc(ws, func(w string) bool { return strings.HasPrefix(w, "plimsoll: "+id+" (") })
}

// TestWarnsAndJudgesAcrossObjects: with no --deny-on, a create that fails
// checks succeeds and the client gets a warning for each failure, through
// client-go's WarningHandler; a Deployment of three replicas with no
// PodDisruptionBudget is warned of pdb-coverage, judged with the cluster
// in serve's cache, and once a budget that covers it is in the cluster, an
// update is not.
func TestWarnsAndJudgesAcrossObjects(t *testing.T) {
	cp := controlplane.Shared()
	client, w := warningClient(t, cp)
	in := startServe(t, cp)
	register(t, client, "plimsoll-warn", in)
	ns := "warn"
	createNamespace(t, client, ns)

	// The API server reads webhook configurations through an informer: a
	// dry run is judged (sideEffects: NoneOnDryRun) and tells when it calls.
	var got []string
	controlplane.WaitFor(t, "the API server to call the webhook", time.Minute, func() (bool, error) {
		_, err := client.AppsV1().Deployments(ns).Create(t.Context(), deployment(ns, "web", 3, "nginx:latest"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		got = w.take()
		return err == nil && len(got) > 0, err
	})

	if _, err := client.AppsV1().Deployments(ns).Create(t.Context(), deployment(ns, "web", 3, "nginx:latest"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create: %v", err)
	}
	got = w.take()
	for _, id := range []string{"image-tag-latest", "pdb-coverage", "pod-network-policy"} {
		if !naming(got, id) {
			t.Errorf("warnings %q do not name %s", got, id)
		}
	}
	for _, warning := range got {
		if len([]rune(warning)) > 256 {
			t.Errorf("a warning of %d runes: %q", len([]rune(warning)), warning)
		}
	}

	// A budget that covers the Deployment reaches serve's cache, and an
	// update is judged with it.
	pdb := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable: ptrTo(intstr.FromInt32(1)),
			Selector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		},
	}
	if _, err := client.PolicyV1().PodDisruptionBudgets(ns).Create(t.Context(), pdb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	controlplane.WaitFor(t, "an update to be judged with the budget", time.Minute, func() (bool, error) {
		d, err := client.AppsV1().Deployments(ns).Get(t.Context(), "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		d.Spec.Template.Annotations = map[string]string{"touch": time.Now().String()}
		if _, err := client.AppsV1().Deployments(ns).Update(t.Context(), d, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			return false, err
		}
		ws := w.take()
		if naming(ws, "pdb-coverage") || !naming(ws, "image-tag-latest") {
			return false, fmt.Errorf("warnings %q: want image-tag-latest and no pdb-coverage", ws)
		}
		return true, nil
	})
}

// TestDeniesThenFailsOpen: with --deny-on high, a create that fails a
// high check is refused with a message naming it, an Event on the object
// records the denial, and the report serve hands its sink (the
// PolicyReports) holds it. Once serve is gone, the same create succeeds:
// failurePolicy Ignore.
func TestDeniesThenFailsOpen(t *testing.T) {
	cp := controlplane.Shared()
	client, _ := warningClient(t, cp)
	in := startServe(t, cp, "--deny-on", "high")
	register(t, client, "plimsoll-deny", in)
	ns := "deny"
	createNamespace(t, client, ns)

	var err error
	controlplane.WaitFor(t, "the API server to call the webhook", time.Minute, func() (bool, error) {
		_, err = client.AppsV1().Deployments(ns).Create(t.Context(), deployment(ns, "web", 3, "nginx:latest"), metav1.CreateOptions{})
		return err != nil, fmt.Errorf("created: the webhook was not called yet")
	})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "image-tag-latest (high)") {
		t.Fatalf("got %v, want a 403 denial naming image-tag-latest (high)", err)
	}

	controlplane.WaitFor(t, "the denial's Event", time.Minute, func() (bool, error) {
		evs, err := client.EventsV1().Events(ns).List(t.Context(), metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			if e.Reason == serve.EventReason && e.Regarding.Kind == "Deployment" && e.Regarding.Name == "web" && e.Type == "Warning" &&
				strings.Contains(e.Note, "image-tag-latest") {
				return true, nil
			}
		}
		return false, fmt.Errorf("%d Events in %s, none an AdmissionDenied on Deployment web", len(evs.Items), ns)
	})
	controlplane.WaitFor(t, "the denial in the sink's report", time.Minute, func() (bool, error) {
		r := in.sink.latest()
		if r == nil {
			return false, fmt.Errorf("no report yet")
		}
		for _, res := range r.Results {
			if res.Object != nil && res.Object.Namespace == ns && res.Object.Name == "web" && res.Check == "image-tag-latest" &&
				res.Status == "fail" && strings.HasPrefix(res.Message, "denied at admission (CREATE") {
				return true, nil
			}
		}
		return false, fmt.Errorf("the latest report has no denial of Deployment %s/web", ns)
	})

	// Fail-open: with serve stopped, the API server cannot reach the
	// webhook and lets the request through.
	if err := in.stop(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := client.AppsV1().Deployments(ns).Create(t.Context(), deployment(ns, "web", 3, "nginx:latest"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("with the webhook down, create failed: %v", err)
	}
	t.Logf("with the webhook down, create took %s", time.Since(start).Round(time.Millisecond))
}

func ptrTo[T any](v T) *T { return &v }
