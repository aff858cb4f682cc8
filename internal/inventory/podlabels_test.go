package inventory_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

// podOwners are workloads and custom resources whose pods get labels from
// their controllers besides their templates'.
const podOwners = `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: redis, namespace: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: redis}}
  template: {metadata: {labels: {app: redis}}, spec: {containers: [{name: redis, image: redis}]}}
---
# replicas unset: one pod, redis-one-0.
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: redis-one, namespace: shop}
spec:
  selector: {matchLabels: {app: redis-one}}
  template: {metadata: {labels: {app: redis-one}}, spec: {containers: [{name: redis, image: redis}]}}
---
# Ordinals 5 and 6.
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: zk, namespace: shop}
spec:
  replicas: 2
  ordinals: {start: 5}
  selector: {matchLabels: {app: zk}}
  template: {metadata: {labels: {app: zk}}, spec: {containers: [{name: zk, image: zk}]}}
---
# Two replicas, but an HPA may run up to four.
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: queue, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: queue}}
  template: {metadata: {labels: {app: queue}}, spec: {containers: [{name: q, image: q}]}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: queue, namespace: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: StatefulSet, name: queue}
  minReplicas: 2
  maxReplicas: 4
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: web}]}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: shop}
spec:
  selector: {matchLabels: {app: agent}}
  template: {metadata: {labels: {app: agent}}, spec: {containers: [{name: a, image: a}]}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: shop}
spec:
  template: {metadata: {labels: {app: migrate}}, spec: {restartPolicy: Never, containers: [{name: m, image: m}]}}
---
# A manual selector: the API server adds no labels.
apiVersion: batch/v1
kind: Job
metadata: {name: manual, namespace: shop}
spec:
  manualSelector: true
  selector: {matchLabels: {app: manual}}
  template: {metadata: {labels: {app: manual}}, spec: {restartPolicy: Never, containers: [{name: m, image: m}]}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: report, namespace: shop}
spec:
  schedule: "@daily"
  jobTemplate: {spec: {template: {metadata: {labels: {app: report}}, spec: {restartPolicy: Never, containers: [{name: r, image: r}]}}}}
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template: {metadata: {labels: {app: api}}, spec: {containers: [{name: api, image: api}]}}
---
# Its template labels nodes, not pods.
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: gpu, namespace: shop}
spec:
  template: {metadata: {labels: {app: gpu}}, spec: {requirements: []}}
---
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata: {name: k8s, namespace: shop}
spec:
  replicas: 2
  podMetadata: {labels: {app.kubernetes.io/part-of: kube-prometheus}}
---
apiVersion: monitoring.coreos.com/v1
kind: Alertmanager
metadata: {name: main, namespace: shop}
spec:
  replicas: 3
`

// TestSelectedPodLabels matches selectors against the labels pods would
// carry: the template's and their controller's. Each case is a
// PodDisruptionBudget's selector and the workloads and custom resources it
// selects.
func TestSelectedPodLabels(t *testing.T) {
	for _, tc := range []struct {
		name     string
		selector string // a LabelSelector in YAML flow style
		want     []string
	}{
		{"a StatefulSet pod by name", "{matchLabels: {app: redis, statefulset.kubernetes.io/pod-name: redis-2}}", []string{"StatefulSet redis"}},
		{"a pod name past the replicas", "{matchLabels: {app: redis, statefulset.kubernetes.io/pod-name: redis-3}}", nil},
		{"another StatefulSet's pod name", "{matchLabels: {app: redis, statefulset.kubernetes.io/pod-name: zk-5}}", nil},
		{"a pod name with a leading zero", "{matchLabels: {app: redis, statefulset.kubernetes.io/pod-name: redis-01}}", nil},
		{"replicas unset is one pod", "{matchLabels: {app: redis-one, statefulset.kubernetes.io/pod-name: redis-one-0}}", []string{"StatefulSet redis-one"}},
		{"replicas unset has no second pod", "{matchLabels: {app: redis-one, statefulset.kubernetes.io/pod-name: redis-one-1}}", nil},
		{"ordinals start at spec.ordinals.start", "{matchLabels: {app: zk, statefulset.kubernetes.io/pod-name: zk-6}}", []string{"StatefulSet zk"}},
		{"no ordinal below the start", "{matchLabels: {app: zk, statefulset.kubernetes.io/pod-name: zk-0}}", nil},
		{"an HPA may add pods", "{matchLabels: {app: queue, statefulset.kubernetes.io/pod-name: queue-3}}", []string{"StatefulSet queue"}},
		{"not past the HPA's maximum", "{matchLabels: {app: queue, statefulset.kubernetes.io/pod-name: queue-4}}", nil},
		{"a pod index", "{matchLabels: {app: redis, apps.kubernetes.io/pod-index: \"1\"}}", []string{"StatefulSet redis"}},
		{"name and index of different pods", "{matchLabels: {app: redis, statefulset.kubernetes.io/pod-name: redis-0, apps.kubernetes.io/pod-index: \"1\"}}", nil},
		{"all pods but some", "{matchLabels: {app: redis}, matchExpressions: [{key: statefulset.kubernetes.io/pod-name, operator: NotIn, values: [redis-0, redis-1]}]}", []string{"StatefulSet redis"}},
		{"all pods but all", "{matchLabels: {app: redis}, matchExpressions: [{key: apps.kubernetes.io/pod-index, operator: NotIn, values: [\"0\", \"1\", \"2\"]}]}", nil},
		{"a template hash may match", "{matchLabels: {app: web, pod-template-hash: 5d4f8c7b9}}", []string{"Deployment web"}},
		{"a template hash is always set", "{matchLabels: {app: web}, matchExpressions: [{key: pod-template-hash, operator: DoesNotExist}]}", nil},
		{"a hash does not rescue other labels", "{matchLabels: {app: webb, pod-template-hash: 5d4f8c7b9}}", nil},
		{"a DaemonSet's revision", "{matchLabels: {app: agent}, matchExpressions: [{key: controller-revision-hash, operator: Exists}]}", []string{"DaemonSet agent"}},
		{"a Job by name", "{matchLabels: {app: migrate, job-name: migrate}}", []string{"Job migrate"}},
		{"a Job by the prefixed name", "{matchLabels: {app: migrate, batch.kubernetes.io/job-name: migrate}}", []string{"Job migrate"}},
		{"a Job by its UID", "{matchLabels: {app: migrate, batch.kubernetes.io/controller-uid: 0b6d1c9e}}", []string{"Job migrate"}},
		{"another Job's name", "{matchLabels: {app: migrate, job-name: seed}}", nil},
		{"a manual selector adds no labels", "{matchLabels: {app: manual, job-name: manual}}", nil},
		{"a CronJob's Jobs have generated names", "{matchLabels: {app: report, job-name: report-28911000}}", []string{"CronJob report"}},
		{"an Argo Rollout's template", "{matchLabels: {app: api}}", []string{"Rollout api"}},
		{"a NodePool's template is not a pod's", "{matchLabels: {app: gpu}}", nil},
		{"spec.podMetadata.labels", "{matchLabels: {app.kubernetes.io/part-of: kube-prometheus}}", []string{"Prometheus k8s"}},
		{"the operator's labels", "{matchLabels: {app.kubernetes.io/name: prometheus, operator.prometheus.io/name: k8s}}", []string{"Prometheus k8s"}},
		{"the operator's labels with a shard", "{matchLabels: {prometheus: k8s, operator.prometheus.io/shard: \"0\"}}", []string{"Prometheus k8s"}},
		{"another Prometheus", "{matchLabels: {prometheus: other}}", nil},
		{"an Alertmanager", "{matchLabels: {alertmanager: main, app.kubernetes.io/instance: main}}", []string{"Alertmanager main"}},
		{"an Alertmanager has no shard", "{matchLabels: {alertmanager: main, operator.prometheus.io/shard: \"0\"}}", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := podOwners + fmt.Sprintf(`---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: pdb, namespace: shop}
spec: {maxUnavailable: 1, selector: %s}
`, tc.selector)
			inv := buildFrom(t, inventory.FromManifests, doc)
			pdb := inv.Get("PodDisruptionBudget", "shop", "pdb")
			var got []string
			for _, o := range append(inv.Selected(pdb), inv.SelectedCustom(pdb)...) {
				got = append(got, o.Kind+" "+o.Name)
			}
			sort.Strings(got)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("selected (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSelectedCustomKeepsWorkloadsApart: a custom resource is never among
// Selected, which workload checks read, and the trace of SelectedCustom
// names every custom kind that runs pods in the namespace.
func TestSelectedCustomKeepsWorkloadsApart(t *testing.T) {
	doc := podOwners + `---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec: {selector: {app: api}}
`
	inv := buildFrom(t, inventory.FromManifests, doc)
	svc := inv.Get("Service", "shop", "api")
	if got := inv.Selected(svc); len(got) != 0 {
		t.Errorf("Selected: got %s, want none", names(got))
	}
	seen := map[string]bool{}
	inv.Trace(func(key string) { seen[key] = true })
	custom := inv.SelectedCustom(svc)
	inv.Trace(nil)
	if diff := cmp.Diff([]string{"shop/api"}, names(custom)); diff != "" {
		t.Errorf("SelectedCustom (-want +got):\n%s", diff)
	}
	var kinds []string
	for k := range seen {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	want := "Alertmanager.monitoring.coreos.com Prometheus.monitoring.coreos.com Rollout.argoproj.io"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("kinds read: got %s, want %s", got, want)
	}
}
