package identity

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"go.uber.org/zap"

	"github.com/cliser/cliser/protocol"
)

// The operator's side of bans: the admin API's methods call these.

// AddBan bans value of kind for d (0: until lifted) and closes every live
// session it matches with 190 banned. value is put in canonical form (see
// ParseBanValue); a ban of the same key is replaced. The write reaches the
// store before AddBan returns.
func (s *Service) AddBan(ctx context.Context, kind, value, reason string, d time.Duration) (Ban, error) {
	v, err := ParseBanValue(kind, value)
	if err != nil {
		return Ban{}, err
	}
	if d < 0 {
		return Ban{}, fmt.Errorf("%w: duration %s is negative", ErrBadBan, d)
	}
	if len(reason) > MaxBanReason {
		return Ban{}, fmt.Errorf("%w: reason is %d bytes; at most %d", ErrBadBan, len(reason), MaxBanReason)
	}
	now := time.Now().UTC()
	b := Ban{Kind: kind, Value: v, Reason: reason, By: ByOperator, At: now}
	if d > 0 {
		until := now.Add(d)
		b.Until = &until
	}
	own := ownBan(b.Key())
	unlock, err := s.lockKey(ctx, own)
	if err != nil {
		return Ban{}, err
	}
	defer unlock()
	s.beginOwn(own)
	err = s.write(ctx, "put ban", func(ctx context.Context, st Store) error { return st.PutBan(ctx, b) })
	if err == nil {
		if !s.selfApplied() {
			s.holdBan(b)
		}
		s.opts.log.Info("identity: ban created", zap.String("kind", b.Kind), zap.String("value", b.Value),
			zap.String("by", b.By), zap.Timep("until", b.Until))
		s.emit(banEvent(EventBanCreated, b, now))
		s.reported(own)
	}
	// The ban is reported before the sessions it closes end, so that each
	// one's client.disconnected (banned) comes after its ban.created.
	left := s.endOwn(own)
	if err != nil {
		if left != nil {
			left() // the store took it after all, and every node holds it: enforced, not reported
		}
		return Ban{}, err
	}
	if b.active(time.Now()) {
		s.closeMatching(b)
	}
	return b, nil
}

// holdBan holds b in memory. False when an equal ban was held already (a
// Watch echo).
func (s *Service) holdBan(b Ban) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.bans[b.Key()]; old != nil && sameBan(old, &b) {
		return false
	}
	s.setBanLocked(&b)
	return true
}

// setBanLocked holds b, and moves Closings when it closes sessions. s.mu
// held.
func (s *Service) setBanLocked(b *Ban) {
	s.bans[b.Key()] = b
	s.recountLocked()
	if b.closes(time.Now()) {
		s.closings.Add(1)
	}
}

// closes reports whether holding b closes the live sessions it matches:
// an operator's ban does; a flapping ban leaves the connected session
// alone.
func (b *Ban) closes(now time.Time) bool { return b.By == ByOperator && b.active(now) }

func (s *Service) closeMatching(b Ban) {
	switch b.Kind {
	case KindCID:
		s.opts.closeCID(b.Value, protocol.ReasonBanned)
	case KindIP:
		ip := b.Value
		s.opts.closeAddr(func(cip string) bool {
			a, err := netip.ParseAddr(cip)
			return err == nil && a.Unmap().String() == ip
		}, protocol.ReasonBanned)
	case KindNet:
		p, err := netip.ParsePrefix(b.Value)
		if err != nil {
			return
		}
		s.opts.closeAddr(func(cip string) bool {
			a, err := netip.ParseAddr(cip)
			return err == nil && p.Contains(a.Unmap())
		}, protocol.ReasonBanned)
	}
}

func sameBan(a, b *Ban) bool {
	return a.Reason == b.Reason && a.By == b.By && a.At.Equal(b.At) &&
		(a.Until == nil) == (b.Until == nil) && (a.Until == nil || a.Until.Equal(*b.Until))
}

// DeleteBan lifts a ban. ErrNotFound when there is none (an expired one
// counts as none).
func (s *Service) DeleteBan(ctx context.Context, kind, value string) error {
	v, err := ParseBanValue(kind, value)
	if err != nil {
		return err
	}
	k := BanKey{Kind: kind, Value: v}
	unlock, err := s.lockKey(ctx, ownBan(k))
	if err != nil {
		return err
	}
	defer unlock()
	b, ok := s.Ban(k)
	if !ok {
		return ErrNotFound
	}
	if err := s.write(ctx, "delete ban", func(ctx context.Context, st Store) error { return st.DeleteBan(ctx, k) }); err != nil {
		return err
	}
	// Reported whether or not the change came back first, as a
	// credential's delete is.
	if !s.selfApplied() {
		s.dropBan(k)
	}
	s.opts.log.Info("identity: ban deleted", zap.String("kind", k.Kind), zap.String("value", k.Value))
	s.emit(banEvent(EventBanDeleted, b, time.Now().UTC()))
	return nil
}

// dropBan forgets ban k, if it is held.
func (s *Service) dropBan(k BanKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.bans[k]; ok {
		delete(s.bans, k)
		s.recountLocked()
	}
}

// Ban returns the active ban k.
func (s *Service) Ban(k BanKey) (Ban, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, ok := s.bans[k]
	if !ok || !b.active(time.Now()) {
		return Ban{}, false
	}
	return *b, true
}

// Bans returns up to limit active bans after the key after (zero: from the
// top), ordered by kind then value, only of kind unless kind is "", and
// whether more follow.
func (s *Service) Bans(kind string, after BanKey, limit int) ([]Ban, bool) {
	now := time.Now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	return page(s.bans, func(k BanKey, b *Ban) bool {
		return (kind == "" || k.Kind == kind) && b.active(now) && compareBanKeys(k, after) > 0
	}, compareBanKeys, limit)
}
