package checks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks/checktest"
	"github.com/plimsoll/plimsoll/internal/config"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/manifest"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// customReaders may consult custom resources no list of kinds can name in
// advance: any custom resource carrying a pod template, or the custom kind
// an HPA's scaleTargetRef names. Only the kind keys of custom resources
// (Kind.group) are let through for them.
var customReaders = map[string]bool{
	"service-selector-matches":   true,
	"pdb-selects-pods":           true,
	"networkpolicy-selects-pods": true,
	"hpa-target-cpu-requests":    true,
	"hpa-target-exists":          true,
	// Peers are matched against the pods of custom resources too.
	"networkpolicy-peers-select-pods": true,
	"networkpolicy-ports-declared":    true,
}

// traceInput is one inventory the read trace runs checks over.
type traceInput struct {
	name   string
	inv    *inventory.Inventory
	params check.Params
	// objects are the inventory's objects, listed before the trace is on:
	// listing them is the engine's doing, not a check's.
	objects []*inventory.Object
}

// TestReadsDeclared proves that Reads are complete and exact. It runs every
// check, optional ones included, over every fixture, the examples and the
// corpus, each read both as manifests and as a cluster, with the
// inventory's trace on. A check that consults a kind its Needs do not name
// would be assessed from a partial inventory when a cluster refuses to list
// that kind; a kind it declares but never consults would make it
// unassessable for nothing.
func TestReadsDeclared(t *testing.T) {
	reg := Registry()
	inputs := traceInputs(t, reg)
	read := map[string]map[string]bool{} // check ID -> kind keys consulted
	for _, c := range reg.All() {
		read[c.ID] = map[string]bool{}
		needs := map[string]bool{}
		for _, k := range c.Needs() {
			needs[k] = true
		}
		for _, in := range inputs {
			touched := map[string]bool{}
			in.inv.Trace(func(key string) { touched[key] = true })
			runCheck(t, c, in)
			in.inv.Trace(nil)
			for key := range touched {
				read[c.ID][key] = true
				if needs[key] || (customReaders[c.ID] && custom(key)) {
					continue
				}
				t.Errorf("check %s read kind %s on %s, but its Kinds and Reads do not name it", c.ID, key, in.name)
				needs[key] = true // once per check is enough
			}
		}
	}
	for _, c := range reg.All() {
		for _, k := range c.Reads {
			if !read[c.ID][k] {
				t.Errorf("check %s declares Reads %s, but no input made it read that kind", c.ID, k)
			}
		}
	}
}

// runCheck runs a check on every object the engine would hand it, as the
// engine does: Applies first, Run only where it applies.
func runCheck(t *testing.T, c *check.Check, in traceInput) {
	t.Helper()
	ctx := &check.Context{Inventory: in.inv, Params: &in.params}
	for _, o := range in.objects {
		if o.Controlled() || !c.AppliesToKind(o.KindKey()) {
			continue
		}
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("check %s panicked on %s in %s: %v", c.ID, o.ID(), in.name, p)
				}
			}()
			if c.Applies != nil {
				if ok, _ := c.Applies(o, ctx); !ok {
					return
				}
			}
			c.Run(o, ctx)
		}()
	}
}

// custom reports whether a kind key names a kind plimsoll does not decode.
func custom(key string) bool { return strings.Contains(key, ".") }

// traceInputs loads every fixture file (with its check's config.yaml
// parameters), every check's Example, the examples and the corpus, each as
// manifests and as a cluster.
func traceInputs(t *testing.T, reg *check.Registry) []traceInput {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var inputs []traceInput
	add := func(name string, objects []*inventory.Object, params check.Params) {
		for _, mode := range []inventory.Mode{inventory.FromManifests, inventory.FromCluster} {
			inv := platform.Inventory(mode, objects)
			inputs = append(inputs, traceInput{fmt.Sprintf("%s (%s)", name, mode), inv, params, inv.Objects()})
		}
	}
	for _, f := range files {
		if filepath.Base(f) == "config.yaml" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		loaded := manifest.Parse(f, data, inventory.Source{File: f})
		add(f, loaded.Objects, dirParams(t, filepath.Dir(f), reg))
	}
	for _, c := range reg.All() {
		name := "the example of " + c.ID
		loaded := manifest.Parse(name, []byte(c.Example), inventory.Source{File: name})
		add(name, loaded.Objects, check.Defaults())
	}
	examples := manifest.Load(context.Background(), []string{filepath.Join("..", "..", "examples")}, manifest.Options{})
	if len(examples.Errors) > 0 {
		t.Fatalf("loading the examples: %v", examples.Errors[0])
	}
	add("examples", examples.Objects, check.Defaults())
	add("corpus", checktest.CorpusObjects(t), check.Defaults())
	sort.SliceStable(inputs, func(i, j int) bool { return inputs[i].name < inputs[j].name })
	return inputs
}

// dirParams returns the parameters a fixture directory's config.yaml sets,
// or the defaults.
func dirParams(t *testing.T, dir string, reg *check.Registry) check.Params {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "config.yaml"))
	if err != nil {
		return check.Defaults()
	}
	defer f.Close()
	cfg, err := config.Decode(f, reg)
	if err != nil {
		t.Fatalf("%s/config.yaml: %v", dir, err)
	}
	return cfg.Parameters
}
