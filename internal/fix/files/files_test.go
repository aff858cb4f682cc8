package files_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/internal/fix"
	"github.com/plimsoll/plimsoll/internal/fix/files"
)

func TestWriteRefusesAFileChangedSinceRead(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	sa := "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a # keep me\n"
	for _, p := range []string{a, b} {
		if err := os.WriteFile(p, []byte(sa), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set := []fix.Set{{Path: []fix.Step{{Key: "automountServiceAccountToken"}}, Value: false}}
	applied := []fix.Applied{
		{Change: fix.Change{Target: fix.Ref{Kind: "ServiceAccount", Name: "a", File: a, Line: 1}, Sets: set}},
		{Change: fix.Change{Target: fix.Ref{Kind: "ServiceAccount", Name: "a", File: b, Line: 1}, Sets: set}},
		{Change: fix.Change{Target: fix.Ref{Kind: "ConfigMap", Name: "new"}, Create: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "new"}}, File: "new.yaml"}},
	}
	fs, unplaced, err := files.Plan(applied, dir)
	if err != nil || len(fs) != 3 || len(unplaced) != 0 {
		t.Fatalf("plan: %d files, %d unplaced, %v", len(fs), len(unplaced), err)
	}
	if got := string(fs[0].New); !strings.Contains(got, "name: a # keep me") || !strings.Contains(got, "automountServiceAccountToken: false") {
		t.Errorf("edited file:\n%s", got)
	}
	// b changes between the read and the write: nothing is written.
	if err := os.WriteFile(b, []byte(sa+"# edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := files.Write(fs); err == nil || !strings.Contains(err.Error(), "changed since plimsoll read it") {
		t.Fatalf("got %v, want a refusal", err)
	}
	if now, _ := os.ReadFile(a); string(now) != sa {
		t.Error("a was written although the run was refused")
	}
	if _, err := os.Stat(filepath.Join(dir, "new.yaml")); !os.IsNotExist(err) {
		t.Error("the new file was written although the run was refused")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("left behind: %v", entries)
	}
	// A new file where one exists is refused at planning.
	if err := os.WriteFile(filepath.Join(dir, "new.yaml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := files.Plan(applied, dir); err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Errorf("got %v, want a refusal to overwrite", err)
	}
}
