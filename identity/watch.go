package identity

import (
	"context"
	"time"

	"go.uber.org/zap"
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
		s.opts.log.Warn("identity: store watch failed; not ready until it is back", zap.Error(err))
		for ctx.Err() == nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(watchRetry):
			}
			creds, bans, err := st.Load(ctx)
			if err == nil {
				s.replace(creds, bans)
				s.ready.Store(true)
				s.opts.log.Info("identity: store watch back")
				break
			}
		}
	}
}

// apply takes one change another node (or this one) wrote. It is
// idempotent: a change already held does nothing. A deleted credential
// closes the live session with 190 revoked and an operator's ban the
// sessions it matches with 190 banned, as on the node that made them;
// events are reported only there.
func (s *Service) apply(c Change) {
	switch {
	case c.Credential != nil:
		cred := *c.Credential
		s.mu.Lock()
		s.setCredLocked(&cred)
		s.mu.Unlock()
	case c.CredentialDeleted != "":
		s.dropCredential(c.CredentialDeleted)
	case c.Ban != nil:
		s.putBan(*c.Ban)
	case c.BanDeleted != nil:
		s.dropBan(*c.BanDeleted)
	}
}
