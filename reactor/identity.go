package reactor

import (
	"crypto/sha256"

	"github.com/cliser/cliser/protocol"
)

// Identity is what the event loop asks of fleet identity (IDENTITY.md);
// identity.Service implements it. Its methods are called on event loops,
// several at once: they must be safe for concurrent use and answer from
// memory, at most a map lookup and a constant-time compare.
type Identity interface {
	// Deferred reports whether the 110 answer is checked together with
	// the client ID on the 120 answer (any credential exists, or
	// --require-credentials), rather than alone on the 110 answer.
	Deferred() bool
	// AddrBanned reports whether an ip or net ban covers cip.
	AddrBanned(cip string) bool
	// Admit decides the registration of cid whose 110 answer hashed to
	// secret (shared: that answer was a shared password): ReasonNone,
	// ReasonAuthFailed or ReasonBanned.
	Admit(cid string, secret *[32]byte, shared bool) protocol.Reason
	// RequireCredentials reports whether a client ID without a credential
	// is refused; the server may then run with no shared password.
	RequireCredentials() bool
	// Closings counts the changes that close live sessions by client ID;
	// read before Admit and after the registration, and when it moved,
	// Recheck says whether the new session is closed (and why).
	Closings() uint64
	Recheck(cid string, secret *[32]byte, shared bool) protocol.Reason
}

// sharedOnly is the seed's rule when no Identity is given: the shared
// password admits any client ID.
type sharedOnly struct{}

func (sharedOnly) Deferred() bool           { return false }
func (sharedOnly) AddrBanned(string) bool   { return false }
func (sharedOnly) RequireCredentials() bool { return false }
func (sharedOnly) Closings() uint64         { return 0 }
func (sharedOnly) Recheck(string, *[32]byte, bool) protocol.Reason {
	return protocol.ReasonNone
}
func (sharedOnly) Admit(_ string, _ *[32]byte, shared bool) protocol.Reason {
	if shared {
		return protocol.ReasonNone
	}
	return protocol.ReasonAuthFailed
}

// WithIdentity checks credentials and bans through id.
func WithIdentity(id Identity) Option {
	return func(o *options) {
		if id != nil {
			o.identity = id
		}
	}
}

// handshake is what a session learns between accept and its 120 answer. It
// is kept per loop, keyed by session, rather than in the session, which has
// to stay within its size class for every client held.
type handshake struct {
	secret [sha256.Size]byte // SHA-256 of the 110 answer
	shared bool              // the 110 answer was a shared password
	cert   certInfo          // what the PROXY header said of a client certificate (cert.go)
}

// checkPassword takes the 110 answer: it keeps its digest for the 120
// answer and says whether the handshake goes on. Unless the check is
// deferred, only a shared password goes on, as in the seed.
func (s *session) checkPassword(pw []byte) bool {
	lp := s.lp
	// No password or secret is of this form (1 to 256 bytes): refused at
	// once in the deferred check too, where it got 120 id and failed at
	// its 120 answer (found by the wire audit).
	if protocol.ValidatePassword(pw) != nil {
		delete(lp.hs, s)
		return false
	}
	hs := lp.hs[s]
	hs.secret = sha256.Sum256(pw)
	hs.shared = lp.srv.auth.MatchDigest(&hs.secret)
	if !hs.shared && !lp.srv.opts.identity.Deferred() {
		delete(lp.hs, s)
		return false
	}
	lp.hs[s] = hs
	return true
}

// checkID decides the 120 answer: the client certificate's name, then the
// pair (110 answer, client ID) against credentials and bans. shared: the
// 110 answer was a shared password (its digest stays in lp.secret).
// certWhy: the certificate refused it, and why (certRefusal).
func (s *session) checkID(cid string) (r protocol.Reason, shared bool, certWhy string) {
	lp := s.lp
	hs, ok := lp.hs[s]
	delete(lp.hs, s)
	if !ok {
		return protocol.ReasonAuthFailed, false, ""
	}
	// An ip or net ban made after this connection's accept: the ban's
	// close sees only registered sessions, so this one would get in.
	if lp.srv.opts.identity.AddrBanned(s.cip.ip) {
		return protocol.ReasonBanned, false, ""
	}
	// The certificate first: it has no side effects, while Admit counts
	// registrations toward flapping.
	if why := s.certRefusal(cid, &hs.cert); why != "" {
		return protocol.ReasonAuthFailed, false, why
	}
	// The digest goes by the loop's scratch: a pointer into hs, through
	// the interface, put hs on the heap on every handshake.
	lp.secret = hs.secret
	return lp.srv.opts.identity.Admit(cid, &lp.secret, hs.shared), hs.shared, ""
}

// forgetHandshake drops what the loop kept for s (its handshake ended).
func (s *session) forgetHandshake() { delete(s.lp.hs, s) }

// addrBanned refuses a banned client address: "190 banned" is the first
// and only line.
func (s *session) addrBanned() bool {
	if !s.lp.srv.opts.identity.AddrBanned(s.cip.ip) {
		return false
	}
	s.refuse(protocol.ReasonBanned)
	return true
}

// CloseWhere closes every registered session whose client address match
// accepts, with "190 <r>" (an operator's ip or net ban), and returns how
// many. It returns once every loop has run its task, or once the engine
// has stopped (onEveryLoop). Safe from any goroutine.
func (srv *Server) CloseWhere(match func(cip string) bool, r protocol.Reason) int {
	return srv.onEveryLoop(func(lp *loop) int {
		closed := 0
		lp.wheel.each(func(s *session) {
			if s.state == registered && match(s.cip.ip) {
				s.fail(r)
				closed++
			}
		})
		return closed
	})
}
