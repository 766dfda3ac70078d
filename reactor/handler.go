package reactor

import (
	"time"

	"github.com/panjf2000/gnet/v2"
	"go.uber.org/zap"

	"github.com/cliser/cliser/protocol"
)

// handler is the gnet.EventHandler. Its On* methods run on event loops
// (OnTick on gnet's ticker goroutine) and are not for callers.
type handler struct {
	gnet.BuiltinEventEngine
	*Server
}

var (
	promptPassword = []byte(protocol.PromptPassword)
	promptID       = []byte(protocol.PromptID)
)

func (h *handler) OnBoot(eng gnet.Engine) gnet.Action {
	h.eng = eng
	h.addr = BoundAddr(eng)
	close(h.booted)
	return gnet.None
}

func (h *handler) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	n := h.conns.Add(1)
	switch {
	case h.draining.Load():
		return h.reject(protocol.ReasonServerShuttingDown)
	case n > h.ceil.Load():
		return h.refuseFull()
	}
	lp := h.loopOf(c.EventLoop())
	cip, port := splitAddr(c.RemoteAddr(), &lp.cips)
	if !h.opts.proxyProtocol && h.opts.identity.AddrBanned(cip.ip) {
		h.logRefused(cip, port, protocol.ReasonBanned)
		return h.reject(protocol.ReasonBanned)
	}
	if h.opts.proxyProtocol && !h.proxyTrusted(c) {
		return h.refuseUntrusted(cip, port)
	}
	s := newSession(c, lp, cip, port)
	c.SetContext(s)
	now := lp.now() // one clock read for the guard and the wheel
	if h.opts.proxyProtocol {
		// The per-IP limits and bans wait for the real address, and the
		// prompt for the header.
		s.state = awaitProxy
		lp.wheel.schedule(s, now+int64(h.opts.handshakeTimeout))
		return nil, gnet.None
	}
	if r := h.guard.admit(cip, now); r != protocol.ReasonNone {
		c.SetContext(nil)
		h.logRefused(cip, port, r)
		h.countCapped(r)
		return h.reject(r)
	}
	s.set(admitted, true)
	lp.wheel.schedule(s, now+int64(h.opts.handshakeTimeout))
	return promptPassword, gnet.None
}

// reject refuses a connection before its handshake. OnClose still runs for
// it, with no session in the context.
func (h *handler) reject(r protocol.Reason) ([]byte, gnet.Action) {
	h.opts.observer.Rejected(r)
	return protocol.AppendClose(nil, r), gnet.Close
}

// OnTraffic consumes every complete line: gnet does not fire again for
// bytes left in its buffer. A partial line stays in gnet's inbound buffer,
// and NextLine refuses it as soon as it reaches the line limit, so no
// client can make the server buffer more than one read beyond it.
func (h *handler) OnTraffic(c gnet.Conn) gnet.Action {
	s, _ := c.Context().(*session)
	if s == nil || s.state >= acked {
		_, _ = c.Discard(-1)
		return gnet.None
	}
	buf, _ := c.Peek(-1)
	s.lp.batch = s
	used := s.consume(buf)
	s.flush()
	switch s.state {
	case closed: // a failed write made gnet close it under us
		return gnet.None
	case closing:
		return gnet.Close
	}
	if used > 0 { // gnet's Discard(0) would drop everything
		_, _ = c.Discard(used)
	}
	return gnet.None
}

func (h *handler) OnClose(c gnet.Conn, err error) gnet.Action {
	if n := h.conns.Add(-1); h.ceiling.full.Load() {
		h.ceiling.closed(n, int(h.ceil.Load()), h.log)
	}
	s, _ := c.Context().(*session)
	if s == nil {
		return gnet.None
	}
	s.lp.wheel.remove(s)
	s.lp.forgetOrder(s)
	if s.is(shutdownPending) {
		h.ordersOut.Add(-1)
	}
	s.handshakeOver()
	s.forgetHandshake()
	if s.reason == protocol.ReasonNone {
		switch {
		case h.draining.Load():
			if err == nil { // the engine's stop closed it before its loop told it (Stop)
				h.untold.Add(1)
			}
			s.reason = protocol.ReasonServerShuttingDown
		case h.engineDown.Load(), err == nil:
			// gnet stopped on its own: the process exits (Exited). The
			// loop whose accept failed closes its connections (with no
			// error: a peer's close or a failed write carries one, and
			// every close of ours set a reason) before the engine's
			// OnShutdown runs, so engineDown alone named that loop's
			// clients "closed by client".
			s.reason = protocol.ReasonServerRestarted
		default:
			s.reason = protocol.ReasonClosedByClient
		}
	}
	wasRegistered := s.state == registered || s.sid != 0
	s.state = closed
	if wasRegistered {
		// By sid: the session keeps no cid. A replaced session no longer
		// owns its record; the registry kept the cid it was replaced for,
		// so its line names it, as its "client registered" line did.
		cid, owned := h.reg.DisconnectSID(s.sid, s, s.reason)
		if !owned {
			// A newer connection took the record over (Register, the
			// only way a live session loses it): the registry ended this
			// session as replaced, in its record and its event, whatever
			// closed it here since (a held "130 ok", a timeout at the same
			// moment). The metrics say so too, not a second story.
			s.reason = protocol.ReasonReplaced
		}
		h.opts.observer.Disconnected(s.reason)
		if ce := h.log.Check(zap.InfoLevel, "client disconnected"); ce != nil {
			ce.Write(zap.Uint16("sid", s.sid), zap.String("cid", cid),
				zap.String("cip", s.cip.ip), zap.String("cport", s.cport()), zap.Stringer("reason", s.reason))
		}
		return gnet.None
	}
	h.opts.observer.Handshake(s.reason)
	if s.is(failLogged) {
		return gnet.None
	}
	if ce := h.refusals.Check(zap.InfoLevel, "handshake failed"); ce != nil {
		ce.Write(zap.String("cip", s.cip.ip), zap.String("cport", s.cport()), zap.Stringer("reason", s.reason))
	}
	return gnet.None
}

// OnTick runs on gnet's ticker goroutine and sleeps as long as wake says.
func (h *handler) OnTick() (time.Duration, gnet.Action) {
	now := int64(time.Since(h.epoch))
	sleep := h.wake(now)
	if now-h.lastLimit >= int64(time.Second) {
		h.lastLimit = now
		h.followLimit()
	}
	if now-h.lastPrune > int64(time.Minute) {
		h.lastPrune = now
		h.guard.prune(now)
	}
	h.refusals.flush(time.Now(), false)
	return sleep, gnet.None
}

// wake asks each loop to advance its own wheel, and only a loop whose wheel
// may have something due: each Execute wakes an idle loop (an eventfd
// write, a futex wake, a context switch), for nothing when no slot up to
// now holds a session. It returns how long the ticker may sleep: a tick,
// or while no wheel has anything due up to the first tick that may
// (options.idleTick at most). Safe from any goroutine.
func (h *handler) wake(now int64) time.Duration {
	next := now + int64(h.opts.idleTick())
	for _, lp := range h.loopList() {
		if !lp.wheel.idleUntil(now) || lp.heldDue(now) {
			_ = lp.el.Execute(h.ctx, lp.advance)
			next = now // the walk may leave sessions due at the next tick
			continue
		}
		next = min(next, lp.wheel.soonestAt())
		if lp.releaseAt.Load() != 0 {
			next = now // held closes go when the acks are in
		}
	}
	if h.ordersOut.Load() != 0 {
		next = now
	}
	return max(time.Duration(next-now), h.opts.tick)
}
