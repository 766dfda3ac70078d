package registry

import "time"

// The checkpoint rewrites every connected record once per checkpoint
// interval and prunes what is past retention. It is spread over the
// interval: each flush takes the share of the records the time elapsed
// since the pass began is due, in cid order, instead of all of them at
// once. All at once, a node of 18,000 clients handed its store 18,000
// writes in one flush every minute, and a registration made meanwhile
// waited behind them (in cluster mode, seconds of one NATS server's
// write rate for every node at once). Spread, the store sees a steady
// trickle and a fresh write waits for at most one flush of it.

// sweep is where the checkpoint's pass stands. Run's goroutine only.
type sweep struct {
	start   time.Time // when this pass began
	total   int       // records when it began: the pass's share per flush
	visited int       // records visited in this pass
	next    string    // the cid the pass resumes at
}

// checkpointStep visits the records of the pass that are due at now.
// A pass whose interval has elapsed is finished in one step (a clock
// moved by hand, a flusher that was held up); the next begins an
// interval after this one did, or now when that is already past.
func (r *Registry) checkpointStep(sw *sweep, now time.Time) {
	period := r.opts.checkpoint
	elapsed := now.Sub(sw.start)
	if elapsed < 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if sw.visited == 0 {
		sw.total = r.byCID.Len()
	}
	due := -1 // the rest of the pass
	if elapsed < period {
		due = int(int64(sw.total)*int64(elapsed)/int64(period)) - sw.visited
		if due <= 0 {
			return
		}
	}
	done := r.visitLocked(sw, due, now)
	if !done {
		return
	}
	sw.start = sw.start.Add(period)
	if now.Sub(sw.start) >= period {
		sw.start = now
	}
	sw.visited, sw.next = 0, ""
}

// visitLocked marks up to limit records from sw.next on (every one when
// limit < 0) for the pass: connected ones dirty, disconnected ones past
// retention pruned. It reports whether the pass reached the end.
func (r *Registry) visitLocked(sw *sweep, limit int, now time.Time) (done bool) {
	var expired []*entry
	cutoff := toNanos(now.Add(-r.opts.retention))
	done = true
	r.key.cid = sw.next
	r.byCID.AscendGreaterOrEqual(&r.key, func(e *entry) bool {
		if limit == 0 {
			sw.next, done = e.cid, false
			return false
		}
		limit--
		sw.visited++
		switch {
		case e.cstatus:
			r.markDirtyLocked(e)
		case r.opts.retention > 0 && e.disconnectedAt != 0 && e.disconnectedAt < cutoff:
			expired = append(expired, e)
		}
		return true
	})
	r.key.cid = ""
	for _, e := range expired {
		r.byCID.Delete(e)
		r.byHash.del(e)
		r.gone = append(r.gone, e.cid)
	}
	r.dropDirtyLocked(expired...)
	return done
}
