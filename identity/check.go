package identity

import (
	"net/netip"
	"time"

	"github.com/cliser/cliser/protocol"
)

// The event loop's questions. Each answers from memory under a read lock.

// Deferred reports whether the handshake must check the password together
// with the client ID, on the 120 answer: once any credential exists, or
// with --require-credentials. Otherwise the shared password is checked on
// the 110 answer, as in the seed.
func (s *Service) Deferred() bool { return s.opts.require || s.nCreds.Load() > 0 }

// AddrBanned reports whether an active ip or net ban covers cip (a client
// address as the reactor writes it). It costs an atomic load while there is
// no address ban at all.
func (s *Service) AddrBanned(cip string) bool {
	if s.nAddrBans.Load() == 0 {
		return false
	}
	a, err := netip.ParseAddr(cip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	now := time.Now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	if b := s.bans[BanKey{Kind: KindIP, Value: a.String()}]; b != nil && b.active(now) {
		return true
	}
	for _, n := range s.nets {
		if n.p.Contains(a) && n.ban.active(now) {
			return true
		}
	}
	return false
}

// Admit decides the registration of cid whose 110 answer had the SHA-256
// secret; shared says whether that answer was one of the shared passwords.
// It answers ReasonNone (admit), ReasonAuthFailed or ReasonBanned. An
// admitted registration counts toward the flapping limit, and the one that
// reaches it starts a flapping ban (it is itself admitted).
func (s *Service) Admit(cid string, secret *[32]byte, shared bool) protocol.Reason {
	now := time.Now()
	s.mu.RLock()
	ok, enrolled := s.creds.matches(cid, secret, now)
	if !enrolled {
		ok = shared && !s.opts.require
	}
	b := s.bans[BanKey{Kind: KindCID, Value: cid}]
	banned := b != nil && b.active(now)
	s.mu.RUnlock()
	switch {
	case !ok:
		return protocol.ReasonAuthFailed
	case banned:
		return protocol.ReasonBanned
	}
	s.countRegistration(cid, now)
	return protocol.ReasonNone
}
