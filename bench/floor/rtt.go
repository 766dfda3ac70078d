package floor

import (
	"time"

	"github.com/cliser/cliser/internal/prom"
)

// The floor times its keep-alives as cliser does (send to echo on the
// loop's monotonic clock) and counts them over cliser's own bounds
// (prom.KeepAliveRTTBuckets), so that the two servers' RTT tails are
// read the same way in one run. It is the one piece of timing the floor
// keeps: a loop-local counter per bucket, no lock, no metric library on
// the loop.

// rttBounds are prom.KeepAliveRTTBuckets in nanoseconds.
var rttBounds = func() []int64 {
	out := make([]int64, len(prom.KeepAliveRTTBuckets))
	for i, s := range prom.KeepAliveRTTBuckets {
		out[i] = int64(s * float64(time.Second))
	}
	return out
}()

// RTT is keep-alive RTT counts: Counts[i] holds the echoes at or below
// Bounds[i] and above the bound before it (not cumulative); the last
// count, past every bound, is +Inf's.
type RTT struct {
	Bounds []float64 // seconds, prom.KeepAliveRTTBuckets
	Counts []uint64  // len(Bounds)+1
	Sum    time.Duration
}

// rttCounts is one loop's share; only that loop touches it.
type rttCounts struct {
	counts []uint64
	sum    int64
}

func (h *rttCounts) observe(d int64) {
	if h.counts == nil {
		h.counts = make([]uint64, len(rttBounds)+1)
	}
	i := 0
	for i < len(rttBounds) && d > rttBounds[i] {
		i++ // a short walk: a quiet hold's median echo (0.5–0.75 ms) is 5–12 bounds up
	}
	h.counts[i]++
	h.sum += d
}

// add adds a loop's counts into r.
func (r *RTT) add(h *rttCounts) {
	for i, c := range h.counts {
		r.Counts[i] += c
	}
	r.Sum += time.Duration(h.sum)
}

// KeepAliveRTT is the keep-alive RTT of every loop so far, read on each
// loop. Safe from any goroutine.
func (s *Server) KeepAliveRTT() RTT {
	r := RTT{Bounds: prom.KeepAliveRTTBuckets, Counts: make([]uint64, len(rttBounds)+1)}
	s.onEachLoop(func(lp *loop) { r.add(&lp.rtt) })
	return r
}
