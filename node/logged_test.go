package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// loggedSessions reads each client's newest session off a real log: a
// closed one with its end, a live one, a takeover's new session; a client
// whose end has no session, or a reason this version does not know, is
// left to its record.
func TestLoggedSessionsAreEachClientsNewest(t *testing.T) {
	l, err := events.Open(filepath.Join(t.TempDir(), events.FileName))
	require.NoError(t, err)
	defer l.Close()
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	conn := func(cid, session string, at time.Time) events.Event {
		return events.Event{Type: events.TypeConnected, Time: at, CID: cid, SID: 3, CIP: "192.0.2.9", CPort: "4000", Session: session}
	}
	end := func(c events.Event, why string, at time.Time) events.Event {
		connected := c.Time
		c.Type, c.ConnectedAt, c.Reason, c.Time = events.TypeDisconnected, &connected, &why, at
		return c
	}
	for _, ev := range []events.Event{
		conn("closed", "s-1", t0), end(conn("closed", "s-1", t0), "closed by client", t0.Add(time.Second)),
		conn("live", "s-2", t0),
		conn("taken", "s-3", t0), end(conn("taken", "s-3", t0), "replaced", t0.Add(time.Second)), conn("taken", "s-4", t0.Add(time.Second)),
		conn("old", "", t0),
		conn("odd", "s-5", t0), end(conn("odd", "s-5", t0), "a reason from the future", t0.Add(time.Second)),
		{Type: events.TypeBanCreated, Kind: "cid", Value: "live", By: "operator"},
	} {
		require.True(t, l.Append(ev))
	}
	require.Eventually(t, func() bool { return l.Newest() == 10 }, 5*time.Second, 10*time.Millisecond)

	tail, _, _, err := loggedSessions(context.Background(), l, time.Now())
	require.NoError(t, err)
	got := tail.Sessions
	assert.Len(t, got, 5, "%v", got)
	assert.Equal(t, registry.Logged{Unread: true}, got["old"], "no session: Load goes by the record alone")
	assert.Equal(t, registry.Logged{Unread: true}, got["odd"], "an end this build does not know")
	assert.Equal(t, t0, tail.From, "the first event's time")
	assert.Equal(t, registry.Logged{Ended: true, Rec: registry.Record{CID: "closed", SID: 3, CIP: "192.0.2.9", CPort: "4000",
		Session: "s-1", ConnectedAt: t0, LastSeen: t0.Add(time.Second), DisconnectedAt: t0.Add(time.Second),
		Reason: protocol.ReasonClosedByClient}}, got["closed"])
	assert.False(t, got["live"].Ended)
	assert.True(t, got["live"].Rec.CStatus)
	assert.Equal(t, "s-4", got["taken"].Rec.Session)
	assert.False(t, got["taken"].Ended)
}

// A log begun anew after its floor (events.seq), or one that keeps fewer
// events than loggedTail, is read from its oldest event: read from
// before it, the start got a 410 and weighed the records alone, so a
// session a kill -9 left only in the log was lost.
func TestLoggedSessionsOfALogThatKeepsFewerThanTheTail(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T, path string) *events.Log
	}{
		{"begun anew", func(t *testing.T, path string) *events.Log {
			require.NoError(t, os.WriteFile(filepath.Join(filepath.Dir(path), "events.seq"), []byte("500000\n"), 0o600))
			l, err := events.Open(path)
			require.NoError(t, err)
			return l
		}},
		{"small retention", func(t *testing.T, path string) *events.Log {
			l, err := events.Open(path, events.WithRetention(100))
			require.NoError(t, err)
			for range 300 {
				require.True(t, l.Append(events.Event{Type: events.TypeBanCreated, Kind: "cid", Value: "x", By: "operator"}))
			}
			require.Eventually(t, func() bool { return l.Newest() == 300 }, 5*time.Second, 10*time.Millisecond)
			return l
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := tc.open(t, filepath.Join(t.TempDir(), events.FileName))
			defer l.Close()
			from := l.Newest()
			require.True(t, l.Append(events.Event{Type: events.TypeConnected, Time: time.Now(), CID: "only-logged", SID: 1,
				CIP: "192.0.2.1", CPort: "1", Session: "s-1"}))
			require.Eventually(t, func() bool { return l.Newest() == from+1 }, 5*time.Second, 10*time.Millisecond)
			tail, _, _, err := loggedSessions(context.Background(), l, time.Now())
			require.NoError(t, err)
			require.Contains(t, tail.Sessions, "only-logged")
			assert.True(t, tail.Sessions["only-logged"].Rec.CStatus)
		})
	}
}

// The last run's ends in the stats' window are counted however many
// events the log holds after them: they were read from the tail alone
// (32,768 events), so after a reconnect storm of a large fleet, or a
// second restart within the window, the overview and `cliser status`
// said a fraction of them (9,594 of 37,662 "closed by client" with
// 15,000 clients). Ends older than the window still are not counted.
// The tail here is 20 events, the mechanism the same.
func TestPriorEndsCountedBeyondTheTail(t *testing.T) {
	l, err := events.Open(filepath.Join(t.TempDir(), events.FileName))
	require.NoError(t, err)
	defer l.Close()
	now := time.Now().UTC()
	end := func(cid, why string, at time.Time) events.Event {
		return events.Event{Type: events.TypeDisconnected, Time: at, CID: cid, SID: 3, CIP: "192.0.2.9", CPort: "4000",
			Session: "s-" + cid, ConnectedAt: &at, Reason: &why}
	}
	var evs []events.Event
	for i := range 3 { // before the window
		evs = append(evs, end(fmt.Sprintf("gone-%d", i), "kicked", now.Add(-admin.StatsWindow-time.Minute)))
	}
	for i := range 40 {
		evs = append(evs, end(fmt.Sprintf("churn-%d", i), "closed by client", now.Add(-2*time.Minute)))
	}
	for i := range 50 {
		evs = append(evs, events.Event{Type: events.TypeConnected, Time: now.Add(-time.Minute), CID: fmt.Sprintf("back-%d", i),
			SID: 4, CIP: "192.0.2.9", CPort: "4001", Session: fmt.Sprintf("b-%d", i)})
	}
	for i := range 5 {
		evs = append(evs, end(fmt.Sprintf("back-%d", i), "server shutting down", now.Add(-time.Second)))
	}
	for _, ev := range evs {
		require.True(t, l.Append(ev))
	}
	require.Eventually(t, func() bool { return l.Newest() == uint64(len(evs)) }, 5*time.Second, 10*time.Millisecond)

	_, prior, short, err := loggedSessionsTail(context.Background(), l, now.Add(-admin.StatsWindow), 20, 1000)
	require.NoError(t, err)
	got := map[string]int{}
	for _, b := range prior {
		for r, n := range b.byReason {
			got[r] += n
		}
	}
	assert.Equal(t, map[string]int{"closed by client": 40, "server shutting down": 5}, got)
	assert.NoError(t, short, "the read reached before the window")

	// At most readMax events before the tail are read, so that a start
	// after a storm is not held up: here the 30 before the tail, all
	// connects, and the count says it is short.
	_, prior, short, err = loggedSessionsTail(context.Background(), l, now.Add(-admin.StatsWindow), 20, 30)
	require.NoError(t, err)
	got = map[string]int{}
	for _, b := range prior {
		for r, n := range b.byReason {
			got[r] += n
		}
	}
	assert.Equal(t, map[string]int{"server shutting down": 5}, got)
	assert.ErrorIs(t, short, errPriorCapped, "the window went on before the events read")

	// A bound met exactly where the window begins is no cap: the 75 events
	// before the tail are all the window has (the 3 before are older).
	_, _, short, err = loggedSessionsTail(context.Background(), l, now.Add(-admin.StatsWindow), 20, 75)
	require.NoError(t, err)
	assert.NoError(t, short, "the next older event is before the window")
}

// An event of the window that does not read back stops the count of the
// last run's ends and says why: it stopped without a word, and the stats
// said fewer ends than the log held as if that were all of them.
func TestPriorEndsSayWhereADamagedEventStoppedThem(t *testing.T) {
	path := filepath.Join(t.TempDir(), events.FileName)
	l, err := events.Open(path)
	require.NoError(t, err)
	now := time.Now().UTC()
	for i := range 60 {
		at, why := now.Add(-time.Minute), "closed by client"
		require.True(t, l.Append(events.Event{Type: events.TypeDisconnected, Time: at, CID: fmt.Sprintf("d-%d", i), SID: 3,
			CIP: "192.0.2.9", CPort: "4000", Session: fmt.Sprintf("s-%d", i), ConnectedAt: &at, Reason: &why}))
	}
	require.Eventually(t, func() bool { return l.Newest() == 60 }, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, l.Close())
	// Event 5 (before the tail's 20): the reason's opening quote, not JSON.
	testkit.GarbleEvery(t, path, `{"seq":5,`, `"reason":`, 'x')

	l, err = events.Open(path)
	require.NoError(t, err)
	defer l.Close()
	_, prior, short, err := loggedSessionsTail(context.Background(), l, now.Add(-admin.StatsWindow), 20, 1000)
	require.NoError(t, err, "the tail reads back: the start goes on")
	require.Error(t, short)
	assert.NotErrorIs(t, short, errPriorCapped)
	assert.Contains(t, short.Error(), "event 5")
	got := 0
	for _, b := range prior {
		got += b.byReason["closed by client"]
	}
	// The tail's 20, then back a window of 20 at a time, each read oldest
	// first: 21 to 40, and of 1 to 20 those before the damaged one.
	assert.Equal(t, 20+20+4, got, "the ends read before the count stopped")
}
