package files_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/checks"
	"github.com/plimsoll/plimsoll/internal/fix"
	"github.com/plimsoll/plimsoll/internal/fix/files"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/manifest"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// FuzzFix holds the whole of plimsoll fix to its promise: any input that
// loads either fixes cleanly (each edited file loads again without an
// error, keeps every comment it had, and audits with no failure the proof
// did not foresee) or is refused with an error naming a line.
func FuzzFix(f *testing.F) {
	for _, seed := range []string{
		"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web # the shop\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27 # pinned\n",
		"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  serviceAccountName: a\n  containers:\n    - name: c\n      image: c:1\n      securityContext: {privileged: false}\n",
		"apiVersion: apps/v1\r\nkind: StatefulSet\r\nmetadata:\r\n  name: db\r\nspec:\r\n  serviceName: db\r\n  selector:\r\n    matchLabels: &l {app: db}\r\n  template:\r\n    metadata:\r\n      labels: *l\r\n    spec:\r\n      containers: [{name: db, image: 'db:1'}]\r\n",
	} {
		f.Add(seed)
	}
	reg := checks.Registry()
	f.Fuzz(func(t *testing.T, input string) {
		dir := t.TempDir()
		path := filepath.Join(dir, "in.yaml")
		if err := os.WriteFile(path, []byte(input), 0o644); err != nil {
			t.Fatal(err)
		}
		loaded := manifest.Load(context.Background(), []string{dir}, manifest.Options{})
		if len(loaded.Errors) > 0 || len(loaded.Objects) == 0 {
			return // fix refuses input that does not load
		}
		run := func(objs []*inventory.Object) *audit.Audit {
			return audit.Run(platform.Inventory(inventory.FromManifests, objs), audit.Options{Registry: reg})
		}
		plan := func(objs []*inventory.Object, a *audit.Audit) []fix.Change {
			return fix.Plan(platform.Inventory(inventory.FromManifests, objs), a, fix.Options{})
		}
		before := run(loaded.Objects)
		out := fix.Prove(loaded.Objects, plan(loaded.Objects, before), false, before, run, plan)
		fs, _, err := files.Plan(out.Applied, dir)
		if err != nil {
			if !strings.Contains(err.Error(), "line ") {
				t.Fatalf("refused without naming a line: %v", err)
			}
			return
		}
		if err := files.Write(fs); err != nil {
			t.Fatal(err)
		}
		again := manifest.Load(context.Background(), []string{dir}, manifest.Options{})
		if len(again.Errors) > 0 {
			t.Fatalf("the fixed files do not load: %v\n%s", again.Errors[0], readAll(t, dir))
		}
		for _, c := range comments(t, input) {
			if got, _ := os.ReadFile(path); !strings.Contains(string(got), c) {
				t.Fatalf("comment %q lost:\n%s", c, got)
			}
		}
		count := func(a *audit.Audit) map[string]int {
			m := map[string]int{}
			for _, r := range a.Results {
				if r.Status == audit.Fail {
					m[r.Check.ID+" "+r.Object.ID()]++
				}
			}
			return m
		}
		was := count(before)
		for k, n := range count(run(again.Objects)) {
			if n > was[k] {
				t.Fatalf("a new failure after writing the fixes: %s\n%s", k, readAll(t, dir))
			}
		}
	})
}

// comments returns the comments of a YAML text, as its parser reads them.
func comments(t *testing.T, input string) []string {
	var out []string
	dec := yaml.NewDecoder(strings.NewReader(input))
	for {
		var n yaml.Node
		if dec.Decode(&n) != nil {
			return out
		}
		var walk func(*yaml.Node)
		walk = func(n *yaml.Node) {
			for _, c := range []string{n.HeadComment, n.LineComment, n.FootComment} {
				for _, line := range strings.Split(c, "\n") {
					if line = strings.TrimSpace(line); line != "" {
						out = append(out, line)
					}
				}
			}
			for _, k := range n.Content {
				walk(k)
			}
		}
		walk(&n)
	}
}

func readAll(t *testing.T, dir string) string {
	var b strings.Builder
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		b.WriteString("== " + e.Name() + "\n" + string(data))
	}
	return b.String()
}
