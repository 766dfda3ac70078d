package identity

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// flapCount counts one client ID's registrations in the current window.
// There is one per client that registered within the window, so after a
// burst one per client: a value in the map, 16 bytes, not a pointer to a
// struct holding a time.Time.
type flapCount struct {
	start int64 // when the window began, nanoseconds since flapEpoch
	n     int64
}

// countRegistration counts an admitted registration of cid; the one that
// reaches the limit starts a flapping ban. It runs on an event loop: the
// ban is held in memory at once and written behind.
func (s *Service) countRegistration(cid string, now time.Time) {
	limit := s.opts.flapLimit
	if limit <= 0 {
		return
	}
	at := int64(now.Sub(s.flapEpoch))
	s.flapMu.Lock()
	fc, ok := s.flaps[cid]
	if !ok || at-fc.start > int64(s.opts.flapWindow) {
		fc = flapCount{start: at}
	}
	fc.n++
	hit := fc.n >= int64(limit)
	if hit {
		delete(s.flaps, cid) // the count starts afresh after the ban
	} else {
		s.flaps[cid] = fc
		s.flapPeak = max(s.flapPeak, len(s.flaps))
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
// second (sweep goroutine only). A Go map keeps its tables once grown:
// when a burst's counts have mostly gone, what is left moves to a map of
// its size, so the burst's memory goes back.
func (s *Service) pruneFlaps(now time.Time) {
	if now.Sub(s.lastFlapPrune) < time.Second {
		return
	}
	s.lastFlapPrune = now
	at := int64(now.Sub(s.flapEpoch))
	s.flapMu.Lock()
	defer s.flapMu.Unlock()
	for cid, fc := range s.flaps {
		if at-fc.start > int64(s.opts.flapWindow) {
			delete(s.flaps, cid)
		}
	}
	if s.flapPeak > flapKeep && len(s.flaps) < s.flapPeak/4 {
		small := make(map[string]flapCount, len(s.flaps)) // not maps.Clone: it keeps the size
		for cid, fc := range s.flaps {
			small[cid] = fc
		}
		s.flaps, s.flapPeak = small, len(small)
	}
}

// flapKeep is the most counts whose map pruneFlaps keeps however few
// remain: a small map is not worth the copy.
const flapKeep = 1024
