package identity

import (
	"context"
	"math"
	"slices"
	"time"

	"go.uber.org/zap"
)

// flapCount is one client ID's latest registrations within the window,
// nanoseconds since flapEpoch: a sliding window, so registrations are
// counted together whenever they fall within a window of each other, not
// only within one that began at some earlier registration. There is one
// per client that registered within the window, so after a burst one per
// client: a value in the map, 16 bytes, not a pointer to a struct holding
// a time.Time. It holds the newest two; a client with three or more in
// the window keeps the older ones in Service.flapsMore, so a client that
// reconnects once after a blip costs nothing more.
type flapCount struct {
	last int64 // the newest registration
	prev int64 // the one before it, within the window of last; noFlap if none
}

// noFlap is flapCount.prev when last is the only registration in the
// window.
const noFlap = math.MinInt64

// flapBuf is the registrations countRegistration sorts on the stack; a
// larger --flap-limit spills to the heap, for flapping clients only.
const flapBuf = 16

// countRegistration counts an admitted registration of cid; the one that
// reaches the limit within the window of the limit-1 before it starts a
// flapping ban. It runs on an event loop: the ban is held in memory at
// once and written behind.
func (s *Service) countRegistration(cid string, now time.Time) {
	limit := s.opts.flapLimit
	if limit <= 0 {
		return
	}
	at, window := int64(now.Sub(s.flapEpoch)), int64(s.opts.flapWindow)
	s.flapMu.Lock()
	hit := s.countLocked(cid, at, window, limit, true)
	s.flapMu.Unlock()
	if hit {
		s.startFlappingBan(cid, now)
	}
}

// CountRemoteRegistration counts a registration of cid that another node
// of the cluster admitted at at (its record reached this node), so that a
// client ID bouncing between nodes behind a balancer meets --flap-limit
// as it would on one node; counted per node, N nodes let it register N
// times as often. It starts no ban itself: the node that admits the
// registration that reaches the limit does, and its ban holds on every
// node. Safe from any goroutine.
func (s *Service) CountRemoteRegistration(cid string, at time.Time) {
	limit := s.opts.flapLimit
	age := time.Since(at) // by the wall clock: at is another node's reading of it
	if limit <= 0 || age > s.opts.flapWindow {
		return
	}
	// Placed by its age on this node's monotonic line, as its own are:
	// at.Sub(flapEpoch) read both by the wall clock, and a clock step
	// since the start moved another node's registrations by the step
	// against this node's (clock audit).
	pos := int64(time.Since(s.flapEpoch) - age)
	s.flapMu.Lock()
	s.countLocked(cid, pos, int64(s.opts.flapWindow), limit, false)
	s.flapMu.Unlock()
}

// countLocked records cid's registration at and reports whether it is the
// limit-th within window, when it may ban (a registration of this node's;
// another node's is only counted); s.flapMu is held.
func (s *Service) countLocked(cid string, at, window int64, limit int, mayBan bool) bool {
	fc, ok := s.flaps[cid]
	if !ok || at-fc.last > window {
		// The common case: nothing else in the window.
		if ok && fc.prev != noFlap {
			delete(s.flapsMore, cid)
		}
		if limit <= 1 && mayBan {
			delete(s.flaps, cid)
			return true
		}
		s.flaps[cid] = flapCount{last: at, prev: noFlap}
		s.flapPeak = max(s.flapPeak, len(s.flaps))
		return false
	}
	var buf [flapBuf]int64
	var more []int64
	if fc.prev != noFlap {
		more = s.flapsMore[cid]
	}
	all := append(buf[:0], more...)
	if fc.prev != noFlap {
		all = append(all, fc.prev)
	}
	all = append(all, fc.last)
	// Loops race to the lock, so at may be a little older than last.
	i, _ := slices.BinarySearch(all, at)
	all = slices.Insert(all, i, at)
	newest := all[len(all)-1]
	first := 0
	for newest-all[first] > window {
		first++
	}
	all = all[first:]
	if len(all) >= limit && mayBan {
		delete(s.flaps, cid) // the count starts afresh after the ban
		delete(s.flapsMore, cid)
		return true
	}
	n := len(all)
	if n == 1 { // at came a window before last: nothing to count it with
		s.flaps[cid] = flapCount{last: all[0], prev: noFlap}
		delete(s.flapsMore, cid)
		return false
	}
	s.flaps[cid] = flapCount{last: all[n-1], prev: all[n-2]}
	if rest := all[:n-2]; len(rest) > 0 {
		s.flapsMore[cid] = append(more[:0], rest...)
		s.flapsMorePeak = max(s.flapsMorePeak, len(s.flapsMore))
	} else if more != nil {
		delete(s.flapsMore, cid)
	}
	return false
}

func (s *Service) startFlappingBan(cid string, now time.Time) {
	now = now.UTC()
	until := now.Add(s.opts.flapBan)
	b := Ban{Kind: KindCID, Value: cid, Reason: "flapping", By: ByFlapping, At: now, Until: &until}
	// And closes nothing: a flapping ban leaves the connected session alone.
	if !s.holdFlappingBan(b, now) {
		return
	}
	s.behindUntil("put ban", until, func(ctx context.Context, st Store) error { return st.PutBan(ctx, b) })
	s.flapBans.Add(1)
	// What to look for and how to undo it: the line was the operator's
	// only lead (log audit).
	s.opts.log.Warn("identity: client id flapping; new registrations refused until the ban ends: look for two devices "+
		"sharing this ID or one in a reconnect loop; lift it early with `cliser bans rm cid "+cid+"`", zap.String("cid", cid),
		zap.Int("limit", s.opts.flapLimit), zap.Duration("window", s.opts.flapWindow), zap.Time("until", until))
	s.emit(banEvent(EventBanCreated, b, now))
}

// holdFlappingBan holds b unless an operator's ban of its client ID is
// active: one made between this registration's check (Admit) and its
// count, which the flapping ban replaced, so that a ban until lifted
// ended with the flapping ban's few minutes (and was gone from the store
// too, its write behind the operator's).
func (s *Service) holdFlappingBan(b Ban, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.bans[b.Key()]; old != nil && old.closes(now) { // an operator's, active
		return false
	}
	s.setBanLocked(&b)
	return true
}

// pruneFlaps forgets registrations that have left the window. It scans
// every count under the lock the loops take to count, so it runs at most
// once a second (sweep goroutine only). A Go map keeps its tables once
// grown: when a burst's counts have mostly gone, what is left moves to a
// map of its size, so the burst's memory goes back.
func (s *Service) pruneFlaps(now time.Time) {
	if now.Sub(s.lastFlapPrune) < time.Second {
		return
	}
	s.lastFlapPrune = now
	at, window := int64(now.Sub(s.flapEpoch)), int64(s.opts.flapWindow)
	s.flapMu.Lock()
	defer s.flapMu.Unlock()
	for cid, fc := range s.flaps {
		switch {
		case at-fc.last > window:
			delete(s.flaps, cid)
		case fc.prev != noFlap && at-fc.prev > window:
			s.flaps[cid] = flapCount{last: fc.last, prev: noFlap}
		default:
			continue
		}
		if fc.prev != noFlap {
			delete(s.flapsMore, cid)
		}
	}
	for cid, more := range s.flapsMore {
		first := 0
		for first < len(more) && at-more[first] > window {
			first++
		}
		if first == len(more) {
			delete(s.flapsMore, cid)
		} else if first > 0 {
			s.flapsMore[cid] = append(more[:0], more[first:]...)
		}
	}
	s.flaps, s.flapPeak = shrunk(s.flaps, s.flapPeak)
	s.flapsMore, s.flapsMorePeak = shrunk(s.flapsMore, s.flapsMorePeak)
}

// shrunk is m, or a copy of its size when it holds under a quarter of its
// peak (not maps.Clone: that keeps the size), and the peak to track next.
func shrunk[V any](m map[string]V, peak int) (map[string]V, int) {
	if peak <= flapKeep || len(m) >= peak/4 {
		return m, peak
	}
	small := make(map[string]V, len(m))
	for k, v := range m {
		small[k] = v
	}
	return small, len(small)
}

// flapKeep is the most counts whose map pruneFlaps keeps however few
// remain: a small map is not worth the copy.
const flapKeep = 1024
