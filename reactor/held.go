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
// the walks close them, an eighth of what was held at a time (closeShare).
const (
	ackQuiet = 100 * time.Millisecond
	ackHold  = time.Second
)

// holdClose answers a "130 ok": the session is closed by a later walk
// (closeHeld) with reason shutdown, and reads nothing more.
func (s *session) holdClose() {
	lp := s.lp
	now := lp.now()
	s.state, s.reason = acked, protocol.ReasonShutdown
	s.set(shutdownPending, false)
	lp.wheel.remove(s)
	lp.forgetOrder(s) // acked before its keep-alive's echo
	if len(lp.held) == 0 {
		lp.holdSince = now
	}
	lp.held = append(lp.held, s)
	lp.releaseAt.Store(min(now+int64(ackQuiet), lp.holdSince+int64(ackHold)))
	if lp.srv.ordersOut.Add(-1) == 0 {
		// No order is out on any loop: nothing to wait for, while the
		// ticker may sleep its idle tick first (a close 100 ms late,
		// protocol audit).
		lp.closeHeld(lp.closeShare())
	}
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
		lp.share = 0
		lp.releaseAt.Store(0)
	}
}

// closeShare is how many held sessions a walk closes: an eighth of those
// held when the first walk found them due, and at least minWalkSends. So
// a loop reads between walks while it closes a fleet, and the closes take
// nine walks for them however rarely a busy machine runs the ticker: with
// a fixed share, 9,500 held closes took 149 walks, and in a run that
// starved the loops some clients waited over 5 s for theirs.
func (lp *loop) closeShare() int {
	if lp.share == 0 {
		lp.share = max(minWalkSends, (len(lp.held)+7)/8)
	}
	return lp.share
}
