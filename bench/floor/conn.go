package floor

import (
	"crypto/subtle"

	"github.com/panjf2000/gnet/v2"

	"github.com/cliser/cliser/protocol"
)

type state uint8

const (
	awaitPassword state = iota // "110 password" sent
	awaitID                    // "120 id" sent
	registered                 // "140 connected 1" sent; keep-alives run
	closing                    // "190" or the close queued
)

// conn is one connection's state; only its loop touches it.
type conn struct {
	c        gnet.Conn
	lp       *loop
	sentAt   int64  // the outstanding keep-alive's send time, or the 130's
	token    uint64 // the outstanding keep-alive's token
	state    state
	pending  bool // a keep-alive is out, unanswered
	shutdown bool // "130 shutdown" is out, "130 ok" not yet back
}

var (
	promptID  = []byte(protocol.PromptID)
	connected = protocol.AppendConnected(nil, 1)
)

// consume runs the complete lines at the start of buf and returns the
// bytes used; replies gather in the loop's out buffer.
func (c *conn) consume(buf []byte) int {
	used := 0
	for c.state < closing {
		line, n, err := protocol.NextLine(buf[used:])
		if err != nil {
			c.fail(protocol.ReasonFor(err))
			break
		}
		if n == 0 {
			break
		}
		used += n
		c.handle(line)
	}
	return used
}

func (c *conn) handle(raw []byte) {
	l, err := protocol.Parse(raw)
	if err != nil {
		c.fail(protocol.ReasonFor(err))
		return
	}
	lp := c.lp
	switch {
	case c.state == awaitPassword && l.Code == protocol.CodePassword && l.Arg != nil:
		if !lp.srv.passwordOK(l.Arg) {
			c.fail(protocol.ReasonAuthFailed)
			return
		}
		c.state = awaitID
		lp.out = append(lp.out, promptID...)
	case c.state == awaitID && l.Code == protocol.CodeID && l.Arg != nil:
		if protocol.ValidateClientID(l.Arg) != nil {
			c.fail(protocol.ReasonBadID)
			return
		}
		c.state = registered
		lp.out = append(lp.out, connected...)
		lp.ka.push(c, lp.now()+lp.srv.cfg.KeepAlive.Nanoseconds())
	case c.state == registered && l.Code == protocol.CodeKeepAlive && l.Arg != nil:
		tok, err := protocol.ParseToken(l.Arg)
		if err != nil || !c.pending || tok != c.token {
			c.fail(protocol.ReasonProtocolError)
			return
		}
		c.pending = false
		lp.rtt.observe(lp.now() - c.sentAt)
	case c.state == registered && c.shutdown && protocol.IsShutdownAck(l):
		c.state = closing // OnTraffic returns gnet.Close
	default:
		c.fail(protocol.ReasonProtocolError)
	}
}

// due runs when c reaches the head of the keep-alive queue: it sends the
// next keep-alive, or closes c when its last one (or its 130) is older
// than the timeout, and queues c again.
func (c *conn) due(now int64) {
	lp := c.lp
	if c.state != registered {
		return // closed meanwhile: drop it from the queue
	}
	if c.pending || c.shutdown {
		if now-c.sentAt >= lp.srv.cfg.KeepAliveTimeout.Nanoseconds() {
			if c.shutdown {
				c.close()
			} else {
				c.send(protocol.AppendClose(lp.wbuf[:0], protocol.ReasonKeepaliveTimeout))
				c.close()
			}
			return
		}
	} else {
		lp.token++
		// The send's own time, as cliser's sendKeepAlive takes it: the
		// tick's now would count the keep-alives sent before it in the RTT.
		c.token, c.pending, c.sentAt = lp.token, true, lp.now()
		lp.wbuf = protocol.AppendKeepAlive(lp.wbuf[:0], c.token)
		c.send(lp.wbuf)
	}
	lp.ka.push(c, now+lp.srv.cfg.KeepAlive.Nanoseconds())
}

// order sends "130 shutdown <text>"; false when c is not registered.
func (c *conn) order(line []byte, now int64) bool {
	if c.state != registered || c.shutdown {
		return false
	}
	c.shutdown, c.sentAt = true, now
	c.send(line)
	return true
}

// fail queues "190 <reason>" and the close. Inside OnTraffic the line
// goes out with the loop's gathered replies.
func (c *conn) fail(r protocol.Reason) {
	if c.state >= closing {
		return
	}
	c.lp.out = protocol.AppendClose(c.lp.out, r)
	c.state = closing
}

func (c *conn) close() {
	c.state = closing
	_ = c.c.Close()
}

// send writes b now (outside OnTraffic); gnet copies what it cannot send.
func (c *conn) send(b []byte) { _, _ = c.c.Write(b) }

// passwordOK compares in constant time, as cliser does.
func (s *Server) passwordOK(p []byte) bool {
	return subtle.ConstantTimeCompare(p, s.cfg.Password) == 1
}
