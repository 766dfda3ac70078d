package identity

import (
	"context"
	"time"

	"github.com/cliser/cliser/internal/tick"
)

// runSweep removes expired bans (their deletes queued, see expiry.go) and
// ended grace periods every sweep interval until ctx ends, and queues the
// deletes of ended bans again once a failure's wait is over.
func (s *Service) runSweep(ctx context.Context) { tick.Every(ctx, s.opts.sweep, s.sweep) }

func (s *Service) sweep(now time.Time) {
	s.pruneFlaps(now)
	if s.PendingExpiries() > 0 {
		s.queueExpiries(now)
	}
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
	report := s.expire(expired, now)
	s.mu.Unlock()
	for _, b := range report {
		s.reportExpired(b, now)
	}
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
