package events_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
)

// holdBound is well under maxHold (2 s), and far above what a publish to
// a local NATS takes: a writer that went on holding shows past it.
const holdBound = 1500 * time.Millisecond

// holdingStream is a stream whose writer holds for behind, a count of
// its holds, and its JetStream.
func holdingStream(t *testing.T, behind func() bool) (*events.Stream, func() float64, jetstream.JetStream) {
	t.Helper()
	nc, js := testkit.JetStream(t, testkit.NATS(t).ClientURL())
	s, err := events.OpenStream(nc, nil, events.WithHoldWhile(behind))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.Collectors()...)
	return s, func() float64 { return testkit.GatheredFrom(t, reg, events.MetricHolds, "") }, js
}

// appendUntilHeld appends events until the writer holds one back, and
// returns how many it appended: an event that comes as the writer is
// between its look at the queue and its take is published unheld.
func appendUntilHeld(t *testing.T, s *events.Stream, holds func() float64) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for n := 1; ; n++ {
		require.True(t, s.Append(events.Event{Type: events.TypeConnected, CID: fmt.Sprint("c-", n)}))
		for range 20 {
			if holds() >= 1 {
				return n
			}
			time.Sleep(time.Millisecond)
		}
		require.True(t, time.Now().Before(deadline), "the writer never held")
	}
}

// A backlog that ends lets the held events go at once, not at the end of
// maxHold: the writer looks again every holdPoll; with no backlog it does
// not hold, nor count a hold (a mutation audit: a hold that no longer
// asked behind() and waited its 2 s, or that counted every batch as a
// hold, passed every test).
func TestStreamHoldEndsWithTheBacklog(t *testing.T) {
	var asked atomic.Int32
	s, holds, _ := holdingStream(t, func() bool { return asked.Add(1) <= 3 }) // behind for a poll or two
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n := appendUntilHeld(t, s, holds)
	t0 := time.Now() // the hold began before: a loaded machine's appends do not count
	require.NoError(t, s.Wait(ctx, uint64(n-1)))
	assert.Less(t, time.Since(t0), holdBound, "published once the backlog ended")

	require.True(t, s.Append(events.Event{Type: events.TypeDisconnected, CID: "c"}))
	require.NoError(t, s.Wait(ctx, uint64(n)))
	assert.Equal(t, 1.0, holds(), "no backlog: no hold counted")
}

// A stop while the writer holds for a backlog that does not end publishes
// the held events at once, not after maxHold (a mutation audit: a hold
// that did not look at the close passed every test).
func TestStreamCloseCutsAHoldShort(t *testing.T) {
	s, holds, js := holdingStream(t, func() bool { return true })
	n := appendUntilHeld(t, s, holds)
	t0 := time.Now()
	require.NoError(t, s.Close())
	assert.Less(t, time.Since(t0), holdBound, "the close cut the hold short")
	assert.Equal(t, uint64(n), streamState(t, js).LastSeq, "the held events published at the close")
}

// A Stored call while the writer already holds for a backlog that does
// not end has its events published at once, not after maxHold (a
// mutation audit: a hold that did not look at Stored's calls once it held
// passed every test; theirs call Stored before the writer holds).
func TestStreamStoredCutsAHoldShort(t *testing.T) {
	s, holds, _ := holdingStream(t, func() bool { return true })
	n := appendUntilHeld(t, s, holds)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	t0 := time.Now()
	require.NoError(t, s.Stored(ctx))
	assert.Less(t, time.Since(t0), holdBound, "Stored cut the hold short")
	assert.Equal(t, uint64(n), s.Newest())
}
