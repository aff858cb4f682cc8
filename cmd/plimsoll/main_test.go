package main

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain runs plimsoll itself when the test re-executes its own binary,
// so that a test can signal a real plimsoll process.
func TestMain(m *testing.M) {
	if os.Getenv("PLIMSOLL_TEST_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// TestSignalEndsAnAudit starts an audit of a standard input that never
// ends, sends SIGTERM, and requires the process to exit promptly with exit
// 2, saying it was interrupted, and with no report on standard output.
func TestSignalEndsAnAudit(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "audit", "-", "-o", "json")
			cmd.Env = append(os.Environ(), "PLIMSOLL_TEST_RUN_MAIN=1")
			stdin, err := cmd.StdinPipe() // held open: the input never ends
			if err != nil {
				t.Fatal(err)
			}
			defer stdin.Close()
			var out, errOut strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &errOut
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// More than a pipe holds: the write returns only once plimsoll
			// reads, so its handling of signals, set up before it reads
			// anything, is in place however slowly it started.
			input := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n" + strings.Repeat("# padding, more than a pipe buffers\n", 8<<10)
			if _, err := stdin.Write([]byte(input)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond) // let it read on
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case err = <-exited:
			case <-time.After(time.Minute):
				cmd.Process.Kill()
				t.Fatalf("plimsoll did not exit within a minute of %s\nstderr:\n%s", sig, errOut.String())
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Errorf("got %v, want exit 2", err)
			}
			if out.Len() != 0 || !strings.Contains(errOut.String(), "interrupted") {
				t.Errorf("got stdout %q and stderr %q, want no report and a word that it was interrupted", out.String(), errOut.String())
			}
		})
	}
}
