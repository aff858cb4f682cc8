package serve

import (
	"os"
	"path/filepath"
	"testing"
)

func TestContainerMemoryLimit(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name  string
		files []string
		want  int64
	}{
		{"cgroup v2 limit", []string{write("v2", "335544320\n")}, 335544320},
		{"cgroup v2 without limit", []string{write("v2max", "max\n"), write("v1a", "1000\n")}, 0},
		{"cgroup v1 limit", []string{filepath.Join(dir, "absent"), write("v1", "335544320\n")}, 335544320},
		{"cgroup v1 without limit", []string{write("v1max", "9223372036854771712\n")}, 0},
		{"no cgroup", []string{filepath.Join(dir, "absent")}, 0},
	} {
		if got := containerMemoryLimit(c.files); got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, got, c.want)
		}
	}
}
