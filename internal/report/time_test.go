package report

import (
	"strings"
	"testing"
	"time"
)

// TestTime checks that the report carries the time its audit describes,
// in UTC, and that every format but github says it; and that a report
// without one says nothing of a time.
func TestTime(t *testing.T) {
	a := testAudit(t, 1)
	a.At = time.Date(2026, 3, 1, 14, 5, 9, 0, time.FixedZone("CET", 3600))
	r := Build(a, testInput)
	if want := "2026-03-01T13:05:09Z"; r.Time != want {
		t.Fatalf("got time %q, want %q", r.Time, want)
	}
	want := map[string]string{
		"text":     "\n  as of 2026-03-01 13:05:09 UTC\n",
		"json":     `"time": "2026-03-01T13:05:09Z"`,
		"yaml":     `time: "2026-03-01T13:05:09Z"`,
		"sarif":    `"startTimeUtc": "2026-03-01T13:05:09Z"`,
		"junit":    ` timestamp="2026-03-01T13:05:09"`,
		"markdown": "Audit of manifests (8 objects) as of 2026-03-01 13:05:09 UTC.",
		"html":     `<time datetime="2026-03-01T13:05:09Z">2026-03-01 13:05:09 UTC</time>`,
		"github":   "",
	}
	for _, f := range Formats() {
		w, ok := want[f]
		if !ok {
			t.Errorf("format %s: no expectation", f)
			continue
		}
		out := string(render(t, r, f, Options{}))
		if w != "" && !strings.Contains(out, w) {
			t.Errorf("format %s: got no %q", f, w)
		}
	}

	a.At = time.Time{}
	r = Build(a, testInput)
	if r.Time != "" {
		t.Errorf("an audit without a clock: got time %q, want none", r.Time)
	}
	for _, f := range []string{"text", "markdown", "junit", "sarif", "html"} {
		out := string(render(t, r, f, Options{}))
		for _, s := range []string{" as of ", "timestamp=", "startTimeUtc", "<time"} {
			if strings.Contains(out, s) {
				t.Errorf("format %s without a time: got %q", f, s)
			}
		}
	}
}
