package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSnapshotRoundTrip(t *testing.T) {
	h := Header{
		Created: time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC), Context: "prod", Server: "https://127.0.0.1:6443",
		ServerVersion: "v1.36.3", Namespace: "shop",
		Types:  []Type{{Key: "Deployment", Group: "apps", Version: "v1", Resource: "deployments", Namespaced: true}},
		Unread: []Unread{{Type: Type{Key: "Node", Version: "v1", Resource: "nodes"}, Reason: "cluster-scoped, outside namespace shop", OutOfScope: true}},
	}
	items := []map[string]any{
		{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "web", "namespace": "shop"}, "spec": map[string]any{"replicas": int64(3)}},
		{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "api", "namespace": "shop"}, "spec": map[string]any{"ratio": 0.5}},
	}
	for _, name := range []string{"snap.json", "snap.json.gz"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name)
			if err := WriteSnapshot(path, h, items); err != nil {
				t.Fatal(err)
			}
			var got []map[string]any
			gotH, err := ReadSnapshot(path, func(m map[string]any) error { got = append(got, m); return nil })
			if err != nil {
				t.Fatal(err)
			}
			want := h
			want.APIVersion, want.Kind = SnapshotAPIVersion, SnapshotKind
			if d := cmp.Diff(want, *gotH); d != "" {
				t.Errorf("header (-want +got):\n%s", d)
			}
			// Integers come back as int64, as from the API client.
			if d := cmp.Diff(items, got); d != "" {
				t.Errorf("items (-want +got):\n%s", d)
			}
			entries, _ := os.ReadDir(filepath.Dir(path))
			if len(entries) != 1 {
				t.Errorf("got %d files in the directory, want only the snapshot (no temporary left)", len(entries))
			}
		})
	}
}

func TestSnapshotRefusesWhatIsNotOne(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full.json")
	if err := WriteSnapshot(full, Header{Server: "s"}, []map[string]any{{"kind": "Pod"}}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(full)
	cases := map[string]string{
		"cut short":  string(data[:len(data)-10]),
		"other kind": strings.Replace(string(data), `"Snapshot"`, `"List"`, 1),
		"no items":   `{"apiVersion":"plimsoll.dev/v1alpha1","kind":"Snapshot"}`,
		"not json":   "apiVersion: v1\n",
		"empty":      "",
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
			os.WriteFile(path, []byte(content), 0o600)
			_, err := ReadSnapshot(path, func(map[string]any) error { return nil })
			if err == nil || !strings.Contains(err.Error(), "not a plimsoll snapshot") {
				t.Errorf("got error %v, want it to say the file is not a plimsoll snapshot", err)
			}
		})
	}
}

func TestTrimDropsWhatIsNeverKept(t *testing.T) {
	cm := map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{
			"name": "c", "managedFields": []any{map[string]any{"manager": "kubectl"}},
			"annotations": map[string]any{"kubectl.kubernetes.io/last-applied-configuration": `{"data":{"password":"hunter2"}}`},
		},
		"data": map[string]any{"password": "hunter2"}, "binaryData": map[string]any{"k": "aGk="},
	}
	Trim(cm)
	// A ConfigMap keeps its keys, for references to them, but no value.
	want := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c"},
		"data": map[string]any{"password": nil}, "binaryData": map[string]any{"k": nil}}
	if d := cmp.Diff(want, cm); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	secret := map[string]any{
		"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "s"},
		"data": map[string]any{"password": "aHVudGVyMg=="}, "stringData": map[string]any{"token": "hunter2"},
	}
	Trim(secret)
	if d := cmp.Diff(map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "s"}}, secret); d != "" {
		t.Errorf("a Secret keeps nothing it holds (-want +got):\n%s", d)
	}
}
