package load

import (
	"io"
	"net"
	"time"

	"github.com/cliser/cliser/protocol"
)

var errEOF = io.EOF

// readBufSize holds one full line (protocol.MaxLine) behind a partial one.
const readBufSize = 2 * protocol.MaxLine

// client is one connection of the fleet (a probe reconnects, so it may be
// several connections in a row under the same client-id). Its goroutine
// owns everything but nc, which Close reaches through the engine's lock.
type client struct {
	e       *Engine
	idx     int
	probe   bool
	answers []byte // "110 <password>\n120 <id>\n", the pipelined handshake
	dialer  *net.Dialer
	// inFlight: a probe measured and has not registered again yet; the
	// fleet's probesPending counts it until then.
	inFlight bool
}

// settle ends a probe's measurement cycle: registered again, or given up.
func (c *client) settle() {
	if c.inFlight {
		c.inFlight = false
		c.e.c.probesPending.Add(-1)
	}
}

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
	phaseAcked // "130 ok" written; waiting for the server to close
)

// session is one connection's state, local to the client goroutine.
type session struct {
	phase   phase
	start   time.Time // connect began
	lastKA  time.Time // the previous keep-alive, for the gap
	probeAt time.Time // the keep-alive a probe answered twice; zero when none
	ramp    bool      // the fleet's first connection of this client (counted by the ramp)
	out     []byte
}

// run connects and serves until the session ends; a probe that measured
// connects again. done is called once, with the first handshake's outcome.
func (c *client) run(done func()) {
	defer c.e.wg.Done()
	first := true
	for {
		again := c.session(first, done)
		first = false
		if !again || c.e.closing.Load() {
			c.settle()
			return
		}
	}
}

func (c *client) session(ramp bool, done func()) (reconnect bool) {
	e := c.e
	s := &session{start: time.Now(), ramp: ramp, out: make([]byte, 0, 64)}
	if ramp {
		defer func() {
			if s.phase == phaseHandshake {
				done() // failed before 140
			}
		}()
	}
	nc, err := c.dialer.Dial("tcp", e.cfg.Addr)
	if err != nil {
		if !e.closing.Load() {
			e.errs.add(dialKind(err))
		}
		return false
	}
	if !e.track(c, nc) {
		_ = nc.Close()
		return false
	}
	defer e.untrack(c)
	defer nc.Close()
	_ = nc.SetReadDeadline(s.start.Add(e.cfg.HandshakeTimeout))
	if _, err := nc.Write(c.answers); err != nil {
		c.fail(KindWriteError)
		return false
	}

	buf := make([]byte, readBufSize)
	n := 0
	for {
		m, rerr := nc.Read(buf[n:])
		now := time.Now()
		n += m
		used := 0
		for used < n {
			line, k, ferr := protocol.NextLine(buf[used:n])
			if ferr != nil {
				c.leave(s)
				c.fail(KindGarbage)
				return false
			}
			if k == 0 {
				break
			}
			used += k
			switch c.handle(s, nc, line, now, done) {
			case stepEnd:
				c.leave(s)
				return false
			case stepReconnect:
				c.leave(s)
				return true
			}
		}
		n = copy(buf, buf[used:n])
		if rerr != nil {
			return c.readEnded(s, rerr, now)
		}
	}
}

// handle runs one server line through the session.
func (c *client) handle(s *session, nc net.Conn, raw []byte, now time.Time, done func()) step {
	l, err := protocol.Parse(raw)
	if err != nil {
		c.fail(KindGarbage)
		return stepEnd
	}
	switch s.phase {
	case phaseHandshake:
		return c.handshakeLine(s, nc, l, now, done)
	case phaseRegistered:
		return c.registeredLine(s, nc, l, now)
	}
	return stepContinue // acked: the server closes; what it says meanwhile changes nothing
}

func (c *client) handshakeLine(s *session, nc net.Conn, l protocol.Line, now time.Time, done func()) step {
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
		_ = nc.SetReadDeadline(time.Time{})
		if s.ramp {
			e.hs.record(now.Sub(s.start))
			e.c.handshakes.Add(1)
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

func (c *client) registeredLine(s *session, nc net.Conn, l protocol.Line, now time.Time) step {
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
		if !s.lastKA.IsZero() {
			e.gap.record(now.Sub(s.lastKA))
		}
		s.lastKA = now
		s.out = protocol.AppendKeepAlive(s.out[:0], token)
		if c.probe && e.probing.Load() {
			s.out = protocol.AppendKeepAlive(s.out, token) // the duplicate: see the package doc
			s.probeAt = now
			c.inFlight = true
			e.c.probesPending.Add(1)
		}
		if _, err := nc.Write(s.out); err != nil {
			c.fail(KindWriteError)
			return stepEnd
		}
		e.c.keepAlives.Add(1)
		return stepContinue
	case protocol.CodeShutdown:
		if _, err := protocol.ParseShutdown(l.Arg); err != nil {
			c.fail(KindGarbage)
			return stepEnd
		}
		storeMin(&e.c.firstOrder, now.UnixNano())
		e.c.shutdownOrders.Add(1)
		if _, err := nc.Write([]byte(protocol.ShutdownAck)); err != nil {
			c.fail(KindWriteError)
			return stepEnd
		}
		storeMax(&e.c.lastAck, time.Now().UnixNano())
		e.c.shutdownAcks.Add(1)
		s.phase = phaseAcked
		e.c.registered.Add(-1)
		_ = nc.SetReadDeadline(now.Add(e.cfg.CloseLinger))
		return stepContinue
	case protocol.CodeClose:
		if !s.probeAt.IsZero() && reasonIs(l.Arg, protocol.ReasonProtocolError) {
			e.rtt.record(now.Sub(s.probeAt))
			e.c.probeSamples.Add(1)
			return stepReconnect
		}
		c.fail(kindOf190(l.Arg))
		return stepEnd
	}
	c.fail(KindUnexpectedLine)
	return stepEnd
}

// readEnded sorts out a read that failed: the close a shutdown ack expects,
// the harness closing the fleet, or an error.
func (c *client) readEnded(s *session, err error, now time.Time) bool {
	e := c.e
	switch {
	case s.phase == phaseAcked && isEOF(err):
		e.c.closedAfterAck.Add(1)
		storeMax(&e.c.lastClose, now.UnixNano())
	case e.closing.Load():
		c.leave(s)
	default:
		c.leave(s)
		c.fail(readKind(err, s.phase != phaseHandshake))
	}
	return false
}

// leave takes a registered session off the registered count.
func (c *client) leave(s *session) {
	s.probeAt = time.Time{}
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
