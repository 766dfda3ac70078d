package cluster_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/registry"
)

// A flush of more slots than the publish window is written whole, every
// slot write's acknowledgement is timed once, and nothing stays counted
// in flight.
func TestPublisherTimesEveryAck(t *testing.T) {
	nc, err := nats.Connect(runNATS(t))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	n, err := cluster.Join(nc, "p1")
	require.NoError(t, err)
	t.Cleanup(func() { _ = n.Close() })
	const records = 1000 // each in a slot of its own: two windows of slots
	put := connectedRecords("pub-%04d", records)
	for i := range put {
		put[i].SID = uint16(i*64%65536 + 1)
	}
	slots := map[uint16]bool{}
	for _, r := range put {
		slots[r.SID>>6] = true
	}
	require.Len(t, slots, records)
	require.NoError(t, n.Store().Save(put, nil))

	reg := prometheus.NewRegistry()
	reg.MustRegister(n.Collectors()...)
	families, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			switch {
			case m.GetHistogram() != nil:
				got[f.GetName()] = float64(m.GetHistogram().GetSampleCount())
			case m.GetGauge() != nil:
				got[f.GetName()] = m.GetGauge().GetValue()
			case f.GetName() == cluster.MetricClusterWrites && m.GetLabel()[0].GetValue() == "ok":
				got[f.GetName()] = m.GetCounter().GetValue()
			}
		}
	}
	assert.Equal(t, float64(records), got[cluster.MetricClusterWrites], "every slot written")
	assert.Equal(t, float64(records), got[cluster.MetricClusterPublishAck], "every acknowledgement timed once")
	assert.Zero(t, got[cluster.MetricClusterPublishInflight], "nothing left in flight")
}

// connectedRecords is n connected records as a node's registry hands them
// to its store, their cids format applied to 0..n-1.
func connectedRecords(format string, n int) []registry.Record {
	now := time.Now().UTC()
	put := make([]registry.Record, n)
	for i := range put {
		put[i] = registry.Record{SID: uint16(i + 1), CID: fmt.Sprintf(format, i), CIP: "10.0.0.1",
			CPort: "40000", CStatus: true, ConnectedAt: now, LastSeen: now}
	}
	return put
}

// A flush larger than a publish window marks the node's record writes
// behind (the event log holds its publishes back meanwhile) until a
// moment after it ends; a small flush does not.
func TestBackloggedWhileALargeFlushIsWritten(t *testing.T) {
	nc, err := nats.Connect(runNATS(t))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	n, err := cluster.Join(nc, "b1")
	require.NoError(t, err)
	t.Cleanup(func() { _ = n.Close() })
	require.False(t, n.Backlogged(), "nothing written yet")
	require.NoError(t, n.Store().Save(connectedRecords("small-%04d", 100), nil))
	require.False(t, n.Backlogged(), "a flush within one window is not a backlog")

	done := make(chan error, 1)
	go func() { done <- n.Store().Save(connectedRecords("large-%05d", 5000), nil) }()
	require.Eventually(t, n.Backlogged, 10*time.Second, time.Millisecond, "a flush of 5,000 records is a backlog")
	require.NoError(t, <-done)
	require.Eventually(t, func() bool { return !n.Backlogged() }, 10*time.Second, 5*time.Millisecond,
		"behind no longer, a moment after the flush")
}

// Backlogged holds through every slot write of a large flush, not only
// once the flush has ended, and for a moment after its end (the registry's
// next flush comes 50 ms later): the check before each write sees it, and
// so does one right after the flush, when it comes within 100 ms of the
// last write (a loaded machine may take longer: then it is not judged).
func TestBackloggedDuringALargeFlushAndAMomentAfter(t *testing.T) {
	nc, err := nats.Connect(runNATS(t))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	var (
		node      atomic.Pointer[cluster.Node]
		writes    atomic.Int64 // slot writes seen by the hook while the node is set
		notBehind atomic.Int64 // of them, those Backlogged denied
		lastWrite atomic.Int64 // when the last one began (UnixNano)
	)
	n, err := cluster.Join(nc, "b2", cluster.WithBeforeSlotWrite(func(int) {
		if nd := node.Load(); nd != nil {
			writes.Add(1)
			if !nd.Backlogged() {
				notBehind.Add(1)
			}
			lastWrite.Store(time.Now().UnixNano())
		}
	}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = n.Close() })
	node.Store(n)
	require.NoError(t, n.Store().Save(connectedRecords("large-%05d", 5000), nil))
	after, now := n.Backlogged(), time.Now()
	require.Positive(t, writes.Load(), "slot writes of the large flush")
	assert.Zero(t, notBehind.Load(), "slot writes of %d not counted as a backlog", writes.Load())
	if since := now.Sub(time.Unix(0, lastWrite.Load())); since < 100*time.Millisecond {
		assert.True(t, after, "backlogged %v after the last slot write of a large flush", since)
	} else {
		t.Logf("the flush's answer came %v after its last write: the hold is not judged", since)
	}
}
