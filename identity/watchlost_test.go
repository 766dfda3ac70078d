package identity_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/identity/boltstore"
)

// lostWatchStore is a bbolt store whose first Watch ends with the error
// a test hands it, as a cluster store's watch that failed or found its
// buckets made anew: what the test writes to the bbolt store before that
// is what the lost watch missed. Later Watches hold until the service
// stops. Each Load (Start uses LoadEach: these are the service's reads
// after the loss) first notes whether the service was ready.
type lostWatchStore struct {
	*boltstore.Store
	svc     atomic.Pointer[identity.Service]
	end     chan error
	watches atomic.Int32

	mu        sync.Mutex
	readyErrs []error // the service's ReadyErr at each Load
}

func (l *lostWatchStore) Watch(ctx context.Context, _ func(identity.Change)) error {
	if l.watches.Add(1) == 1 {
		select {
		case err := <-l.end:
			return err
		case <-ctx.Done():
			return nil
		}
	}
	<-ctx.Done()
	return nil
}

func (l *lostWatchStore) Load(ctx context.Context) ([]identity.Credential, []identity.Ban, error) {
	if s := l.svc.Load(); s != nil {
		l.mu.Lock()
		l.readyErrs = append(l.readyErrs, s.ReadyErr())
		l.mu.Unlock()
	}
	return l.Store.Load(ctx)
}

// lostWatch is a started service on a lostWatchStore, its closes and
// events recorded, its log observed.
type lostWatch struct {
	st   *lostWatchStore
	s    *identity.Service
	rec  *recorder
	logs *observer.ObservedLogs
}

// startLostWatch starts the service on bs (which may hold state already).
func startLostWatch(t *testing.T, bs *boltstore.Store) *lostWatch {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	f := &lostWatch{st: &lostWatchStore{Store: bs, end: make(chan error, 1)}, rec: &recorder{}, logs: logs}
	f.s = identity.New(identity.WithStore(f.st), identity.WithOnEvent(f.rec.event), identity.WithCloser(f.rec.close),
		identity.WithLogger(zap.New(core)), identity.WithSweepInterval(10*time.Millisecond))
	require.NoError(t, f.s.Start(t.Context()))
	t.Cleanup(func() { _ = f.s.Close() })
	f.st.svc.Store(f.s)
	return f
}

// lose ends the first watch with err, after forgetting what was closed
// and reported so far, and waits until the service watches again.
func (f *lostWatch) lose(t *testing.T, err error) {
	t.Helper()
	f.rec.mu.Lock()
	f.rec.closed, f.rec.events = nil, nil
	f.rec.mu.Unlock()
	f.st.end <- err
	require.Eventually(t, func() bool { return f.st.watches.Load() >= 2 }, 10*time.Second, 5*time.Millisecond,
		"the service did not watch again after its watch was lost")
	assert.True(t, f.s.Ready(), "not ready once it watches again")
	assert.NoError(t, f.s.ReadyErr())
	f.st.mu.Lock()
	defer f.st.mu.Unlock()
	require.NotEmpty(t, f.st.readyErrs)
	assert.ErrorContains(t, f.st.readyErrs[0], "identity: credentials and bans not followed since",
		"ready, or not saying why, while the watch was lost")
	assert.ErrorContains(t, f.st.readyErrs[0], err.Error())
}

// closed is what the service closed since lose.
func (f *lostWatch) closed() []string {
	f.rec.mu.Lock()
	defer f.rec.mu.Unlock()
	return append([]string(nil), f.rec.closed...)
}

// logged is how many entries of level whose message starts with msg.
func (f *lostWatch) logged(level zapcore.Level, msg string) int {
	return f.logs.Filter(func(e observer.LoggedEntry) bool {
		return e.Level == level && len(e.Message) >= len(msg) && e.Message[:len(msg)] == msg
	}).Len()
}

// waitExpired waits for the ban.deleted of cid's ended ban, and for the
// ban to be gone from the store.
func waitExpired(t *testing.T, f *lostWatch, bs *boltstore.Store, cid string) {
	t.Helper()
	require.Eventually(t, func() bool {
		f.rec.mu.Lock()
		defer f.rec.mu.Unlock()
		for _, e := range f.rec.events {
			if e.Type == identity.EventBanDeleted && e.CID == cid {
				return true
			}
		}
		return false
	}, 10*time.Second, 5*time.Millisecond, "the ban ended in the store read again was not expired")
	_, bans, err := bs.Load(context.Background())
	require.NoError(t, err)
	for _, b := range bans {
		assert.NotEqual(t, cid, b.Value, "the ended ban is still in the store")
	}
}

func cidBan(cid, by string, at time.Time, until *time.Time) identity.Ban {
	return identity.Ban{Kind: identity.KindCID, Value: cid, Reason: "watch test", By: by, At: at, Until: until}
}

// A watch that failed (NATS away) leaves the service not ready, saying
// why; once the store reads again, the service takes it whole and closes
// what the changes it missed would have closed through the watch: the
// session of a credential deleted meanwhile (revoked), and those of an
// operator's ban made meanwhile (banned), a flapping ban an operator
// made his meanwhile included. It closes nothing else: not a credential
// still there, not a ban it already held, not a flapping ban. An ended
// ban found there is expired (ban.deleted). It then watches again.
// (Mutants of watch.go's runWatch and reload: each close or check
// dropped, renew taken for reload, the ready or the break dropped.)
func TestServiceReloadClosesWhatItsLostWatchMissed(t *testing.T) {
	bs := openBolt(t)
	ctx := t.Context()
	now := time.Now()
	hour := now.Add(time.Hour)
	require.NoError(t, bs.PutBan(ctx, cidBan("flapped", identity.ByFlapping, now, &hour)))
	f := startLostWatch(t, bs)
	for _, cid := range []string{"kept", "revoked"} {
		_, _, err := f.s.Enroll(ctx, cid, 0)
		require.NoError(t, err)
	}
	_, err := f.s.AddBan(ctx, identity.KindCID, "banned-before", "", 0)
	require.NoError(t, err)

	// What other nodes wrote while this node's watch was away.
	require.NoError(t, bs.DeleteCredential(ctx, "revoked"))
	require.NoError(t, bs.PutBan(ctx, cidBan("banned-meanwhile", identity.ByOperator, now, nil)))
	require.NoError(t, bs.PutBan(ctx, cidBan("flapped", identity.ByOperator, now.Add(time.Second), nil)))
	require.NoError(t, bs.PutBan(ctx, cidBan("flapping-meanwhile", identity.ByFlapping, now, &hour)))
	ended := now.Add(-time.Hour)
	require.NoError(t, bs.PutBan(ctx, cidBan("ended-meanwhile", identity.ByOperator, now.Add(-2*time.Hour), &ended)))

	f.lose(t, errors.New("watch lost for the test"))
	assert.ElementsMatch(t, []string{"revoked revoked", "banned-meanwhile banned", "flapped banned"}, f.closed())
	_, held := f.s.Credential("revoked")
	assert.False(t, held, "the credential deleted meanwhile is still held")
	_, held = f.s.Ban(identity.BanKey{Kind: identity.KindCID, Value: "banned-meanwhile"})
	assert.True(t, held, "the ban made meanwhile is not held")
	waitExpired(t, f, bs, "ended-meanwhile")
	assert.Equal(t, 1, f.logged(zapcore.WarnLevel, "identity: store watch failed; not ready until it is back"))
	assert.Zero(t, f.logged(zapcore.ErrorLevel, "identity: the store was made anew"))
	assert.Equal(t, 1, f.logged(zapcore.InfoLevel, "identity: store watch back"))
}

// A watch that found the store made anew (the cluster's buckets gone
// from NATS) takes the new store as it is: what the old one held is gone
// from every node alike and no operator revoked it, so no session is
// closed for it, and the operator is told at error level what was lost.
// An ended ban found there is expired all the same. (Mutants: reload
// taken for renew, the renewed test or its log swapped, renew's expiry
// dropped.)
func TestServiceRenewedStoreClosesNothing(t *testing.T) {
	bs := openBolt(t)
	ctx := t.Context()
	f := startLostWatch(t, bs)
	_, _, err := f.s.Enroll(ctx, "wiped", 0)
	require.NoError(t, err)

	// The store made anew: the credential is gone with the old one.
	require.NoError(t, bs.DeleteCredential(ctx, "wiped"))
	now := time.Now()
	ended := now.Add(-time.Hour)
	require.NoError(t, bs.PutBan(ctx, cidBan("ended-anew", identity.ByOperator, now.Add(-2*time.Hour), &ended)))

	f.lose(t, fmt.Errorf("%w: bucket gone for the test", identity.ErrStoreRenewed))
	assert.Empty(t, f.closed(), "a store made anew closed sessions")
	_, held := f.s.Credential("wiped")
	assert.False(t, held, "the credential the new store lacks is still held")
	waitExpired(t, f, bs, "ended-anew")
	assert.Equal(t, 1, f.logged(zapcore.ErrorLevel, "identity: the store was made anew"))
	assert.Zero(t, f.logged(zapcore.WarnLevel, "identity: store watch failed"))
	assert.Equal(t, 1, f.logged(zapcore.InfoLevel, "identity: store watch back"))
}
