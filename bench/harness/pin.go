package harness

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// CPU pinning: the server subprocess on some CPUs and the load processes
// on others (issue 17). A real fleet's load generators are other
// machines; on a 2-core box that shares its cores between the server and
// the load, pinning is the nearest honest setup.

// CPUSet is a set of CPU numbers, ascending, as `taskset -c` and /proc's
// Cpus_allowed_list write them ("0-2,5").
type CPUSet []int

var errCPUList = errors.New(`want CPU numbers and ranges, e.g. "1" or "0-2,5"`)

// maxCPU bounds a CPU number: unix.CPUSet holds 1024.
const maxCPU = 1023

// ParseCPUList parses a CPU list ("0", "0-2,5"); the empty string is the
// empty set (not pinned).
func ParseCPUList(s string) (CPUSet, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out CPUSet
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := cpuNumber(lo)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = cpuNumber(hi); err != nil {
				return nil, err
			}
			if b < a {
				return nil, fmt.Errorf("%q: range %d-%d runs backwards: %w", s, a, b, errCPUList)
			}
		}
		for c := a; c <= b; c++ {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func cpuNumber(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > maxCPU || s == "" || s[0] == '+' {
		return 0, fmt.Errorf("%q is not a CPU number (0-%d): %w", s, maxCPU, errCPUList)
	}
	return n, nil
}

// String writes the set as a CPU list, ranges joined ("0-2,5").
func (c CPUSet) String() string {
	var b strings.Builder
	for i := 0; i < len(c); {
		j := i
		for j+1 < len(c) && c[j+1] == c[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(c[i]))
		if j > i {
			b.WriteString("-" + strconv.Itoa(c[j]))
		}
		i = j + 1
	}
	return b.String()
}

// usableCPUs is the set this process may run on.
func usableCPUs() (CPUSet, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("sched_getaffinity: %w", err)
	}
	var out CPUSet
	for c := 0; c <= maxCPU; c++ {
		if set.IsSet(c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// CheckCPUs says what is wrong with a CPU list given as flag: a CPU this
// process may not use cannot be given to a child either.
func CheckCPUs(flag string, c CPUSet) error {
	usable, err := usableCPUs()
	if err != nil {
		return err
	}
	for _, n := range c {
		if !slices.Contains(usable, n) {
			return fmt.Errorf("%s %s: CPU %d is not one this process may use (allowed: %s)", flag, c, n, usable)
		}
	}
	return nil
}

// startOn starts cmd on cpus (all CPUs when empty), to die with the
// harness (tied.go). A child inherits the affinity of the thread that
// forks it; its Go runtime then sizes GOMAXPROCS, and cliser and the
// floor their event loops (runtime.NumCPU), to the CPUs given. GOMAXPROCS
// is also set in its environment, so that one inherited from the shell
// cannot differ. Goroutine-safe.
func startOn(cmd *exec.Cmd, cpus CPUSet) error {
	ownGroup(cmd) // stopped and continued alone (freeze.go)
	if len(cpus) > 0 {
		if cmd.Env == nil {
			cmd.Env = os.Environ()
		}
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(len(cpus)))
	}
	return StartTied(cmd, cpus)
}

// cpusAllowed is process pid's Cpus_allowed_list from /proc/PID/status:
// the CPUs the kernel lets it run on.
func cpusAllowed(pid int) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "", err
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte("Cpus_allowed_list:")); ok {
			return string(bytes.TrimSpace(v)), nil
		}
	}
	return "", fmt.Errorf("/proc/%d/status: no Cpus_allowed_list", pid)
}

// pins are a run's CPU sets, parsed.
type pins struct{ server, load CPUSet }

// pinning parses the settings' CPU lists for a run of kind: only
// subprocesses the harness starts can be pinned.
func (s Settings) pinning(kind string, env Env) (pins, error) {
	var p pins
	var err error
	if p.server, err = ParseCPUList(s.ServerCPUs); err != nil {
		return p, fmt.Errorf("server CPUs: %w", err)
	}
	if p.load, err = ParseCPUList(s.LoadCPUs); err != nil {
		return p, fmt.Errorf("load CPUs: %w", err)
	}
	switch {
	case len(p.server) > 0 && (kind == KindInproc || env.External != nil):
		return p, fmt.Errorf("server CPUs %s: only a server subprocess the harness starts can be pinned, not %s", p.server, map[bool]string{true: "a server it did not start", false: kind}[env.External != nil])
	case len(p.load) > 0 && env.WorkerExe == "":
		return p, fmt.Errorf("load CPUs %s: only load processes can be pinned, not a load in the harness's own process", p.load)
	}
	return p, nil
}

// Pinning is where a run's processes were asked to run and where the
// kernel let them, read from /proc/PID/status as the hold began.
type Pinning struct {
	ServerCPUs    string   `json:"server_cpus,omitempty"`
	LoadCPUs      string   `json:"load_cpus,omitempty"`
	ServerAllowed string   `json:"server_cpus_allowed"`
	LoadAllowed   []string `json:"load_cpus_allowed"`
}

// notePinning records the processes' CPUs in the result; a process that
// runs elsewhere than asked is a problem of the run.
func (r *runner) notePinning() {
	p := &Pinning{ServerCPUs: r.pin.server.String(), LoadCPUs: r.pin.load.String()}
	check := func(what string, pid int, want CPUSet) string {
		got, err := cpusAllowed(pid)
		if err != nil {
			r.problem("%s %d: %v", what, pid, err)
			return ""
		}
		if len(want) > 0 && got != want.String() {
			r.problem("%s %d runs on CPUs %s, asked %s", what, pid, got, want)
		}
		return got
	}
	p.ServerAllowed = check("server", r.srv.PID(), r.pin.server)
	for _, pid := range r.fleet.PIDs() {
		p.LoadAllowed = append(p.LoadAllowed, check("load process", pid, r.pin.load))
	}
	r.res.Pinning = p
}

// pinnedText is the progress line's note of where the processes run.
func (r *runner) pinnedText() string {
	if len(r.pin.server)+len(r.pin.load) == 0 {
		return ""
	}
	p := r.res.Pinning
	return fmt.Sprintf("; pinned: server on CPUs %s, load on %s", p.ServerAllowed, strings.Join(p.LoadAllowed, " "))
}
