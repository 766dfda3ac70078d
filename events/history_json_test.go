package events_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
)

// A session's times are written as the events' they come from, to the
// microsecond in six digits, and read back as times; an open session's
// disconnected_at is null.
func TestSessionJSONWritesTheEventsTimes(t *testing.T) {
	since := time.Date(2026, 11, 30, 9, 58, 10, 120000789, time.UTC)
	until := time.Date(2026, 11, 30, 10, 0, 0, 0, time.FixedZone("x", 3600))
	s := events.Session{Session: "s-1", SID: 17, Node: "n1", CIP: "203.0.113.9", CPort: "53122",
		ConnectedAt: &since, DisconnectedAt: &until, Reason: "kicked"}
	got, err := json.Marshal(s)
	require.NoError(t, err)
	assert.Equal(t, `{"session":"s-1","sid":17,"node":"n1","cip":"203.0.113.9","cport":"53122",`+
		`"connected_at":"2026-11-30T09:58:10.120000Z","disconnected_at":"2026-11-30T09:00:00.000000Z","reason":"kicked"}`,
		string(got), "EVENTS.md's fields in its order")
	require.Equal(t, 8, reflect.TypeFor[events.Session]().NumField(), "a new field of Session needs its place in MarshalJSON")
	var back events.Session
	require.NoError(t, json.Unmarshal(got, &back))
	assert.True(t, back.ConnectedAt.Equal(since.Truncate(time.Microsecond)))
	assert.True(t, back.DisconnectedAt.Equal(until))

	got, err = json.Marshal(events.Session{Session: "s-2", ConnectedAt: &since})
	require.NoError(t, err)
	assert.Contains(t, string(got), `"disconnected_at":null`)
}
