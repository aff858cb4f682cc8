// Command testcluster runs the tests' control plane, with kwok nodes, until
// it gets SIGINT or SIGTERM, for trying plimsoll against a cluster by hand.
// It must run in a network namespace that has only loopback: hack/testcluster
// starts it in one named plimsoll-dev.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/plimsoll/plimsoll/test/controlplane"
)

func main() {
	bin := flag.String("bin", os.Getenv(controlplane.BinEnv), "directory of the control plane's binaries (hack/testcluster-build prints it)")
	dir := flag.String("dir", filepath.Join(os.TempDir(), "plimsoll-dev"), "work directory: emptied first, kept afterwards (logs)")
	nodes := flag.Int("nodes", 3, "number of kwok worker nodes")
	zones := flag.String("zones", "zone-a,zone-b,zone-c", "comma-separated zones the nodes are spread over")
	netns := flag.String("netns", "plimsoll-dev", "name of the network namespace this runs in, for the instructions it prints")
	flag.Parse()
	if err := run(*bin, *dir, *nodes, strings.Split(*zones, ","), *netns); err != nil {
		fmt.Fprintf(os.Stderr, "testcluster: %v\n", err)
		os.Exit(1)
	}
}

func run(bin, dir string, nodes int, zones []string, netns string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	start := time.Now()
	cp, err := controlplane.Start(ctx, controlplane.Options{BinDir: bin, Dir: dir})
	if err != nil {
		return err
	}
	defer cp.Stop()
	fmt.Printf("testcluster: control plane up in %.1fs at %s\n", time.Since(start).Seconds(), cp.URL)
	var list []controlplane.Node
	for i := range nodes {
		list = append(list, controlplane.Node{Name: fmt.Sprintf("kwok-worker-%d", i+1), Zone: zones[i%len(zones)], Role: "worker"})
	}
	if err := cp.AddNodes(ctx, list...); err != nil {
		return err
	}
	kubeconfig := cp.Kubeconfig(controlplane.AdminUser)
	fmt.Printf("testcluster: %d kwok nodes Ready, spread over zones %s, after %.1fs\n", nodes, strings.Join(zones[:min(nodes, len(zones))], ","), time.Since(start).Seconds())
	fmt.Printf("  kubeconfig (admin): %s\n", kubeconfig)
	fmt.Printf("  component logs:     %s/*.log\n", dir)
	fmt.Printf("  kubectl:            ip netns exec %s %s --kubeconfig %s get nodes\n", netns, filepath.Join(cp.BinDir, "kubectl"), kubeconfig)
	fmt.Printf("  anything else:      ip netns exec %s env KUBECONFIG=%s <command>\n", netns, kubeconfig)
	fmt.Println("testcluster: running; Ctrl-C or SIGTERM stops it")
	<-ctx.Done()
	fmt.Println("testcluster: stopping")
	return nil
}
