package policy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// TestSetDefaults holds the defaults to those of the upstream functions
// they follow, on the fields policies most often read. test/e2e holds them
// to a real API server.
func TestSetDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   runtime.Object
		// path is a JSONPath-like list of keys into the defaulted object,
		// want its value.
		yaml string
		want map[string]any
	}{
		{
			name: "a Deployment: replicas, strategy, history, deadline; its template's pod spec",
			in:   &appsv1.Deployment{},
			yaml: `
spec:
  template:
    spec:
      containers:
      - name: latest
        image: nginx
        ports: [{containerPort: 80}]
        resources: {limits: {memory: 1Gi}}
      - {name: tagged, image: "nginx:1.27"}
      - {name: explicit-latest, image: "registry.example.com/nginx:latest"}
      - {name: digest, image: "nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000"}
`,
			want: map[string]any{
				"spec.replicas":                                          int64(1),
				"spec.strategy.type":                                     "RollingUpdate",
				"spec.strategy.rollingUpdate":                            map[string]any{"maxSurge": "25%", "maxUnavailable": "25%"},
				"spec.revisionHistoryLimit":                              int64(10),
				"spec.progressDeadlineSeconds":                           int64(600),
				"spec.template.spec.restartPolicy":                       "Always",
				"spec.template.spec.dnsPolicy":                           "ClusterFirst",
				"spec.template.spec.schedulerName":                       "default-scheduler",
				"spec.template.spec.terminationGracePeriodSeconds":       int64(30),
				"spec.template.spec.securityContext":                     map[string]any{},
				"spec.template.spec.containers.0.imagePullPolicy":        "Always",
				"spec.template.spec.containers.1.imagePullPolicy":        "IfNotPresent",
				"spec.template.spec.containers.2.imagePullPolicy":        "Always",
				"spec.template.spec.containers.3.imagePullPolicy":        "IfNotPresent",
				"spec.template.spec.containers.0.ports.0.protocol":       "TCP",
				"spec.template.spec.containers.0.terminationMessagePath": "/dev/termination-log",
				// Only a Pod's requests default to its limits.
				"spec.template.spec.containers.0.resources": map[string]any{"limits": map[string]any{"memory": "1Gi"}},
				// enableServiceLinks is a Pod's, not a template's.
				"spec.template.spec.enableServiceLinks": nil,
			},
		},
		{
			name: "a Pod: requests from limits, service links, probes, volumes",
			in:   &corev1.Pod{},
			yaml: `
spec:
  volumes:
  - name: scratch
  - {name: config, configMap: {name: app}}
  containers:
  - name: app
    image: app:1
    resources: {limits: {cpu: 500m, memory: 1Gi}, requests: {cpu: 100m}}
    readinessProbe: {httpGet: {port: 8080}}
`,
			want: map[string]any{
				"spec.containers.0.resources.requests":              map[string]any{"cpu": "100m", "memory": "1Gi"},
				"spec.enableServiceLinks":                           true,
				"spec.containers.0.readinessProbe.httpGet":          map[string]any{"path": "/", "port": int64(8080), "scheme": "HTTP"},
				"spec.containers.0.readinessProbe.periodSeconds":    int64(10),
				"spec.containers.0.readinessProbe.timeoutSeconds":   int64(1),
				"spec.containers.0.readinessProbe.failureThreshold": int64(3),
				"spec.volumes.0.emptyDir":                           map[string]any{},
				"spec.volumes.1.configMap.defaultMode":              int64(420),
			},
		},
		{
			name: "a Service: type, protocol, target port, traffic policies",
			in:   &corev1.Service{},
			yaml: `
spec:
  type: LoadBalancer
  ports: [{port: 80}]
`,
			want: map[string]any{
				"spec.ports.0.protocol":              "TCP",
				"spec.ports.0.targetPort":            int64(80),
				"spec.sessionAffinity":               "None",
				"spec.externalTrafficPolicy":         "Cluster",
				"spec.internalTrafficPolicy":         "Cluster",
				"spec.allocateLoadBalancerNodePorts": true,
			},
		},
		{
			name: "a CronJob: its job template gets no Job defaults",
			in:   &batchv1.CronJob{},
			yaml: `
spec:
  schedule: "@daily"
  jobTemplate: {spec: {template: {spec: {containers: [{name: c, image: c:1}]}}}}
`,
			want: map[string]any{
				"spec.concurrencyPolicy":                                           "Allow",
				"spec.successfulJobsHistoryLimit":                                  int64(3),
				"spec.failedJobsHistoryLimit":                                      int64(1),
				"spec.suspend":                                                     false,
				"spec.jobTemplate.spec.backoffLimit":                               nil,
				"spec.jobTemplate.spec.template.spec.restartPolicy":                "Always",
				"spec.jobTemplate.spec.template.spec.containers.0.imagePullPolicy": "IfNotPresent",
			},
		},
		{
			name: "a Job",
			in:   &batchv1.Job{},
			yaml: `
spec:
  template: {metadata: {labels: {app: j}}, spec: {restartPolicy: Never, containers: [{name: c, image: c:1}]}}
`,
			want: map[string]any{
				"metadata.labels":           map[string]any{"app": "j"},
				"spec.completions":          int64(1),
				"spec.parallelism":          int64(1),
				"spec.backoffLimit":         int64(6),
				"spec.completionMode":       "NonIndexed",
				"spec.podReplacementPolicy": "TerminatingOrFailed",
			},
		},
		{
			name: "a Namespace: its name label",
			in:   &corev1.Namespace{},
			yaml: "metadata: {name: shop}",
			want: map[string]any{"metadata.labels": map[string]any{"kubernetes.io/metadata.name": "shop"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := yaml.UnmarshalStrict([]byte(tt.yaml), tt.in); err != nil {
				t.Fatal(err)
			}
			SetDefaults(tt.in)
			m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			for path, want := range tt.want {
				if diff := cmp.Diff(want, at(m, path)); diff != "" {
					t.Errorf("%s (-want +got):\n%s", path, diff)
				}
			}
		})
	}
}

// at is the value at a dotted path of keys and list indexes, or nil.
func at(v any, path string) any {
	for _, k := range splitPath(path) {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			i := 0
			for _, c := range k {
				i = i*10 + int(c-'0')
			}
			if i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func splitPath(path string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(path); i++ {
		if i == len(path) || path[i] == '.' {
			out = append(out, path[start:i])
			start = i + 1
		}
	}
	return out
}
