package cli

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks"
	"github.com/plimsoll/plimsoll/internal/checks/custom"
	"github.com/plimsoll/plimsoll/internal/config"
	"github.com/plimsoll/plimsoll/internal/report"
)

// addChecksFlag adds --checks, the custom checks a command loads besides
// the configuration's checks.custom.
func addChecksFlag(f *pflag.FlagSet, paths *[]string) {
	f.StringArrayVar(paths, "checks", nil, "load custom checks written in CEL from this file or directory (repeatable; see the README's \"Custom checks\")")
}

// checkSet is every check a command runs: the built-in ones and the custom
// ones, with what could not be loaded of the latter.
type checkSet struct {
	Registry *check.Registry
	Custom   *custom.Set
	// Admission are the checks of a cluster's own admission policies,
	// when the command judges by them (see addAdmission); base is the
	// registry before they were added.
	Admission *custom.AdmissionSet
	base      *check.Registry
}

// loadChecks loads the custom checks of the configuration file (file, or
// the one found upward from dir) and of paths, and returns the registry of
// every check. A custom check that cannot be loaded is in Custom.Errors;
// the others are loaded.
func loadChecks(file, dir string, paths []string) (*checkSet, error) {
	if file == "" {
		file = config.Find(dir)
	}
	if file != "" {
		fromConfig, err := config.CustomChecks(file)
		if err != nil {
			return nil, err
		}
		paths = append(fromConfig, paths...)
	}
	builtin := checks.All()
	isBuiltin := func(id string) bool {
		for _, c := range builtin {
			if c.ID == id {
				return true
			}
		}
		return false
	}
	set := custom.Load(paths, isBuiltin)
	reg, err := check.NewRegistry(append(builtin, set.All()...))
	if err != nil {
		return nil, err // Load refuses what the registry would
	}
	return &checkSet{Registry: reg, Custom: set}, nil
}

// InputErrors are the custom check files that could not be loaded, as
// the report lists inputs that could not be read.
func (cs *checkSet) InputErrors() []report.InputError {
	var out []report.InputError
	for _, e := range cs.Custom.Errors {
		out = append(out, report.InputError{File: e.File, Line: e.Line, Message: "custom check: " + e.Err.Error()})
	}
	return append(out, cs.admissionInputErrors()...)
}

// loadErrors prints what could not be loaded of the custom checks, and
// returns the error that makes the run partial, or nil.
func (cs *checkSet) loadErrors(s Streams) error {
	for _, e := range cs.Custom.Errors {
		fmt.Fprintln(s.Err, "plimsoll: cannot load", report.EscapeTerminal(e.Error()))
	}
	n := len(cs.Custom.Errors)
	if cs.Admission != nil {
		for _, e := range cs.Admission.Errors {
			fmt.Fprintln(s.Err, "plimsoll: cannot judge by", report.EscapeTerminal(e.Error()))
		}
		n += len(cs.Admission.Errors)
	}
	if n > 0 {
		return &exitError{ExitPartial, fmt.Errorf("%d custom check or admission policy file(s) or document(s) could not be loaded", n)}
	}
	return nil
}
