// Command plimsoll tells a platform team how far a Kubernetes cluster and
// its workloads are from production-ready. All logic lives in internal/;
// this file only wires the process to it.
package main

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/plimsoll/plimsoll/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	dir, _ := os.Getwd()
	streams := cli.Streams{
		In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		OutIsTerminal: term.IsTerminal(int(os.Stdout.Fd())),
		ErrIsTerminal: term.IsTerminal(int(os.Stderr.Fd())),
		Getenv:        os.Getenv,
		Dir:           dir,
		Now:           time.Now,
		// kubectl runs plimsoll as a plugin when it is installed as
		// kubectl-plimsoll; the name tells it how to speak of itself.
		Name: filepath.Base(os.Args[0]),
	}
	if streams.OutIsTerminal {
		if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
			streams.Width = w
		}
	}
	code := cli.Main(ctx, os.Args[1:], streams)
	stop()
	os.Exit(code)
}
