package controlplane

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// component is one process of the control plane.
type component struct {
	name string
	log  string // path of its log file
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited
	err  error         // how it exited; set before done is closed
}

// start runs BinDir/name with args in a process group of its own that is
// killed when this process dies. Output goes to Dir/name.log and, if
// Options.Log was set, there too, each line prefixed with the name.
func (c *ControlPlane) start(name string, args ...string) (*component, error) {
	p := &component{name: name, log: filepath.Join(c.Dir, name+".log"), done: make(chan struct{})}
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(filepath.Join(c.BinDir, name), args...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if c.logTo != nil {
		w := io.MultiWriter(f, &prefixWriter{mu: &c.logMu, w: c.logTo, prefix: name + ": "})
		p.cmd.Stdout, p.cmd.Stderr = w, w
	}
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c.components = append(c.components, p)
	go func() {
		p.err = p.cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// kill kills the component's process group and waits for the process to end.
func (p *component) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// waitHealthy polls check until it succeeds, the process exits, or ctx or a
// two-minute limit ends. Its errors carry the tail of the component's log.
func (p *component) waitHealthy(ctx context.Context, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited (%v) before it was healthy; the end of %s:\n%s", p.name, p.err, p.log, tail(p.log, 40))
		case <-ctx.Done():
			return fmt.Errorf("%s not healthy (%v); the end of %s:\n%s", p.name, err, p.log, tail(p.log, 40))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// probeClient checks the components' health endpoints. It skips certificate
// verification: the controller-manager and scheduler serve self-signed
// certificates, and the probes only ever go to 127.0.0.1.
var probeClient = &http.Client{
	Timeout:   5 * time.Second,
	Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
}

// httpOK returns a check that succeeds when url answers 200, sending token
// as a bearer token when it is set.
func httpOK(url, token string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := probeClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s: %s", url, resp.Status, bytes.TrimSpace(body))
		}
		return nil
	}
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// prefixWriter writes each whole line to w with a prefix, under mu, so
// that the lines of several components do not interleave.
type prefixWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		p.mu.Lock()
		_, err := fmt.Fprintf(p.w, "%s%s", p.prefix, p.buf[:i+1])
		p.mu.Unlock()
		p.buf = p.buf[i+1:]
		if err != nil {
			return len(b), err
		}
	}
}
