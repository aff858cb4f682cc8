// Command release builds plimsoll's release into a directory: an archive
// per platform (tar.gz, zip for Windows) holding the binary, LICENSE and
// README.md; an SBOM per archive (CycloneDX JSON); the krew manifest filled
// in from the archives; an OCI image of the Linux binaries; and a
// checksums file over all of them. hack/release-snapshot runs it with the
// version, commit and time taken from git.
//
// The output is reproducible: the same commit gives byte-identical files.
// Binaries are built with -trimpath and an empty build ID, archives hold
// their entries sorted, with the commit's time and owner 0, and gzip
// streams carry no name or time.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"
)

// module is the Go module the release builds.
const module = "github.com/plimsoll/plimsoll"

// platform is one target of the release.
type platform struct{ OS, Arch string }

func (p platform) exe() string {
	if p.OS == "windows" {
		return "plimsoll.exe"
	}
	return "plimsoll"
}

func (p platform) ext() string {
	if p.OS == "windows" {
		return ".zip"
	}
	return ".tar.gz"
}

// platforms are the release's targets. Neither the checksums, the krew
// manifest nor the image depend on their order (the first two are sorted
// or templated, the image lists its own), so it is
// chosen for hack/test, which runs this build beside the tests and compiles
// them as it compiles the release: linux/amd64 comes last, when the tests
// have long since compiled its packages into the Go build cache.
var platforms = []platform{
	{"linux", "arm64"},
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
	{"linux", "amd64"},
}

// options say what to build and where.
type options struct {
	root      string    // the module's checkout
	out       string    // an empty or absent directory for the release
	version   string    // what `plimsoll version` prints, and the archives' names carry
	commit    string    // the commit, with "-dirty" when the tree had changes
	date      time.Time // the commit's time: every file's time in the archives
	cyclonedx string    // the cyclonedx-gomod binary
}

func (o options) archiveName(p platform) string {
	return fmt.Sprintf("plimsoll_%s_%s_%s%s", o.version, p.OS, p.Arch, p.ext())
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	var o options
	var epoch int64
	fs := flag.NewFlagSet("release", flag.ContinueOnError)
	fs.StringVar(&o.root, "root", ".", "the module's checkout")
	fs.StringVar(&o.out, "out", "dist", "the directory to write the release to (absent or empty)")
	fs.StringVar(&o.version, "version", "", "the version, e.g. v1.2.3 or v0.0.0-snapshot+abc1234")
	fs.StringVar(&o.commit, "commit", "", "the full commit hash, with -dirty when the tree had changes")
	fs.Int64Var(&epoch, "source-date-epoch", -1, "the commit's time, in seconds since 1970")
	fs.StringVar(&o.cyclonedx, "cyclonedx", "", "the cyclonedx-gomod binary (hack/cyclonedx-build)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.version == "" || o.commit == "" || epoch < 0 || o.cyclonedx == "" {
		return fmt.Errorf("-version, -commit, -source-date-epoch and -cyclonedx are required")
	}
	o.date = time.Unix(epoch, 0).UTC()
	var err error
	if o.root, err = filepath.Abs(o.root); err != nil {
		return err
	}
	if o.out, err = filepath.Abs(o.out); err != nil {
		return err
	}
	if entries, err := os.ReadDir(o.out); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty: the release goes into an empty directory", o.out)
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "plimsoll-release-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	start := time.Now()
	bins := map[platform]string{}
	for _, p := range platforms {
		bin, err := build(ctx, o, p, work)
		if err != nil {
			return err
		}
		bins[p] = bin
		logf("built %s/%s (%s)", p.OS, p.Arch, since(start))
	}
	for _, p := range platforms {
		if err := writeArchive(o, p, bins[p]); err != nil {
			return err
		}
		if err := writeSBOM(ctx, o, p, bins[p]); err != nil {
			return err
		}
	}
	logf("wrote the archives and SBOMs (%s)", since(start))
	if err := writeImage(o, bins, work); err != nil {
		return err
	}
	logf("wrote the image (%s)", since(start))
	if err := writeKrew(o); err != nil {
		return err
	}
	if err := writeChecksums(o); err != nil {
		return err
	}
	logf("release %s in %s", o.version, o.out)
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "release: "+format+"\n", args...)
}

func since(t time.Time) string { return time.Since(t).Round(time.Second).String() }
