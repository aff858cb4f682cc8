package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"image/png"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/internal/cli"
	"github.com/plimsoll/plimsoll/internal/drill"
	"github.com/plimsoll/plimsoll/internal/report"
)

// chromium is where Debian's chromium package puts the browser.
const chromium = "/usr/bin/chromium"

// ArtifactsEnv names the directory the screenshots and the page are
// written to; the default is plimsoll-artifacts in the temporary directory.
const ArtifactsEnv = "PLIMSOLL_ARTIFACTS"

// consoleLine matches what Chromium logs, with --enable-logging=stderr,
// for a console message: "[...:INFO:CONSOLE:12] "Uncaught ...", source:
// ...". Every console message is logged at INFO whatever its level, so the
// tests treat any as a failure: the report's script logs nothing, and what
// else reaches the console is an uncaught error or a Content-Security-Policy
// violation (a blocked style, script or fetch). Messages of Chromium's own
// pages (source: chrome://...), which headless Chromium loads too, are not
// the page's.
var (
	consoleLine  = regexp.MustCompile(`:CONSOLE[:(]`)
	chromeSource = regexp.MustCompile(`, source: chrome://`)
)

// chromiumCommand is headless Chromium with args, logging its console to
// the standard error it returns. Its helpers (zygote, renderer, GPU) share
// its process group: when ctx is done they all end, so none outlives the
// test or writes into its profile while it is removed.
func chromiumCommand(ctx context.Context, t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("%v: the browser tests need Debian's chromium package; hack/test installs it (apt-get install -y chromium)", err)
	}
	profile := t.TempDir()
	cmd := exec.CommandContext(ctx, chromium, append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0",
	}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+profile)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	return cmd, &stderr
}

// console returns the console messages in what Chromium logged.
func console(stderr string) []string {
	var out []string
	for _, line := range strings.Split(stderr, "\n") {
		if consoleLine.MatchString(line) && !chromeSource.MatchString(line) {
			out = append(out, line)
		}
	}
	return out
}

// browse runs headless Chromium with args (a URL last) and returns its
// standard output and the console messages it logged.
func browse(t *testing.T, args ...string) (string, []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd, stderr := chromiumCommand(ctx, t, args...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	err := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), console(stderr.String())
}

// browseQuietly is browse for pages that must log nothing.
func browseQuietly(t *testing.T, args ...string) string {
	t.Helper()
	out, console := browse(t, args...)
	for _, line := range console {
		t.Errorf("console: %s", line)
	}
	return out
}

// audit runs plimsoll in-process on examples/not-ready, or with args on
// what they name, and returns its output.
func audit(t *testing.T, format string, args ...string) []byte {
	t.Helper()
	if len(args) == 0 {
		args = []string{"../../examples/not-ready"}
	}
	var out, stderr bytes.Buffer
	code := cli.Main(context.Background(), append([]string{"audit", "-o", format}, args...), cli.Streams{
		In:     bytes.NewReader(nil),
		Out:    &out,
		Err:    &stderr,
		Getenv: func(string) string { return "" },
		Dir:    t.TempDir(), // no configuration found
	})
	if code != cli.ExitOK {
		t.Fatalf("plimsoll audit -o %s %s: exit code %d, want %d; stderr: %s", format, strings.Join(args, " "), code, cli.ExitOK, stderr.String())
	}
	return out.Bytes()
}

func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(ArtifactsEnv)
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "plimsoll-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// element is an element's start tag in a DOM dump.
type element string

func (e element) hidden() bool { return strings.Contains(string(e), ` hidden=""`) }

func (e element) attr(name string) string {
	m := regexp.MustCompile(` ` + name + `="([^"]*)"`).FindStringSubmatch(string(e))
	if m == nil {
		return ""
	}
	return m[1]
}

// elements returns the start tags in dom that begin with prefix.
func elements(dom, prefix string) []element {
	var out []element
	for _, m := range regexp.MustCompile(regexp.QuoteMeta(prefix)+`[^>]*>`).FindAllString(dom, -1) {
		out = append(out, element(m))
	}
	return out
}

// visible counts the elements that are not hidden.
func visible(es []element) int {
	n := 0
	for _, e := range es {
		if !e.hidden() {
			n++
		}
	}
	return n
}

// text is the text of the element whose start tag begins with prefix, up
// to the next tag.
func text(dom, prefix string) string {
	m := regexp.MustCompile(regexp.QuoteMeta(prefix) + `[^>]*>([^<]*)<`).FindStringSubmatch(dom)
	if m == nil {
		return ""
	}
	return m[1]
}

func TestReportInBrowser(t *testing.T) {
	var rep report.Report
	if err := json.Unmarshal(audit(t, "json"), &rep); err != nil {
		t.Fatal(err)
	}
	dir := artifacts(t)
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, audit(t, "html"), 0o644); err != nil {
		t.Fatal(err)
	}
	pageURL := (&url.URL{Scheme: "file", Path: page}).String()
	t.Logf("page: %s", page)

	t.Run("everything shows and the script is ready", func(t *testing.T) {
		dom := browseQuietly(t, "--dump-dom", pageURL)
		if got := elements(dom, "<body"); len(got) != 1 || got[0].attr("data-js") != "ready" {
			t.Fatalf("got body %v, want data-js=\"ready\": the script did not finish", got)
		}
		if f := elements(dom, `<form id="filters"`); len(f) != 1 || f[0].hidden() {
			t.Errorf("got filters %v, want them shown once the script runs", f)
		}
		var selects []string
		for _, s := range elements(dom, "<select ") {
			selects = append(selects, s.attr("id"))
		}
		if want := []string{"filter-namespace", "filter-severity", "filter-layer"}; !slices.Equal(selects, want) {
			t.Errorf("got filters %v, want %v", selects, want)
		}
		if want := `<p id="verdict" class="verdict verdict-` + rep.Score.Verdict.Status + `">` + html.EscapeString(rep.Score.Verdict.Summary) + `</p>`; !strings.Contains(dom, want) || rep.Score.Verdict.Summary == "" {
			t.Errorf("got no verdict %q at the top of the page", want)
		}
		if len(elements(dom, `<svg id="overall-gauge"`)) != 1 || len(elements(dom, `<circle class="gauge-value`)) != 1 {
			t.Errorf("got no overall gauge with its arc")
		}
		var scored int
		for _, l := range rep.Score.Layers {
			if l.Score != nil {
				scored++
			}
		}
		if got, want := len(elements(dom, `<li class="layer-row"`)), len(rep.Score.Layers); got != want {
			t.Errorf("got %d layer rows, want %d", got, want)
		}
		if got := len(elements(dom, `<svg class="layer-bar"`)); got != scored || scored == 0 {
			t.Errorf("got %d layer bars, want %d (the scored layers)", got, scored)
		}
		if got, want := len(elements(dom, `<td class="heat`)), len(rep.Score.Namespaces); got != want || !strings.Contains(dom, `id="namespace-scores"`) {
			t.Errorf("got %d rows in the namespace table, want %d", got, want)
		}
		if got, want := len(elements(dom, `<li class="not-assessed"`)), len(rep.Score.Coverage.NotAssessed); got != want || !strings.Contains(dom, `<section id="coverage"`) {
			t.Errorf("got %d checks listed as not assessed in the coverage section, want %d", got, want)
		}
		// Each finding is in both groupings, by check and by object; the
		// script shows the first.
		findings := elements(dom, `<tr class="finding"`)
		if got := visible(findings); got != 2*rep.Summary.Fail || len(findings) != 2*rep.Summary.Fail {
			t.Errorf("got %d finding rows, %d not hidden; want all %d twice, none hidden", len(findings), got, rep.Summary.Fail)
		}
		if v := elements(dom, `<div id="by-`); len(v) != 2 || v[0].attr("id") != "by-check" || v[0].hidden() || !v[1].hidden() {
			t.Errorf("got groupings %v, want by-check shown and by-object hidden", v)
		}
		if got, want := text(dom, `<output id="filter-status"`), fmt.Sprintf("%d of %d shown", rep.Summary.Fail, rep.Summary.Fail); got != want {
			t.Errorf("got filter status %q, want %q", got, want)
		}
	})

	t.Run("filters from the URL fragment", func(t *testing.T) {
		// What the filters must leave: security findings of high
		// severity or above.
		ranks := []string{"info", "low", "medium", "high", "critical"}
		want, wantChecks := 0, map[string]bool{}
		for _, r := range rep.Results {
			if r.Status == "fail" && r.Layer == "security" && slices.Index(ranks, r.Severity) >= slices.Index(ranks, "high") {
				want++
				wantChecks[r.Check] = true
			}
		}
		if want == 0 || want == rep.Summary.Fail {
			t.Fatalf("%d of %d findings are high security ones: the example no longer tests filtering", want, rep.Summary.Fail)
		}
		dom := browseQuietly(t, "--dump-dom", pageURL+"#severity=high&layer=security")
		var wrong []element
		for _, f := range elements(dom, `<tr class="finding"`) {
			ok := f.attr("data-layer") == "security" && slices.Index(ranks, f.attr("data-severity")) >= slices.Index(ranks, "high")
			if f.hidden() == ok {
				wrong = append(wrong, f)
			}
		}
		if len(wrong) > 0 {
			t.Errorf("%d findings shown or hidden wrongly, the first: %s", len(wrong), wrong[0])
		}
		for _, c := range elements(dom, `<details class="check"`) {
			id := strings.TrimPrefix(c.attr("id"), "check-")
			if c.hidden() == wantChecks[id] {
				t.Errorf("check group %s: got hidden %v, want %v", id, c.hidden(), !wantChecks[id])
			}
		}
		for _, l := range elements(dom, `<section class="layer-group"`) {
			if l.hidden() != (l.attr("data-layer") != "security") {
				t.Errorf("layer group %s: got hidden %v", l.attr("data-layer"), l.hidden())
			}
		}
		if got, want := text(dom, `<output id="filter-status"`), fmt.Sprintf("%d of %d shown", want, rep.Summary.Fail); got != want {
			t.Errorf("got filter status %q, want %q", got, want)
		}
		if p := elements(dom, `<p id="no-match"`); len(p) != 1 || !p[0].hidden() {
			t.Errorf("got %v, want the no-match note hidden", p)
		}
	})

	t.Run("screenshots", func(t *testing.T) {
		for _, shot := range []struct{ file, fragment string }{
			{"report.png", ""},
			{"report-critical.png", "#severity=critical"},
		} {
			path := filepath.Join(dir, shot.file)
			_ = os.Remove(path)
			browseQuietly(t, "--screenshot="+path, "--window-size=1280,2000", "--hide-scrollbars", pageURL+shot.fragment)
			f, err := os.Open(path)
			if err != nil {
				t.Fatalf("no screenshot: %v", err)
			}
			cfg, err := png.DecodeConfig(f)
			f.Close()
			if err != nil || cfg.Width != 1280 {
				t.Errorf("%s: got a %dx%d image (%v), want a 1280-pixel-wide PNG", path, cfg.Width, cfg.Height, err)
			}
			t.Logf("screenshot: %s", path)
		}
	})
}

// TestConsoleErrorsAreCaught makes sure the tests above would see a broken
// page: an uncaught error, and a fetch that the page's kind of
// Content-Security-Policy blocks.
func TestConsoleErrorsAreCaught(t *testing.T) {
	for name, tc := range map[string]struct{ page, want string }{
		"uncaught error": {
			`<!DOCTYPE html><title>x</title><script>noSuchFunction();</script>`,
			"Uncaught ReferenceError: noSuchFunction is not defined",
		},
		"blocked fetch": {
			`<!DOCTYPE html><meta http-equiv="Content-Security-Policy" content="default-src 'none'"><title>x</title><img src="http://127.0.0.1:9/x.png" alt="">`,
			"violates the following Content Security Policy directive",
		},
	} {
		t.Run(name, func(t *testing.T) {
			page := filepath.Join(t.TempDir(), "broken.html")
			if err := os.WriteFile(page, []byte(tc.page), 0o644); err != nil {
				t.Fatal(err)
			}
			_, console := browse(t, "--dump-dom", (&url.URL{Scheme: "file", Path: page}).String())
			if !slices.ContainsFunc(console, func(l string) bool { return strings.Contains(l, tc.want) }) {
				t.Errorf("got console %q, want a line with %q", console, tc.want)
			}
		})
	}
}

// TestDrillReportInBrowser opens a drill's HTML report as a person would:
// the verdict on top, a row per node and per workload, each verdict
// marked, no console message, and a screenshot.
func TestDrillReportInBrowser(t *testing.T) {
	drillReport := func(format string) []byte {
		var out, stderr bytes.Buffer
		args := []string{"drill", "zone", "zone-a", "--snapshot", "../../examples/production/snapshot.json.gz", "--max-age", "87600h", "-o", format}
		code := cli.Main(context.Background(), args, cli.Streams{
			In: bytes.NewReader(nil), Out: &out, Err: &stderr, Getenv: func(string) string { return "" }, Dir: t.TempDir(),
		})
		if code != cli.ExitOK {
			t.Fatalf("plimsoll %v: exit code %d; stderr: %s", args, code, stderr.String())
		}
		return out.Bytes()
	}
	var rep drill.Report
	if err := json.Unmarshal(drillReport("json"), &rep); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(artifacts(t), "drill.html")
	if err := os.WriteFile(page, drillReport("html"), 0o644); err != nil {
		t.Fatal(err)
	}
	pageURL := (&url.URL{Scheme: "file", Path: page}).String()
	dom := browseQuietly(t, "--dump-dom", pageURL)
	if want := `class="v ` + rep.Verdict + `">` + rep.Verdict + `</span>`; !strings.Contains(dom, want) {
		t.Errorf("got no verdict %q at the top of the page", want)
	}
	table := func(id string) string {
		_, after, _ := strings.Cut(dom, `<table id="`+id+`"`)
		body, _, _ := strings.Cut(after, "</table>")
		return body
	}
	if rows := strings.Count(table("nodes"), "<tr>"); rows != len(rep.Nodes)+1 {
		t.Errorf("got %d rows in the nodes' table, want a header and %d", rows, len(rep.Nodes))
	}
	if rows := strings.Count(table("workloads"), "<tr>"); rows != len(rep.Workloads)+1 {
		t.Errorf("got %d rows in the workloads' table, want a header and %d", rows, len(rep.Workloads))
	}
	for _, w := range rep.Workloads {
		if !strings.Contains(dom, html.EscapeString(w.ID())) {
			t.Errorf("workload %s is not on the page", w.ID())
		}
	}
	shot := filepath.Join(artifacts(t), "drill.png")
	_ = os.Remove(shot)
	browseQuietly(t, "--screenshot="+shot, "--window-size=1280,1600", "--hide-scrollbars", pageURL)
	if f, err := os.Open(shot); err != nil {
		t.Errorf("no screenshot: %v", err)
	} else {
		cfg, err := png.DecodeConfig(f)
		f.Close()
		if err != nil || cfg.Width != 1280 {
			t.Errorf("%s: got a %dx%d image (%v), want a 1280-pixel-wide PNG", shot, cfg.Width, cfg.Height, err)
		}
	}
}
