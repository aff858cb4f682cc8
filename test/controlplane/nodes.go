package controlplane

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
)

// Node describes a node that kwok simulates.
type Node struct {
	Name   string
	Zone   string            // topology.kubernetes.io/zone, if set
	Role   string            // node-role.kubernetes.io/<Role>, if set
	CPU    string            // capacity and allocatable; default "4"
	Memory string            // capacity and allocatable; default "16Gi"
	Labels map[string]string // more labels
	Taints []corev1.Taint
	// Kubelet is the kubelet version the node reports; kwok's own version
	// (v0.x) if empty.
	Kubelet string
}

// AddNodes creates the nodes, labelled as real nodes are (hostname, os
// linux, arch amd64, zone, role) and with room for 110 pods, and waits until
// kwok has made each Ready and the controller-manager has lifted the
// not-ready taint that new nodes get, so that pods can be scheduled on them.
// It waits at most a minute unless ctx ends sooner.
func (c *ControlPlane) AddNodes(ctx context.Context, nodes ...Node) error {
	for _, n := range nodes {
		if _, err := c.admin.CoreV1().Nodes().Create(ctx, n.object(), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create node %s: %w", n.Name, err)
		}
	}
	for _, n := range nodes {
		err := c.waitNode(ctx, n.Name, func(node *corev1.Node) bool {
			return readyStatus(node) == corev1.ConditionTrue && !hasTaint(node, corev1.TaintNodeNotReady)
		})
		if err != nil {
			return fmt.Errorf("node %s did not become Ready and schedulable: %w", n.Name, err)
		}
	}
	return nil
}

func (n Node) object() *corev1.Node {
	labels := map[string]string{
		corev1.LabelHostname:   n.Name,
		corev1.LabelOSStable:   "linux",
		corev1.LabelArchStable: "amd64",
	}
	if n.Zone != "" {
		labels[corev1.LabelTopologyZone] = n.Zone
	}
	if n.Role != "" {
		labels["node-role.kubernetes.io/"+n.Role] = ""
	}
	maps.Copy(labels, n.Labels)
	resources := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse(or(n.CPU, "4")),
		corev1.ResourceMemory: resource.MustParse(or(n.Memory, "16Gi")),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        n.Name,
			Labels:      labels,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"},
		},
		Spec: corev1.NodeSpec{Taints: n.Taints},
		Status: corev1.NodeStatus{
			Capacity: resources, Allocatable: resources,
			NodeInfo: corev1.NodeSystemInfo{KubeletVersion: n.Kubelet},
		},
	}
}

// NodeReadyLabel, set on a node to "False" or "Unknown", makes kwok report
// that status in the node's Ready condition and stop its heartbeat. Use
// SetNodeReady rather than setting it by hand.
const NodeReadyLabel = "testenv.plimsoll.dev/node-ready"

// SetNodeReady makes the node's Ready condition read status and waits until
// it does, and until the controller-manager has tainted or untainted the
// node to match, so that callers see a settled node (at most a minute
// unless ctx ends sooner):
//   - corev1.ConditionFalse: as a kubelet reports when its node is unwell
//     (reason KubeletNotReady);
//   - corev1.ConditionUnknown: as the controller-manager reports once a
//     node stops posting its status (reason NodeStatusUnknown);
//   - corev1.ConditionTrue: kwok manages the node as usual again.
//
// The controller-manager taints the node as it would a real one
// (node.kubernetes.io/not-ready or /unreachable, NoSchedule and NoExecute,
// so pods without a longer toleration are evicted after 300s), and lifts
// the taints once it is Ready again. Until it has, the node is not
// schedulable, so waiting for the condition alone is not enough.
// Patching the node's status directly does not work: kwok marks the node
// Ready again at once.
func (c *ControlPlane) SetNodeReady(ctx context.Context, name string, status corev1.ConditionStatus) error {
	var value any // JSON null removes the label
	switch status {
	case corev1.ConditionTrue:
	case corev1.ConditionFalse, corev1.ConditionUnknown:
		value = string(status)
	default:
		return fmt.Errorf("SetNodeReady: status %q is none of True, False, Unknown", status)
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]any{NodeReadyLabel: value}}})
	if err != nil {
		return err
	}
	if _, err := c.admin.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return err
	}
	want := readinessTaints[status]
	err = c.waitNode(ctx, name, func(node *corev1.Node) bool {
		return readyStatus(node) == status && slices.Equal(readinessTaintsOf(node), want)
	})
	if err != nil {
		return fmt.Errorf("node %s: Ready did not become %s with taints %v: %w", name, status, want, err)
	}
	return nil
}

// readinessTaints are the controller-manager's taints for each Ready
// status, as readinessTaintsOf lists them.
var readinessTaints = map[corev1.ConditionStatus][]string{
	corev1.ConditionTrue:    nil,
	corev1.ConditionFalse:   {corev1.TaintNodeNotReady + ":NoExecute", corev1.TaintNodeNotReady + ":NoSchedule"},
	corev1.ConditionUnknown: {corev1.TaintNodeUnreachable + ":NoExecute", corev1.TaintNodeUnreachable + ":NoSchedule"},
}

// readinessTaintsOf lists the node's not-ready and unreachable taints as
// sorted "key:effect".
func readinessTaintsOf(node *corev1.Node) []string {
	var out []string
	for _, t := range node.Spec.Taints {
		if t.Key == corev1.TaintNodeNotReady || t.Key == corev1.TaintNodeUnreachable {
			out = append(out, t.Key+":"+string(t.Effect))
		}
	}
	slices.Sort(out)
	return out
}

// waitNode polls the node until done says so, for at most a minute.
func (c *ControlPlane) waitNode(ctx context.Context, name string, done func(*corev1.Node) bool) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		node, err := c.admin.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil // the API server may be busy; try again
		}
		return done(node), nil
	})
}

func readyStatus(node *corev1.Node) corev1.ConditionStatus {
	for _, cond := range node.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond.Status
		}
	}
	return ""
}

func hasTaint(node *corev1.Node, key string) bool {
	for _, t := range node.Spec.Taints {
		if t.Key == key {
			return true
		}
	}
	return false
}

func or(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// writeKwokStages writes the stage files kwok runs with into dir and
// returns their paths. The pod stages are kwok's own, as
// hack/testcluster-build copied them; the two node stages get one more
// selector term so that they leave nodes with NodeReadyLabel alone, and two
// stages of our own give those nodes the Ready status the label asks for.
func writeKwokStages(binDir, dir string) ([]string, error) {
	src := filepath.Join(binDir, "..", "kwok-stages")
	paths := []string{
		filepath.Join(src, "pod-fast-pod-ready.yaml"),
		filepath.Join(src, "pod-fast-pod-complete.yaml"),
		filepath.Join(src, "pod-fast-pod-delete.yaml"),
	}
	const selector = "  selector:\n    matchExpressions:\n"
	unlabelled := selector + "    - key: '.metadata.labels[\"" + NodeReadyLabel + "\"]'\n      operator: 'DoesNotExist'\n"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	for _, name := range []string{"node-fast-node-initialize.yaml", "node-heartbeat-node-heartbeat.yaml"} {
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			return nil, err
		}
		if strings.Count(string(data), selector) != 1 {
			return nil, fmt.Errorf("kwok stage %s: expected one %q", name, selector)
		}
		paths = append(paths, filepath.Join(dir, name))
		if err := os.WriteFile(paths[len(paths)-1], []byte(strings.Replace(string(data), selector, unlabelled, 1)), 0o644); err != nil {
			return nil, err
		}
	}
	for _, s := range []struct{ status, reason, message string }{
		{"False", "KubeletNotReady", "node marked not ready by the test (controlplane.SetNodeReady)"},
		{"Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status."},
	} {
		paths = append(paths, filepath.Join(dir, "node-ready-"+strings.ToLower(s.status)+".yaml"))
		stage := fmt.Sprintf(notReadyStage, strings.ToLower(s.status), NodeReadyLabel, s.status, s.reason, s.message)
		if err := os.WriteFile(paths[len(paths)-1], []byte(stage), 0o644); err != nil {
			return nil, err
		}
	}
	return paths, nil
}

// notReadyStage is a kwok stage that sets a labelled node's Ready
// condition, once: %[1]s names it, %[2]s is the label, %[3]s the status it
// asks for, %[4]s and %[5]s the condition's reason and message.
const notReadyStage = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: node-ready-%[1]s
spec:
  resourceRef:
    apiGroup: v1
    kind: Node
  selector:
    matchExpressions:
    - key: '.metadata.labels["%[2]s"]'
      operator: 'In'
      values: ['%[3]s']
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'NotIn'
      values: ['%[3]s']
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      {{ range NodeConditions }}
      - lastHeartbeatTime: {{ $now | Quote }}
        lastTransitionTime: {{ $now | Quote }}
        type: {{ .type | Quote }}
      {{ if eq .type "Ready" }}
        status: %[3]q
        reason: %[4]q
        message: %[5]q
      {{ else }}
        status: {{ .status | Quote }}
        reason: {{ .reason | Quote }}
        message: {{ .message | Quote }}
      {{ end }}
      {{ end }}
`
