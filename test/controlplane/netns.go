package controlplane

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"slices"
	"strconv"
	"syscall"
)

// NetnsEnv is set in the environment of the copy of the process that
// InNetns runs inside a network namespace of its own, to the namespace's
// name, so that one can look in with ip netns exec NAME.
const NetnsEnv = "PLIMSOLL_NETNS"

// InNetns makes sure the current process runs inside a network namespace
// whose only interface is loopback, so that nothing it starts can reach any
// address but 127.0.0.1. If the process already does, InNetns returns.
// Otherwise it creates a namespace (ip netns add plimsoll-<pid>, ip link set
// lo up), runs os.Args again inside it (ip netns exec), passing on SIGINT
// and SIGTERM, deletes the namespace and exits with the child's exit code.
// It needs root and Debian's iproute2. It exits with status 1 on failure,
// and also when a process it started finds other interfaces than lo.
func InNetns() {
	code, err := inNetns()
	if err != nil {
		fmt.Fprintf(os.Stderr, "controlplane: %v\n", err)
		os.Exit(1)
	}
	if code >= 0 {
		os.Exit(code)
	}
}

// inNetns returns -1 if this process is isolated already, else the exit
// code of the copy of itself it ran in a namespace of its own.
func inNetns() (int, error) {
	if name := os.Getenv(NetnsEnv); name != "" {
		if err := checkIsolated(); err != nil {
			return 0, fmt.Errorf("inside network namespace %s: %w", name, err)
		}
		return -1, nil
	}
	if checkIsolated() == nil {
		return -1, nil
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		return 0, errors.New("the ip command is missing; it puts the control plane in a network namespace of its own: apt-get install iproute2")
	}
	removeStaleNetns(ip)
	name := "plimsoll-" + strconv.Itoa(os.Getpid())
	if out, err := exec.Command(ip, "netns", "add", name).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("ip netns add %s (needs root): %v: %s", name, err, out)
	}
	defer exec.Command(ip, "netns", "delete", name).Run()
	if out, err := exec.Command(ip, "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		return 0, fmt.Errorf("ip -n %s link set lo up: %v: %s", name, err, out)
	}
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(ip, append([]string{"netns", "exec", name, self}, os.Args[1:]...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), NetnsEnv+"="+name)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	go func() {
		for s := range signals {
			_ = cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if status, ok := exit.Sys().(syscall.WaitStatus); ok && status.Signaled() {
			return 128 + int(status.Signal()), nil
		}
		return exit.ExitCode(), nil
	}
	return 0, err
}

// checkIsolated returns an error unless the process's network namespace has
// one interface, lo, and it is up. It asks the kernel (net.Interfaces) and
// reads /sys/class/net, which ip netns exec mounts for the namespace.
func checkIsolated() error {
	ifaces, err := net.Interfaces()
	if err != nil {
		return err
	}
	var names []string
	up := false
	for _, i := range ifaces {
		names = append(names, i.Name)
		up = i.Name == "lo" && i.Flags&net.FlagUp != 0
	}
	if !slices.Equal(names, []string{"lo"}) {
		return fmt.Errorf("network interfaces %v: want only lo", names)
	}
	if !up {
		return errors.New("loopback is down: ip link set lo up")
	}
	entries, err := os.ReadDir("/sys/class/net")
	if err != nil {
		return err
	}
	names = nil
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"lo"}) {
		return fmt.Errorf("/sys/class/net lists %v: want only lo", names)
	}
	return nil
}

// staleNetns matches the names InNetns gives namespaces.
var staleNetns = regexp.MustCompile(`^plimsoll-(\d+)$`)

// removeStaleNetns deletes the namespaces of earlier runs whose process is
// gone, as when a test binary was killed before it could clean up.
func removeStaleNetns(ip string) {
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		m := staleNetns.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			_ = exec.Command(ip, "netns", "delete", e.Name()).Run()
		}
	}
}
