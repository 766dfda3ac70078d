package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// defaultGCHold is `serve`'s --gc-hold: long enough for a fleet cut off
// to come back (an agent's longest backoff is a minute) and for a deploy
// or a failover in front of it.
const defaultGCHold = 5 * time.Minute

// gcHold keeps the heap goal at its recent peak for a while after the live
// heap falls. When a fleet leaves (a shutdown, a network cut), its state
// becomes garbage and the heap goal follows the small live heap down: at
// GOGC=50 the next burst of handshakes then runs a GC every ~3 MB, and the
// scavenger hands back the pages the fleet had, which the burst faults in
// again (docs/performance-journal.md, "Session 20: the GC and the
// scavenger in the bursts"). Holding the goal costs no memory the process
// did not already hold at its peak; it only delays giving it back by up to
// the window (and the next GC after it: the runtime forces one every 2
// minutes).
type gcHold struct {
	base   int           // the GC percent in force: serveGCPercent or GOGC
	window time.Duration // how long a peak goal is held; 0: no hold

	mu      sync.Mutex
	peak    float64 // the largest goal base gave, in bytes
	peakAt  time.Time
	percent int // the percent last set
	stopped bool
	samples []metrics.Sample
}

func newGCHold(base int, window time.Duration) *gcHold {
	return &gcHold{base: base, window: window, percent: base,
		samples: []metrics.Sample{
			{Name: "/gc/heap/live:bytes"},
			{Name: "/gc/scan/stack:bytes"},
			{Name: "/gc/scan/globals:bytes"},
		}}
}

// held is the hold's window, 0 when there is none: --gc-hold 0, or GOGC=off
// (nothing to hold; the start line said a 5m hold under GOGC=off).
func (h *gcHold) held() time.Duration {
	if h.base <= 0 {
		return 0
	}
	return h.window
}

// start re-reads the heap after every GC cycle, from the finalizer of an
// object each cycle frees, until stop.
func (h *gcHold) start() {
	if h.held() <= 0 {
		return
	}
	h.arm()
}

func (h *gcHold) arm() {
	s := &struct{ h *gcHold }{h} // has a pointer: never the tiny allocator's
	runtime.SetFinalizer(s, func(*struct{ h *gcHold }) {
		if h.afterGC() {
			h.arm()
		}
	})
}

// stop ends the hold and puts the base percent back.
func (h *gcHold) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
	h.set(h.base)
}

// afterGC sets the percent for the next cycle; false once stopped.
func (h *gcHold) afterGC() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return false
	}
	metrics.Read(h.samples)
	live := float64(h.samples[0].Value.Uint64())
	scan := live + float64(h.samples[1].Value.Uint64()+h.samples[2].Value.Uint64())
	h.set(h.heldPercent(live, scan, time.Now()))
	return true
}

// heldPercent is the percent whose goal is the peak's while the peak is
// held, and base's otherwise. The runtime's goal is live + scan*percent/100.
func (h *gcHold) heldPercent(live, scan float64, now time.Time) int {
	if scan <= 0 {
		return h.base
	}
	goal := live + scan*float64(h.base)/100
	if goal >= h.peak || now.Sub(h.peakAt) > h.window {
		h.peak, h.peakAt = goal, now
		return h.base
	}
	p := int(math.Ceil(100 * (h.peak - live) / scan))
	return max(h.base, p)
}

// currentPercent is the percent the hold last set.
func (h *gcHold) currentPercent() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.percent
}

func (h *gcHold) set(p int) {
	if p != h.percent {
		debug.SetGCPercent(p)
		h.percent = p
	}
}
