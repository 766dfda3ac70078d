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

// TestEventsTotalCountsEachEventOnceAsTaken: cliser_events_total counts
// an event when the writer first takes it, by type (a type beyond Types
// too), never again when a failed write puts it back (the log's blocks or
// the stream's batch), never when it was dropped.
func TestEventsTotalCountsEachEventOnceAsTaken(t *testing.T) {
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
	assert.Equal(t, map[string]float64{TypeConnected: 0, TypeDisconnected: 0, "custom.type": 0}, countsOf(m, types...),
		"nothing taken yet")

	blocks := q.takeBlocks(nil, logChunk)
	want := map[string]float64{TypeConnected: 300, TypeDisconnected: 5, "custom.type": 2}
	require.Equal(t, want, countsOf(m, types...))
	q.putBackBlocks(blocks) // the log's write failed
	push(TypeDisconnected, 93)
	push(TypeDisconnected, 10) // past the limit of 400: dropped
	blocks = q.takeBlocks(blocks, logChunk)
	want[TypeDisconnected] += 93
	require.Equal(t, want, countsOf(m, types...), "put back: counted once; dropped: not at all")
	assert.EqualValues(t, 10, testutil.ToFloat64(m.dropped))
	q.release(blocks)

	push(TypeConnected, 200)
	batch := q.take(nil, logChunk)
	q.putBack(batch[150:]) // the stream published 150 of them
	push(TypeConnected, 7)
	batch = q.take(batch, 100) // the 50 put back, then the new 7
	want[TypeConnected] += 207
	require.Len(t, batch, 57)
	require.Equal(t, want, countsOf(m, types...), "the stream's put back counted once")
	require.Zero(t, q.len())
}

// TestLogCountsWhatItsWriterTook: a real log's page shows every event
// appended, by type, once its writer has taken them.
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
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP cliser_events_total Events taken into the log by its writer, by type (the rest of those emitted are in cliser_events_queued or cliser_events_dropped_total).
# TYPE cliser_events_total counter
cliser_events_total{type="ban.created"} 1
cliser_events_total{type="ban.deleted"} 0
cliser_events_total{type="client.connected"} 65
cliser_events_total{type="client.disconnected"} 65
cliser_events_total{type="client.shutdown_acked"} 0
cliser_events_total{type="client.shutdown_sent"} 0
cliser_events_total{type="credential.created"} 0
cliser_events_total{type="credential.deleted"} 0
`), MetricEvents))
}
