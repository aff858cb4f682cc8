package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestServeRefusesBadConfig: serve stops before it starts on a
// configuration file that does not load, naming the file and the problem,
// as the chart's pod does with a bad --set-file config.
func TestServeRefusesBadConfig(t *testing.T) {
	for _, c := range []struct {
		name, text, want string
	}{
		{"an unknown key", "chekcs:\n  disable: [pod-probes]\n", `unknown key "chekcs"`},
		{"not a mapping", "- checks\n", "cannot unmarshal"},
		{"an unknown check", "checks:\n  disable: [no-such-check]\n", `unknown check "no-such-check"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			file := write(t, dir, "plimsoll.yaml", c.text)
			got := invocation{dir: dir}.run(t, "serve", "--config", file, "--kubeconfig", filepath.Join(dir, "no-kubeconfig"))
			wantCode(t, got, ExitPartial)
			if !strings.Contains(got.errOut, "configuration "+file+": ") || !strings.Contains(got.errOut, c.want) {
				t.Errorf("got stderr %q, want the file named and %q", got.errOut, c.want)
			}
		})
	}
}
