package reactor

import (
	"time"

	"github.com/cliser/cliser/protocol"
)

// A session's deadlines, kept by its loop's timing wheel (wheel.go): when
// one passes, onDue ends a handshake that took too long, closes a client
// that did not ack a shutdown order, or runs the keep-alive cycle: a
// keep-alive goes out, its echo schedules the next, and one unanswered by
// its deadline closes the session.

// onDue fires when the session's deadline passes.
func (s *session) onDue() {
	switch {
	case s.state == awaitProxy:
		s.proxyTimedOut()
	case s.state < registered:
		s.fail(protocol.ReasonHandshakeTimeout)
	case s.is(keepPending): // before an order given since (shutdown)
		s.keepAliveOverdue()
	case s.is(shutdownPending):
		// The client was ordered down and did not ack in time; it is
		// closed all the same, and the record says why it was ordered.
		s.closeQuietly(protocol.ReasonShutdown)
	case s.state == registered:
		s.sendKeepAlive()
	}
}

// sendsKeepAliveWhenDue reports whether onDue would send a keep-alive.
func (s *session) sendsKeepAliveWhenDue() bool {
	return s.state == registered && !s.is(shutdownPending) && !s.is(keepPending)
}

func (s *session) sendKeepAlive() {
	lp := s.lp
	lp.nextToken++
	s.token = lp.nextToken
	s.set(keepPending, true)
	s.sentAt = lp.now()
	lp.wbuf = protocol.AppendKeepAlive(lp.wbuf[:0], uint64(s.token))
	s.write(lp.wbuf)
	if s.state >= closing { // the write failed and closed it (see shutdown)
		return
	}
	// The deadline counts from the walk, lp.walkAt, the same instant for
	// every keep-alive the walk sends: the echo takes the walk's time back
	// from it and schedules the next send from there. Counted from each
	// send's own instant, a walk's clients would drift apart by the time
	// the walk spends writing, and spread over more ticks, each waking
	// the loop. keepAliveOverdue keeps the timeout itself exact.
	lp.wheel.schedule(s, lp.walkAt+int64(lp.srv.opts.keepTimeout))
}

// onKeepAliveEcho takes the client's echo of a keep-alive: the token
// outstanding, or the session fails with a protocol error.
func (s *session) onKeepAliveEcho(arg []byte) {
	tok, err := protocol.ParseToken(arg)
	if err != nil || !s.is(keepPending) || tok != uint64(s.token) {
		s.fail(protocol.ReasonProtocolError)
		return
	}
	now := s.lp.now()
	s.set(keepPending, false)
	s.lp.srv.opts.observer.KeepAliveRTT(nanos(now - s.sentAt))
	// Not reg.Touch: its lock is shared by every loop and the flusher.
	s.seen.Store(time.Now().UnixNano())
	opts := s.lp.srv.opts
	if s.is(shutdownPending) { // ordered down since the send: the order's deadline now
		at := s.lp.orderedAt[s]
		s.lp.forgetOrder(s)
		s.lp.wheel.schedule(s, max(at+int64(opts.keepTimeout), now))
		return
	}
	// The cadence is set by sends, not by echoes, so a slow client does
	// not stretch its own interval; and by the walk that sent it, not its
	// own instant in that walk, so a walk's clients fall due together
	// again (sendKeepAlive).
	walk := s.lp.wheel.dueAt(s) - int64(opts.keepTimeout)
	s.lp.wheel.schedule(s, max(walk+int64(opts.keepInterval), now))
}

// keepAliveOverdue runs when a keep-alive's deadline passes unanswered. The
// deadline counts from its walk, a little before the send (sendKeepAlive):
// the client still has until its own send time plus the timeout.
func (s *session) keepAliveOverdue() {
	deadline := s.sentAt + int64(s.lp.srv.opts.keepTimeout)
	if s.lp.now() < deadline {
		s.lp.wheel.schedule(s, deadline)
		return
	}
	s.fail(protocol.ReasonKeepaliveTimeout)
}
