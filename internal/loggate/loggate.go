// Package loggate spaces out warnings of one kind: a fault that lasts (a
// stream that fails, a listener that stays full) is logged once per
// interval, not once per occurrence; its counter has every one.
package loggate

import (
	"sync/atomic"
	"time"
)

// Gate lets one line through per interval. The zero Gate is open. Safe
// for concurrent use.
type Gate struct{ last atomic.Int64 } // unix nanos of the last line let through

// Open reports whether a line may be logged now, and if so notes it.
func (g *Gate) Open(every time.Duration) bool {
	now := time.Now().UnixNano()
	last := g.last.Load()
	return (last == 0 || now-last >= int64(every)) && g.last.CompareAndSwap(last, now)
}
