package load

import (
	"math"
	"time"
)

// The probes' keep-alives once fell due together (a ramp connects them
// within tens of ms, and each reconnect followed the same keep-alive), so
// a window's samples stood for one or two moments of the keep-alive cycle
// and one bad moment set its p99. With Config.KeepAlive set, each probe has
// its own slot in the interval and keeps its keep-alives there: its ramp
// connection realigns at its first keep-alive when it is off its slot (a
// probe cycle whose sample counts only while probing is on), and after a
// measurement it reconnects at once while within a tenth of an interval
// past its slot, else at its next slot moment (the server keys the next
// keep-alive to the registration). Slots are on the Unix clock, so the
// fleets of several load processes share them.

// goldenFrac is the golden ratio's fractional part: n·goldenFrac mod 1 over
// any run of consecutive n is spread near evenly (the three-gap theorem),
// so probes numbered by client index spread without knowing how many
// there are or how the processes split them.
const goldenFrac = 0.6180339887498949

// slotTolerance: a probe within KeepAlive/slotTolerance past its slot
// reconnects at once; each cycle drifts it by a handshake and a round
// trip (~ms), so it waits for its slot every few dozen cycles.
const slotTolerance = 10

// PhaseBins is how many equal parts of the keep-alive interval
// Stats.ProbePhases counts the samples' keep-alives in (50 ms at 1 s).
const PhaseBins = 20

// spreading says whether the fleet's probes keep to their slots.
func (e *Engine) spreading() bool { return e.cfg.KeepAlive > 0 }

// slot is where in the keep-alive interval probe c's keep-alives belong.
func (c *client) slot() time.Duration {
	x := float64(c.e.cfg.FirstIndex+c.idx) * goldenFrac
	return time.Duration((x - math.Floor(x)) * float64(c.e.cfg.KeepAlive))
}

// phaseOf is how far into the keep-alive interval t is, on the Unix clock.
func (e *Engine) phaseOf(t time.Time) time.Duration {
	return time.Duration(t.UnixNano() % int64(e.cfg.KeepAlive))
}

// pastSlot is how long after c's latest slot moment t is, in [0, interval).
func (c *client) pastSlot(t time.Time) time.Duration {
	iv := c.e.cfg.KeepAlive
	return ((c.e.phaseOf(t)-c.slot())%iv + iv) % iv
}

// onSlot says whether t is within the tolerance past c's slot moment.
func (c *client) onSlot(t time.Time) bool {
	return c.pastSlot(t) < c.e.cfg.KeepAlive/slotTolerance
}

// realigns says whether probe c's keep-alive at now, the first of its
// ramp connection s, must move it to its slot.
func (c *client) realigns(s *session, now time.Time) bool {
	return c.probe && c.e.spreading() && s.ramp && s.lastKA.IsZero() && !c.onSlot(now)
}

// reconnectDelay is how long probe c waits at now before it connects
// again: none on its slot (or without spreading), else until its next slot
// moment.
func (c *client) reconnectDelay(now time.Time) time.Duration {
	if !c.e.spreading() || c.onSlot(now) {
		return 0
	}
	return c.e.cfg.KeepAlive - c.pastSlot(now)
}

// phaseBin is which PhaseBins part of the interval t falls in.
func (e *Engine) phaseBin(t time.Time) int {
	return int(e.phaseOf(t) * PhaseBins / e.cfg.KeepAlive)
}

// probeSample records a probe's round trip: its keep-alive arrived at ka,
// its 190 at now.
func (e *Engine) probeSample(ka, now time.Time) {
	e.rtt.record(now.Sub(ka))
	e.c.probeSamples.Add(1)
	if e.spreading() {
		e.c.probePhases[e.phaseBin(ka)].Add(1)
	}
}

// phases is a copy of the samples' counts by phase.
func (c *counters) phases() [PhaseBins]int64 {
	var out [PhaseBins]int64
	for i := range out {
		out[i] = c.probePhases[i].Load()
	}
	return out
}
