package webhook

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/internal/testkit"
)

// Edge cases of KVLease found by a by-hand mutation audit: each test here
// failed with a mutant of lease.go or kvcursor.go the older tests let
// through.

// leaseKV is the lease bucket over a connection of the test's own: it
// plays the other node, or the operator, behind the holder's back.
func leaseKV(ctx context.Context, t *testing.T, url string) jetstream.KeyValue {
	t.Helper()
	_, js := testkit.JetStream(t, url)
	kv, err := js.KeyValue(ctx, LeaseBucket)
	require.NoError(t, err)
	return kv
}

// observedLease is node's lease whose warnings the test reads.
func observedLease(ctx context.Context, t *testing.T, url, node string, ttl time.Duration) (*KVLease, *observer.ObservedLogs) {
	t.Helper()
	_, js := testkit.JetStream(t, url)
	core, logs := observer.New(zap.WarnLevel)
	l, err := NewKVLease(ctx, js, leaseURL, node, ttl, 1, zap.New(core))
	require.NoError(t, err)
	return l, logs
}

// The TTL is at least 1s (NewKVLease's contract): 1s itself is taken.
func TestKVLeaseTTLUnderASecondIsRefused(t *testing.T) {
	url, ctx := natsFor(t)
	_, js := testkit.JetStream(t, url)
	_, err := NewKVLease(ctx, js, leaseURL, "n1", 999*time.Millisecond, 1, nil)
	require.ErrorContains(t, err, "under 1s")
	_, err = NewKVLease(ctx, js, leaseURL, "n1", time.Second, 1, nil)
	require.NoError(t, err)
}

// A holder cut off from NATS gives the lease up by itself within the TTL
// of its last renewal, before anyone else can take it (docs/events.md,
// "Once per cluster"); and the key expires after about one TTL, so
// another node takes over within about one TTL of the crash.
func TestKVLeaseCutOffHolderLetsGoBeforeTheKeyExpires(t *testing.T) {
	url, ctx := natsFor(t)
	ttl := 6 * time.Second // long: the bounds below keep whole seconds of margin
	l1, nc1 := leaseOn(ctx, t, url, "n1", ttl)
	l2, _ := leaseOn(ctx, t, url, "n2", ttl)
	held1, release1, err := l1.Acquire(ctx)
	require.NoError(t, err)
	defer release1()

	got2 := make(chan time.Time, 1)
	go func() {
		_, release2, err := l2.Acquire(ctx)
		if err == nil {
			got2 <- time.Now()
			release2()
		}
	}()
	crashed := time.Now()
	nc1.Close()
	select {
	case <-held1.Done():
		t.Logf("n1 let go %s after the crash", time.Since(crashed))
		// The last renewal was at most a third of the TTL before the crash,
		// and the key expires a TTL after it: letting go later than a TTL
		// after the crash is always after the expiry.
		require.Less(t, time.Since(crashed), ttl, "n1 gave up after its key could expire")
	case <-time.After(2 * ttl):
		t.Fatal("n1 still believes it holds the lease")
	}
	select {
	case at := <-got2:
		t.Logf("n2 took over %s after the crash", at.Sub(crashed))
		// expiry at most a TTL after the crash, then one try every TTL/4
		require.Less(t, at.Sub(crashed), ttl+ttl/2, "the lease was taken over late")
	case <-time.After(3 * ttl):
		t.Fatal("n2 never took the lease over")
	}
}

// A holder whose key another node now holds (it expired while the holder
// was paused, and was taken) ends held at its next renewal, saying why,
// rather than waiting half a TTL of failed renewals; and its release
// leaves the new holder's key alone.
func TestKVLeaseTakenFromTheHolderIsLostAtOnceAndNotDeleted(t *testing.T) {
	url, ctx := natsFor(t)
	ttl := 3 * time.Second
	l1, logs1 := observedLease(ctx, t, url, "n1", ttl)
	held1, release1, err := l1.Acquire(ctx)
	require.NoError(t, err)
	defer release1()

	kv := leaseKV(ctx, t, url)
	require.NoError(t, kv.Delete(ctx, cursorKey(leaseURL))) // as an expiry would
	l2, _ := leaseOn(ctx, t, url, "n2", ttl)
	_, release2, err := l2.Acquire(ctx)
	require.NoError(t, err)
	defer release2()

	select {
	case <-held1.Done():
	case <-time.After(2 * ttl):
		t.Fatal("n1 still believes it holds the lease n2 took")
	}
	require.Equal(t, 1, logs1.FilterMessageSnippet("the delivery lease is lost").Len(), "%v", logs1.All())
	require.Zero(t, logs1.FilterMessageSnippet("could not be renewed").Len(), "%v", logs1.All())

	release1()
	e, err := kv.Get(ctx, cursorKey(leaseURL))
	require.NoError(t, err, "n1's release deleted n2's lease")
	require.Equal(t, "n2", string(e.Value()))
	require.Zero(t, logs1.FilterMessageSnippet("could not be given up").Len(), "%v", logs1.All())
}

// Held ending (the node's run stops) does not give the key up: the
// holder writes its cursor first, then releases, and only the release
// deletes the key, before it returns.
func TestKVLeaseKeyOutlivesHeldUntilTheRelease(t *testing.T) {
	url, ctx := natsFor(t)
	l1, _ := leaseOn(ctx, t, url, "n1", 20*time.Second)
	run, stop := context.WithCancel(ctx)
	held, release, err := l1.Acquire(run)
	require.NoError(t, err)
	stop()
	<-held.Done()

	kv := leaseKV(ctx, t, url)
	key := cursorKey(leaseURL)
	require.Never(t, func() bool {
		_, err := kv.Get(ctx, key)
		return err != nil
	}, time.Second, 20*time.Millisecond, "the key went before the release")

	release()
	_, err = kv.Get(ctx, key)
	require.ErrorIs(t, err, jetstream.ErrKeyNotFound, "release returned before the key was given up")
}

// A KV cursor whose writes fail says so: the deliverer counts, logs and
// retries only errors it is given.
func TestKVCursorWritesFailingAreErrors(t *testing.T) {
	url, ctx := natsFor(t)
	nc, js := testkit.JetStream(t, url)
	c, err := NewKVCursor(ctx, js, leaseURL, 1)
	require.NoError(t, err)
	nc.Close()
	require.Error(t, c.Save(ctx, State{Acked: 1, First: 2, Last: 2}))
	_, created, err := c.Create(ctx, State{Acked: 1, First: 2, Last: 2})
	require.Error(t, err)
	require.False(t, created)
}

// The holder renews every third of the TTL (docs/events.md, "Once per
// cluster"), and one failed renewal does not give the lease up: only
// renewals failing for half the TTL do.
func TestKVLeaseRenewsEveryThirdAndRidesOutOneFailure(t *testing.T) {
	url, ctx := natsFor(t)
	ttl := 6 * time.Second // long: the bounds below keep most of a second of margin
	l1, nc1 := leaseOn(ctx, t, url, "n1", ttl)
	kv := leaseKV(ctx, t, url)
	w, err := kv.Watch(ctx, cursorKey(leaseURL), jetstream.UpdatesOnly())
	require.NoError(t, err)
	defer func() { _ = w.Stop() }()
	held1, release1, err := l1.Acquire(ctx)
	require.NoError(t, err)
	defer release1()

	var last, seen time.Time
	for renewals := 0; renewals < 3; {
		select {
		case e := <-w.Updates():
			if e == nil || e.Operation() != jetstream.KeyValuePut {
				continue
			}
			if !last.IsZero() {
				gap := e.Created().Sub(last)
				// Under half the TTL, as a renewal every half (or later) never
				// is: every third leaves 0.9 s for a loaded machine's delays.
				require.Less(t, gap, ttl/2-100*time.Millisecond, "renewed every half of the TTL or later, not every third")
				renewals++
			}
			last, seen = e.Created(), time.Now()
		case <-time.After(ttl):
			t.Fatal("no renewal within the TTL")
		}
	}
	// Cut off well after that renewal's answer came back (a cut as it
	// comes makes the renewal that landed fail): the next renewal fails a
	// third of the TTL after it, and only the one after gives up.
	<-time.After(time.Until(seen.Add(ttl / 12)))
	nc1.Close()
	select {
	case <-held1.Done():
		t.Logf("n1 let go %s after its last renewal", time.Since(seen))
		require.Greater(t, time.Since(seen), ttl/2, "one failed renewal gave the lease up")
	case <-time.After(2 * ttl):
		t.Fatal("n1 still believes it holds the lease")
	}
}

// Of two nodes fixing a new webhook's start, the first write stands and
// the second is given it (docs/events.md: "the first to store the start
// keeps it").
func TestKVCursorCreateGivesTheSecondNodeTheFirstStart(t *testing.T) {
	url, ctx := natsFor(t)
	_, js1 := testkit.JetStream(t, url)
	_, js2 := testkit.JetStream(t, url)
	c1, err := NewKVCursor(ctx, js1, leaseURL, 1)
	require.NoError(t, err)
	c2, err := NewKVCursor(ctx, js2, leaseURL, 1)
	require.NoError(t, err)
	first := State{Acked: 5, Made: time.Unix(1, 0).UTC()}
	st, created, err := c1.Create(ctx, first)
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, first, st)
	st, created, err = c2.Create(ctx, State{Acked: 9, Made: time.Unix(1, 0).UTC()})
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, first, st)
}
