package harness

import "time"

// ProcessCPU is the user and system CPU time process pid has used so far,
// from /proc/<pid>/stat (for benches outside the harness's own runs).
func ProcessCPU(pid int) (time.Duration, error) { return statCPU(pid) }
