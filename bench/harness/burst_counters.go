package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// A burst's CPU a handshake swings ±~15% from burst to burst on a quiet
// machine (issue 17, session 23). BurstCounters are what tell a burst
// whose server did more (faults, switches, GC) from one the machine
// slowed (runqueue waits, others' CPU, steal), read from outside the
// server over its window: from its first sample to the end of its
// tail's polls (up to tailQuiet of idle past the CPU's window).
type BurstCounters struct {
	MinorFaults         int64   `json:"minor_faults"`
	VoluntarySwitches   int64   `json:"voluntary_switches"`
	InvoluntarySwitches int64   `json:"involuntary_switches"`
	RunqueueWait        float64 `json:"runqueue_wait_s"`
	LoadRunqueueWait    float64 `json:"load_runqueue_wait_s"`
	// OthersCPU is the machine's busy CPU beside the server's and its
	// load's (clock ticks: 10 ms a core); Steal the hypervisor's.
	OthersCPU float64 `json:"others_cpu_s"`
	Steal     float64 `json:"steal_s"`
	// GCCycles and AllocBytes come from the server's Go collector, read
	// just before the burst's fleet starts and after its window (nil: no
	// collector).
	GCCycles   *float64 `json:"gc_cycles,omitempty"`
	AllocBytes *float64 `json:"alloc_bytes,omitempty"`
}

// counterMark is the cumulative figures at one end of a burst's window.
type counterMark struct {
	faults, voluntary, involuntary int64
	server, load                   SchedTime
	machine                        machineTimes
}

// markCounters reads server's and load's cumulative figures; a figure it
// cannot read stays zero (the burst's CPU, not these, is the measure).
func markCounters(server int, load []int) counterMark {
	m := counterMark{server: schedOfPIDs([]int{server}), load: schedOfPIDs(load)}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", server)); err == nil {
		m.faults, _ = parseMinorFaults(b)
	}
	m.voluntary, m.involuntary = switchesOf(server)
	m.machine, _ = readMachineTimes()
	return m
}

// countersBetween is what happened between marks a and b.
func countersBetween(a, b counterMark) BurstCounters {
	server, load := b.server.Sub(a.server), b.load.Sub(a.load)
	busy := b.machine.busy - a.machine.busy
	return BurstCounters{
		MinorFaults:         b.faults - a.faults,
		VoluntarySwitches:   b.voluntary - a.voluntary,
		InvoluntarySwitches: b.involuntary - a.involuntary,
		RunqueueWait:        server.Wait.Seconds(),
		LoadRunqueueWait:    load.Wait.Seconds(),
		OthersCPU:           max(busy-server.Run-load.Run, 0).Seconds(),
		Steal:               (b.machine.steal - a.machine.steal).Seconds(),
	}
}

// switchesOf sums the context switches of pid's live threads
// (/proc/<pid>/status counts its main thread's alone).
func switchesOf(pid int) (voluntary, involuntary int64) {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue // a thread that just exited
		}
		v, i, err := parseSwitches(b)
		if err == nil {
			voluntary, involuntary = voluntary+v, involuntary+i
		}
	}
	return voluntary, involuntary
}

// gcWindow reads the server's Go collector now and returns what reads it
// again and puts the difference in c.
func (r *runner) gcWindow(ctx context.Context) func(c *BurstCounters) {
	end := r.markWindow(ctx, "burst counters")
	return func(c *BurstCounters) {
		if d, ok := end(); ok {
			c.GCCycles, c.AllocBytes = &d.gc, &d.bytes
		}
	}
}

// counterWindow marks the counters now and returns what marks them again
// and gives the difference.
func counterWindow(server int, load []int) func() BurstCounters {
	a := markCounters(server, load)
	return func() BurstCounters { return countersBetween(a, markCounters(server, load)) }
}

// perHandshakeNote is the counters a burst's line adds, a handshake.
func (c BurstCounters) perHandshakeNote(handshakes int64) string {
	n := float64(max(handshakes, 1))
	gc := "–"
	if c.GCCycles != nil {
		gc = fmt.Sprintf("%.0f", *c.GCCycles)
	}
	return fmt.Sprintf("faults %.3f, switches %.3f+%.3f a handshake; runqueue wait %.0f ms (load %.0f ms), others %.0f ms, steal %.0f ms; GC %s",
		float64(c.MinorFaults)/n, float64(c.VoluntarySwitches)/n, float64(c.InvoluntarySwitches)/n,
		1e3*c.RunqueueWait, 1e3*c.LoadRunqueueWait, 1e3*c.OthersCPU, 1e3*c.Steal, gc)
}

var errSwitches = errors.New("status: want voluntary_ctxt_switches and nonvoluntary_ctxt_switches")

// parseSwitches reads a thread's /proc/.../status: its voluntary and
// involuntary context switches.
func parseSwitches(status []byte) (voluntary, involuntary int64, err error) {
	seen := 0
	for line := range bytes.Lines(status) {
		into := &voluntary
		v, ok := bytes.CutPrefix(line, []byte("voluntary_ctxt_switches:"))
		if !ok {
			into = &involuntary
			if v, ok = bytes.CutPrefix(line, []byte("nonvoluntary_ctxt_switches:")); !ok {
				continue
			}
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
		if err != nil || n < 0 {
			return 0, 0, errSwitches
		}
		*into, seen = n, seen+1
	}
	if seen != 2 {
		return 0, 0, errSwitches
	}
	return voluntary, involuntary, nil
}
