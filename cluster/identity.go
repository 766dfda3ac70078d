package cluster

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/internal/natsretry"
	"github.com/cliser/cliser/internal/natsstate"
)

// Fleet identity in cluster mode: credentials and bans in two JetStream
// key-value buckets every node shares, watched by every node as the
// clients bucket is (IDENTITY.md). The identity.Service on each node
// answers the event loops from memory and writes behind through this
// store; a change written by any node reaches every node's Service
// through Watch, which closes the sessions it revokes or bans there.
//
// Ban expiry is the Service's: each node's sweep drops an expired ban, so
// the buckets keep no TTL of their own and a ban's end is the same on
// every node, to the second of its Until. Each node then deletes its key
// only if it still holds that ban, at the revision it read (ExpireBan,
// identityexpiry.go): one node's delete lands, and that node alone
// reports the expiry.

// Bucket names.
const (
	CredentialsBucket = "cliser_credentials"
	BansBucket        = "cliser_bans"
)

// IdentityStore is identity.Store on the cluster's JetStream. Safe for
// concurrent use.
type IdentityStore struct {
	nc          *nats.Conn
	link        *natsstate.State
	js          jetstream.JetStream
	creds, bans jetstream.KeyValue
	prefix      string                      // the cluster's subject prefix: notices go under it
	streams     map[string]jetstream.Stream // the buckets' streams, by bucket: for direct gets
	notices     *prometheus.CounterVec
	caughtUp    prometheus.Counter
	log         *zap.Logger
	node        string                                       // this node's ID: it marks the deletes its expiries make
	barrier     *atomic.Pointer[func(context.Context) error] // the node's event barrier: reports wait on it
	reports     reports                                      // other nodes' changes waiting for their reports (identityreport.go)
	reportWaits *prometheus.CounterVec

	mu       sync.Mutex
	loaded   identityRevs          // the revisions the last Load read: Watch starts after them
	made     map[string]time.Time  // each bucket's stream's creation as the last Load found it (identityrenew.go)
	unsure   map[string]string     // ban key: the mark of this node's expiry delete whose answer was lost
	watching *order                // the running Watch's order; nil between Watches
	apply    func(identity.Change) // Watch's apply: this node's own writes go to it too (applyOwn)
	applying chan struct{}         // closed once apply is set (OwnWritesApplied)
}

var (
	_ identity.Store       = (*IdentityStore)(nil)
	_ identity.Reporter    = (*IdentityStore)(nil)
	_ identity.SelfApplier = (*IdentityStore)(nil)
)

// IdentityStore makes the identity buckets if they are missing (with the
// node's replica count) and returns the store on them. Safe from any
// goroutine; call it once.
func (n *Node) IdentityStore() (*IdentityStore, error) {
	ctx, cancel := natsretry.SetupContext(context.Background(), n.log)
	defer cancel()
	creds, err := identityBucket(ctx, n.js, CredentialsBucket, n.opts.replicas)
	if err != nil {
		return nil, err
	}
	bans, err := identityBucket(ctx, n.js, BansBucket, n.opts.replicas)
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
	return &IdentityStore{nc: n.nc, link: n.link, js: n.js, creds: creds, bans: bans, prefix: n.opts.subjectPrefix, streams: streams,
		notices: n.metrics.notices, caughtUp: n.metrics.caughtUp, log: n.log, node: n.id,
		barrier: &n.eventBarrier, reportWaits: n.metrics.reportWaits, applying: make(chan struct{})}, nil
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
	made, err := s.streamsMade(ctx)
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	s.loaded = identityRevs{creds: credsRev, bans: bansRev}
	s.made = made
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

// Credential reads cid's credential from the bucket's stream leader
// (leaderRead: a rotation keeps the digest it reads for its grace, and a
// replica behind the leader could hand an older one back); false when it
// has none.
func (s *IdentityStore) Credential(ctx context.Context, cid string) (identity.Credential, bool, error) {
	e, err := leaderRead(ctx, s.nc, CredentialsBucket, keyOf(cid))
	if err != nil {
		return identity.Credential{}, false, fmt.Errorf("cluster: read credential %s: %w", cid, err)
	}
	if e == nil || e.op != jetstream.KeyValuePut {
		return identity.Credential{}, false, nil
	}
	c, err := identity.DecodeCredential(e.value)
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
	s.applyOwn(CredentialsBucket, keyOf(c.CID), rev, "", val)
	return nil
}

// DeleteCredential deletes cid's credential (deleteOnce); every node's
// watch sees it. identity.ErrNotFound when the bucket holds none.
func (s *IdentityStore) DeleteCredential(ctx context.Context, cid string) error {
	if err := s.connected(ctx); err != nil {
		return err
	}
	rev, err := s.deleteOnce(ctx, CredentialsBucket, keyOf(cid))
	if err != nil {
		return fmt.Errorf("cluster: delete credential %s: %w", cid, err)
	}
	s.announce(CredentialsBucket, keyOf(cid), rev, "DEL", nil)
	s.applyOwn(CredentialsBucket, keyOf(cid), rev, "DEL", nil)
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
	s.applyOwn(BansBucket, banKey(b.Key()), rev, "", val)
	return nil
}

// DeleteBan deletes ban k (deleteOnce); every node's watch sees it.
// identity.ErrNotFound when the bucket holds none.
func (s *IdentityStore) DeleteBan(ctx context.Context, k identity.BanKey) error {
	if err := s.connected(ctx); err != nil {
		return err
	}
	rev, err := s.deleteOnce(ctx, BansBucket, banKey(k))
	if err != nil {
		return fmt.Errorf("cluster: delete ban %s %s: %w", k.Kind, k.Value, err)
	}
	s.announce(BansBucket, banKey(k), rev, "DEL", nil)
	s.applyOwn(BansBucket, banKey(k), rev, "DEL", nil)
	return nil
}

// AppliesOwnWrites: every write of the store goes to Watch's apply
// before it returns (applyOwn), so the Service does not set its memory
// itself (identity.SelfApplier).
func (s *IdentityStore) AppliesOwnWrites() bool { return true }

// OwnWritesApplied is closed once Watch has taken its apply: before, a
// write of this node's reaches memory only through the watch.
func (s *IdentityStore) OwnWritesApplied() <-chan struct{} { return s.applying }

// applyOwn hands the change this node's write has just made to Watch's
// apply, through the order the watch and the notices apply in: skipped
// when a newer revision of the key came first (another node's write that
// landed after this one, whose watch entry or notice beat this write's
// answer), which the Service's own set after the write used to undo on
// this node alone, for good. Between two Watches it is applied as it is:
// the next Load replaces it with what the bucket holds. Before the first
// Watch it is left to that Watch, which starts after what Load read.
func (s *IdentityStore) applyOwn(bucket, key string, rev uint64, op string, val []byte) {
	h := nats.Header{}
	if op != "" {
		h.Set(hdrKVOperation, op)
	}
	c := changeOf(key, rev, h, val)
	kind := entryKinds[bucket]
	s.mu.Lock()
	o, apply := s.watching, s.apply
	s.mu.Unlock()
	switch {
	case o != nil:
		o.fromNotice(bucket, c, func() { kind(s.log, c, apply) })
	case apply != nil:
		kind(s.log, c, apply)
	}
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
	for !s.link.Connected() {
		if time.Now().After(deadline) {
			return fmt.Errorf("cluster: NATS is %s (down for over %v); nothing was written", s.link, connectGrace)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// Close does nothing: the buckets belong to the cluster, the connection
// to the node's owner.
func (s *IdentityStore) Close() error { return nil }
