package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/cliser/cliser/protocol"
)

// The operator's side of credentials: the admin API's methods call these.

// Enroll gives cid a new secret and returns it (the only time it is seen)
// with the stored credential. If cid had one, it is rotated: with grace > 0
// the old secret keeps working for grace, else it stops at once. The write
// reaches the store before Enroll returns.
func (s *Service) Enroll(ctx context.Context, cid string, grace time.Duration) (string, Credential, error) {
	if protocol.ValidateClientID([]byte(cid)) != nil {
		return "", Credential{}, fmt.Errorf("%w: %q", ErrBadCID, cid)
	}
	if grace < 0 {
		return "", Credential{}, fmt.Errorf("%w: %s is negative", ErrBadGrace, grace)
	}
	unlock, err := s.lockKey(ctx, ownCred(cid))
	if err != nil {
		return "", Credential{}, err
	}
	defer unlock()
	secret := NewSecret()
	now := time.Now().UTC()
	c := Credential{CID: cid, Digest: Digest([]byte(secret)), CreatedAt: now}
	if grace > 0 {
		prev, ok, err := s.currentDigest(ctx, cid)
		if err != nil {
			return "", Credential{}, err
		}
		if ok {
			until := now.Add(grace)
			c.Previous, c.PreviousValidUntil = &prev, &until
		}
	}
	if err := s.write(ctx, "put credential", func(ctx context.Context, st Store) error { return st.PutCredential(ctx, c) }); err != nil {
		return "", Credential{}, err
	}
	if !s.selfApplied() {
		s.mu.Lock()
		s.setCredLocked(&c)
		s.mu.Unlock()
	}
	s.opts.log.Info("identity: credential created", zap.String("cid", cid), zap.Durationp("grace", nonZero(grace)))
	s.emit(Event{Type: EventCredentialCreated, Time: now, CID: cid})
	return secret, c, nil
}

// currentDigest is cid's current digest whole, for a rotation's grace:
// the memory holds only a part of it (credtable.go's heldDigest), the
// store all of it. Without a store the held part, zero-padded, is all
// there is, and only the memory, which compares that part, keeps it.
func (s *Service) currentDigest(ctx context.Context, cid string) ([32]byte, bool, error) {
	if st := s.opts.store; st != nil {
		c, ok, err := st.Credential(ctx, cid)
		if err != nil {
			return [32]byte{}, false, fmt.Errorf("identity: read credential %q: %w", cid, err)
		}
		return c.Digest, ok, nil
	}
	s.mu.RLock()
	held, ok := s.creds.heldDigestOf(cid)
	s.mu.RUnlock()
	var d [32]byte
	copy(d[:], held[:])
	return d, ok, nil
}

// DeleteCredential removes cid's credential and closes its live session
// with 190 revoked. ErrNotFound when it has none.
func (s *Service) DeleteCredential(ctx context.Context, cid string) error {
	own := ownCred(cid)
	unlock, err := s.lockKey(ctx, own)
	if err != nil {
		return err
	}
	defer unlock()
	if _, ok := s.Credential(cid); !ok {
		return ErrNotFound
	}
	s.beginOwn(own)
	err = s.write(ctx, "delete credential", func(ctx context.Context, st Store) error { return st.DeleteCredential(ctx, cid) })
	if err == nil {
		// Reported whether or not the change came back first (a watch's
		// or a notice's echo drops it before this does: 2 to 5 of 20
		// deletes went unreported in cluster mode).
		if !s.selfApplied() {
			s.forgetCredential(cid)
		}
		s.opts.log.Info("identity: credential deleted", zap.String("cid", cid))
		s.emit(Event{Type: EventCredentialDeleted, Time: time.Now().UTC(), CID: cid})
		s.reported(own)
	}
	// Reported before the session is closed, so that its
	// client.disconnected (revoked) comes after its credential.deleted.
	left := s.endOwn(own)
	switch {
	case err != nil && left != nil && errors.Is(err, ErrNotFound):
		s.closeAsOthers(own, left) // another node's delete landed first: it reports, as for any of its changes
		return err
	case err != nil && left != nil:
		left() // the store took it after all, and every node dropped it: enforced, not reported
		return err
	case err != nil:
		return err
	}
	s.opts.closeCID(cid, protocol.ReasonRevoked)
	return nil
}

// forgetCredential forgets cid's credential; false when none was held.
func (s *Service) forgetCredential(cid string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deleteCredLocked(cid)
}

// Credential returns cid's credential as held in memory: its client ID,
// its creation to the second and the end of a grace period it is in;
// no digest (the store has them).
func (s *Service) Credential(cid string) (Credential, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.creds.get(cid)
}

// Credentials returns up to limit credentials after the client ID after
// whose client IDs start with prefix ("": all), in client-ID order, and
// whether more follow.
func (s *Service) Credentials(after, prefix string, limit int) ([]Credential, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.creds.page(after, prefix, limit)
}

// GraceUntil is the end of c's grace period while it runs, else nil.
func (c *Credential) GraceUntil(now time.Time) *time.Time {
	if c.PreviousValidUntil == nil || !now.Before(*c.PreviousValidUntil) {
		return nil
	}
	return c.PreviousValidUntil
}

func nonZero(d time.Duration) *time.Duration {
	if d == 0 {
		return nil
	}
	return &d
}

// compareBanKeys orders bans by kind, then value.
func compareBanKeys(a, b BanKey) int {
	if c := strings.Compare(a.Kind, b.Kind); c != 0 {
		return c
	}
	return strings.Compare(a.Value, b.Value)
}
