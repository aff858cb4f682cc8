package check_test

import (
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
	for _, text := range []string{"", "14 days", "1.5d", "d", "-3h", "-1d", "soon"} {
		var d check.Duration
		if err := d.UnmarshalText([]byte(text)); err == nil || !strings.Contains(err.Error(), `"`+strings.TrimSpace(text)+`"`) {
			t.Errorf("UnmarshalText(%q) = %v, %v; want an error that quotes it", text, d, err)
		}
	}
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
