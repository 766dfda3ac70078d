package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/cliser/cliser/protocol"
)

// watchRetry is the pause before the Watch is started again after it failed.
const watchRetry = time.Second

// runWatch applies the store's changes until ctx ends. A single-node store
// returns nil at once: nothing to follow. When the Watch fails, the
// service is not ready (it may miss bans) until a fresh Load and Watch.
func (s *Service) runWatch(ctx context.Context) {
	st := s.opts.store
	for {
		err := st.Watch(ctx, s.apply)
		if ctx.Err() != nil || err == nil {
			return
		}
		s.ready.Store(false)
		s.watchFault.Store(&fault{since: time.Now(), err: err})
		renewed := errors.Is(err, ErrStoreRenewed)
		if renewed {
			s.opts.log.Error("identity: the store was made anew (the cluster's buckets gone from NATS): the credentials and bans "+
				"it held are gone, and this node drops them too once it has read the new one, closing no session for it; "+
				"enroll and ban again", zap.Error(err))
		} else {
			s.opts.log.Warn("identity: store watch failed; not ready until it is back", zap.Error(err))
		}
		for ctx.Err() == nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(watchRetry):
			}
			creds, bans, err := st.Load(ctx)
			if err == nil {
				if renewed {
					s.renew(creds, bans)
				} else {
					s.reload(creds, bans)
				}
				s.ready.Store(true)
				s.watchFault.Store(nil)
				s.opts.log.Info("identity: store watch back")
				break
			}
		}
	}
}

// ReadyErr is nil when Ready, else why not, for /readyz: a node that does
// not enforce every credential and ban it knows of is not ready
// (IDENTITY.md), but it still serves its clients, so the cause is named
// rather than "starting or draining". Safe from any goroutine.
func (s *Service) ReadyErr() error {
	if s.ready.Load() {
		return nil
	}
	if f := s.watchFault.Load(); f != nil {
		return fmt.Errorf("identity: credentials and bans not followed since %s (%v): a ban or revocation made meanwhile may not hold here",
			f.since.UTC().Format(time.RFC3339), f.err)
	}
	return errors.New("identity: credentials and bans not loaded yet")
}

// apply takes one change another node (or this one) wrote. It is
// idempotent: a change already held does nothing. A deleted credential
// closes the live session with 190 revoked and an operator's ban the
// sessions it matches with 190 banned, as on the node that made them;
// events are reported only there. The echo of a change this node is
// still writing holds it and leaves the closing to that write, which
// reports the change first (own.go).
func (s *Service) apply(c Change) {
	switch {
	case c.Credential != nil:
		cred := *c.Credential
		s.mu.Lock()
		s.setCredLocked(&cred)
		s.mu.Unlock()
	case c.CredentialDeleted != "":
		if cid := c.CredentialDeleted; s.forgetCredential(cid) {
			s.closeOrLeave(ownCred(cid), func() { s.opts.closeCID(cid, protocol.ReasonRevoked) })
		}
	case c.Ban != nil:
		if b := *c.Ban; s.holdBan(b) && b.closes(time.Now()) {
			s.closeOrLeave(ownBan(b.Key()), func() { s.closeMatching(b) })
		}
	case c.BanDeleted != nil:
		s.dropBan(*c.BanDeleted)
	}
}

// renew takes a store made anew as it is: what the old one held is gone
// from every node alike, and no operator revoked or banned anything, so
// no session is closed for it. An ended ban in it is expired as at
// reload.
func (s *Service) renew(creds []Credential, bans []Ban) {
	now := time.Now()
	for _, b := range s.expire(s.replace(creds, bans), now) {
		s.reportExpired(b, now)
	}
}

// reload replaces the state after the watch was lost, and closes what the
// changes it missed would have closed had they come through it: the
// session of a credential deleted meanwhile (190 revoked) and those an
// operator's ban made meanwhile matches (190 banned). The next Watch then
// replays them as changes already held, which close nothing.
func (s *Service) reload(creds []Credential, bans []Ban) {
	s.mu.RLock()
	hadCred := make(map[string]bool, s.creds.len())
	for _, cid := range s.creds.cids() {
		hadCred[cid] = true
	}
	hadBan := make(map[BanKey]*Ban, len(s.bans))
	for k, b := range s.bans {
		hadBan[k] = b
	}
	s.mu.RUnlock()
	// An ended ban still in the store has not been deleted by anyone's
	// expiry yet (or this node's is on its way): this node tries too, and
	// reports it if its delete wins (expiry.go).
	now := time.Now()
	for _, b := range s.expire(s.replace(creds, bans), now) {
		s.reportExpired(b, now)
	}
	// The closes below look up registered sessions: one admitted before
	// the new state and registered after a close's look is asked again
	// (Closings), as for a ban or a delete applied one by one.
	s.closings.Add(1)
	for _, c := range creds {
		delete(hadCred, c.CID)
	}
	for cid := range hadCred {
		s.closeOrLeave(ownCred(cid), func() { s.opts.closeCID(cid, protocol.ReasonRevoked) })
	}
	for i := range bans {
		b := bans[i]
		if old := hadBan[b.Key()]; (old == nil || !sameBan(old, &b)) && b.closes(now) {
			s.closeOrLeave(ownBan(b.Key()), func() { s.closeMatching(b) })
		}
	}
}
