package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X ...cli.Version=v1.2.3"
// (the release and the container image do). Without it, the version is
// the one the Go toolchain stamped into the binary (see buildVersion).
var Version = "dev"

// Commit is the commit plimsoll was built from, set at build time with
// -ldflags "-X ...cli.Commit=<sha>" (hack/release-snapshot does, since a
// release is built with -buildvcs=false and so carries no VCS stamp of
// the toolchain's). Without it, the commit is the toolchain's stamp.
var Commit = ""

// buildVersion is plimsoll's version and the commit it was built from: the
// version set at build time, else the module version the Go toolchain
// stamped (the tag "go install ...@v1.2.3" installed, or a pseudo-version
// naming the commit of a build in a checkout), else "dev"; the commit is
// the one set at build time (Commit), else the VCS revision stamped into a
// build in a checkout, "-dirty" when the work tree had changes, or "" when
// none was stamped (go install, go test).
func buildVersion() (version, commit string) {
	version = Version
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return version, shortCommit(Commit)
	}
	if v := info.Main.Version; version == "dev" && v != "" && v != "(devel)" {
		version = v
	}
	if Commit != "" {
		return version, shortCommit(Commit)
	}
	var modified bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	commit = shortCommit(commit)
	if commit != "" && modified {
		commit += "-dirty"
	}
	return version, commit
}

// shortCommit shortens a full commit hash to 12 hex digits, keeping a
// suffix such as "-dirty".
func shortCommit(c string) string {
	hash, suffix, _ := strings.Cut(c, "-")
	if len(hash) > 12 {
		hash = hash[:12]
	}
	if suffix != "" {
		return hash + "-" + suffix
	}
	return hash
}

// versionLine says what plimsoll version --version prints.
func versionLine() string {
	version, commit := buildVersion()
	if commit != "" {
		commit = "commit " + commit + ", "
	}
	return fmt.Sprintf("plimsoll %s (%s%s, %s/%s)", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// reportVersion is the version reports carry: the version, and the commit
// when one was stamped.
func reportVersion() string {
	version, commit := buildVersion()
	if commit != "" {
		return version + " (commit " + commit + ")"
	}
	return version
}

func newVersionCommand(s Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print plimsoll's version, the commit it was built from, and the Go release",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintln(s.Out, versionLine())
			return err
		},
	}
}
