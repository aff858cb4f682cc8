package manifest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/kustomize/api/provider"

	"github.com/plimsoll/plimsoll/internal/inventory"
)

func TestLoadKustomize(t *testing.T) {
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		dir         string
		wantErrors  []string // with the working directory as <cwd>
		wantObjects []string // "Source ID"
		// wantAnnotations are each object's annotations, by ID.
		wantAnnotations map[string]map[string]string
		wantReplicas    int32
	}{
		{
			name: "overlay over a base",
			dir:  "testdata/kustomize/overlay",
			wantObjects: []string{
				"testdata/kustomize/base/deployment.yaml (kustomize build testdata/kustomize/overlay) Deployment prod/prod-web",
				"testdata/kustomize/base/service.yaml (kustomize build testdata/kustomize/overlay) Service prod/prod-web",
				"testdata/kustomize/overlay/pdb.yaml (kustomize build testdata/kustomize/overlay) PodDisruptionBudget prod/prod-web",
			},
			wantAnnotations: map[string]map[string]string{
				"Deployment prod/prod-web":          {"team": "shop"},
				"Service prod/prod-web":             nil,
				"PodDisruptionBudget prod/prod-web": nil,
			},
			wantReplicas: 3,
		},
		{
			name: "base alone",
			dir:  "testdata/kustomize/base",
			wantObjects: []string{
				"testdata/kustomize/base/deployment.yaml (kustomize build testdata/kustomize/base) Deployment web",
				"testdata/kustomize/base/service.yaml (kustomize build testdata/kustomize/base) Service web",
			},
			wantAnnotations: map[string]map[string]string{
				"Deployment web": {"team": "shop"},
				"Service web":    nil,
			},
			wantReplicas: 1,
		},
		{
			// The loader's own checks run on what Kustomize built as on
			// what it reads from a file.
			name: "objects the API server refuses",
			dir:  "testdata/kustomize/refused",
			wantErrors: []string{
				"testdata/kustomize/refused/resources.yaml: apiVersion v1 has no kind Deployment; the API serves Deployment as apps/v1",
				`testdata/kustomize/refused/resources.yaml: Secret creds: the value of key "password" in data is not base64 (the value is not shown: it may be secret)`,
				`testdata/kustomize/refused/resources.yaml: ConfigMap settings: the value of key "port" in data is a number, want a string`,
				`testdata/kustomize/refused/resources.yaml: kind is "5", not a string, so the document is not a Kubernetes object`,
				`testdata/kustomize/refused/resources.yaml: Deployment unserved: no matches for kind "Deployment" in version "apps/v1beta9"; the API serves Deployment as apps/v1`,
			},
			wantObjects: []string{
				"testdata/kustomize/refused/resources.yaml (kustomize build testdata/kustomize/refused) ConfigMap fine",
			},
			wantAnnotations: map[string]map[string]string{"ConfigMap fine": nil},
		},
		{
			name: "missing resource",
			dir:  "testdata/kustomize/broken",
			wantErrors: []string{"testdata/kustomize/broken: kustomize build: accumulating resources: " +
				"accumulation err='accumulating resources from 'missing.yaml': evalsymlink failure on " +
				"'<cwd>/testdata/kustomize/broken/missing.yaml' : lstat <cwd>/testdata/kustomize/broken/missing.yaml: " +
				"no such file or directory': must build at directory: not a valid directory: evalsymlink failure on " +
				"'<cwd>/testdata/kustomize/broken/missing.yaml' : lstat <cwd>/testdata/kustomize/broken/missing.yaml: " +
				"no such file or directory"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := LoadKustomize(tc.dir)
			var gotErrors []string
			for _, e := range errorTexts(res) {
				gotErrors = append(gotErrors, strings.ReplaceAll(e, cwd, "<cwd>"))
			}
			if diff := cmp.Diff(tc.wantErrors, gotErrors); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			var got []string
			gotAnnotations := map[string]map[string]string{}
			var replicas int32
			for _, o := range res.Objects {
				got = append(got, fmt.Sprintf("%s %s", o.Source, o.ID()))
				gotAnnotations[o.ID()] = o.Annotations
				// The typed object must agree: the origin annotation is
				// gone from both.
				if m, ok := o.Typed.(metav1.Object); ok {
					if diff := cmp.Diff(o.Annotations, m.GetAnnotations()); diff != "" {
						t.Errorf("%s: typed annotations differ (-object +typed):\n%s", o.ID(), diff)
					}
				}
				if r, ok := o.Replicas(); ok {
					replicas = r
				}
			}
			if diff := cmp.Diff(tc.wantObjects, got); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
			if len(tc.wantObjects) == 0 {
				return
			}
			if diff := cmp.Diff(tc.wantAnnotations, gotAnnotations); diff != "" {
				t.Errorf("annotations (-want +got):\n%s", diff)
			}
			if replicas != tc.wantReplicas {
				t.Errorf("got %d replicas, want %d", replicas, tc.wantReplicas)
			}
		})
	}
}

// TestBuiltResourceErrors reads resources Kustomize built but cannot read
// (a duplicate key): when their file's own parse finds errors, those are
// reported once, at the file's lines, for all its resources; when the file
// reads cleanly, or is remote, each resource is reported as Kustomize
// built it, none left out. No error shows a Secret's value.
func TestBuiltResourceErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	clean := filepath.Join(dir, "clean.yaml")
	const duplicates = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\ndata:\n  k: aHVudGVyMg==\n  k: aHVudGVyMw==\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n  name: b\ndata:\n  k: aHVudGVyMg==\n"
	for file, text := range map[string]string{
		bad:   duplicates,
		clean: "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n",
	} {
		if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	built, err := provider.NewDefaultDepProvider().GetResourceFactory().SliceFromBytes([]byte(duplicates))
	if err != nil || len(built) != 2 {
		t.Fatalf("got %d resources and error %v, want 2", len(built), err)
	}
	for _, tt := range []struct {
		name, file string
		want       []string
	}{
		{"a file with errors", bad, []string{
			bad + `:7: duplicate key "k" (first at line 6)`,
			bad + `:13: duplicate key "name" (first at line 12)`,
		}},
		{"a clean file", clean, []string{
			clean + `: Secret "a" as Kustomize built it: duplicate key "k" (first at line 6)`,
			clean + `: Secret "b" as Kustomize built it: duplicate key "name" (first at line 4)`,
		}},
		{"a remote base", "github.com/x/y//bad.yaml", []string{
			`github.com/x/y//bad.yaml: Secret "a" as Kustomize built it: duplicate key "k" (first at line 6)`,
			`github.com/x/y//bad.yaml: Secret "b" as Kustomize built it: duplicate key "name" (first at line 4)`,
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]bool{}
			var got []string
			for _, r := range built {
				for _, e := range builtResourceErrors(r, inventory.Source{File: tt.file}, files) {
					got = append(got, e.Error())
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			for _, e := range got {
				if strings.Contains(e, "aHVudGVy") {
					t.Errorf("error %q shows a secret value", e)
				}
			}
		})
	}
}
