package identity

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/tick"
)

// runSweep removes expired bans (ban.deleted, and a delete behind) and
// ended grace periods every sweep interval until ctx ends.
func (s *Service) runSweep(ctx context.Context) { tick.Every(ctx, s.opts.sweep, s.sweep) }

func (s *Service) sweep(now time.Time) {
	s.pruneFlaps(now)
	if !s.sweepDue(now) {
		return // the common case: a read lock, no scan of the credentials
	}
	var expired []Ban
	s.mu.Lock()
	for k, b := range s.bans {
		if !b.active(now) {
			expired = append(expired, *b)
			delete(s.bans, k)
		}
	}
	for _, cid := range s.creds.ended(now) {
		s.creds.endGrace(cid)
	}
	s.recountCredsLocked()
	if len(expired) > 0 {
		s.recountLocked()
	}
	s.mu.Unlock()
	for _, b := range expired {
		s.banEnded(b, now)
	}
}

// banEnded deletes b, which has ended and is no longer held, from the
// store behind, logs it and reports its ban.deleted (EVENTS.md: "also
// when a ban expires"), timed when it was found ended.
func (s *Service) banEnded(b Ban, now time.Time) {
	s.deleteBehind(b.Key())
	s.opts.log.Info("identity: ban expired", zap.String("kind", b.Kind), zap.String("value", b.Value), zap.String("by", b.By),
		zap.Timep("until", b.Until))
	s.emit(banEvent(EventBanDeleted, b, now.UTC()))
}

// sweepDue reports whether a ban has ended or a grace period has run out,
// under the read lock: the event loops keep reading meanwhile.
func (s *Service) sweepDue(now time.Time) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, b := range s.bans {
		if !b.active(now) {
			return true
		}
	}
	if s.nGrace.Load() == 0 {
		return false
	}
	return len(s.creds.ended(now)) > 0
}
