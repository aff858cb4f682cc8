package controlplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
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
// and waits, at most a minute each, until it serves every one of them.
func (c *ControlPlane) InstallCRDs(ctx context.Context, paths ...string) error {
	dyn, err := dynamic.NewForConfig(c.RESTConfig(AdminUser))
	if err != nil {
		return err
	}
	var names []string
	for _, p := range paths {
		err := filepath.Walk(p, func(path string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() || !strings.HasSuffix(path, ".yaml") {
				return err
			}
			created, err := createCRDs(ctx, dyn, path)
			names = append(names, created...)
			return err
		})
		if err != nil {
			return err
		}
	}
	for _, name := range names {
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			got, err := dyn.Resource(crdResource).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
			for _, cond := range conds {
				if m, _ := cond.(map[string]any); m["type"] == "Established" && m["status"] == "True" {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("CRD %s is not established: %w", name, err)
		}
	}
	return nil
}

// createCRDs creates every CRD of one file and returns their names.
func createCRDs(ctx context.Context, dyn dynamic.Interface, path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var names []string
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		var crd unstructured.Unstructured
		if err := dec.Decode(&crd.Object); errors.Is(err, io.EOF) {
			return names, nil
		} else if err != nil {
			return names, fmt.Errorf("%s: %w", path, err)
		}
		if crd.GetKind() != "CustomResourceDefinition" {
			continue
		}
		if _, err := dyn.Resource(crdResource).Create(ctx, &crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return names, fmt.Errorf("create CRD %s: %w", crd.GetName(), err)
		}
		names = append(names, crd.GetName())
	}
}
