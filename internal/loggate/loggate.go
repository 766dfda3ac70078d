// Package loggate spaces out warnings of one kind: a fault that lasts (a
// stream that fails, a listener that stays full) is logged once per
// interval (Gate) or once when it starts and once when it ends (Episode),
// not once per occurrence; its counter has every one.
package loggate

import (
	"sync/atomic"
	"time"

	"github.com/cliser/cliser/internal/mono"
)

// Gate lets one line through per interval. The zero Gate is open. Safe
// for concurrent use.
type Gate struct{ last atomic.Int64 } // the last line let through (mono.Now)

// Open reports whether a line may be logged now, and if so notes it.
func (g *Gate) Open(every time.Duration) bool {
	now := mono.Now()
	last := g.last.Load()
	return (last == 0 || now-last >= int64(every)) && g.last.CompareAndSwap(last, now)
}

// Episode is a fault that lasts, seen one try at a time: it tells the
// first failure of a run of them, which is logged, from those that repeat
// it, and the first success after them, which says the fault ended. The
// zero Episode is not failing. Not safe for concurrent use: each holder
// keeps it on one goroutine or under its own lock.
type Episode struct{ failing bool }

// Fail notes a failure and reports whether it began an episode.
func (e *Episode) Fail() (first bool) {
	first = !e.failing
	e.failing = true
	return first
}

// OK notes a success and reports whether it ended an episode.
func (e *Episode) OK() (recovered bool) {
	recovered = e.failing
	e.failing = false
	return recovered
}

// Failing reports whether an episode is under way.
func (e *Episode) Failing() bool { return e.failing }
