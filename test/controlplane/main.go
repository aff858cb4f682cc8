package controlplane

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BinEnv names the environment variable that may hold Options.BinDir.
const BinEnv = "PLIMSOLL_TESTENV_BIN"

var shared *ControlPlane

// Shared returns the control plane that Main started for the package's
// tests. Tests that share it should use names (namespaces, nodes) of their
// own.
func Shared() *ControlPlane {
	if shared == nil {
		panic("controlplane.Shared: no control plane; call controlplane.Main(m) from TestMain")
	}
	return shared
}

// Main is the TestMain of a package whose tests need a control plane:
//
//	func TestMain(m *testing.M) { controlplane.Main(m) }
//
// users are the users the tests need besides AdminUser (see Options.Users).
// With -short, and the CI environment variable empty, it prints that the
// package is skipped and exits 0. Otherwise it builds or finds the
// binaries (while the network is still there), moves into a network
// namespace of its own (InNetns), starts one control plane for the package
// (Shared), runs the tests and stops it. If the control plane does not
// start, it prints why and exits 1: tests are never skipped silently. When
// tests fail it keeps the work directory, with the components' logs, and
// says where it is.
func Main(m *testing.M, users ...User) {
	MainWith(m, Options{Users: users})
}

// MainWith is Main with the control plane's Options (BinDir and Dir
// aside, which Main chooses).
func MainWith(m *testing.M, o Options) {
	flag.Parse()
	if testing.Short() && os.Getenv("CI") == "" {
		fmt.Println("controlplane: -short: skipping the tests that need a Kubernetes control plane")
		os.Exit(0)
	}
	if os.Getenv(NetnsEnv) == "" && checkIsolated() != nil {
		dir, err := binDir("")
		if err != nil {
			fmt.Fprintf(os.Stderr, "controlplane: %v\n", err)
			os.Exit(1)
		}
		os.Setenv(BinEnv, dir)
	}
	InNetns()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	start := time.Now()
	cp, err := Start(ctx, Options{Users: o.Users, Log: o.Log, ValidatingWebhooks: o.ValidatingWebhooks})
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "controlplane: cannot start the control plane: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "controlplane: started in %.1fs at %s\n", time.Since(start).Seconds(), cp.URL)
	shared = cp
	code := m.Run()
	if code != 0 {
		cp.tempDir = false
		fmt.Fprintf(os.Stderr, "controlplane: the components' logs are in %s\n", cp.Dir)
	}
	cp.Stop()
	os.Exit(code)
}

// binaries are what BinDir must hold.
var binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kwok"}

// binDir returns dir, else $PLIMSOLL_TESTENV_BIN, else the directory that
// hack/testcluster-build prints (building the binaries if they are not
// cached), after checking that it holds every binary.
func binDir(dir string) (string, error) {
	if dir == "" {
		dir = os.Getenv(BinEnv)
	}
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			return "", err
		}
		cmd := exec.Command(filepath.Join(root, "hack", "testcluster-build"))
		cmd.Stderr = os.Stderr // progress of a cold build, about 15 minutes
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("hack/testcluster-build: %w (a cold build needs the Go module proxy: run it outside any network namespace, or set %s)", err, BinEnv)
		}
		dir = strings.TrimSpace(string(out))
	}
	for _, name := range binaries {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return "", fmt.Errorf("control plane binaries: %w (build them with hack/testcluster-build)", err)
		}
	}
	return dir, nil
}

// repoRoot finds the plimsoll repository upward from the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(data, []byte("module github.com/plimsoll/plimsoll\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no plimsoll repository above the working directory to run hack/testcluster-build in; set " + BinEnv)
		}
		dir = parent
	}
}
