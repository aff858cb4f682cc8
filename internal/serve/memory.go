package serve

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// cgroupLimitFiles are where a container's memory limit can be read:
// cgroup v2, then v1.
var cgroupLimitFiles = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// LimitMemory sets the Go runtime's soft memory limit (runtime/debug
// SetMemoryLimit) to nine tenths of the container's memory limit, unless
// GOMEMLIMIT sets one or there is no limit, and returns what it set (0 for
// nothing). Without it the garbage collector lets the heap grow to twice
// what is live before collecting (GOGC=100): serve's cache of a 10,000-pod
// cluster holds about 110 MB, and the container would be killed at 320 MiB
// before the collector felt any need to work harder.
func LimitMemory(getenv func(string) string) int64 {
	if getenv("GOMEMLIMIT") != "" {
		return 0
	}
	limit := containerMemoryLimit(cgroupLimitFiles)
	if limit <= 0 {
		return 0
	}
	soft := limit / 10 * 9
	debug.SetMemoryLimit(soft)
	return soft
}

// containerMemoryLimit is the first limit the files give, in bytes, or 0:
// "max" (cgroup v2) and values of 2^62 and more (cgroup v1) mean none.
func containerMemoryLimit(files []string) int64 {
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
		if err != nil || v <= 0 || v >= 1<<62 {
			return 0
		}
		return v
	}
	return 0
}
