package registry

import (
	"slices"
	"time"
)

// A burst of registrations or closes changes thousands of records within a
// few flushes. Each of those flushes needs the largest batch, text and
// list of changed entries. Made anew per flush they were ~400 B a
// handshake in the harness's bursts (a heap profile of `cliser serve`),
// about all that a handshake allocated beyond the floor's (issue 17,
// session 11). They are kept through the burst and go back once the
// flushes have been small for burstLinger.

// burstLinger is how long the buffers a burst grew stay after the last
// flush that needed them: longer than the pause between a burst's
// registrations and its closes (under a second in the harness), and as
// long as the event writer keeps its spares (events.spareIdle).
const burstLinger = 2 * time.Second

// dirtyBurstKeep is the largest list of changed entries kept through a
// burst (64 KiB); a longer one (a ramp of 19,000 or a restart's Load) is
// dropped when a flush empties it, as before.
const dirtyBurstKeep = 8 * dirtyKeep

// lingerOrLetGo keeps the flush's buffers while flushes need them and lets
// go of them burstLinger after the last that did: a flush needs them when
// it took more than a quarter of the kept batch. Steady flushes (a
// checkpoint's share, a trickle) keep a batch of at most twice their
// size, since that is the batch a flush makes (batchCap). r.flushMu must
// be held.
func (r *Registry) lingerOrLetGo(taken int) {
	now := r.opts.now()
	if taken > cap(r.batch)/4 {
		r.burstAt = now
		return
	}
	if now.Sub(r.burstAt) < burstLinger {
		return
	}
	r.batch, r.batchText = nil, batchText{}
	r.mu.Lock()
	defer r.mu.Unlock()
	if cap(r.dirty) > dirtyKeep && len(r.dirty) <= dirtyKeep {
		r.dirty = slices.Clone(r.dirty) // its own size; empty, it holds no array
	}
}
