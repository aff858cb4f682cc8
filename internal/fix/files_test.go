package fix_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/fix"
	"github.com/plimsoll/plimsoll/internal/fix/files"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/pipeline"
	"github.com/plimsoll/plimsoll/internal/platform"
)

func TestDiffOfNotReady(t *testing.T) {
	dir := t.TempDir()
	src := "../../examples/not-ready"
	entries, _ := os.ReadDir(src)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(src, e.Name()))
		os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644)
	}
	in, err := pipeline.Read(context.Background(), pipeline.Source{Paths: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	run := auditor(t)
	before := run(in.Objects)
	plan := func(objs []*inventory.Object, a *audit.Audit) []fix.Change {
		return fix.Plan(platform.Inventory(inventory.FromManifests, objs), a, fix.Options{})
	}
	out := fix.Prove(in.Objects, plan(in.Objects, before), false, before, run, plan)
	fs, unplaced, err := files.Plan(out.Applied, dir)
	if err != nil {
		t.Fatal(err)
	}
	d, err := files.Diff(fs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d files, %d unplaced\n%s", len(fs), len(unplaced), d)
}
