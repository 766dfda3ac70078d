package admin_test

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/registry"
)

// Without after, a filtered read answers the newest matching events
// however far back they are in the log: it read the newest 20,000 events
// alone and answered none when the matches were older (events audit). A
// match the retention deleted is not answered, and reading back past the
// oldest kept is no error.
func TestEventsNewestMatchesOlderThanAWindow(t *testing.T) {
	const retention, total = 30_000, 50_000
	l, err := events.Open(filepath.Join(t.TempDir(), events.FileName), events.WithRetention(retention))
	require.NoError(t, err)
	hs, err := admin.New(registry.New(), admin.WithEvents(l)).Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(t, hs.Shutdown(ctx))
		require.NoError(t, l.Close())
	})
	base := "http://" + hs.Addr()

	rare := map[int]bool{5: true, 21_000: true, 22_000: true} // 5 falls out of the log
	for i := 1; i <= total; i++ {
		ev := events.Event{Type: events.TypeConnected, CID: "c", Session: "s"}
		if rare[i] {
			ev.Type = events.TypeShutdownAcked
		}
		require.Eventually(t, func() bool { return l.Append(ev) }, 10*time.Second, time.Millisecond, "the queue stayed full")
	}
	require.Eventually(t, func() bool { return l.Newest() == total && l.Oldest() > 5 }, 30*time.Second, 5*time.Millisecond)

	a := getEvents(t, base, "type=client.shutdown_acked&limit=5")
	require.Len(t, a.Events, 2, "both kept matches, older than the newest 20,000 events")
	assert.EqualValues(t, 21_000, a.Events[0].Seq)
	assert.EqualValues(t, 22_000, a.Events[1].Seq)
	assert.EqualValues(t, 22_000, *a.Next)
	a = getEvents(t, base, "type=client.shutdown_acked&limit=1")
	require.Len(t, a.Events, 1)
	assert.EqualValues(t, 22_000, a.Events[0].Seq, "the newest match")
	a = getEvents(t, base, "type=client.connected&limit=3")
	require.Len(t, a.Events, 3)
	assert.EqualValues(t, total-2, a.Events[0].Seq, "a dense match: the newest, in order")
	assert.EqualValues(t, total, *a.Next)
	a = getEvents(t, base, "type=client.disconnected")
	assert.Empty(t, a.Events, "no match in the whole log")
	assert.EqualValues(t, total, *a.Next)
}

// ?type= of commas alone filtered nothing out and answered every type,
// while ?type= is refused (docs audit).
func TestEventsTypeOfCommasAloneIsRefused(t *testing.T) {
	_, base := eventsAPI(t)
	for _, path := range []string{"/v1/events?type=,", "/v1/events?type=%20,%20", "/v1/events/stream?type=,"} {
		r := send(t, base, request{path: path})
		assert.Equal(t, http.StatusBadRequest, r.status, path)
		assert.Contains(t, r.errorText(t), `query: "type" names no type`, path)
	}
}

// An empty item between commas is skipped, so a list built with a
// trailing or doubled comma still filters by the types it names
// (docs/events.md); only a list that names no type is refused (above).
func TestEventsTypeListSkipsEmptyItems(t *testing.T) {
	l, base := eventsAPI(t)
	appendEvents(t, l, "c", events.TypeConnected, events.TypeDisconnected, events.TypeShutdownAcked)
	for _, q := range []string{"after=0&type=client.connected,,client.shutdown_acked", "after=0&type=client.connected,client.shutdown_acked,"} {
		a := getEvents(t, base, q)
		require.Len(t, a.Events, 2, q)
		assert.Equal(t, events.TypeConnected, a.Events[0].Type, q)
		assert.Equal(t, events.TypeShutdownAcked, a.Events[1].Type, q)
	}
}
