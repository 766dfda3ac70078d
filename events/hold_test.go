package events_test

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
)

// While the node's record writes are behind, the stream's writer holds
// its events in the queue; once they are not, every event goes, once and
// in order. A backlog that never ends delays events by at most maxHold a
// batch, never starves them.
func TestStreamHoldsEventsWhileRecordsAreBehind(t *testing.T) {
	nc, js := testkit.JetStream(t, testkit.NATS(t).ClientURL())
	var behind atomic.Bool
	behind.Store(true)
	s, err := events.OpenStream(nc, nil, events.WithHoldWhile(behind.Load))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.Collectors()...)
	stored := func() uint64 { return streamState(t, js).LastSeq }

	for i := range 10 {
		s.Append(events.Event{Type: events.TypeConnected, CID: fmt.Sprintf("c-%d", i), Node: "n1"})
	}
	require.Eventually(t, func() bool { return testkit.GatheredFrom(t, reg, events.MetricHolds, "") >= 1 }, 10*time.Second, time.Millisecond,
		"the writer holds back")
	time.Sleep(300 * time.Millisecond) // within maxHold: still held
	assert.Zero(t, stored(), "nothing published while the records are behind")
	assert.Equal(t, 10.0, testkit.GatheredFrom(t, reg, events.MetricQueued, ""), "the events wait in the queue")

	behind.Store(false)
	require.Eventually(t, func() bool { return stored() == 10 }, 10*time.Second, 5*time.Millisecond)
	page, err := s.Read(context.Background(), 0, 100)
	require.NoError(t, err)
	require.Len(t, page, 10)
	for i, ev := range page {
		assert.Equal(t, fmt.Sprintf("c-%d", i), ev.CID, "in order")
	}

	behind.Store(true)
	t0 := time.Now()
	s.Append(events.Event{Type: events.TypeDisconnected, CID: "c-0", Node: "n1"})
	require.Eventually(t, func() bool { return stored() == 11 }, 15*time.Second, 5*time.Millisecond,
		"a backlog that does not end delays events, it does not starve them")
	assert.GreaterOrEqual(t, time.Since(t0), 2*time.Second, "held for maxHold first")
}

// Stored waits for the events appended before it, and the writer does not
// hold them back for a record backlog meanwhile (a takeover's record goes
// after its event). While publishing fails it answers ErrNotStored rather
// than wait, until NATS is back.
func TestStreamStoredWaitsForTheEventsBeforeIt(t *testing.T) {
	dir := t.TempDir()
	ns := testkit.NATSAt(t, dir, -1)
	port := ns.Addr().(*net.TCPAddr).Port
	nc, js := testkit.JetStream(t, ns.ClientURL())
	var behind atomic.Bool
	behind.Store(true)
	s, err := events.OpenStream(nc, nil, events.WithHoldWhile(behind.Load))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.Stored(ctx), "nothing appended: nothing to wait for")

	for i := range 10 {
		s.Append(events.Event{Type: events.TypeConnected, CID: fmt.Sprintf("c-%d", i), Node: "n1"})
	}
	t0 := time.Now()
	require.NoError(t, s.Stored(ctx))
	assert.Equal(t, uint64(10), streamState(t, js).LastSeq, "every event appended before it is stored")
	assert.Less(t, time.Since(t0), holdBound, "not held for the backlog (maxHold, 2 s)")

	ns.Shutdown()
	ns.WaitForShutdown()
	s.Append(events.Event{Type: events.TypeDisconnected, CID: "c-0", Node: "n1"})
	assert.ErrorIs(t, s.Stored(ctx), events.ErrNotStored, "NATS away: the writer fails, and Stored says so")

	testkit.NATSAt(t, dir, port)
	require.Eventually(t, func() bool { return s.Stored(ctx) == nil }, 20*time.Second, 50*time.Millisecond, "NATS back")
	assert.Equal(t, uint64(11), streamState(t, js).LastSeq)
}
