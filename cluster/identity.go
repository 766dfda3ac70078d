package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/cliser/cliser/identity"
)

// Fleet identity in cluster mode: credentials and bans in two JetStream
// key-value buckets every node shares, watched by every node as the
// clients bucket is (IDENTITY.md). The identity.Service on each node
// answers the event loops from memory and writes behind through this
// store; a change written by any node reaches every node's Service
// through Watch, which closes the sessions it revokes or bans there.
//
// Ban expiry is the Service's: each node's sweep drops an expired ban and
// deletes its key (deleting twice is harmless), so the buckets keep no TTL
// of their own and a ban's end is the same on every node, to the second
// of its Until.

// Bucket names.
const (
	CredentialsBucket = "cliser_credentials"
	BansBucket        = "cliser_bans"
)

// IdentityStore is identity.Store on the cluster's JetStream. Safe for
// concurrent use.
type IdentityStore struct {
	nc          *nats.Conn
	js          jetstream.JetStream
	creds, bans jetstream.KeyValue
	prefix      string                      // the cluster's subject prefix: notices go under it
	streams     map[string]jetstream.Stream // the buckets' streams, by bucket: for direct gets
	notices     *prometheus.CounterVec
	caughtUp    prometheus.Counter
	log         *zap.Logger

	mu     sync.Mutex
	loaded identityRevs // the revisions the last Load read: Watch starts after them
}

var _ identity.Store = (*IdentityStore)(nil)

// IdentityStore makes the identity buckets if they are missing (with the
// node's replica count) and returns the store on them. Safe from any
// goroutine; call it once.
func (n *Node) IdentityStore() (*IdentityStore, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*n.opts.opTimeout)
	defer cancel()
	mk := func(bucket, what string) (jetstream.KeyValue, error) {
		kv, err := n.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      bucket,
			Description: what,
			History:     1,
			Storage:     jetstream.FileStorage,
			Replicas:    n.opts.replicas,
		})
		if err != nil {
			return nil, fmt.Errorf("cluster: bucket %s: %w", bucket, err)
		}
		return kv, nil
	}
	creds, err := mk(CredentialsBucket, "cliser credentials (SHA-256 digests only), keyed by client id")
	if err != nil {
		return nil, err
	}
	bans, err := mk(BansBucket, "cliser bans, keyed by kind.value")
	if err != nil {
		return nil, err
	}
	streams := map[string]jetstream.Stream{}
	for _, bucket := range []string{CredentialsBucket, BansBucket} {
		st, err := n.js.Stream(ctx, "KV_"+bucket)
		if err != nil {
			return nil, fmt.Errorf("cluster: bucket %s: %w", bucket, err)
		}
		streams[bucket] = st
	}
	return &IdentityStore{nc: n.nc, js: n.js, creds: creds, bans: bans, prefix: n.opts.subjectPrefix, streams: streams,
		notices: n.metrics.notices, caughtUp: n.metrics.caughtUp, log: n.log}, nil
}

// banKey is a ban's key: its kind, a dot, its value as keyOf writes it
// (an IP's dots and a CIDR's slash are not key characters as they are).
func banKey(k identity.BanKey) string { return k.Kind + "." + keyOf(k.Value) }

func banKeyOf(key string) (identity.BanKey, error) {
	kind, v, ok := strings.Cut(key, ".")
	if !ok {
		return identity.BanKey{}, errBadKey
	}
	value, err := idOf(v)
	if err != nil {
		return identity.BanKey{}, err
	}
	return identity.BanKey{Kind: kind, Value: value}, nil
}

// Load reads every credential and ban. An entry that does not decode
// fails it, naming the key: a node must not start without a ban it cannot
// read. The next Watch starts after the revisions it read, so that a watch
// served by a server further behind than the one Load read cannot hand
// back a revoked credential or a lifted ban.
func (s *IdentityStore) Load(ctx context.Context) ([]identity.Credential, []identity.Ban, error) {
	creds, credsRev, err := decodeAll(ctx, s.creds, CredentialsBucket, identity.DecodeCredential)
	if err != nil {
		return nil, nil, err
	}
	bans, bansRev, err := decodeAll(ctx, s.bans, BansBucket, identity.DecodeBan)
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	s.loaded = identityRevs{creds: credsRev, bans: bansRev}
	s.mu.Unlock()
	return creds, bans, nil
}

// decodeAll is readAll with decode: every value of kv, named bucket, or
// the first that does not decode, naming its key; and the newest revision
// read.
func decodeAll[T any](ctx context.Context, kv jetstream.KeyValue, bucket string, decode func([]byte) (T, error)) ([]T, uint64, error) {
	var out []T
	rev, err := readAll(ctx, kv, func(e jetstream.KeyValueEntry) error {
		v, err := decode(e.Value())
		if err != nil {
			return fmt.Errorf("cluster: bucket %s key %s: %w", bucket, e.Key(), err)
		}
		out = append(out, v)
		return nil
	})
	return out, rev, err
}

// readAll calls f for every value in kv: one watch of the current values,
// stopped at the end of them. Deletes are left out of f but not out of the
// newest revision it returns: with one revision kept a key, the newest of
// the current values and markers is the bucket's last.
func readAll(ctx context.Context, kv jetstream.KeyValue, f func(jetstream.KeyValueEntry) error) (uint64, error) {
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return 0, fmt.Errorf("cluster: read bucket %s: %w", kv.Bucket(), err)
	}
	defer func() { _ = w.Stop() }()
	var newest uint64
	for {
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("cluster: read bucket %s: %w", kv.Bucket(), ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return 0, fmt.Errorf("cluster: read bucket %s: the watch ended early", kv.Bucket())
			}
			if e == nil {
				return newest, nil
			}
			newest = max(newest, e.Revision())
			if e.Operation() != jetstream.KeyValuePut {
				continue
			}
			if err := f(e); err != nil {
				return 0, err
			}
		}
	}
}

// Credential reads cid's credential from the bucket; false when it has none.
func (s *IdentityStore) Credential(ctx context.Context, cid string) (identity.Credential, bool, error) {
	e, err := s.creds.Get(ctx, keyOf(cid))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return identity.Credential{}, false, nil
	}
	if err != nil {
		return identity.Credential{}, false, fmt.Errorf("cluster: read credential %s: %w", cid, err)
	}
	c, err := identity.DecodeCredential(e.Value())
	if err != nil {
		return identity.Credential{}, false, fmt.Errorf("cluster: credential %s: %w", cid, err)
	}
	return c, true, nil
}

// PutCredential writes c (digests only) over any earlier one.
func (s *IdentityStore) PutCredential(ctx context.Context, c identity.Credential) error {
	val, err := identity.EncodeCredential(c)
	if err != nil {
		return err
	}
	if err := s.connected(ctx); err != nil {
		return err
	}
	rev, err := s.creds.Put(ctx, keyOf(c.CID), val)
	if err != nil {
		return fmt.Errorf("cluster: write credential %s: %w", c.CID, err)
	}
	s.announce(CredentialsBucket, keyOf(c.CID), rev, "", val)
	return nil
}

// DeleteCredential deletes cid's credential; every node's watch sees it.
func (s *IdentityStore) DeleteCredential(ctx context.Context, cid string) error {
	if err := s.connected(ctx); err != nil {
		return err
	}
	rev, err := deleteKey(ctx, s.js, CredentialsBucket, keyOf(cid))
	if err != nil {
		return fmt.Errorf("cluster: delete credential %s: %w", cid, err)
	}
	s.announce(CredentialsBucket, keyOf(cid), rev, "DEL", nil)
	return nil
}

// PutBan writes b over any earlier ban of its key.
func (s *IdentityStore) PutBan(ctx context.Context, b identity.Ban) error {
	val, err := identity.EncodeBan(b)
	if err != nil {
		return err
	}
	if err := s.connected(ctx); err != nil {
		return err
	}
	rev, err := s.bans.Put(ctx, banKey(b.Key()), val)
	if err != nil {
		return fmt.Errorf("cluster: write ban %s %s: %w", b.Kind, b.Value, err)
	}
	s.announce(BansBucket, banKey(b.Key()), rev, "", val)
	return nil
}

// DeleteBan deletes ban k; every node's watch sees it.
func (s *IdentityStore) DeleteBan(ctx context.Context, k identity.BanKey) error {
	if err := s.connected(ctx); err != nil {
		return err
	}
	rev, err := deleteKey(ctx, s.js, BansBucket, banKey(k))
	if err != nil {
		return fmt.Errorf("cluster: delete ban %s %s: %w", k.Kind, k.Value, err)
	}
	s.announce(BansBucket, banKey(k), rev, "DEL", nil)
	return nil
}

// connectGrace is how long a write waits for a NATS connection that is
// down before it is refused: a node moving to another server is down for
// milliseconds, while a write put into a connection that stays down waits
// out its whole timeout (5 s, as long as the admin client waits for the
// answer, so the operator saw a timeout instead of the 503).
const connectGrace = time.Second

// connected is nil once the NATS connection is up, waiting up to
// connectGrace for it; else an error that says nothing was written.
func (s *IdentityStore) connected(ctx context.Context) error {
	deadline := time.Now().Add(connectGrace)
	for st := s.nc.Status(); st != nats.CONNECTED; st = s.nc.Status() {
		if time.Now().After(deadline) {
			return fmt.Errorf("cluster: NATS is %s (down for over %v); nothing was written", strings.ToLower(st.String()), connectGrace)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

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
	s.mu.Unlock()
	sub, err := s.hear(o, apply)
	if err != nil {
		return fmt.Errorf("cluster: hear identity notices: %w", err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	defer o.end()
	looking, stopLooking := context.WithCancel(ctx)
	defer stopLooking()
	go s.catchUp(looking, o, apply)
	started, err := s.watchOnce(ctx, apply, o)
	for ctx.Err() == nil {
		if !started {
			return err
		}
		s.log.Info("cluster: watching the identity buckets again", zap.NamedError("why", err))
		for ctx.Err() == nil {
			if started, err = s.watchOnce(ctx, apply, o); started {
				break
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
	reconnects := s.nc.Stats().Reconnects
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
	for {
		select {
		case <-ctx.Done():
			return true, nil
		case <-tick.C:
			if s.nc.Stats().Reconnects != reconnects {
				return true, errRewatch
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

// Close does nothing: the buckets belong to the cluster, the connection
// to the node's owner.
func (s *IdentityStore) Close() error { return nil }
