package webhook

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
)

const leaseURL = "http://127.0.0.1:1/hook"

// TestKVLeaseOneHolderAndTakeoverAfterACrash: of two nodes one holds the
// lease; when its NATS connection dies (as in kill -9) the other gets it
// after about the TTL, not before.
func TestKVLeaseOneHolderAndTakeoverAfterACrash(t *testing.T) {
	ns := startNATS(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ttl := 2 * time.Second
	nc1, js1 := connectJS(t, ns.ClientURL())
	_, js2 := connectJS(t, ns.ClientURL())
	l1, err := NewKVLease(ctx, js1, leaseURL, "n1", ttl, 1, zaptest.NewLogger(t))
	require.NoError(t, err)
	l2, err := NewKVLease(ctx, js2, leaseURL, "n2", ttl, 1, zaptest.NewLogger(t))
	require.NoError(t, err)

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

// TestKVLeaseReleaseHandsOverAtOnce: a graceful stop deletes the key, so
// the next node does not wait for the TTL.
func TestKVLeaseReleaseHandsOverAtOnce(t *testing.T) {
	ns := startNATS(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ttl := 20 * time.Second // long: a takeover within it can only be the release
	_, js1 := connectJS(t, ns.ClientURL())
	_, js2 := connectJS(t, ns.ClientURL())
	l1, err := NewKVLease(ctx, js1, leaseURL, "n1", ttl, 1, zaptest.NewLogger(t))
	require.NoError(t, err)
	l2, err := NewKVLease(ctx, js2, leaseURL, "n2", ttl, 1, zaptest.NewLogger(t))
	require.NoError(t, err)
	_, release1, err := l1.Acquire(ctx)
	require.NoError(t, err)
	release1()
	start := time.Now()
	_, release2, err := l2.Acquire(ctx)
	require.NoError(t, err)
	defer release2()
	require.Less(t, time.Since(start), ttl/2)
}

// TestKVLeaseSameNodeRestartTakesItBack: a node restarted under the same
// name within the TTL holds the lease again at once.
func TestKVLeaseSameNodeRestartTakesItBack(t *testing.T) {
	ns := startNATS(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ttl := 20 * time.Second
	nc1, js1 := connectJS(t, ns.ClientURL())
	l1, err := NewKVLease(ctx, js1, leaseURL, "n1", ttl, 1, zaptest.NewLogger(t))
	require.NoError(t, err)
	_, release1, err := l1.Acquire(ctx)
	require.NoError(t, err)
	nc1.Close()
	release1()

	_, js1b := connectJS(t, ns.ClientURL())
	l1b, err := NewKVLease(ctx, js1b, leaseURL, "n1", ttl, 1, zaptest.NewLogger(t))
	require.NoError(t, err)
	start := time.Now()
	_, release, err := l1b.Acquire(ctx)
	require.NoError(t, err)
	defer release()
	require.Less(t, time.Since(start), ttl/2)
}

func TestKVCursorSharedAcrossConnections(t *testing.T) {
	ns := startNATS(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, js1 := connectJS(t, ns.ClientURL())
	_, js2 := connectJS(t, ns.ClientURL())
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
