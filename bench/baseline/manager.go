package baseline

import (
	"errors"
	"net"
	"time"

	"go.uber.org/zap"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// evKind says what a mailbox event is.
type evKind uint8

const (
	evAccept      evKind = iota // nc: a new socket
	evLine                      // c, line or err (a codec error): the next line
	evTimeout                   // c: its read deadline passed
	evReadEnd                   // c, err: the socket's read side ended
	evWriteFailed               // c, err: a flush failed
	evShutdown                  // c, text: operator's 130 to one client
	evClose                     // c, reason: operator's close of one client
	evShutdownAll               // text, reply: 130 to every registered client
	evStop                      // reply: 190 server shutting down to all
	evQuit                      // the manager returns
)

// event is one message in the manager's mailbox. It is a plain value so a
// post allocates nothing.
type event struct {
	kind   evKind
	c      *conn
	nc     net.Conn
	line   protocol.Line
	err    error
	text   string
	reason protocol.Reason
	reply  chan int
}

// manage is the manager goroutine: it owns every session and runs the
// protocol's state machine, one event at a time.
func (s *Server) manage() {
	defer close(s.quit)
	for {
		ev := <-s.mailbox
		switch ev.kind {
		case evQuit:
			return
		case evAccept:
			s.onAccept(ev.nc)
		case evLine:
			s.onLine(ev.c, ev.line, ev.err)
		case evTimeout:
			s.onTimeout(ev.c)
		case evReadEnd:
			s.closeConn(ev.c, protocol.ReasonClosedByClient)
		case evWriteFailed:
			s.closeConn(ev.c, writeFailureReason(ev.err))
		case evShutdown:
			s.shutdown(ev.c, ev.text)
		case evClose:
			s.closeConn(ev.c, ev.reason)
		case evShutdownAll:
			ev.reply <- s.shutdownAll(ev.text)
		case evStop:
			s.stopping = true
			for c := range s.conns {
				s.closeConn(c, protocol.ReasonServerShuttingDown)
			}
			ev.reply <- 0
		}
	}
}

// onAccept sets up the means to talk to a new client and asks for its
// password, as the design note's manager does.
func (s *Server) onAccept(nc net.Conn) {
	c := newConn(s, nc)
	s.track(c)
	s.conns[c] = struct{}{}
	s.setDeadline(c, time.Now().Add(s.cfg.HandshakeTimeout))
	s.connWG.Add(2)
	go c.writeLoop()
	go c.readLoop()
	switch {
	case s.stopping:
		s.closeConn(c, protocol.ReasonServerShuttingDown)
	case s.cfg.MaxConns > 0 && s.liveCount() > s.cfg.MaxConns:
		s.closeConn(c, protocol.ReasonServerFull)
	default:
		s.send(c, outMsg{kind: outPromptPassword})
	}
}

// onLine runs one client line through the session's state machine. Lines
// come strictly in order, so a pipelined handshake works as is.
func (s *Server) onLine(c *conn, l protocol.Line, err error) {
	if c.phase == phaseClosed {
		return
	}
	if err != nil {
		s.closeConn(c, protocol.ReasonFor(err))
		return
	}
	switch c.phase {
	case phaseAuth:
		s.onPassword(c, l)
	case phaseID:
		s.onClientID(c, l)
	case phaseRegistered:
		s.onRegisteredLine(c, l)
	}
}

// awaited reports whether l is the awaited "<code> <arg>" with an arg that
// valid accepts; if not, it closes c with the reason.
func (s *Server) awaited(c *conn, l protocol.Line, code protocol.Code, valid func([]byte) error) bool {
	if l.Code != code || l.Arg == nil {
		s.closeConn(c, protocol.ReasonProtocolError)
		return false
	}
	if err := valid(l.Arg); err != nil {
		s.closeConn(c, protocol.ReasonFor(err))
		return false
	}
	return true
}

func (s *Server) onPassword(c *conn, l protocol.Line) {
	if !s.awaited(c, l, protocol.CodePassword, protocol.ValidatePassword) {
		return
	}
	if !s.passwords.accepts(l.Arg) {
		s.closeConn(c, protocol.ReasonAuthFailed)
		return
	}
	c.phase = phaseID
	s.send(c, outMsg{kind: outPromptID})
}

func (s *Server) onClientID(c *conn, l protocol.Line) {
	if !s.awaited(c, l, protocol.CodeID, protocol.ValidateClientID) {
		return
	}
	cid := string(l.Arg)
	sid, replaced, err := s.reg.Register(cid, c.cip, c.cport, c)
	if replaced != nil {
		s.closeReplaced(replaced)
	}
	if err != nil {
		// registry.ErrFull is the only error Register returns.
		s.closeConn(c, protocol.ReasonServerFull)
		return
	}
	c.phase, c.cid, c.sid = phaseRegistered, cid, sid
	if !s.send(c, outMsg{kind: outConnected, num: uint64(sid)}) {
		return
	}
	s.setDeadline(c, time.Now().Add(s.cfg.KeepAliveInterval))
	if ce := s.log.Check(zap.DebugLevel, "client registered"); ce != nil {
		ce.Write(zap.String("cid", cid), zap.Uint16("sid", sid), zap.String("cip", c.cip), zap.String("cport", c.cport))
	}
}

// closeReplaced closes the connection a takeover displaced. Ours is closed
// right here (posting to our own mailbox could deadlock when it is full);
// any other registry.Conn is asked through its own method.
func (s *Server) closeReplaced(old registry.Conn) {
	if oc, ok := old.(*conn); ok && oc.srv == s {
		s.closeConn(oc, protocol.ReasonReplaced)
		return
	}
	_ = old.Close(protocol.ReasonReplaced)
}

func (s *Server) onRegisteredLine(c *conn, l protocol.Line) {
	switch {
	case l.Code == protocol.CodeKeepAlive:
		token, err := protocol.ParseToken(l.Arg)
		if err != nil || !c.kaPending || token != c.kaToken {
			s.closeConn(c, protocol.ReasonProtocolError)
			return
		}
		c.kaPending = false
		s.reg.Touch(c.sid, c)
		if c.shutdownPending {
			return // the deadline now waits for "130 ok"; no more keep-alives
		}
		// The cadence is set by sends, not by echoes, so a slow client does
		// not stretch its own interval.
		now := time.Now()
		next := c.kaSentAt.Add(s.cfg.KeepAliveInterval)
		if next.Before(now) {
			next = now
		}
		s.setDeadline(c, next)
	case c.shutdownPending && protocol.IsShutdownAck(l):
		s.closeConn(c, protocol.ReasonShutdown)
	default:
		s.closeConn(c, protocol.ReasonProtocolError)
	}
}

// onTimeout decides what a passed read deadline means. A deadline the
// manager has moved since the reader started waiting is stale: the reader
// just reads on.
func (s *Server) onTimeout(c *conn) {
	if c.phase == phaseClosed {
		return // the reader sees done
	}
	now := time.Now()
	switch {
	case now.Before(c.deadline):
		// stale
	case c.phase != phaseRegistered:
		s.closeConn(c, protocol.ReasonHandshakeTimeout)
		return
	case c.shutdownPending:
		// Ordered down and no "130 ok" within the keep-alive timeout: it
		// is closed all the same, and the record says why it was ordered.
		s.closeConn(c, protocol.ReasonShutdown)
		return
	case c.kaPending:
		s.closeConn(c, protocol.ReasonKeepaliveTimeout)
		return
	default:
		c.kaToken++
		c.kaPending, c.kaSentAt = true, now
		if !s.send(c, outMsg{kind: outKeepAlive, num: c.kaToken}) {
			return
		}
		s.setDeadline(c, now.Add(s.cfg.KeepAliveTimeout))
	}
	select {
	case c.resume <- struct{}{}:
	default:
	}
}

// shutdown sends "130 shutdown[ <text>]" to one registered client, once;
// its "130 ok" is valid from now on, and it has a keep-alive timeout to
// give it. It reports whether a 130 was sent.
func (s *Server) shutdown(c *conn, text string) bool {
	if c.phase != phaseRegistered || c.shutdownPending {
		return false
	}
	c.shutdownPending = true
	if !s.send(c, outMsg{kind: outShutdown, text: text}) {
		return false
	}
	s.setDeadline(c, time.Now().Add(s.cfg.KeepAliveTimeout))
	return true
}

func (s *Server) shutdownAll(text string) int {
	n := 0
	for c := range s.conns {
		if s.shutdown(c, text) {
			n++
		}
	}
	return n
}

// setDeadline moves c's read deadline and remembers it, so that a timeout
// the reader reports can be told from a stale one.
func (s *Server) setDeadline(c *conn, t time.Time) {
	c.deadline = t
	_ = c.nc.SetReadDeadline(t)
}

// send queues m for c's writer without ever blocking the manager. A client
// whose mailbox is full has stopped reading: it is dropped as a slow consumer.
func (s *Server) send(c *conn, m outMsg) bool {
	select {
	case c.out <- m:
		return true
	default:
		s.closeConn(c, protocol.ReasonSlowConsumer)
		return false
	}
}

// closeConn ends a session: it records the reason in the registry (if the
// connection still owns its record), queues "190 <reason>" when the wire
// carries that reason, and lets the writer and reader wind down.
func (s *Server) closeConn(c *conn, r protocol.Reason) {
	if c.phase == phaseClosed {
		return
	}
	if c.phase == phaseRegistered {
		s.reg.Disconnect(c.cid, c, r)
	}
	c.phase = phaseClosed
	delete(s.conns, c)
	if r.SentOnWire() {
		select {
		case c.out <- outMsg{kind: outClose, reason: r}:
		default:
			_ = c.nc.Close() // the writer is stuck; no line can reach this client
		}
	}
	if r == protocol.ReasonSlowConsumer {
		_ = c.nc.Close() // unblock the stuck writer
	}
	close(c.out)
	close(c.done)
	if ce := s.log.Check(zap.DebugLevel, "connection closed"); ce != nil {
		ce.Write(zap.String("cid", c.cid), zap.Uint16("sid", c.sid), zap.String("cip", c.cip),
			zap.String("cport", c.cport), zap.Stringer("reason", r))
	}
}

// writeFailureReason names why a flush failed: a client that did not read
// for the write timeout is a slow consumer; anything else means the socket
// is gone.
func writeFailureReason(err error) protocol.Reason {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return protocol.ReasonSlowConsumer
	}
	return protocol.ReasonClosedByClient
}
