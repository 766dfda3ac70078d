package identity

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// flapCount counts one client ID's registrations in the current window.
type flapCount struct {
	start time.Time
	n     int
}

// countRegistration counts an admitted registration of cid; the one that
// reaches the limit starts a flapping ban. It runs on an event loop: the
// ban is held in memory at once and written behind.
func (s *Service) countRegistration(cid string, now time.Time) {
	limit := s.opts.flapLimit
	if limit <= 0 {
		return
	}
	s.flapMu.Lock()
	fc := s.flaps[cid]
	if fc == nil || now.Sub(fc.start) > s.opts.flapWindow {
		fc = &flapCount{start: now}
		s.flaps[cid] = fc
	}
	fc.n++
	hit := fc.n >= limit
	if hit {
		delete(s.flaps, cid) // the count starts afresh after the ban
	}
	s.flapMu.Unlock()
	if hit {
		s.startFlappingBan(cid, now)
	}
}

func (s *Service) startFlappingBan(cid string, now time.Time) {
	now = now.UTC()
	until := now.Add(s.opts.flapBan)
	b := Ban{Kind: KindCID, Value: cid, Reason: "flapping", By: ByFlapping, At: now, Until: &until}
	s.putBan(b) // a flapping ban leaves the connected session alone
	s.behind("put ban", func(ctx context.Context, st Store) error { return st.PutBan(ctx, b) })
	s.flapBans.Add(1)
	s.opts.log.Warn("identity: client id flapping; new registrations refused", zap.String("cid", cid),
		zap.Int("limit", s.opts.flapLimit), zap.Duration("window", s.opts.flapWindow), zap.Time("until", until))
	s.emit(banEvent(EventBanCreated, b, now))
}

// pruneFlaps forgets counts whose window has passed. It scans every count
// under the lock the loops take to count, so it runs at most once a
// second (sweep goroutine only).
func (s *Service) pruneFlaps(now time.Time) {
	if now.Sub(s.lastFlapPrune) < time.Second {
		return
	}
	s.lastFlapPrune = now
	s.flapMu.Lock()
	defer s.flapMu.Unlock()
	for cid, fc := range s.flaps {
		if now.Sub(fc.start) > s.opts.flapWindow {
			delete(s.flaps, cid)
		}
	}
}
