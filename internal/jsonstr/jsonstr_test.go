package jsonstr

import (
	"bytes"
	"encoding/json"
	"testing"
)

// marshal is what encoding/json writes for s with HTML escaping off.
func marshal(t *testing.T, s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

func TestAppend(t *testing.T) {
	for _, s := range []string{
		"", "plain", `quote " and \ backslash`, "\x00\x01\b\f\n\r\t\x1f\x7f",
		"<a href='x'>&amp;</a>", "é ü 日本 🚀", "line\u2028sep\u2029par",
		"bad \xff utf8 \xc3", "\xe2\x80", "trailing \xe2\x80\xa8",
	} {
		if got, want := string(Append(nil, s)), marshal(t, s); got != want {
			t.Errorf("Append(%q) = %s, want %s", s, got, want)
		}
	}
}

func FuzzAppend(f *testing.F) {
	f.Add("a\"b\\c\n\u2028\xff<&>")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(Append(nil, s)), marshal(t, s); got != want {
			t.Errorf("Append(%q) = %s, want %s", s, got, want)
		}
	})
}
