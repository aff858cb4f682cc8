// Command apischema writes the OpenAPI schemas and the resource table of the
// built-in Kubernetes APIs that internal/policy embeds: what kube-apiserver
// publishes at /openapi/v3, for the release whose k8s.io/api go.mod
// requires. They are taken from the api/openapi-spec/v3 documents of the
// k8s.io/kubernetes module at that release, which the Go module proxy
// serves; plimsoll does not import that module.
//
// For each group version it keeps only components.schemas, without the
// descriptions (nine tenths of the bytes, and nothing a type checker
// reads), gzipped. From the documents' paths it writes resources.json: each
// resource a group version serves (not its subresources), the kind it
// holds, and whether it lives in namespaces. The output is deterministic.
//
//	go run ./hack/apischema        # rewrites internal/policy/apischema
//
// A test in internal/policy fails when the release recorded there is not
// the one k8s.io/api is at.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/plimsoll/plimsoll/internal/policy"
)

const out = "internal/policy/apischema"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "apischema:", err)
		os.Exit(1)
	}
}

// Table is resources.json.
type Table struct {
	// Kubernetes is the release the schemas are of.
	Kubernetes string            `json:"kubernetes"`
	Resources  []policy.Resource `json:"resources"`
}

func run() error {
	apiVersion, err := goOutput("list", "-m", "-f", "{{.Version}}", "k8s.io/api")
	if err != nil {
		return err
	}
	// k8s.io/api v0.X.Y is Kubernetes v1.X.Y.
	release := "v1" + strings.TrimPrefix(apiVersion, "v0")
	dir, err := goOutput("mod", "download", "-json", "k8s.io/kubernetes@"+release)
	if err != nil {
		return err
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal([]byte(dir), &mod); err != nil {
		return err
	}
	specs := filepath.Join(mod.Dir, "api", "openapi-spec", "v3")
	entries, err := os.ReadDir(specs)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	table := Table{Kubernetes: release}
	for _, e := range entries {
		path, ok := groupVersionPath(e.Name())
		if !ok {
			continue
		}
		data, err := os.ReadFile(filepath.Join(specs, e.Name()))
		if err != nil {
			return err
		}
		var doc struct {
			Paths      map[string]map[string]any `json:"paths"`
			Components struct {
				Schemas map[string]any `json:"schemas"`
			} `json:"components"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			return fmt.Errorf("%s: %w", e.Name(), err)
		}
		table.Resources = append(table.Resources, resources(path, doc.Paths)...)
		schemas := map[string]any{"components": map[string]any{"schemas": withoutDescriptions(doc.Components.Schemas)}}
		if err := writeGzip(filepath.Join(out, e.Name()+".gz"), schemas); err != nil {
			return err
		}
	}
	slices.SortFunc(table.Resources, func(a, b policy.Resource) int {
		return strings.Compare(a.Group+"/"+a.Version+"/"+a.Resource, b.Group+"/"+b.Version+"/"+b.Resource)
	})
	b, err := json.MarshalIndent(table, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "resources.json"), append(b, '\n'), 0o644)
}

// groupVersionPath reads the API path of a group version's document
// (apis__apps__v1_openapi.json is apis/apps/v1), and false for the other
// documents (the group lists, /version, /logs).
func groupVersionPath(name string) (string, bool) {
	base, ok := strings.CutSuffix(name, "_openapi.json")
	if !ok {
		return "", false
	}
	path := strings.ReplaceAll(base, "__", "/")
	switch parts := strings.Split(path, "/"); {
	case parts[0] == "api" && len(parts) == 2, parts[0] == "apis" && len(parts) == 3:
		return path, true
	}
	return "", false
}

// resources reads the resources a group version serves from its paths: a
// collection path (.../deployments, .../namespaces/{namespace}/deployments)
// whose operations name the kind they hold.
func resources(gvPath string, paths map[string]map[string]any) []policy.Resource {
	parts := strings.Split(gvPath, "/")
	group, version := "", parts[len(parts)-1]
	if parts[0] == "apis" {
		group = parts[1]
	}
	byName := map[string]*policy.Resource{}
	for p, ops := range paths {
		rest := strings.Split(strings.Trim(strings.TrimPrefix(p, "/"+gvPath), "/"), "/")
		namespaced := false
		if len(rest) == 3 && rest[0] == "namespaces" && rest[1] == "{namespace}" {
			rest, namespaced = rest[2:], true
		}
		if len(rest) != 1 || rest[0] == "" || strings.HasPrefix(rest[0], "{") {
			continue
		}
		kind := kindOf(ops)
		if kind == "" {
			continue
		}
		r := byName[rest[0]]
		if r == nil {
			r = &policy.Resource{Group: group, Version: version, Resource: rest[0], Kind: kind}
			byName[rest[0]] = r
		}
		r.Namespaced = r.Namespaced || namespaced
	}
	var out []policy.Resource
	for _, r := range byName {
		out = append(out, *r)
	}
	return out
}

// kindOf is the kind a path's list or create operation names.
func kindOf(ops map[string]any) string {
	for _, method := range []string{"post", "get"} {
		op, _ := ops[method].(map[string]any)
		action, _ := op["x-kubernetes-action"].(string)
		gvk, _ := op["x-kubernetes-group-version-kind"].(map[string]any)
		if kind, _ := gvk["kind"].(string); kind != "" && (action == "post" || action == "list") {
			return kind
		}
	}
	return ""
}

func withoutDescriptions(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			if k != "description" {
				out[k] = withoutDescriptions(x)
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = withoutDescriptions(x)
		}
		return out
	}
	return v
}

func writeGzip(path string, v any) error {
	data, err := json.Marshal(v) // map keys sorted: deterministic
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write(data); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

func goOutput(args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(b)), nil
}
