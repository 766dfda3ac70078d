package events_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
)

// Events the log cannot write before it closes (a full disk) are lost:
// Close says so, with how many and why, so that a stop that lost them does
// not pass for a clean one (cliser serve exited 0 with only a log line).
func TestLogCloseReportsEventsLostToAFullDisk(t *testing.T) {
	dir := testkit.SmallDisk(t, "1m")
	l, err := events.Open(filepath.Join(dir, events.FileName))
	require.NoError(t, err)
	testkit.FillDisk(t, dir)
	const n = 2000 // more than bbolt's free pages hold
	for i := range n {
		require.True(t, l.Append(events.Event{Type: events.TypeConnected, CID: fmt.Sprintf("full-%04d", i)}))
	}
	deadline := time.Now().Add(10 * time.Second)
	for l.Healthy() == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	require.Error(t, l.Healthy(), "the writes fail on the full disk")

	err = l.Close()
	require.Error(t, err, "events lost at close are an error")
	assert.Contains(t, err.Error(), "were not written")
	assert.Contains(t, err.Error(), "no space left on device")
	assert.True(t, strings.Contains(err.Error(), "queued events"), err.Error())
}

// A clean close is still nil.
func TestLogCloseIsNilWhenEverythingWasWritten(t *testing.T) {
	l, err := events.Open(logPath(t))
	require.NoError(t, err)
	for i := range 100 {
		l.Append(events.Event{Type: events.TypeConnected, CID: fmt.Sprintf("c-%d", i)})
	}
	require.NoError(t, l.Close())
}

// So are the cluster's: events still queued when Close gives up on a NATS
// that does not answer are lost, and Close says how many (it returned nil,
// and the stop exited 0).
func TestStreamCloseReportsEventsLostToNATSAway(t *testing.T) {
	s := streamWithNATSAway(t)
	t0 := time.Now()
	err := s.Close()
	// A stop must end: a publish fails only when its acknowledgment is late
	// (5 s), and counting tries kept Close ~28 s; now one try after close.
	assert.Less(t, time.Since(t0), 15*time.Second, "Close gives up within its grace and one late acknowledgment")
	require.Error(t, err, "events lost at close are an error")
	assert.Contains(t, err.Error(), "10 queued events were not published")
}

// A stop out of time (--shutdown-timeout run out, or a second signal)
// does not wait out the writers' grace for events they cannot write: once
// its context ends, CloseWithin gives them up at once, and says so as
// Close does. Close alone waits its 3 s grace and a late acknowledgment.
func TestCloseWithinGivesUpWhenTheStopIsOutOfTime(t *testing.T) {
	const bound = 2 * time.Second // under the 3 s grace the writers keep otherwise
	t.Run("stream", func(t *testing.T) {
		s := streamWithNATSAway(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		t0 := time.Now()
		err := s.CloseWithin(ctx)
		assert.Less(t, time.Since(t0), bound)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "10 queued events were not published")
	})
	t.Run("log", func(t *testing.T) {
		dir := testkit.SmallDisk(t, "1m")
		l, err := events.Open(filepath.Join(dir, events.FileName))
		require.NoError(t, err)
		testkit.FillDisk(t, dir)
		for i := range 2000 { // more than bbolt's free pages hold
			require.True(t, l.Append(events.Event{Type: events.TypeConnected, CID: fmt.Sprintf("late-%04d", i)}))
		}
		require.Eventually(t, func() bool { return l.Healthy() != nil }, 10*time.Second, 10*time.Millisecond, "the writes fail")
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		t0 := time.Now()
		err = l.CloseWithin(ctx)
		assert.Less(t, time.Since(t0), bound)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "were not written")
	})
}

// streamWithNATSAway is a stream whose NATS has gone, with 10 events
// queued that it fails to publish.
func streamWithNATSAway(t *testing.T) *events.Stream {
	t.Helper()
	ns := testkit.NATS(t)
	nc, _ := testkit.JetStream(t, ns.ClientURL())
	s, err := events.OpenStream(nc, nil)
	require.NoError(t, err)
	ns.Shutdown()
	for i := range 10 {
		s.Append(events.Event{Type: events.TypeConnected, CID: fmt.Sprintf("away-%d", i)})
	}
	require.Eventually(t, func() bool { return s.Healthy() != nil }, 10*time.Second, 10*time.Millisecond, "publishing fails")
	return s
}
