package events

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

// countsOf reads cliser_events_total of m for the types asked.
func countsOf(m *metrics, types ...string) map[string]float64 {
	got := make(map[string]float64)
	for _, typ := range types {
		got[typ] = testutil.ToFloat64(m.events.WithLabelValues(typ))
	}
	return got
}

// TestEventsTotalCountsEachEventOnceStored: cliser_events_total counts
// the single node's events when its writer has stored them, by type (a
// type beyond Types too): not while a failing write holds them back (they
// are in cliser_events_queued alone: an audit saw a full disk's events in
// both), never when they were dropped. The stream's writer counts them at
// their acknowledgment: what a failed publish puts back is in
// cliser_events_queued alone, and counted once published on a retry.
func TestEventsTotalCountsEachEventOnceStored(t *testing.T) {
	m := newMetrics()
	q := newQueue(400, m, zap.NewNop())
	push := func(typ string, n int) {
		for range n {
			q.push(Event{Type: typ, CID: "c"})
		}
	}
	push(TypeConnected, 300)
	push(TypeDisconnected, 5)
	push("custom.type", 2)
	types := []string{TypeConnected, TypeDisconnected, "custom.type"}
	none := map[string]float64{TypeConnected: 0, TypeDisconnected: 0, "custom.type": 0}
	assert.Equal(t, none, countsOf(m, types...), "nothing taken yet")

	blocks := q.takeBlocks(nil, logChunk)
	require.Equal(t, none, countsOf(m, types...), "taken, not stored yet")
	require.Equal(t, 307, q.unwritten(), "being written: still in cliser_events_queued")
	q.putBackBlocks(blocks) // the log's write failed
	require.Equal(t, 307, q.unwritten(), "waiting again, and in the queue's count alone")
	push(TypeDisconnected, 93)
	push(TypeDisconnected, 10) // past the limit of 400: dropped
	blocks = q.takeBlocks(blocks, logChunk)
	q.written(blocks)
	require.Zero(t, q.unwritten())
	want := map[string]float64{TypeConnected: 300, TypeDisconnected: 98, "custom.type": 2}
	require.Equal(t, want, countsOf(m, types...), "stored: counted once; dropped: not at all")
	assert.EqualValues(t, 10, testutil.ToFloat64(m.dropped))

	push(TypeConnected, 200)
	batch := q.take(nil, logChunk)
	require.Equal(t, want, countsOf(m, types...), "taken to publish, not acknowledged yet")
	require.Equal(t, 200, q.unwritten(), "being published: still in cliser_events_queued")
	q.published(batch[:150]) // the stream acknowledged 150 of them
	q.putBack(batch[150:])
	want[TypeConnected] += 150
	require.Equal(t, want, countsOf(m, types...), "the acknowledged counted")
	require.Equal(t, 50, q.unwritten(), "the put back in cliser_events_queued alone")
	push(TypeConnected, 7)
	push("custom.type", 1)
	batch = q.take(batch, 100) // the 50 put back, then the new 8
	require.Len(t, batch, 58)
	q.published(batch)
	want[TypeConnected] += 57
	want["custom.type"]++
	require.Equal(t, want, countsOf(m, types...), "the put back counted once, when published")
	require.Zero(t, q.unwritten())
}

// TestLogCountsWhatItsWriterTook: a real log's page shows every event
// appended, by type, once its writer has stored them (counted just after
// the commit that Wait sees: polled).
func TestLogCountsWhatItsWriterTook(t *testing.T) {
	l, err := Open(filepath.Join(t.TempDir(), FileName))
	require.NoError(t, err)
	defer l.Close()
	for i := range 130 {
		require.True(t, l.Append(Event{Type: Types[i%2], CID: "c"}))
	}
	require.True(t, l.Append(Event{Type: TypeBanCreated, Kind: "ip", Value: "192.0.2.7"}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, l.Wait(ctx, 130))
	reg := prometheus.NewRegistry()
	reg.MustRegister(l.Collectors()...)
	want := `
# HELP cliser_events_total Events written into the log, by type (counted once stored; the rest of those emitted are in cliser_events_queued or cliser_events_dropped_total).
# TYPE cliser_events_total counter
cliser_events_total{type="ban.created"} 1
cliser_events_total{type="ban.deleted"} 0
cliser_events_total{type="client.connected"} 65
cliser_events_total{type="client.disconnected"} 65
cliser_events_total{type="client.shutdown_acked"} 0
cliser_events_total{type="client.shutdown_sent"} 0
cliser_events_total{type="credential.created"} 0
cliser_events_total{type="credential.deleted"} 0
`
	var last error
	if !assert.Eventually(t, func() bool {
		last = testutil.GatherAndCompare(reg, strings.NewReader(want), MetricEvents)
		return last == nil
	}, 5*time.Second, 5*time.Millisecond) {
		t.Fatal(last)
	}
}
