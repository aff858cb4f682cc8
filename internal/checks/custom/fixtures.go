package custom

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/plimsoll/plimsoll/internal/audit"
	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/config"
	"github.com/plimsoll/plimsoll/internal/inventory"
	"github.com/plimsoll/plimsoll/internal/manifest"
	"github.com/plimsoll/plimsoll/internal/platform"
)

// A check's fixtures sit beside its file, in a directory named after its
// ID: pass/*.yaml are manifests it must pass, fail/*.yaml manifests it must
// fail.
const (
	PassDir = "pass"
	FailDir = "fail"
)

// fixtureDir is where a check's fixtures are.
func fixtureDir(file, id string) string {
	return filepath.Join(filepath.Dir(file), id)
}

// fixtures lists the fixture files of one kind (PassDir or FailDir),
// sorted.
func fixtures(dir, want string) []string {
	var out []string
	for _, ext := range []string{"*.yaml", "*.yml", "*.json"} {
		m, _ := filepath.Glob(filepath.Join(dir, want, ext))
		out = append(out, m...)
	}
	slices.Sort(out)
	return out
}

// example is the first manifest a check must pass, which plimsoll checks
// explain shows; "" when it has none.
func example(file, id string) string {
	pass := fixtures(fixtureDir(file, id), PassDir)
	if len(pass) == 0 {
		return ""
	}
	b, err := os.ReadFile(pass[0])
	if err != nil {
		return ""
	}
	return string(b)
}

// FixtureResult is the outcome of one fixture.
type FixtureResult struct {
	// File is the fixture; Want is PassDir or FailDir.
	File, Want string
	// Got says what the check did on the fixture's objects, as "2 passed,
	// 1 failed".
	Got string
	// Details are the failures' messages and the reasons of what was not
	// assessed, each with its object.
	Details []string
	OK      bool
}

// TestResult is the outcome of a check's fixtures.
type TestResult struct {
	Check *Check
	// Missing says which kind of fixture the check lacks: every check needs
	// at least one it must pass and one it must fail.
	Missing  []string
	Fixtures []FixtureResult
}

// OK reports whether the check has both kinds of fixture and met every
// one.
func (r *TestResult) OK() bool {
	if len(r.Missing) > 0 {
		return false
	}
	for _, f := range r.Fixtures {
		if !f.OK {
			return false
		}
	}
	return true
}

// Test runs a check on each of its fixtures, as plimsoll audit runs it on
// manifests, the check alone and with the default configuration: on a pass
// fixture it must pass at least one object and fail none; on a fail
// fixture it must fail at least one. On either, an object it cannot assess
// or that makes it error fails the fixture. now is the clock the audit
// judges by.
func (c *Check) Test(ctx context.Context, now time.Time) TestResult {
	res := TestResult{Check: c}
	reg, err := check.NewRegistry([]*check.Check{c.Check})
	if err != nil {
		panic(err) // Load validated it
	}
	for _, want := range []string{PassDir, FailDir} {
		files := fixtures(c.Fixtures, want)
		if len(files) == 0 {
			res.Missing = append(res.Missing, filepath.Join(c.Fixtures, want, "*.yaml"))
		}
		for _, f := range files {
			res.Fixtures = append(res.Fixtures, c.testFixture(ctx, reg, f, want, now))
		}
	}
	return res
}

func (c *Check) testFixture(ctx context.Context, reg *check.Registry, file, want string, now time.Time) FixtureResult {
	out := FixtureResult{File: file, Want: want}
	loaded := manifest.Load(ctx, []string{file}, manifest.Options{})
	for _, e := range loaded.Errors {
		out.Details = append(out.Details, fmt.Sprintf("cannot read %s:%d: %v", e.File, e.Line, e.Err))
	}
	if len(loaded.Errors) > 0 {
		out.Got = "unreadable"
		return out
	}
	a := audit.Run(platform.Inventory(inventory.FromManifests, loaded.Objects), audit.Options{Registry: reg, Config: config.Default(), Now: now})
	var pass, fail, skip, unassessed, errored int
	for _, r := range a.Results {
		switch {
		case r.Status == audit.Pass:
			pass++
		case r.Status == audit.Fail:
			fail++
			out.Details = append(out.Details, r.Object.ID()+": "+r.Message)
		case r.Status == audit.Error:
			errored++
			out.Details = append(out.Details, r.Object.ID()+": "+r.Message)
		case r.Unassessed:
			unassessed++
			out.Details = append(out.Details, r.Object.ID()+": "+r.Message)
		default:
			skip++
		}
	}
	var got []string
	for _, n := range []struct {
		n    int
		what string
	}{{pass, "passed"}, {fail, "failed"}, {unassessed, "not assessed"}, {errored, "errored"}, {skip, "not applicable"}} {
		if n.n > 0 {
			got = append(got, fmt.Sprintf("%d %s", n.n, n.what))
		}
	}
	if len(got) == 0 {
		got = []string{"no object the check judges"}
	}
	out.Got = strings.Join(got, ", ")
	switch want {
	case PassDir:
		out.OK = pass > 0 && fail == 0 && unassessed == 0 && errored == 0
	case FailDir:
		out.OK = fail > 0 && unassessed == 0 && errored == 0
	}
	return out
}
