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

// client is one client of the fleet (a probe reconnects, so it may be
// several connections in a row under the same client-id). Whoever serves
// its connection owns its fields.
type client struct {
	e       *Engine
	idx     int
	probe   bool
	answers []byte // "110 <password>\n120 <id>\n", the pipelined handshake
	src     int    // index of its source address
	// inFlight: a probe measured and has not registered again yet; the
	// fleet's probesPending counts it until then.
	inFlight bool
}

// --- the goroutine transport: one goroutine per connection, blocking reads ---

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
	s := newSession(ramp)
	if ramp {
		defer func() {
			if s.phase == phaseHandshake {
				done() // failed before 140
			}
		}()
	}
	nc, err := e.dialers[c.src].Dial("tcp", e.cfg.Addr)
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
		used, st := c.consume(s, buf[:n], now, done)
		switch st {
		case stepEnd:
			c.leave(s)
			return false
		case stepReconnect:
			c.leave(s)
			return true
		}
		if len(s.out) > 0 {
			if _, err := nc.Write(s.out); err != nil {
				c.leave(s)
				c.fail(KindWriteError)
				return false
			}
			c.written(s)
		}
		if s.setDeadline {
			s.setDeadline = false
			_ = nc.SetReadDeadline(s.deadline)
		}
		n = copy(buf, buf[used:n])
		if rerr != nil {
			return c.readEnded(s, rerr, now)
		}
	}
}

// readEnded sorts out a read that failed: the close a shutdown ack expects,
// the harness closing the fleet, or an error.
func (c *client) readEnded(s *session, err error, now time.Time) bool {
	switch {
	case s.phase == phaseAcked && isEOF(err):
		c.closedAfterAck(now)
	case c.e.closing.Load():
		c.leave(s)
	default:
		c.leave(s)
		c.fail(readKind(err, s.phase != phaseHandshake))
	}
	return false
}

// dialerFor makes the net.Dialer of one source address.
func dialerFor(src net.IP, timeout time.Duration) *net.Dialer {
	d := &net.Dialer{Timeout: timeout}
	if src != nil {
		d.LocalAddr = &net.TCPAddr{IP: src}
	}
	return d
}
