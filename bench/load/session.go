package load

import (
	"time"

	"github.com/cliser/cliser/protocol"
)

// The client's half of the protocol as the epoll loops run it: handlers
// read one server line, append the replies to s.out and say what the loop
// must do next. The loop writes s.out once per read, so an echo and a
// "130 ok" that answer lines of one read go out in one write.

// step is what a line meant for the session.
type step uint8

const (
	stepContinue  step = iota
	stepEnd            // the session is over (an error is already counted)
	stepReconnect      // a probe measured; connect again
)

type phase uint8

const (
	phaseHandshake phase = iota
	phaseRegistered
	phaseAcked // "130 ok" queued; waiting for the server to close
)

// session is one connection's state, owned by whoever serves it.
type session struct {
	phase   phase
	start   time.Time // connect began
	lastKA  time.Time // the previous keep-alive, for the gap
	probeAt time.Time // the keep-alive a probe answered twice; zero when none
	counted bool      // probeAt's round trip is a sample (probing was on)
	ramp    bool      // the fleet's first connection of this client (counted by the ramp)
	fresh   bool      // a ramp probe's first keep-alive, where it may realign, is still to come

	out         []byte    // replies to write after this read
	ackQueued   bool      // out holds "130 ok"
	deadline    time.Time // when setDeadline: the new read deadline (zero: none)
	setDeadline bool
}

func newSession(ramp bool) *session {
	return &session{start: time.Now(), ramp: ramp, out: make([]byte, 0, 64)}
}

// handle runs one server line through the session.
func (c *client) handle(s *session, raw []byte, now time.Time, done func()) step {
	l, err := protocol.Parse(raw)
	if err != nil {
		c.fail(KindGarbage)
		return stepEnd
	}
	switch s.phase {
	case phaseHandshake:
		return c.handshakeLine(s, l, now, done)
	case phaseRegistered:
		return c.registeredLine(s, l, now)
	}
	return stepContinue // acked: the server closes; what it says meanwhile changes nothing
}

func (c *client) handshakeLine(s *session, l protocol.Line, now time.Time, done func()) step {
	e := c.e
	switch l.Code {
	case protocol.CodePassword, protocol.CodeID:
		return stepContinue // prompts the pipelined handshake already answered
	case protocol.CodeConnected:
		if _, err := protocol.ParseConnected(l.Arg); err != nil {
			c.fail(KindGarbage)
			return stepEnd
		}
		s.phase = phaseRegistered
		e.c.registered.Add(1)
		s.deadline, s.setDeadline = time.Time{}, true
		if s.ramp {
			e.hs.record(now.Sub(s.start))
			e.c.handshakes.Add(1)
			if c.probe && e.spreading() {
				s.fresh = true
				e.c.probesFresh.Add(1)
			}
			done()
		} else {
			e.c.probeReconnects.Add(1)
		}
		c.settle()
		return stepContinue
	case protocol.CodeClose:
		c.fail(kindOf190(l.Arg))
		return stepEnd
	}
	c.fail(KindUnexpectedLine)
	return stepEnd
}

func (c *client) registeredLine(s *session, l protocol.Line, now time.Time) step {
	e := c.e
	switch l.Code {
	case protocol.CodeKeepAlive:
		token, err := protocol.ParseToken(l.Arg)
		if err != nil {
			c.fail(KindGarbage)
			return stepEnd
		}
		if !s.probeAt.IsZero() {
			c.fail(KindProbeAnswer)
			return stepEnd
		}
		realign := c.realigns(s, now)
		if !s.lastKA.IsZero() {
			e.gap.record(now.Sub(s.lastKA))
		}
		s.lastKA = now
		s.out = protocol.AppendKeepAlive(s.out, token)
		if c.probe && (e.probing.Load() || realign) {
			s.out = protocol.AppendKeepAlive(s.out, token) // the duplicate: see the package doc
			s.probeAt, s.counted = now, e.probing.Load()
			c.inFlight = true
			e.c.probesPending.Add(1)
		}
		c.unfresh(s) // after the pending count: Counts reads fresh first
		e.c.keepAlives.Add(1)
		storeMin(&e.c.firstKeepAlive, now.UnixNano())
		return stepContinue
	case protocol.CodeShutdown:
		if _, err := protocol.ParseShutdown(l.Arg); err != nil {
			c.fail(KindGarbage)
			return stepEnd
		}
		// The clock now, not the loop's batch time: a batch's later reads
		// can hold a 130 sent after it began (once per client, cheap).
		storeMin(&e.c.firstOrder, time.Now().UnixNano())
		e.c.shutdownOrders.Add(1)
		s.out = append(s.out, protocol.ShutdownAck...)
		s.ackQueued = true
		s.phase = phaseAcked
		e.c.registered.Add(-1)
		c.unfresh(s)
		s.deadline, s.setDeadline = now.Add(e.cfg.CloseLinger), true
		return stepContinue
	case protocol.CodeClose:
		if !s.probeAt.IsZero() && reasonIs(l.Arg, protocol.ReasonProtocolError) {
			if s.counted {
				e.probeSample(s.probeAt, now)
			}
			return stepReconnect
		}
		c.fail(kindOf190(l.Arg))
		return stepEnd
	}
	c.fail(KindUnexpectedLine)
	return stepEnd
}

// consume runs every complete line at the start of buf through the
// session and returns the bytes used. A step other than stepContinue ends
// the read early.
func (c *client) consume(s *session, buf []byte, now time.Time, done func()) (int, step) {
	used := 0
	for used < len(buf) {
		line, k, err := protocol.NextLine(buf[used:])
		if err != nil {
			c.fail(KindGarbage)
			return used, stepEnd
		}
		if k == 0 {
			break
		}
		used += k
		if st := c.handle(s, line, now, done); st != stepContinue {
			return used, st
		}
	}
	return used, stepContinue
}

// written records what the write of s.out completed.
func (c *client) written(s *session) {
	if s.ackQueued {
		s.ackQueued = false
		storeMax(&c.e.c.lastAck, time.Now().UnixNano())
		c.e.c.shutdownAcks.Add(1)
	}
	s.out = s.out[:0]
}

// closedAfterAck counts the server's close that an ack expects.
func (c *client) closedAfterAck() {
	c.e.c.closedAfterAck.Add(1)
	storeMax(&c.e.c.lastClose, time.Now().UnixNano()) // as the 130's time: not the batch's
}

// leave takes a registered session off the registered count.
func (c *client) leave(s *session) {
	s.probeAt = time.Time{}
	c.unfresh(s)
	if s.phase == phaseRegistered {
		c.e.c.registered.Add(-1)
		s.phase = phaseAcked // counted once
	}
}

// fail counts an error unless the fleet is being closed, which makes every
// read fail on purpose.
func (c *client) fail(kind string) {
	if !c.e.closing.Load() {
		c.e.errs.add(kind)
	}
}

// unfresh takes s off the fresh probes' count, once: its first keep-alive
// came (realigned or not), or it ended without one.
func (c *client) unfresh(s *session) {
	if s.fresh {
		s.fresh = false
		c.e.c.probesFresh.Add(-1)
	}
}

// settle ends a probe's measurement cycle: registered again, or given up.
func (c *client) settle() {
	if c.inFlight {
		c.inFlight = false
		c.e.c.probesPending.Add(-1)
	}
}
