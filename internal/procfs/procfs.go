// Package procfs reads what Linux's /proc says of a process's memory, for
// the tests and the bench that weigh what a server holds.
package procfs

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// RSS is the resident memory of process pid (0: this process) from
// /proc/PID/status, split as the kernel counts it: anonymous (the heap,
// stacks) and file-backed (the executable, mapped files such as a bbolt
// database). 0, 0 where the kernel does not say. Goroutine-safe.
func RSS(pid int) (anon, file int64) {
	path := "/proc/self/status"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/status", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "RssAnon:":
			anon = kb << 10
		case "RssFile:":
			file = kb << 10
		}
	}
	return anon, file
}
