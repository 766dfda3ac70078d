package harness

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// SchedTime is what the scheduler says of a process's threads: the time
// they ran on a CPU and the time they waited in a runqueue, ready to run
// but with no CPU free (the kernel's schedstat, in nanoseconds). On a
// shared machine Wait is the CPU a process wanted and did not get.
type SchedTime struct {
	Run  time.Duration `json:"run"`
	Wait time.Duration `json:"runqueue_wait"`
}

// Sub is s minus earlier.
func (s SchedTime) Sub(earlier SchedTime) SchedTime {
	return SchedTime{Run: s.Run - earlier.Run, Wait: s.Wait - earlier.Wait}
}

// Add is s plus o.
func (s SchedTime) Add(o SchedTime) SchedTime {
	return SchedTime{Run: s.Run + o.Run, Wait: s.Wait + o.Wait}
}

var errSchedstat = errors.New("schedstat: want \"<run ns> <wait ns> <timeslices>\"")

// parseSchedstat reads one /proc/.../schedstat line: run ns, runqueue
// wait ns, timeslices.
func parseSchedstat(b []byte) (SchedTime, error) {
	f := bytes.Fields(b)
	if len(f) < 2 {
		return SchedTime{}, errSchedstat
	}
	run, err1 := strconv.ParseInt(string(f[0]), 10, 64)
	wait, err2 := strconv.ParseInt(string(f[1]), 10, 64)
	if err1 != nil || err2 != nil || run < 0 || wait < 0 {
		return SchedTime{}, errSchedstat
	}
	return SchedTime{Run: time.Duration(run), Wait: time.Duration(wait)}, nil
}

// schedOf sums /proc/<pid>/task/*/schedstat over the process's live
// threads (pid "self" is this process). A thread that exited takes its
// counts with it; Go's threads live as long as the process.
func schedOf(pid string) (SchedTime, error) {
	tasks, err := filepath.Glob("/proc/" + pid + "/task/*/schedstat")
	if err != nil || len(tasks) == 0 {
		return SchedTime{}, fmt.Errorf("schedstat of %s: no tasks (%v)", pid, err)
	}
	var total SchedTime
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue // a thread that just exited
		}
		s, err := parseSchedstat(b)
		if err != nil {
			return SchedTime{}, fmt.Errorf("%s: %w", t, err)
		}
		total = total.Add(s)
	}
	return total, nil
}

// schedOfPIDs sums schedOf over processes; one that is gone counts nothing.
func schedOfPIDs(pids []int) SchedTime {
	var total SchedTime
	for _, pid := range pids {
		if s, err := schedOf(strconv.Itoa(pid)); err == nil {
			total = total.Add(s)
		}
	}
	return total
}
