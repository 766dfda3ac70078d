package webhook

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/internal/testkit"
)

const leaseURL = "http://127.0.0.1:1/hook"

// natsFor is a nats-server's URL and a minute to test against it.
func natsFor(t *testing.T) (string, context.Context) {
	t.Helper()
	url := testkit.NATS(t).ClientURL()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel) // before the server's shutdown
	return url, ctx
}

// leaseOn is node's lease at url over a NATS connection of its own
// (closing it is how a test kills the node).
func leaseOn(ctx context.Context, t *testing.T, url, node string, ttl time.Duration) (*KVLease, *nats.Conn) {
	t.Helper()
	nc, js := testkit.JetStream(t, url)
	l, err := NewKVLease(ctx, js, leaseURL, node, ttl, 1, zaptest.NewLogger(t))
	require.NoError(t, err)
	return l, nc
}

// TestKVLeaseOneHolderAndTakeoverAfterACrash: of two nodes one holds the
// lease; when its NATS connection dies (as in kill -9) the other gets it
// after about the TTL, not before.
func TestKVLeaseOneHolderAndTakeoverAfterACrash(t *testing.T) {
	url, ctx := natsFor(t)
	ttl := 2 * time.Second
	l1, nc1 := leaseOn(ctx, t, url, "n1", ttl)
	l2, _ := leaseOn(ctx, t, url, "n2", ttl)

	held1, release1, err := l1.Acquire(ctx)
	require.NoError(t, err)
	defer release1()

	got2 := make(chan time.Time, 1)
	go func() {
		held2, release2, err := l2.Acquire(ctx)
		if err == nil {
			got2 <- time.Now()
			<-held2.Done()
			release2()
		}
	}()
	// n1 renews: n2 must not get the lease over several TTLs.
	select {
	case <-got2:
		t.Fatal("two holders at once")
	case <-time.After(2 * ttl):
	}
	require.NoError(t, held1.Err(), "n1 still holds its lease")

	crashed := time.Now()
	nc1.Close() // n1 dies: no release, no renewal
	select {
	case at := <-got2:
		require.GreaterOrEqual(t, at.Sub(crashed), ttl/2, "taken over before the lease could expire")
	case <-time.After(6 * ttl):
		t.Fatal("n2 never took the lease over")
	}
	select { // n1 notices it can no longer renew and lets go
	case <-held1.Done():
	case <-time.After(2 * ttl):
		t.Fatal("n1 still believes it holds the lease")
	}
}

// TestKVLeaseHandsOverAtOnce: the lease passes on well within its TTL
// when its holder lets go. ReleaseHandsOverAtOnce: a graceful stop deletes
// the key, so the next node does not wait for the TTL.
// SameNodeRestartTakesItBack: a node restarted under the same name within
// the TTL holds the lease again at once.
func TestKVLeaseHandsOverAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name, next string
		crash      bool
	}{
		{"ReleaseHandsOverAtOnce", "n2", false},
		{"SameNodeRestartTakesItBack", "n1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, ctx := natsFor(t)
			ttl := 20 * time.Second // long: a takeover within it can only be the hand-over
			l1, nc1 := leaseOn(ctx, t, url, "n1", ttl)
			_, release1, err := l1.Acquire(ctx)
			require.NoError(t, err)
			if tc.crash {
				nc1.Close()
			}
			release1()
			next, _ := leaseOn(ctx, t, url, tc.next, ttl)
			start := time.Now()
			_, release, err := next.Acquire(ctx)
			require.NoError(t, err)
			defer release()
			require.Less(t, time.Since(start), ttl/2)
		})
	}
}

func TestKVCursorSharedAcrossConnections(t *testing.T) {
	url, ctx := natsFor(t)
	_, js1 := testkit.JetStream(t, url)
	_, js2 := testkit.JetStream(t, url)
	c1, err := NewKVCursor(ctx, js1, leaseURL, 1)
	require.NoError(t, err)
	_, found, err := c1.Load(ctx)
	require.NoError(t, err)
	require.False(t, found)
	require.NoError(t, c1.Save(ctx, State{Acked: 7, First: 8, Last: 9}))
	c2, err := NewKVCursor(ctx, js2, leaseURL, 1)
	require.NoError(t, err)
	st, found, err := c2.Load(ctx)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, State{Acked: 7, First: 8, Last: 9}, st)
}

// A release that cannot delete the key (NATS gone at the stop) says the
// next holder waits for the TTL; it said nothing.
func TestKVLeaseReleaseThatFailsIsLogged(t *testing.T) {
	url, ctx := natsFor(t)
	nc, js := testkit.JetStream(t, url)
	core, logs := observer.New(zap.WarnLevel)
	l, err := NewKVLease(ctx, js, leaseURL, "n1", 20*time.Second, 1, zap.New(core))
	require.NoError(t, err)
	_, release, err := l.Acquire(ctx)
	require.NoError(t, err)
	nc.Close()
	release()
	require.Eventually(t, func() bool {
		return logs.FilterMessageSnippet("the delivery lease could not be given up").Len() == 1
	}, 10*time.Second, 10*time.Millisecond, "%v", logs.All())
}
