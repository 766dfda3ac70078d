package reactor

import (
	"strconv"
	"sync/atomic"

	"github.com/panjf2000/gnet/v2"

	"github.com/cliser/cliser/protocol"
)

// state is a session's step in the protocol.
type state uint8

const (
	awaitProxy    state = iota // PROXY protocol on: the proxy's header not read yet
	awaitPassword              // "110 password" sent
	awaitID                    // "120 id" sent
	registered                 // "140 connected" sent; keep-alives run
	acked                      // "130 ok" read; its close is held (held.go)
	closing                    // closed on our side; the close is queued
	closed                     // OnClose ran; gnet has released the conn
)

// session is one connection's protocol state. It lives on its event loop:
// every field is read and written only there (see commands.go for the one
// way in from other goroutines). It is kept small: one per client.
type session struct {
	conn gnet.Conn
	lp   *loop

	cip *peer // one per address and loop (cipNames); the cid is the registry's

	tprev, tnext *session // timing wheel links (wheel.go)

	sentAt int64        // when the outstanding keep-alive went out (monotonic ns)
	seen   atomic.Int64 // the last correct echo, Unix ns; read by the registry (LastSeen)
	token  uint32       // its token; tokens count per loop and may wrap
	// due is the wheel's tick (wheel.dueTick), kept after the session
	// fires: while a keep-alive is out it is that keep-alive's timeout
	// deadline, counted from its walk (see sendKeepAlive).
	due uint32

	sid    uint16
	port   uint16 // the peer's port (cport)
	state  state
	reason protocol.Reason // why it is closing; set once
	flags  flags
}

// Fields are ordered and sized so that a session fits Go's 80-byte size
// class: there is one per client.

// flags are a session's yes-or-no facts, one byte for the size class.
type flags uint8

const (
	admitted        flags = 1 << iota // counted by the per-IP guard until its handshake ends
	keepPending                       // a keep-alive is out, unanswered
	shutdownPending                   // "130 shutdown" is out, "130 ok" not yet back
	failLogged                        // its refused handshake is logged already, with the cid it claimed
	proxyPartial                      // a PROXY header has begun to arrive, not whole yet
)

func (s *session) is(f flags) bool { return s.flags&f != 0 }

func (s *session) set(f flags, on bool) {
	if on {
		s.flags |= f
	} else {
		s.flags &^= f
	}
}

// cport is the port as the registry and the logs spell it.
func (s *session) cport() string { return strconv.Itoa(int(s.port)) }

func newSession(c gnet.Conn, lp *loop, cip *peer, port uint16) *session {
	return &session{conn: c, lp: lp, cip: cip, port: port, state: awaitPassword}
}

// consume runs every complete line at the start of buf through the state
// machine (after the PROXY header, when one is expected) and returns the
// bytes it used. It stops at a partial line, or once the session closes.
func (s *session) consume(buf []byte) int {
	used := 0
	if s.state == awaitProxy {
		used = s.readProxyHeader(buf)
	}
	for s.state > awaitProxy && s.state < acked {
		line, n, err := protocol.NextLine(buf[used:])
		if err != nil {
			s.fail(protocol.ReasonFor(err))
			break
		}
		if n == 0 {
			break
		}
		used += n
		s.handleLine(line)
	}
	return used
}

// handleLine advances the state machine by one client line.
func (s *session) handleLine(raw []byte) {
	l, err := protocol.Parse(raw)
	if err != nil {
		s.fail(protocol.ReasonFor(err))
		return
	}
	switch s.state {
	case awaitPassword:
		s.onPassword(l)
	case awaitID:
		s.onID(l)
	case registered:
		s.onRegistered(l)
	}
}

func (s *session) onPassword(l protocol.Line) {
	if l.Code != protocol.CodePassword || l.Arg == nil {
		s.fail(protocol.ReasonProtocolError)
		return
	}
	if s.refusedNow() {
		s.fail(protocol.ReasonTooManyAttempts)
		return
	}
	if !s.checkPassword(l.Arg) {
		s.authFailed()
		s.fail(protocol.ReasonAuthFailed)
		return
	}
	s.state = awaitID
	s.write(promptID)
}

// refusedNow reports whether the handshake's address was refused for
// wrong passwords (--auth-fail-limit) since its accept: new connections
// are refused on accept, and the answers of those already open get "190
// too many attempts" before they are checked.
func (s *session) refusedNow() bool {
	return s.is(admitted) && s.lp.srv.guard.refused(s.cip, s.lp.now())
}

// authFailed counts a wrong password against the client's address.
func (s *session) authFailed() {
	if s.lp.srv.guard.failed(s.cip.ip, s.lp.now()) {
		s.lp.srv.logAddressRefused(s.cip.ip)
	}
}

func (s *session) onID(l protocol.Line) {
	if l.Code != protocol.CodeID || l.Arg == nil {
		s.fail(protocol.ReasonProtocolError)
		return
	}
	if err := protocol.ValidateClientID(l.Arg); err != nil {
		s.fail(protocol.ReasonBadID)
		return
	}
	cid := string(l.Arg)
	if s.refusedNow() { // the pair (110 answer, id) is judged here
		s.failWithID(protocol.ReasonTooManyAttempts, cid, "")
		return
	}
	id := s.lp.srv.opts.identity
	closings := id.Closings()
	r, shared, certWhy := s.checkID(cid)
	if r != protocol.ReasonNone {
		if r == protocol.ReasonAuthFailed {
			s.authFailed()
		}
		s.failWithID(r, cid, certWhy)
		return
	}
	s.lp.srv.register(s, cid)
	// An operator's ban or a credential's deletion held after Admit's look
	// may have run its close before this session was in the registry,
	// and missed it: asked again, only then.
	if s.state == registered && id.Closings() != closings {
		if r := id.Recheck(cid, &s.lp.secret, shared); r != protocol.ReasonNone {
			s.fail(r)
		}
	}
}

func (s *session) onRegistered(l protocol.Line) {
	switch {
	case l.Code == protocol.CodeKeepAlive && l.Arg != nil:
		s.onKeepAliveEcho(l.Arg)
	case s.is(shutdownPending) && protocol.IsShutdownAck(l):
		s.lp.srv.opts.observer.ShutdownAcked()
		s.lp.srv.reg.ShutdownAcked(s.sid, s)
		s.holdClose()
	default:
		s.fail(protocol.ReasonProtocolError)
	}
}

// shutdown sends the 130 order and waits a keep-alive timeout for the ack.
// It reports whether the order went out: a write that fails closes the
// connection at once (gnet runs OnClose inside Write), and such a session
// is neither counted nor scheduled again.
func (s *session) shutdown(text string) bool {
	if s.state != registered || s.is(shutdownPending) {
		return false
	}
	s.set(shutdownPending, true)
	lp := s.lp
	lp.srv.ordersOut.Add(1) // before the write: a failed one runs OnClose
	lp.wbuf = protocol.AppendShutdown(lp.wbuf[:0], text)
	s.write(lp.wbuf)
	if s.state >= closing {
		return false
	}
	lp.srv.opts.observer.ShutdownSent()
	lp.srv.reg.ShutdownSent(s.sid, s, text)
	if s.is(keepPending) {
		// The keep-alive's deadline comes first, and a client silent past
		// it is dead, not slow to ack: it keeps that deadline, and its
		// echo sets the order's (onKeepAliveEcho). The order's used to
		// replace it, and such a client was closed later, as "shutdown"
		// (protocol audit).
		if lp.orderedAt == nil {
			lp.orderedAt = make(map[*session]int64)
		}
		lp.orderedAt[s] = lp.now()
		return true
	}
	lp.wheel.schedule(s, lp.now()+int64(lp.srv.opts.keepTimeout))
	return true
}

// forgetOrder drops what shutdown kept for s, and the map once empty: a
// broadcast is rare.
func (lp *loop) forgetOrder(s *session) {
	if len(lp.orderedAt) == 0 {
		return
	}
	delete(lp.orderedAt, s)
	if len(lp.orderedAt) == 0 {
		lp.orderedAt = nil
	}
}

// admit passes the per-IP limits once the client's address is known (on
// accept, or after the PROXY header). False: it has been refused.
func (s *session) admit() bool {
	if r := s.lp.srv.guard.admit(s.cip, s.lp.now()); r != protocol.ReasonNone {
		s.lp.srv.countCapped(r)
		s.refuse(r)
		return false
	}
	s.set(admitted, true)
	return true
}

// refuse closes a connection whose address is refused once the PROXY
// header named it. It is refused before its handshake began, as on accept
// (handler.reject): counted once as a rejection, and OnClose finds no
// session, so it is not counted again as a failed handshake.
func (s *session) refuse(r protocol.Reason) {
	s.lp.srv.logRefused(s.cip, s.port, r)
	s.lp.srv.opts.observer.Rejected(r)
	s.fail(r)
	s.conn.SetContext(nil)
	// What the header kept (its certificate) goes now: the OnClose that
	// drops it for other closes finds no session here.
	s.forgetHandshake()
}

// handshakeOver releases the per-IP handshake slot, once: at
// registration, or at the close of a handshake that never got there.
func (s *session) handshakeOver() {
	if s.is(admitted) {
		s.set(admitted, false)
		s.lp.srv.guard.done(s.cip)
	}
}

// write sends b on the loop and enforces the outbound backlog cap. Inside
// OnTraffic the lines are gathered and sent with one write when the input is
// consumed (see flush): a pipelined handshake then costs one syscall for
// "120 id" and "140 connected" together. gnet copies what it cannot send at
// once, so b may be reused after the call.
func (s *session) write(b []byte) {
	if s.state >= closing {
		return
	}
	if s.lp.batch == s {
		s.lp.out = append(s.lp.out, b...)
		return
	}
	s.send(b)
}

// flush sends what write gathered during OnTraffic, even when the session
// is closing: its last line is the 190 that says why.
func (s *session) flush() {
	lp := s.lp
	lp.batch = nil
	if len(lp.out) == 0 {
		return
	}
	s.send(lp.out)
	lp.out = lp.out[:0]
}

func (s *session) send(b []byte) {
	if _, err := s.conn.Write(b); err != nil {
		return // gnet has closed the connection and run OnClose
	}
	if s.state < closing && s.conn.OutboundBuffered() > s.lp.srv.opts.maxBacklog {
		s.closeQuietly(protocol.ReasonSlowConsumer)
	}
}

// fail closes with reason r, telling the client "190 <reason>" first when
// r is one the wire carries.
func (s *session) fail(r protocol.Reason) {
	if s.state >= closing {
		return
	}
	if r.SentOnWire() {
		s.lp.wbuf = protocol.AppendClose(s.lp.wbuf[:0], r)
		s.write(s.lp.wbuf)
	}
	s.closeQuietly(r)
}

// closeQuietly closes with reason r and no 190 line. The close itself is
// queued on the loop (gnet's Conn.Close), so it never runs OnClose under a
// caller that is still walking this session's input or the wheel.
func (s *session) closeQuietly(r protocol.Reason) {
	if s.state >= closing {
		return
	}
	s.state, s.reason = closing, r
	s.lp.wheel.remove(s)
	_ = s.conn.Close()
}
