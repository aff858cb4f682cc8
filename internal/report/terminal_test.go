package report

import (
	"bytes"
	"strings"
	"testing"
)

// TestTextEscapesWhatATerminalActsOn gives an object a name that would
// forge a line of the report, clear the screen and reverse text, and
// requires the text report to show it escaped, on the line it belongs to.
func TestTextEscapesWhatATerminalActsOn(t *testing.T) {
	r := Build(testAudit(t, 1), Input{Tool: "plimsoll"})
	forged := "web\nREADINESS  100.0 / 100\x1b[2J\u202egnp.exe"
	for i := range r.Results {
		if r.Results[i].Status == "fail" {
			r.Results[i].Object.Name = forged
			r.Results[i].Message = "bad\rvalue"
			break
		}
	}
	var out bytes.Buffer
	if err := writeText(&out, r, Options{}); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if strings.Count(text, "\nREADINESS") != 1 || strings.ContainsAny(text, "\x1b\r\u202e") {
		t.Errorf("the text report holds a forged line or a control character:\n%q", text)
	}
	for _, want := range []string{`web\nREADINESS  100.0 / 100\x1b[2J\u202egnp.exe`, `bad\rvalue`} {
		if !strings.Contains(text, want) {
			t.Errorf("got no %s in the text report:\n%s", want, text)
		}
	}
	if r.Results[0].Object.Name == "" {
		t.Fatal("the test changed no result")
	}
}

func TestEscapeTerminal(t *testing.T) {
	for in, want := range map[string]string{
		"plain":         "plain",
		"tab\there":     `tab\there`,
		"\x1b[31mred":   `\x1b[31mred`,
		"naïve – ok":    "naïve – ok",
		"del\x7f":       `del\x7f`,
		"c1\u0085":      `c1\u0085`,
		"rtl\u202eevil": `rtl\u202eevil`,
	} {
		if got := EscapeTerminal(in); got != want {
			t.Errorf("EscapeTerminal(%q): got %q, want %q", in, got, want)
		}
	}
}
