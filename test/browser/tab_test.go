package browser

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"syscall"
	"testing"
	"time"
)

// A tab is a page open in headless Chromium that a test uses as a person
// would: it clicks with the mouse and types with the keyboard, as input
// events, rather than by calling the page's script, and reads what the
// page shows. It drives Chromium through the DevTools protocol over the
// pipe --remote-debugging-pipe opens (Chromium reads commands from its
// file descriptor 3 and writes to 4, each message JSON ended by a NUL), so
// it needs no port and no client library.
type tab struct {
	t       *testing.T
	send    io.Writer
	recv    *bufio.Reader
	session string
	next    int
	// events are the protocol's events read while waiting for replies,
	// for waitFor.
	events []message
}

// message is a DevTools protocol message: a command's reply (ID) or an
// event (Method).
type message struct {
	ID        int             `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// open opens url in a new headless Chromium run with args, in a window of
// 1280 by 900 pixels, and waits until it has loaded (and so has run the
// page's script). When the test ends the browser is closed, and a console
// message fails the test.
func open(t *testing.T, url string, args ...string) *tab {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd, stderr := chromiumCommand(ctx, t, append(args, "--remote-debugging-pipe", "--window-size=1280,900", "--hide-scrollbars", "about:blank")...)
	commands, toChromium, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	fromChromium, replies, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.ExtraFiles = []*os.File{commands, replies} // its descriptors 3 and 4
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	commands.Close()
	replies.Close()
	t.Cleanup(func() {
		toChromium.Close() // Chromium exits when its pipe closes
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cancel()
		fromChromium.Close()
		for _, line := range console(stderr.String()) {
			t.Errorf("console: %s", line)
		}
	})

	p := &tab{t: t, send: toChromium, recv: bufio.NewReader(fromChromium)}
	var targets struct {
		TargetInfos []struct {
			TargetID string `json:"targetId"`
			Type     string `json:"type"`
		} `json:"targetInfos"`
	}
	p.call("Target.getTargets", nil, &targets)
	var page string
	for _, ti := range targets.TargetInfos {
		if ti.Type == "page" {
			page = ti.TargetID
		}
	}
	if page == "" {
		t.Fatalf("chromium opened no page: %+v\n%s", targets, stderr.String())
	}
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	p.call("Target.attachToTarget", map[string]any{"targetId": page, "flatten": true}, &attached)
	p.session = attached.SessionID
	p.call("Page.enable", nil, nil)
	p.call("Page.navigate", map[string]any{"url": url}, nil)
	p.waitFor("Page.loadEventFired")
	return p
}

// read reads the next message.
func (p *tab) read() message {
	p.t.Helper()
	b, err := p.recv.ReadBytes(0)
	if err != nil {
		p.t.Fatalf("read from chromium: %v", err)
	}
	var m message
	if err := json.Unmarshal(b[:len(b)-1], &m); err != nil {
		p.t.Fatalf("read from chromium: %v: %s", err, b)
	}
	return m
}

// call sends a command, to the page once attached to it, and decodes its
// result into result (unless nil).
func (p *tab) call(method string, params, result any) {
	p.t.Helper()
	p.next++
	cmd := map[string]any{"id": p.next, "method": method, "params": params}
	if p.session != "" {
		cmd["sessionId"] = p.session
	}
	b, err := json.Marshal(cmd)
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.send.Write(append(b, 0)); err != nil {
		p.t.Fatalf("%s: %v", method, err)
	}
	for {
		m := p.read()
		if m.ID != p.next {
			if m.Method != "" {
				p.events = append(p.events, m)
			}
			continue
		}
		if m.Error != nil {
			p.t.Fatalf("%s: %s", method, m.Error.Message)
		}
		if result != nil {
			if err := json.Unmarshal(m.Result, result); err != nil {
				p.t.Fatalf("%s: %v", method, err)
			}
		}
		return
	}
}

// waitFor waits for an event of the page.
func (p *tab) waitFor(method string) {
	p.t.Helper()
	for i, m := range p.events {
		if m.Method == method {
			p.events = append(p.events[:i], p.events[i+1:]...)
			return
		}
	}
	for {
		if m := p.read(); m.Method == method {
			return
		} else if m.Method != "" {
			p.events = append(p.events, m)
		}
	}
}

// eval evaluates a JavaScript expression in the page, to read what it
// shows, and decodes its value into v.
func (p *tab) eval(expr string, v any) {
	p.t.Helper()
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	p.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &res)
	if e := res.ExceptionDetails; e != nil {
		p.t.Fatalf("evaluate %s: %s %s", expr, e.Text, e.Exception.Description)
	}
	if err := json.Unmarshal(res.Result.Value, v); err != nil {
		p.t.Fatalf("evaluate %s: %v (got %s)", expr, err, res.Result.Value)
	}
}

// waitUntil waits until the JavaScript condition holds in the page, for
// what a page does in a task of its own after an input, such as handling
// the hashchange a link's click queues. It fails the test when the page
// has not got there in ten seconds.
func (p *tab) waitUntil(condition string) {
	p.t.Helper()
	var res struct {
		Result struct {
			Value bool `json:"value"`
		} `json:"result"`
	}
	p.call("Runtime.evaluate", map[string]any{
		"expression": fmt.Sprintf(`new Promise((resolve) => {
			const until = performance.now() + 10000;
			const poll = () => {
				if (%s) resolve(true);
				else if (performance.now() > until) resolve(false);
				else setTimeout(poll, 10);
			};
			poll();
		})`, condition),
		"awaitPromise": true, "returnByValue": true,
	}, &res)
	if !res.Result.Value {
		p.t.Fatalf("the page never got to %s", condition)
	}
}

// text is the text content of the element selector selects.
func (p *tab) text(selector string) string {
	p.t.Helper()
	var s string
	p.eval(fmt.Sprintf("document.querySelector(%q).textContent", selector), &s)
	return s
}

// click scrolls the element selector selects into view and clicks its
// middle with the left mouse button.
func (p *tab) click(selector string) {
	p.t.Helper()
	var at struct{ X, Y float64 }
	p.eval(fmt.Sprintf(`(() => {
		const e = document.querySelector(%q);
		e.scrollIntoView({block: "center"});
		const r = e.getBoundingClientRect();
		return {x: r.x + r.width / 2, y: r.y + r.height / 2};
	})()`, selector), &at)
	p.call("Input.dispatchMouseEvent", map[string]any{"type": "mouseMoved", "x": at.X, "y": at.Y}, nil)
	for _, typ := range []string{"mousePressed", "mouseReleased"} {
		p.call("Input.dispatchMouseEvent", map[string]any{"type": typ, "x": at.X, "y": at.Y, "button": "left", "clickCount": 1}, nil)
	}
}

// typeText clicks the element selector selects and types text into it.
func (p *tab) typeText(selector, text string) {
	p.t.Helper()
	p.click(selector)
	for _, r := range text {
		p.call("Input.dispatchKeyEvent", map[string]any{"type": "keyDown", "text": string(r)}, nil)
		p.call("Input.dispatchKeyEvent", map[string]any{"type": "keyUp"}, nil)
	}
}

// screenshot writes what the window shows to a PNG file.
func (p *tab) screenshot(path string) {
	p.t.Helper()
	var shot struct {
		Data []byte `json:"data"` // base64 in JSON
	}
	p.call("Page.captureScreenshot", map[string]any{"format": "png"}, &shot)
	if err := os.WriteFile(path, shot.Data, 0o644); err != nil {
		p.t.Fatal(err)
	}
}
