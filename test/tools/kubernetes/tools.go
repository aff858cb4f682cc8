//go:build tools

// Package tools pins the Kubernetes control-plane components (and kubectl, the
// floor of the live-audit benchmark) that the e2e tests build from the Go
// module proxy. It is its own module so that k8s.io/kubernetes never enters
// plimsoll's dependency graph.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
