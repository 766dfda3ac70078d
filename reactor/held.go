package reactor

import (
	"time"

	"github.com/cliser/cliser/protocol"
)

// A broadcast's acks race its closes for the same CPUs: each close costs
// the server a close(2), an epoll_ctl and the registry's record, and the
// client a read of the FIN and a close of its own, all before the acks
// still on their way are read and written. So a "130 ok" is answered by a
// close held on its loop until no order is out on any loop (every client
// acked or was closed), or the loop has read no ack for ackQuiet (some
// client does not answer), or the loop has held closes for ackHold; then
// the walks close them, a walk's share at a time.
const (
	ackQuiet = 100 * time.Millisecond
	ackHold  = time.Second
)

// holdClose answers a "130 ok": the session is closed by a later walk
// (closeHeld) with reason shutdown, and reads nothing more.
func (s *session) holdClose() {
	lp := s.lp
	now := lp.now()
	s.state, s.reason, s.shutdownPending = acked, protocol.ReasonShutdown, false
	lp.wheel.remove(s)
	if len(lp.held) == 0 {
		lp.holdSince = now
	}
	lp.held = append(lp.held, s)
	lp.releaseAt.Store(min(now+int64(ackQuiet), lp.holdSince+int64(ackHold)))
	lp.srv.ordersOut.Add(-1)
}

// heldDue reports whether the loop holds closes that may go at now. Safe
// from any goroutine: the ticker asks it to wake a loop whose wheel is idle.
func (lp *loop) heldDue(now int64) bool {
	at := lp.releaseAt.Load()
	return at != 0 && (now >= at || lp.srv.ordersOut.Load() == 0)
}

// closeHeld closes up to n held sessions, the last acked first; one whose
// client closed first is gone already (closeQuietly does nothing).
func (lp *loop) closeHeld(n int) {
	n = min(n, len(lp.held))
	for i := len(lp.held) - n; i < len(lp.held); i++ {
		lp.held[i].closeQuietly(protocol.ReasonShutdown)
		lp.held[i] = nil
	}
	lp.held = lp.held[:len(lp.held)-n]
	if len(lp.held) == 0 {
		lp.held = nil // a broadcast is rare: its list is not kept
		lp.releaseAt.Store(0)
	}
}

// closesPerWalk bounds a walk's held closes to about half its tick (a
// close costs ~25 µs with its epoll_ctl and record), so that a loop goes
// on reading between walks.
func (lp *loop) closesPerWalk() int {
	return max(minWalkSends, int(lp.srv.opts.tick/(50*time.Microsecond)))
}
