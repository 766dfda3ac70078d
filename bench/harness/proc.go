package harness

import (
	"bytes"
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
	// The command name (field 2) may hold spaces; the fields after it start
	// after the last ')'.
	rest := b[bytes.LastIndexByte(b, ')')+1:]
	f := bytes.Fields(rest)
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	stime, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("/proc/%d/stat: bad times", pid)
	}
	return time.Duration(utime) * time.Second / clockTicks, time.Duration(stime) * time.Second / clockTicks, nil
}

// machineBusy is the CPU time every core spent not idle, from /proc/stat.
func machineBusy() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 5 || string(f[0]) != "cpu" {
		return 0, fmt.Errorf("/proc/stat: no cpu line")
	}
	var busy int64
	for i, v := range f[1:] {
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %w", err)
		}
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest times are already in user
			continue
		}
		busy += n
	}
	return time.Duration(busy) * time.Second / clockTicks, nil
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
