package reactor

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/cliser/cliser/protocol"
)

// Lines about connections that never registered (a failed handshake, a
// PROXY header from outside --proxy-trusted) come one per connection, and
// anyone who reaches the port decides how many connections fail: one peer
// looping over connect-and-send-garbage wrote 270 KB of log a second, a
// disk filled from outside. So each such message is written for the first
// refusalLogFirst connections of every window, and the rest are counted
// and told in one line per window. cliser_handshakes_total,
// cliser_accept_rejections_total and cliser_proxy_refused_total still
// count every connection.
const (
	refusalLogEvery = 10 * time.Second
	refusalLogFirst = 20
)

// refusalLog is the sampled logger of those lines and the count of the
// ones it dropped. Its Logger is safe from any goroutine.
type refusalLog struct {
	*zap.Logger // sampled: refusalLogFirst lines of a message per window
	log         *zap.Logger
	every       time.Duration
	dropped     atomic.Int64

	mu   sync.Mutex // flush: the ticker goroutine, then Stop
	last time.Time  // when the last summary was written
}

func newRefusalLog(log *zap.Logger, every time.Duration) *refusalLog {
	r := &refusalLog{log: log, every: every}
	count := zapcore.SamplerHook(func(_ zapcore.Entry, d zapcore.SamplingDecision) {
		if d&zapcore.LogDropped != 0 {
			r.dropped.Add(1)
		}
	})
	r.Logger = log.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		return zapcore.NewSamplerWithOptions(c, every, refusalLogFirst, 0, count)
	}))
	return r
}

// flush writes how many lines were dropped since the last summary, at
// most once per window unless final (the server stops: nothing goes
// untold).
func (r *refusalLog) flush(now time.Time, final bool) {
	if r.dropped.Load() == 0 {
		return // the ticker's usual case: no lock
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !final && now.Sub(r.last) < r.every {
		return
	}
	n := r.dropped.Swap(0)
	if n == 0 {
		return
	}
	r.last = now
	r.log.Info("connections refused before registering, too many to log one by one: the first lines of each kind per window were "+
		"logged, these were only counted (cliser_handshakes_total, cliser_accept_rejections_total, cliser_proxy_refused_total)",
		zap.Int64("not_logged", n), zap.Duration("window", r.every), zap.Int("logged_per_window", refusalLogFirst))
}

// logRefused logs a connection refused by its address before its
// handshake (a ban, the per-IP limits), sampled as failed handshakes are:
// the address may be retrying in a loop. Without it an operator could not
// tell which address was turned away. One the per-IP guard refused (every
// reason but a ban, which matches the address or its own network) says
// what the guard counts it as, counted_as, as logAddressRefused does: an
// IPv6 address is refused for its /64's failures or handshakes, which its
// own address alone would not explain.
func (srv *Server) logRefused(cip *peer, port uint16, r protocol.Reason) {
	if ce := srv.refusals.Check(zap.InfoLevel, "connection refused before its handshake"); ce != nil {
		if r == protocol.ReasonBanned {
			ce.Write(zap.String("cip", cip.ip), zap.String("cport", strconv.Itoa(int(port))), zap.Stringer("reason", r))
			return
		}
		ce.Write(zap.String("cip", cip.ip), zap.String("cport", strconv.Itoa(int(port))), zap.Stringer("reason", r),
			zap.String("counted_as", srv.guard.key(cip.ip)), zap.String("flag", guardFlag(r)))
	}
}

// countCapped tells a CapObserver of a refusal of the per-IP guard that
// was its handshake cap's (on accept, or after the PROXY header).
func (srv *Server) countCapped(r protocol.Reason) {
	if ob, ok := srv.opts.observer.(CapObserver); ok && r == protocol.ReasonServerFull {
		ob.PerIPCapped()
	}
}

// guardFlag names the setting behind a refusal of the per-IP guard: its
// "server full" is the wire's word for the per-IP handshake cap too, and
// read alone it sent an operator to --max-clients and the connection
// ceiling, not to the flag a plant behind one NAT needs raised.
func guardFlag(r protocol.Reason) string {
	if r == protocol.ReasonServerFull {
		return "--max-handshakes-per-ip"
	}
	return "--auth-fail-limit"
}

// logAddressRefused says that ip's wrong passwords have it refused for
// the window: nothing else would name it (it is no ban in /v1/bans).
func (srv *Server) logAddressRefused(ip string) {
	if ce := srv.refusals.Check(zap.WarnLevel, "address refused for --auth-fail-window after too many wrong passwords"); ce != nil {
		ce.Write(zap.String("cip", ip), zap.String("counted_as", srv.guard.key(ip)),
			zap.Int("auth_fail_limit", srv.opts.authFailLimit), zap.Duration("window", srv.opts.authFailWindow))
	}
}

// failWithID fails a handshake refused at its 120 answer, and logs it
// here, where the cid it claimed is known: OnClose has only the address,
// and an operator looking for why a device stays out searches its ID.
// certWhy, when not empty, is why the client certificate refused it.
func (s *session) failWithID(r protocol.Reason, cid, certWhy string) {
	if certWhy != "" {
		s.failLoggedHere(r, zap.String("cid", cid), zap.String("certificate", certWhy))
		return
	}
	s.failLoggedHere(r, zap.String("cid", cid))
}

// failLoggedHere fails the handshake for r and logs it with what only
// its caller knows (known), sampled as OnClose's refusals are, which then
// log nothing more.
func (s *session) failLoggedHere(r protocol.Reason, known ...zap.Field) {
	if s.state >= closing {
		return
	}
	if ce := s.lp.srv.refusals.Check(zap.InfoLevel, "handshake failed"); ce != nil {
		ce.Write(append(known, zap.String("cip", s.cip.ip), zap.String("cport", s.cport()), zap.Stringer("reason", r))...)
	}
	s.set(failLogged, true)
	s.fail(r)
}

// failBadProxy refuses a bad PROXY header, counted, and logs why here,
// where it is known: the line said "protocol error" alone, and an
// operator with a terminator whose header cliser refused had no lead
// (identity audit: an SSL TLV without its version sub-TLV).
func (s *session) failBadProxy(why string) {
	s.lp.srv.proxyRefused(ProxyBadHeader)
	s.failLoggedHere(protocol.ReasonProtocolError, zap.String("proxy_header", why))
}
