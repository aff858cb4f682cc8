package check_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/internal/check"
	"github.com/plimsoll/plimsoll/internal/checks"
	"github.com/plimsoll/plimsoll/internal/config"
)

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		text string
		want time.Duration
		str  string
	}{
		{"24h", 24 * time.Hour, "1d"},
		{"26h", 26 * time.Hour, "26h"},
		{"90m", 90 * time.Minute, "1h30m"},
		{"14d", 14 * 24 * time.Hour, "14d"},
		{" 2h ", 2 * time.Hour, "2h"},
		{"1h30m15s", time.Hour + 30*time.Minute + 15*time.Second, "1h30m15s"},
		{"0", 0, "0s"},
		// Prometheus's notation adds weeks, years and days with other
		// units, which were errors before it was used.
		{"2w", 14 * 24 * time.Hour, "14d"},
		{"1y", 365 * 24 * time.Hour, "365d"},
		{"1d12h", 36 * time.Hour, "36h"},
		{"1w2d3h", 9*24*time.Hour + 3*time.Hour, "219h"},
		// Go's notation still reads what Prometheus's does not.
		{"1.5h", 90 * time.Minute, "1h30m"},
		{"1h30m0s", 90 * time.Minute, "1h30m"},
		{"30m1h", 90 * time.Minute, "1h30m"},
		{"1500ms", 1500 * time.Millisecond, "1.5s"},
		{"250us", 250 * time.Microsecond, "250µs"},
		{"+3h", 3 * time.Hour, "3h"},
		{"+14d", 14 * 24 * time.Hour, "14d"},
	} {
		var d check.Duration
		if err := d.UnmarshalText([]byte(tc.text)); err != nil {
			t.Errorf("UnmarshalText(%q): %v", tc.text, err)
			continue
		}
		if time.Duration(d) != tc.want || d.String() != tc.str {
			t.Errorf("UnmarshalText(%q) = %v (%s), want %v (%s)", tc.text, time.Duration(d), d, tc.want, tc.str)
		}
	}
	for _, text := range []string{"", "14 days", "1.5d", "d", "-3h", "-1d", "-1w", "soon", "1h1d", "1d1d",
		// 292 years and more do not fit: this read as a wrapped-around
		// duration before.
		"300000d"} {
		var d check.Duration
		if err := d.UnmarshalText([]byte(text)); err == nil || !strings.Contains(err.Error(), `"`+strings.TrimSpace(text)+`"`) {
			t.Errorf("UnmarshalText(%q) = %v, %v; want an error that quotes it", text, d, err)
		}
	}
}

// TestDurationRoundTrip: what String writes reads back as the same
// duration, down to Go's fractions and units below a millisecond.
func TestDurationRoundTrip(t *testing.T) {
	for _, td := range []time.Duration{0, time.Nanosecond, 250 * time.Microsecond, 1500 * time.Millisecond, 90 * time.Minute,
		26 * time.Hour, 14 * 24 * time.Hour, 365 * 24 * time.Hour, 24*time.Hour + time.Second, 1<<63 - 1} {
		var d check.Duration
		if err := d.UnmarshalText([]byte(check.Duration(td).String())); err != nil || time.Duration(d) != td {
			t.Errorf("%v written as %s reads back as %v, %v", td, check.Duration(td), time.Duration(d), err)
		}
	}
}

// TestDurationReadsAsBefore holds the library parsers to the hand-written
// one they replaced: every text it read reads as the same duration.
// Besides, texts it refused may now be read (2w, 1d12h), and days that
// overflowed a time.Duration are an error instead of a wrapped-around value.
func TestDurationReadsAsBefore(t *testing.T) {
	var texts []string
	for _, n := range []string{"0", "1", "014", "36", "90", "1000", "106751", "+7", "-0"} {
		for _, unit := range []string{"", "d", "h", "m", "s", "ms", "us", "µs", "ns", "h30m", "m15s", ".5h", "h0m0s"} {
			texts = append(texts, n+unit)
		}
	}
	for _, text := range texts {
		want, ok := handWrittenDuration(text)
		var d check.Duration
		err := d.UnmarshalText([]byte(text))
		if ok && (err != nil || time.Duration(d) != want) {
			t.Errorf("UnmarshalText(%q) = %v, %v; read %v before", text, time.Duration(d), err, want)
		}
	}
}

// handWrittenDuration is the parser check.Duration had before it used
// model.ParseDuration.
func handWrittenDuration(s string) (time.Duration, bool) {
	var v time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil {
			return 0, false
		}
		v = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if v, err = time.ParseDuration(s); err != nil {
			return 0, false
		}
	}
	return v, v >= 0
}

// TestDurationParameters: configuration sets the duration parameters in
// either notation, and the rest keep their defaults.
func TestDurationParameters(t *testing.T) {
	c, err := config.Decode(strings.NewReader("parameters:\n  backupRPO: 12h\n  restoreTestMaxAge: 30d\n"), checks.Registry())
	if err != nil {
		t.Fatal(err)
	}
	want := check.Defaults()
	want.BackupRPO, want.RestoreTestMaxAge = check.Duration(12*time.Hour), check.Days(30)
	if diff := cmp.Diff(want, c.Parameters); diff != "" {
		t.Errorf("parameters (-want +got):\n%s", diff)
	}
	if _, err := config.Decode(strings.NewReader("parameters:\n  certMinValidity: 2 weeks\n"), checks.Registry()); err == nil || !strings.Contains(err.Error(), `"2 weeks"`) {
		t.Errorf("certMinValidity: 2 weeks: got error %v, want one that quotes the value", err)
	}
}
