package node

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
	"github.com/cliser/cliser/registry/registrytest"
)

// BenchmarkEmit is a handshake's two events on the loops (issue 17): a
// registration and a disconnect by sid, from every P at once (-cpu 2), each
// through the registry's emit, the sink and the log's queue as serve wires
// them; the log's writer runs beside. Its allocs/op and B/op are what the
// loops allocate for the two events; BenchmarkEmitOff is the same calls
// without the log, so the difference in ns/op is the emit's.
func BenchmarkEmit(b *testing.B) {
	l, err := events.Open(filepath.Join(b.TempDir(), events.FileName))
	require.NoError(b, err)
	b.Cleanup(func() { _ = l.Close() })
	var sink changeSink
	sink.set(l)
	benchRegistrations(b, registry.WithChanges(sink.emit))
	b.StopTimer()
	reg := prometheus.NewRegistry()
	reg.MustRegister(l.Collectors()...)
	dropped, err := testutil.GatherAndCount(reg, events.MetricDropped)
	require.NoError(b, err)
	require.Equal(b, 1, dropped)
	require.NoError(b, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP cliser_events_dropped_total Events dropped because the log's writer queue was full (the disk or NATS is behind).
# TYPE cliser_events_dropped_total counter
cliser_events_dropped_total 0
`), events.MetricDropped), "the writer fell behind: the pushes measured are not a handshake's")
}

// BenchmarkEmitOff is BenchmarkEmit with the event log off.
func BenchmarkEmitOff(b *testing.B) { benchRegistrations(b) }

type benchConn struct{ _ byte }

func (*benchConn) Shutdown(string) error       { return nil }
func (*benchConn) Close(protocol.Reason) error { return nil }

// benchRegistrations registers and disconnects clients of a 5,000-client
// fleet (each P its own), each P writing its own lines between the calls
// as a loop's handshake does: 16 KiB of them, over and over, which also
// paces the calls so that the log's writer keeps up (its queue's blocks
// are reused, as in the harness's bursts).
func benchRegistrations(b *testing.B, opts ...registry.Option) {
	cids := make([]string, 5000)
	for i := range cids {
		cids[i] = fmt.Sprintf("bench-%05d", i)
	}
	cip := "192.0.2.1"
	registrytest.RunRegistrations(b, registry.New(opts...), cids, &cip, 40000, func() (registry.Conn, func()) {
		var own [256 * 64]byte
		return new(benchConn), func() { spaceOut(&own) }
	})
}

// spaceOut writes a line of each of own's, spaceReps times: a P's own
// work, ~10 µs.
func spaceOut(own *[256 * 64]byte) {
	for range spaceReps {
		for i := 0; i < len(own); i += 64 {
			own[i]++
		}
	}
}

const spaceReps = 30
