package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// writeSBOM writes the SBOM of p's archive: the modules linked into its
// binary, as the Go toolchain recorded them in it, with the release's
// version for plimsoll itself. It reads the binary (cyclonedx-gomod bin)
// rather than the module (app): what ships is what the binary holds, and
// the app mode reads the version from git with a library that cannot open
// a git worktree. No serial number and no timestamp, so that the SBOM is
// reproducible.
func writeSBOM(ctx context.Context, o options, p platform, bin string) error {
	name := strings.TrimSuffix(o.archiveName(p), p.ext()) + ".sbom.cdx.json"
	cmd := exec.CommandContext(ctx, o.cyclonedx, "bin", "-json", "-noserial", "-notimestamp",
		"-version", o.version, "-output", filepath.Join(o.out, name), bin)
	cmd.Dir = o.root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("cyclonedx-gomod for %s/%s: %w\n%s", p.OS, p.Arch, err, out)
	}
	return nil
}
