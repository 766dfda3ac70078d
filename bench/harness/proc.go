package harness

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// procSample is what /proc says about a process at one moment.
type procSample struct {
	At      time.Time
	RSS     int64         // bytes resident (VmRSS)
	CPU     time.Duration // user+system time of all its threads
	Threads int
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's times; 100 on
// every Linux this runs on (the kernel fixes it for userspace).
const clockTicks = 100

// sampleProc reads /proc/<pid>. CPU comes from the threads' schedstat
// (nanoseconds, so a burst of a few hundred milliseconds is measured
// exactly) and falls back to stat's clock ticks.
func sampleProc(pid int) (procSample, error) {
	s := procSample{At: time.Now()}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for line := range bytes.Lines(status) {
		if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			kb, err := strconv.ParseInt(string(bytes.Fields(v)[0]), 10, 64)
			if err != nil {
				return s, fmt.Errorf("VmRSS: %w", err)
			}
			s.RSS = kb << 10
		}
		if v, ok := bytes.CutPrefix(line, []byte("Threads:")); ok {
			s.Threads, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	if cpu, ok := schedCPU(pid); ok {
		s.CPU = cpu
		return s, nil
	}
	s.CPU, err = statCPU(pid)
	return s, err
}

func schedCPU(pid int) (time.Duration, bool) {
	s, err := schedOf(strconv.Itoa(pid))
	return s.Run, err == nil
}

func statCPU(pid int) (time.Duration, error) {
	user, sys, err := statTimes(pid)
	return user + sys, err
}

// statTimes is the user and the system CPU time of process pid (all its
// threads, the exited ones too), from /proc/<pid>/stat, in clock ticks.
func statTimes(pid int) (user, sys time.Duration, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	f, err := statFields(b, 13)
	if err != nil {
		return 0, 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return time.Duration(f[11]) * time.Second / clockTicks, time.Duration(f[12]) * time.Second / clockTicks, nil
}

// parseMinorFaults is a /proc/<pid>/stat's minor faults (field 10: all
// the process's threads, the exited ones too).
func parseMinorFaults(b []byte) (int64, error) {
	f, err := statFields(b, 8)
	if err != nil {
		return 0, err
	}
	return f[7], nil
}

var errStat = errors.New("stat: too few fields or a field not a count")

// statFields parses the first n fields of a /proc/<pid>/stat after the
// command name, from its state (field 3, read as 0) on, as counts. The
// command name (field 2) may hold spaces; the fields after it start after
// the last ')'.
func statFields(b []byte, n int) ([]int64, error) {
	f := bytes.Fields(b[bytes.LastIndexByte(b, ')')+1:])
	if len(f) < n {
		return nil, errStat
	}
	out := make([]int64, n)
	for i := 1; i < n; i++ {
		v, err := strconv.ParseInt(string(f[i]), 10, 64)
		if err != nil {
			return nil, errStat
		}
		out[i] = v
	}
	return out, nil
}

// machineBusy is the CPU time every core spent not idle, from /proc/stat
// (the hypervisor's steal included).
func machineBusy() (time.Duration, error) {
	t, err := readMachineTimes()
	return t.busy + t.steal, err
}

// machineTimes is /proc/stat's CPU time over every core: busy (not idle,
// iowait or stolen) and stolen by the hypervisor.
type machineTimes struct {
	busy, steal time.Duration
}

func readMachineTimes() (machineTimes, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machineTimes{}, err
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	return parseCPULine(line)
}

var errCPULine = errors.New("/proc/stat: want a \"cpu\" line of counts")

// parseCPULine reads /proc/stat's first line: user nice system idle
// iowait irq softirq steal guest guest_nice, in clock ticks.
func parseCPULine(line []byte) (machineTimes, error) {
	f := bytes.Fields(line)
	if len(f) < 5 || string(f[0]) != "cpu" {
		return machineTimes{}, errCPULine
	}
	var t machineTimes
	for i, v := range f[1:] {
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil || n < 0 {
			return machineTimes{}, errCPULine
		}
		d := time.Duration(n) * time.Second / clockTicks
		switch {
		case i == 7:
			t.steal += d
		case i == 3 || i == 4 || i >= 8: // idle, iowait; guest times are already in user
		default:
			t.busy += d
		}
	}
	return t, nil
}

// loadAvg is /proc/loadavg's first three fields.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := bytes.Fields(b)
	if len(f) < 3 {
		return ""
	}
	return string(bytes.Join(f[:3], []byte(" ")))
}

// sampleAll sums the samples of several processes (the load's).
func sampleAll(pids []int) procSample {
	var total procSample
	for _, pid := range pids {
		s, err := sampleProc(pid)
		if err != nil {
			continue
		}
		total.RSS += s.RSS
		total.CPU += s.CPU
		total.Threads += s.Threads
	}
	return total
}
