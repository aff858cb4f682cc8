// Package browser tests the HTML report in a real browser: headless
// Chromium opens `plimsoll audit -o html` of examples/not-ready from a
// file, runs its script and renders it, inside a network namespace that
// has only loopback, so the page cannot reach anything even if it tried.
// Some tests dump the page's DOM; others use it as a reviewer does, typing
// and clicking through the DevTools protocol (see tab).
package browser

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/plimsoll/plimsoll/test/controlplane"
)

// TestMain moves the tests into a network namespace of their own
// (controlplane.InNetns, which needs root and iproute2), as the e2e tests
// are. With -short, and the CI environment variable empty, it prints that
// the package is skipped.
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() && os.Getenv("CI") == "" {
		fmt.Println("browser: -short: skipping the tests that need Chromium and a network namespace")
		os.Exit(0)
	}
	controlplane.InNetns()
	os.Exit(m.Run())
}
