package controlplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
)

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// CRDFixtures is the directory of the unmodified upstream CRDs the tests
// install: ../shared/fixtures/crds beside the repository.
func CRDFixtures() (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "..", "shared", "fixtures", "crds"), nil
}

// InstallCRDs creates the CustomResourceDefinitions in paths (YAML files,
// or directories searched for them) that the API server does not have yet,
// and waits, at most a minute each, until it serves every one of them:
// Established, and listed by discovery in each served version, which can
// come a moment later (a client's RESTMapper would not find it before).
func (c *ControlPlane) InstallCRDs(ctx context.Context, paths ...string) error {
	config := c.RESTConfig(AdminUser)
	dyn, err := dynamic.NewForConfig(config)
	if err != nil {
		return err
	}
	disco, err := discovery.NewDiscoveryClientForConfig(config)
	if err != nil {
		return err
	}
	var crds []*unstructured.Unstructured
	for _, p := range paths {
		err := filepath.Walk(p, func(path string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() || !strings.HasSuffix(path, ".yaml") {
				return err
			}
			created, err := createCRDs(ctx, dyn, path)
			crds = append(crds, created...)
			return err
		})
		if err != nil {
			return err
		}
	}
	for _, crd := range crds {
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			got, err := dyn.Resource(crdResource).Get(ctx, crd.GetName(), metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			return established(got) && discovered(disco, got), nil
		})
		if err != nil {
			return fmt.Errorf("CRD %s is not served: %w", crd.GetName(), err)
		}
	}
	return nil
}

// established reports whether the CRD's Established condition is True.
func established(crd *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, cond := range conds {
		if m, _ := cond.(map[string]any); m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// discovered reports whether discovery lists the CRD's resource in every
// version it serves.
func discovered(disco discovery.DiscoveryInterface, crd *unstructured.Unstructured) bool {
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	for _, v := range versions {
		m, _ := v.(map[string]any)
		if served, _ := m["served"].(bool); !served {
			continue
		}
		name, _ := m["name"].(string)
		list, err := disco.ServerResourcesForGroupVersion(group + "/" + name)
		if err != nil || !slices.ContainsFunc(list.APIResources, func(r metav1.APIResource) bool { return r.Name == plural }) {
			return false
		}
	}
	return true
}

// createCRDs creates every CRD of one file and returns them.
func createCRDs(ctx context.Context, dyn dynamic.Interface, path string) ([]*unstructured.Unstructured, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var crds []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		crd := &unstructured.Unstructured{}
		if err := dec.Decode(&crd.Object); errors.Is(err, io.EOF) {
			return crds, nil
		} else if err != nil {
			return crds, fmt.Errorf("%s: %w", path, err)
		}
		if crd.GetKind() != "CustomResourceDefinition" {
			continue
		}
		if _, err := dyn.Resource(crdResource).Create(ctx, crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return crds, fmt.Errorf("create CRD %s: %w", crd.GetName(), err)
		}
		crds = append(crds, crd)
	}
}
