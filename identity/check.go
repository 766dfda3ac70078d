package identity

import (
	"net/netip"
	"time"

	"github.com/cliser/cliser/protocol"
)

// The event loop's questions. Each answers from memory, under a read lock
// when there is anything to look up.

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
	ok, banned := shared && !s.opts.require, false
	// With no credential and no client-ID ban held, the shared password
	// decides: no lookups, and no read lock (two atomic writes to a line
	// that every loop writes).
	if s.nCreds.Load() > 0 || s.nCIDBans.Load() > 0 {
		ok, banned = s.lookUp(cid, secret, ok, now)
	}
	switch {
	case !ok:
		return protocol.ReasonAuthFailed
	case banned:
		return protocol.ReasonBanned
	}
	s.countRegistration(cid, now)
	return protocol.ReasonNone
}

// Closings counts the changes held that close live sessions by client ID:
// an operator's ban and a credential's deletion. Such a close looks the
// client ID up in the registry, and a registration whose Admit answered
// before the change and that reached the registry after the close's look
// was left alone. The event loop reads this before Admit and again after
// the registration, and asks Recheck only when it moved.
func (s *Service) Closings() uint64 { return s.closings.Load() }

// Recheck says whether a registration just admitted (cid, the digest of
// its 110 answer, whether that was a shared password) is closed by a
// change held since its Admit: ReasonBanned for an operator's ban of cid,
// ReasonRevoked when cid's credential is gone and the answer admits it no
// more; ReasonNone otherwise. It counts nothing toward flapping, and a
// rotation (the old secret refused) is left alone, as a rotation leaves
// live sessions.
func (s *Service) Recheck(cid string, secret *[32]byte, shared bool) protocol.Reason {
	now := time.Now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	if b := s.bans[BanKey{Kind: KindCID, Value: cid}]; b != nil && b.closes(now) {
		return protocol.ReasonBanned
	}
	if _, enrolled := s.creds.matches(cid, secret, now); !enrolled && !(shared && !s.opts.require) {
		return protocol.ReasonRevoked
	}
	return protocol.ReasonNone
}

// lookUp is Admit's answer from cid's credential and ban: ok says whether
// the 110 answer admits it (sharedOK stands for a cid without a
// credential), banned whether an active client-ID ban refuses it.
func (s *Service) lookUp(cid string, secret *[32]byte, sharedOK bool, now time.Time) (ok, banned bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ok, enrolled := s.creds.matches(cid, secret, now)
	if !enrolled {
		ok = sharedOK
	}
	b := s.bans[BanKey{Kind: KindCID, Value: cid}]
	return ok, b != nil && b.active(now)
}
