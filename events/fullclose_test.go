package events_test

import (
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
