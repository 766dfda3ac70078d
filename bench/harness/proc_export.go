package harness

import "time"

// ProcessCPU is the user and system CPU time process pid has used so far,
// from /proc/<pid>/stat (for benches outside the harness's own runs).
func ProcessCPU(pid int) (time.Duration, error) { return statCPU(pid) }

// ProcessCPUSplit is ProcessCPU as its user and its system part: what a
// server's own code costs (user) apart from the kernel's network work it
// is charged for (system), which on loopback moves with the machine's load.
func ProcessCPUSplit(pid int) (user, sys time.Duration, err error) { return statTimes(pid) }
