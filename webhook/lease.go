package webhook

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/loggate"
	"github.com/cliser/cliser/internal/natsretry"
)

// LeaseBucket is the cluster's KV bucket of the delivery lease. Its TTL is
// the lease's: a key not renewed within it expires.
const LeaseBucket = "cliser_webhook_lease"

// Lease says which one node of a cluster delivers. Implementations are
// safe for concurrent use.
type Lease interface {
	// Acquire blocks until this node holds the lease or ctx ends. held
	// ends when the lease is lost (or ctx ends); release gives it up at
	// once, so another node can take over without waiting for the TTL.
	// Until release no other node takes it (but by the TTL's expiry):
	// the holder's last cursor write comes first.
	Acquire(ctx context.Context) (held context.Context, release func(), err error)
}

// KVLease is a Lease on a JetStream KV key with a TTL: the holder writes
// its name with a create (which fails when the key exists) and renews it
// with a compare-and-set on its revision every TTL/3. A holder that dies
// stops renewing; the key expires after the TTL and another node's create
// succeeds. A holder that can not renew for half the TTL gives the lease
// up by itself, before anyone else can take it, so two nodes rarely
// deliver at once (duplicates are still allowed: at least once).
type KVLease struct {
	kv     jetstream.KeyValue
	key    string
	holder string
	ttl    time.Duration
	log    *zap.Logger
}

var _ Lease = (*KVLease)(nil)

// NewKVLease creates or binds the lease bucket with ttl (at least 1s) and
// returns the lease of the webhook at url, to be held under the name
// holder (the node's ID). Every node must give the same ttl (the
// cluster's heartbeat): the bucket takes the last one given, and a
// holder renewing every third of a longer one loses its key between two
// renewals.
func NewKVLease(ctx context.Context, js jetstream.JetStream, url, holder string, ttl time.Duration, replicas int, log *zap.Logger) (*KVLease, error) {
	if ttl < time.Second {
		return nil, fmt.Errorf("webhook lease: TTL %s is under 1s", ttl)
	}
	if log == nil {
		log = zap.NewNop()
	}
	kv, err := natsretry.CreateOrUpdateKV(ctx, js, jetstream.KeyValueConfig{
		Bucket:      LeaseBucket,
		Description: "cliser: the node that delivers each webhook",
		History:     1,
		TTL:         ttl,
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("webhook lease: bucket %s: %w", LeaseBucket, err)
	}
	return &KVLease{kv: kv, key: cursorKey(url), holder: holder, ttl: ttl, log: log}, nil
}

// Acquire implements Lease. It tries every TTL/4.
func (l *KVLease) Acquire(ctx context.Context) (context.Context, func(), error) {
	var reads loggate.Episode // a run of failed reads warns once; its end is not logged
	for {
		rev, err := l.take(ctx)
		if err == nil {
			held, cancel := context.WithCancel(ctx)
			released, done := make(chan struct{}), make(chan struct{})
			go func() {
				defer close(done)
				l.renew(held, cancel, released, rev)
			}()
			var once sync.Once
			release := func() {
				once.Do(func() { close(released); cancel() })
				<-done
			}
			return held, release, nil
		}
		switch {
		case errors.Is(err, jetstream.ErrKeyExists): // read: another node holds it
			reads.OK()
		case reads.Fail():
			l.log.Warn("webhook: the delivery lease can not be read; retrying", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(l.ttl / 4):
		}
	}
}

// take creates the key, or takes it over when it still names this node
// (a restart within the TTL of a run that held it).
func (l *KVLease) take(ctx context.Context) (uint64, error) {
	opCtx, cancel := context.WithTimeout(ctx, l.ttl/2)
	defer cancel()
	rev, err := l.kv.Create(opCtx, l.key, []byte(l.holder))
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return rev, err
	}
	e, gerr := l.kv.Get(opCtx, l.key)
	if gerr != nil || string(e.Value()) != l.holder {
		return 0, err
	}
	return l.kv.Update(opCtx, l.key, []byte(l.holder), e.Revision())
}

// renew keeps the lease until held ends, and once released deletes the
// key if this node still holds it; it cancels held when the lease is
// lost. The key outlives held until the release: a holder that stops
// writes its cursor before another node can take the lease and read it.
func (l *KVLease) renew(held context.Context, lost context.CancelFunc, released <-chan struct{}, rev uint64) {
	tick := time.NewTicker(l.ttl / 3)
	defer tick.Stop()
	lastOK := time.Now()
	for {
		select {
		case <-held.Done():
			<-released
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			// A delete that fails (NATS away at a stop) leaves the key to its
			// TTL: the next holder waits that long, which the log says. A
			// revision that moved on is another holder's: nothing to give up.
			if err := l.kv.Delete(ctx, l.key, jetstream.LastRevision(rev)); err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
				l.log.Warn("webhook: the delivery lease could not be given up; another node delivers once it expires",
					zap.Duration("ttl", l.ttl), zap.Error(err))
			}
			cancel()
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(held, l.ttl/3)
		next, err := l.kv.Update(ctx, l.key, []byte(l.holder), rev)
		cancel()
		switch {
		case err == nil:
			rev, lastOK = next, time.Now()
		case isWrongRevision(err):
			l.log.Warn("webhook: the delivery lease is lost (another node took it, or it expired before its renewal); stopping here",
				zap.Duration("ttl", l.ttl))
			lost()
		case time.Since(lastOK) > l.ttl/2:
			l.log.Warn("webhook: the delivery lease could not be renewed; giving it up", zap.Error(err))
			lost()
		}
	}
}

// isWrongRevision: the key changed (or expired) since this node's write.
func isWrongRevision(err error) bool {
	var api interface{ APIError() *jetstream.APIError }
	if errors.As(err, &api) && api.APIError() != nil {
		switch api.APIError().ErrorCode {
		case jetstream.JSErrCodeStreamWrongLastSequence, jetstream.JSErrCodeStreamWrongLastSequenceConstant:
			return true
		}
	}
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyNotFound)
}
