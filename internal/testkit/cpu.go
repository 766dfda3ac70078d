package testkit

import (
	"syscall"
	"time"
)

// CPUTime is the CPU time this process has used so far, user and system:
// a benchmark reports its growth per operation. Safe from any goroutine.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
