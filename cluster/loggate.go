package cluster

import (
	"sync/atomic"
	"time"
)

// logGate lets one warning of a kind through per interval: a fault that
// lasts (a stream that fails, a burst of marks) is logged once, not once
// per occurrence; its counter has every one. Safe for concurrent use.
type logGate struct{ last atomic.Int64 } // unix nanos of the last line let through

// open reports whether a line may be logged now, and if so notes it.
func (g *logGate) open(every time.Duration) bool {
	now := time.Now().UnixNano()
	last := g.last.Load()
	return now-last >= int64(every) && g.last.CompareAndSwap(last, now)
}
