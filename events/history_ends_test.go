package events_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
)

// A session with two ends in the log, a stray "node lost" (its node was
// judged lost while only slow) and then its real end, shows the real one,
// as the client's record does: history kept the older, stray one
// (cluster audit).
func TestSessionsShowTheNewestEnd(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 12, 3, 0, 0, time.UTC)
	reason := func(s string) *string { return &s }
	newestFirst := []events.Event{
		{Seq: 3, Type: events.TypeDisconnected, CID: "z4", Session: "s-1", Node: "n4", Time: t0.Add(60 * time.Second), Reason: reason("kicked")},
		{Seq: 2, Type: events.TypeDisconnected, CID: "z4", Session: "s-1", Node: "n4", Time: t0.Add(53 * time.Second), Reason: reason("node lost")},
		{Seq: 1, Type: events.TypeConnected, CID: "z4", Session: "s-1", Node: "n4", Time: t0},
	}
	got := events.Sessions(newestFirst, 20)
	require.Len(t, got, 1)
	assert.Equal(t, "kicked", got[0].Reason)
	require.NotNil(t, got[0].DisconnectedAt)
	assert.Equal(t, t0.Add(60*time.Second), *got[0].DisconnectedAt)
	assert.Equal(t, t0, *got[0].ConnectedAt)
}
