package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/cliser/cliser/identity"
)

// Watching the identity buckets: every node's path for every change, by
// any node, in revision order (the notices and the catching up are the
// fast paths beside it).

// errRewatch: NATS reconnected; a watch's consumer does not always survive
// that, so the watch is made again.
var errRewatch = errors.New("cluster: NATS reconnected")

// reconnectCheck is how often Watch looks whether NATS reconnected.
const reconnectCheck = time.Second

// Watch calls apply for every change of either bucket, by any node, until
// ctx ends. The first watch starts after the revisions the last Load read
// (with none, at the current values, and the delete each deleted key
// ended with): nothing written between Load and Watch is missed. When a
// watch ends or NATS reconnected, it watches again from the revision
// after the last one applied, so a change missed meanwhile is applied as
// it would have been — a ban made then still closes the sessions it
// matches. Never from the current values after a read: the consumer may
// be placed on a server still catching up (one just back), whose current
// values may be older than those read or applied, and a revoked
// credential would admit again until it caught up. Only a first watch
// that cannot start is an error. Meanwhile it takes the changes other
// nodes announce (identitynotice.go) and those its watches missed
// (identitycatchup.go), both of which reach it while no watch can be
// made; a change comes through whichever path is first, once.
func (s *IdentityStore) Watch(ctx context.Context, apply func(identity.Change)) error {
	o := &order{}
	s.mu.Lock()
	o.watched = s.loaded
	if s.apply == nil {
		close(s.applying)
	}
	s.watching, s.apply = o, apply
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.watching == o {
			s.watching = nil
		}
		s.mu.Unlock()
	}()
	sub, err := s.hear(o, apply)
	if err != nil {
		return fmt.Errorf("cluster: hear identity notices: %w", err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	rsub, err := s.hearReports()
	if err != nil {
		return fmt.Errorf("cluster: hear identity reports: %w", err)
	}
	defer func() { _ = rsub.Unsubscribe() }()
	defer o.end()
	looking, stopLooking := context.WithCancel(ctx)
	defer stopLooking()
	go s.catchUp(looking, o, apply)
	started, err := s.watchOnce(ctx, apply, o)
	for ctx.Err() == nil {
		if !started || errors.Is(err, identity.ErrStoreRenewed) {
			return err
		}
		s.log.Info("cluster: watching the identity buckets again", zap.NamedError("cause", err))
		for ctx.Err() == nil {
			if started, err = s.watchOnce(ctx, apply, o); started {
				break
			}
			if err := s.renewed(ctx); err != nil { // a watch of a bucket gone is never made
				return err
			}
			select {
			case <-ctx.Done():
			case <-time.After(watchRetry):
			}
		}
		started = true
	}
	return nil
}

// watchRetry is the wait before making the watches again after a try
// failed (watchMake bounds a try).
const watchRetry = 250 * time.Millisecond

// identityRevs is the last revision Watch applied of each bucket (0: none).
type identityRevs struct{ creds, bans uint64 }

// resumeFrom is the revision a watch resumes from: the one after rev, or 0
// (the current values) when none was applied.
func resumeFrom(rev uint64) uint64 {
	if rev == 0 {
		return 0
	}
	return rev + 1
}

// identityHeartbeat is the identity watches' idle heartbeat. Each watch's
// consumer has one replica, on any server of an R3 cluster; when that
// server stops, nats.go makes it again only after two heartbeats missed,
// checked every two: 2-4 heartbeats. nats.go's KeyWatcher (5 s) let a ban
// or a revocation reach the node 10-20 s late; IDENTITY.md gives it 2 s
// across a cluster, so at most 1 s goes to noticing. Idle, four small
// messages a second per bucket per node.
const identityHeartbeat = 250 * time.Millisecond

// watchOnce watches both buckets, each from after the revision o watched,
// until ctx ends (nil), NATS reconnects or a watch ends, applying through
// o. started is false when the watches could not be made.
func (s *IdentityStore) watchOnce(ctx context.Context, apply func(identity.Change), o *order) (started bool, err error) {
	reconnects := s.link.Reconnects()
	o.mu.Lock()
	last := o.watched
	o.mu.Unlock()
	cw, err := watchBucket(ctx, s.nc, CredentialsBucket, resumeFrom(last.creds), identityHeartbeat)
	if err != nil {
		return false, fmt.Errorf("cluster: watch %s: %w", CredentialsBucket, err)
	}
	defer func() { _ = cw.Stop() }()
	bw, err := watchBucket(ctx, s.nc, BansBucket, resumeFrom(last.bans), identityHeartbeat)
	if err != nil {
		return false, fmt.Errorf("cluster: watch %s: %w", BansBucket, err)
	}
	defer func() { _ = bw.Stop() }()
	tick := time.NewTicker(reconnectCheck)
	defer tick.Stop()
	for ticks := 1; ; ticks++ {
		select {
		case <-ctx.Done():
			return true, nil
		case <-tick.C:
			if s.link.Reconnects() != reconnects {
				return true, errRewatch
			}
			if ticks%int(renewCheck/reconnectCheck) == 0 {
				if err := s.renewed(ctx); err != nil {
					return true, err
				}
			}
		case c, ok := <-cw.Updates():
			if !ok {
				return true, fmt.Errorf("cluster: watch %s ended", CredentialsBucket)
			}
			if c != nil {
				o.fromWatch(CredentialsBucket, c, func() { credentialEntries.apply(s.log, c, apply) })
			}
		case c, ok := <-bw.Updates():
			if !ok {
				return true, fmt.Errorf("cluster: watch %s ended", BansBucket)
			}
			if c != nil {
				o.fromWatch(BansBucket, c, func() { banEntries.apply(s.log, c, apply) })
			}
		}
	}
}

// entryKind turns one bucket's watched entries into changes: a delete or
// purge names the key, a put carries the decoded value. An entry that is
// not ours is logged and skipped: one bad key must not end the watch.
type entryKind[K, V any] struct {
	name    string // "credential", "ban": for the log
	keyOf   func(string) (K, error)
	decode  func([]byte) (V, error)
	removed func(K) identity.Change
	put     func(V) identity.Change
}

var (
	credentialEntries = entryKind[string, identity.Credential]{name: "credential", keyOf: idOf,
		decode:  identity.DecodeCredential,
		removed: func(cid string) identity.Change { return identity.Change{CredentialDeleted: cid} },
		put:     func(c identity.Credential) identity.Change { return identity.Change{Credential: &c} }}
	banEntries = entryKind[identity.BanKey, identity.Ban]{name: "ban", keyOf: banKeyOf,
		decode:  identity.DecodeBan,
		removed: func(k identity.BanKey) identity.Change { return identity.Change{BanDeleted: &k} },
		put:     func(b identity.Ban) identity.Change { return identity.Change{Ban: &b} }}
	// entryKinds are the kinds by bucket, for the notices.
	entryKinds = map[string]func(*zap.Logger, *change, func(identity.Change)){
		CredentialsBucket: credentialEntries.apply, BansBucket: banEntries.apply}
)

func (k entryKind[K, V]) apply(log *zap.Logger, c *change, apply func(identity.Change)) {
	if c.op != jetstream.KeyValuePut {
		key, err := k.keyOf(c.key)
		if err != nil {
			log.Warn("cluster: "+k.name+" key not ours; ignored", zap.String("key", c.key))
			return
		}
		apply(k.removed(key))
		return
	}
	v, err := k.decode(c.value)
	if err != nil {
		log.Warn("cluster: undecodable "+k.name+"; ignored", zap.String("key", c.key), zap.Error(err))
		return
	}
	apply(k.put(v))
}
