package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// build cross-compiles plimsoll for p, reproducibly: no cgo, no paths of
// this machine (-trimpath), no build ID, no VCS stamp of the toolchain's
// (the commit is passed explicitly, since a release is built with
// -buildvcs=false), and the version and commit set in internal/cli.
func build(ctx context.Context, o options, p platform, work string) (string, error) {
	bin := filepath.Join(work, p.OS+"_"+p.Arch, p.exe())
	ldflags := strings.Join([]string{
		"-s", "-w", "-buildid=",
		"-X", module + "/internal/cli.Version=" + o.version,
		"-X", module + "/internal/cli.Commit=" + o.commit,
	}, " ")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", bin, "./cmd/plimsoll")
	cmd.Dir = o.root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Arch,
		// The defaults, named so that a setting in the environment cannot
		// change what is built.
		"GOAMD64=v1", "GOARM64=v8.0", "GOFLAGS=-mod=readonly")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build for %s/%s: %w", p.OS, p.Arch, err)
	}
	return bin, nil
}
