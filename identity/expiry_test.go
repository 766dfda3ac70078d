package identity_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/identity/boltstore"
)

// expiryStore is a bbolt store whose ExpireBan a test can hold or fail.
type expiryStore struct {
	*boltstore.Store
	entered chan identity.Ban // each call's ban as it starts, when there is room
	release chan struct{}     // nil: calls are not held
	fail    atomic.Int32      // the calls still to fail
	slow    time.Duration     // how long a failing call takes
	calls   atomic.Int32

	mu    sync.Mutex
	times []time.Time // when each call started
}

var errStoreAway = errors.New("the store is away")

func (e *expiryStore) ExpireBan(ctx context.Context, b identity.Ban) (bool, error) {
	e.calls.Add(1)
	e.mu.Lock()
	e.times = append(e.times, time.Now())
	e.mu.Unlock()
	select {
	case e.entered <- b:
	default:
	}
	if e.release != nil {
		<-e.release
	}
	if e.fail.Add(-1) >= 0 {
		time.Sleep(e.slow) // a store that is away takes its time to say so
		return false, errStoreAway
	}
	return e.Store.ExpireBan(ctx, b)
}

func startExpiry(t *testing.T, st identity.Store, rec *recorder, opts ...identity.Option) *identity.Service {
	t.Helper()
	s := identity.New(append([]identity.Option{identity.WithStore(st), identity.WithOnEvent(rec.event),
		identity.WithSweepInterval(10 * time.Millisecond)}, opts...)...)
	require.NoError(t, s.Start(t.Context()))
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func openBolt(t *testing.T) *boltstore.Store {
	t.Helper()
	bs, err := boltstore.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { _ = bs.Close() })
	return bs
}

// An expiry found before its ban was made again (by another node, whose
// write lands first) must not delete the ban made again, nor report the
// old one's end as a delete: the ban made again replaced it.
func TestServiceStaleExpiryLeavesABanMadeAgain(t *testing.T) {
	bs := openBolt(t)
	st := &expiryStore{Store: bs, entered: make(chan identity.Ban, 1), release: make(chan struct{})}
	rec := &recorder{}
	s := startExpiry(t, st, rec)
	ctx := t.Context()

	old, err := s.AddBan(ctx, identity.KindCID, "dev-1", "old", 50*time.Millisecond)
	require.NoError(t, err)
	select {
	case b := <-st.entered:
		require.True(t, b.Same(old), "expiring %+v", b)
	case <-time.After(5 * time.Second):
		t.Fatal("the ended ban's delete was not tried")
	}
	again := identity.Ban{Kind: identity.KindCID, Value: "dev-1", Reason: "again", By: identity.ByOperator, At: time.Now().UTC()}
	require.NoError(t, bs.PutBan(ctx, again))
	close(st.release)
	// Writes go one at a time: once this one is made, the expiry's is.
	_, err = s.AddBan(ctx, identity.KindCID, "fence", "", 0)
	require.NoError(t, err)

	assert.Equal(t, []string{identity.EventBanCreated, identity.EventBanCreated}, rec.types(), "no ban.deleted for a ban made again")
	_, bans, err := bs.Load(ctx)
	require.NoError(t, err)
	var kept bool
	for _, b := range bans {
		kept = kept || b.Same(again)
	}
	assert.True(t, kept, "the ban made again was deleted: %+v", bans)
}

// A delete the store fails (NATS away) is tried again after a wait that
// doubles, until it is answered; the ban.deleted comes once, when the
// delete lands, and not while it fails. The ban is not enforced
// meanwhile. Each failure takes longer than a sweep, which must not queue
// another try while one is under way (it would run at once after the
// failure, without the wait).
func TestServiceRetriesAFailedExpiry(t *testing.T) {
	bs := openBolt(t)
	st := &expiryStore{Store: bs, slow: 30 * time.Millisecond}
	st.fail.Store(3)
	rec := &recorder{}
	s := startExpiry(t, st, rec, identity.WithExpiryRetry(40*time.Millisecond, 100*time.Millisecond))
	ctx := t.Context()

	_, err := s.AddBan(ctx, identity.KindIP, "192.0.2.7", "", 50*time.Millisecond)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return st.calls.Load() >= 1 }, 5*time.Second, time.Millisecond, "no delete was tried")
	assert.False(t, s.AddrBanned("192.0.2.7"), "an ended ban is not enforced while its delete fails")
	require.Eventually(t, func() bool { return s.PendingExpiries() == 0 }, 5*time.Second, time.Millisecond,
		"the delete was not tried again until it landed")
	assert.Equal(t, int32(4), st.calls.Load(), "three failures, then the delete")
	st.mu.Lock()
	for i, wait := range []time.Duration{40 * time.Millisecond, 80 * time.Millisecond, 100 * time.Millisecond} {
		gap := st.times[i+1].Sub(st.times[i])
		assert.GreaterOrEqual(t, gap, st.slow+wait, "try %d came %s after the one before", i+2, gap)
	}
	st.mu.Unlock()
	assert.Equal(t, uint64(3), s.StoreErrors())
	assert.Equal(t, []string{identity.EventBanCreated, identity.EventBanDeleted}, rec.types())
	_, bans, err := bs.Load(ctx)
	require.NoError(t, err)
	assert.Empty(t, bans)
}

// Many bans that ended while the server was stopped are all deleted and
// reported, once each, though one write takes at most a batch of them.
func TestServiceExpiresManyEndedBansAtStart(t *testing.T) {
	bs := openBolt(t)
	ctx := t.Context()
	ended := time.Now().Add(-time.Minute).UTC()
	const n = 150
	for i := range n {
		require.NoError(t, bs.PutBan(ctx, identity.Ban{Kind: identity.KindCID, Value: "dev-" + strconv.Itoa(i),
			By: identity.ByFlapping, Reason: "flapping", At: ended.Add(-time.Minute), Until: &ended}))
	}
	rec := &recorder{}
	s := startExpiry(t, bs, rec)
	require.Eventually(t, func() bool { return s.PendingExpiries() == 0 }, 10*time.Second, time.Millisecond)
	rec.mu.Lock()
	seen := map[string]int{}
	for _, e := range rec.events {
		if e.Type == identity.EventBanDeleted {
			seen[e.Value]++
		}
	}
	rec.mu.Unlock()
	require.Len(t, seen, n)
	for v, c := range seen {
		assert.Equal(t, 1, c, "ban.deleted of %s", v)
	}
	_, bans, err := bs.Load(ctx)
	require.NoError(t, err)
	assert.Empty(t, bans)
}

// Without a store (memory only) nothing is deleted and no other node
// exists: the node that finds the ban ended reports it, once.
func TestServiceWithoutStoreReportsAnExpiry(t *testing.T) {
	rec := &recorder{}
	s := identity.New(identity.WithOnEvent(rec.event), identity.WithSweepInterval(10*time.Millisecond))
	require.NoError(t, s.Start(t.Context()))
	defer s.Close()
	_, err := s.AddBan(t.Context(), identity.KindCID, "dev-1", "", 30*time.Millisecond)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(rec.types()) == 2 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, []string{identity.EventBanCreated, identity.EventBanDeleted}, rec.types())
}

// A ban.deleted of an expiry is timed when the ban was found ended, not
// when the store at last took its delete (reportExpired; mutant: timed at
// the report, seconds late after a store outage).
func TestServiceExpiryEventIsTimedWhenFound(t *testing.T) {
	st := &expiryStore{Store: openBolt(t), slow: 20 * time.Millisecond}
	st.fail.Store(2)
	rec := &recorder{}
	s := startExpiry(t, st, rec, identity.WithExpiryRetry(40*time.Millisecond, 40*time.Millisecond))
	_, err := s.AddBan(t.Context(), identity.KindIP, "192.0.2.7", "", 30*time.Millisecond)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(rec.types()) == 2 }, 5*time.Second, time.Millisecond)
	rec.mu.Lock()
	deleted := rec.events[1]
	rec.mu.Unlock()
	st.mu.Lock()
	firstTry := st.times[0]
	st.mu.Unlock()
	assert.Equal(t, identity.EventBanDeleted, deleted.Type)
	assert.False(t, deleted.Time.After(firstTry), "ban.deleted at %s, its delete first tried at %s", deleted.Time, firstTry)
}

// gaps are the times between the tries of an expiryStore, from the n-th.
func (e *expiryStore) gaps(from int) []time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []time.Duration
	for i := from + 1; i < len(e.times); i++ {
		out = append(out, e.times[i].Sub(e.times[i-1]))
	}
	return out
}

// The wait between the tries of a failing delete doubles up to its most
// (docs/identity.md: "1 s doubling to 30 s apart"), not on without end
// (mutant: no min with the most, which left a long outage's deletes
// minutes apart). Here 5 ms doubling to 20 ms: ten failures wait at most
// about 20 ms each, where doubling without end waits 2.56 s for the last;
// the bound leaves a loaded machine 1.5 s of lateness.
func TestServiceExpiryRetryWaitStopsDoubling(t *testing.T) {
	st := &expiryStore{Store: openBolt(t)}
	st.fail.Store(10)
	s := startExpiry(t, st, &recorder{}, identity.WithExpiryRetry(5*time.Millisecond, 20*time.Millisecond))
	_, err := s.AddBan(t.Context(), identity.KindIP, "192.0.2.7", "", time.Millisecond)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return st.calls.Load() == 11 && s.PendingExpiries() == 0 }, 10*time.Second, time.Millisecond)
	for i, gap := range st.gaps(0) {
		assert.Less(t, gap, 1500*time.Millisecond, "try %d came %s after the one before", i+2, gap)
	}
}

// Once the store answers, the wait starts again from its least at the
// next failure (docs/identity.md: "back to 0 once the store answers"),
// rather than from where the last outage left it (mutant: the success
// kept the backoff).
func TestServiceExpiryRetryWaitStartsAfreshAfterASuccess(t *testing.T) {
	st := &expiryStore{Store: openBolt(t)}
	st.fail.Store(9) // 5 ms doubling: the last wait 1.28 s, the next 2.56 s
	s := startExpiry(t, st, &recorder{}, identity.WithExpiryRetry(5*time.Millisecond, time.Hour))
	ctx := t.Context()
	_, err := s.AddBan(ctx, identity.KindIP, "192.0.2.7", "", time.Millisecond)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return st.calls.Load() == 10 && s.PendingExpiries() == 0 }, 20*time.Second, time.Millisecond)

	st.fail.Store(1)
	_, err = s.AddBan(ctx, identity.KindIP, "192.0.2.8", "", time.Millisecond)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return st.calls.Load() == 12 && s.PendingExpiries() == 0 }, 10*time.Second, time.Millisecond)
	gaps := st.gaps(10)
	require.Len(t, gaps, 1)
	assert.Less(t, gaps[0], 1500*time.Millisecond, "the first wait of a new outage (5 ms; 2.56 s had the backoff been kept)")
}
