package registry_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// A kill -9 leaves the store up to a flush behind the event log, or the
// log behind the store. Load weighs the two, so that every session ends
// once in the log and the records say what the log says (an event-log
// audit: a closed session ended again as "server restarted"; a session
// registered just before the kill never ended).
func TestLoadWeighsTheStoreAgainstTheLog(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	conn := func(cid, session string, at time.Time) registry.Record {
		return registry.Record{CID: cid, SID: 7, CIP: "192.0.2.1", CPort: "40000", CStatus: true,
			ConnectedAt: at, LastSeen: at.Add(time.Second), Session: session}
	}
	ended := func(r registry.Record, why protocol.Reason, at time.Time) registry.Record {
		r.CStatus, r.Reason, r.DisconnectedAt, r.LastSeen = false, why, at, at
		return r
	}
	logged := func(r registry.Record) registry.Logged { return registry.Logged{Rec: r, Ended: !r.CStatus} }

	closedOnDisk := conn("closed", "s-1", t0) // its end reached the log, not the store
	liveOnDisk := conn("live", "s-2", t0)     // connected at the kill
	endLost := ended(conn("endlost", "s-3", t0), protocol.ReasonKicked, t0.Add(2*time.Second))
	older := ended(conn("again", "s-4", t0), protocol.ReasonClosedByClient, t0.Add(time.Second))
	newer := conn("again", "s-5", t0.Add(3*time.Second)) // its connect reached the log, not the store
	unknown := conn("new", "s-6", t0.Add(4*time.Second)) // never on disk
	dir := t.TempDir()
	store := openStore(t, dir)
	for _, rec := range []registry.Record{closedOnDisk, liveOnDisk, endLost, older} {
		require.NoError(t, store.Save([]registry.Record{rec}, nil))
	}
	require.NoError(t, store.Close())

	var log changeLog
	store = openStore(t, dir)
	r := registry.New(registry.WithStore(store), registry.WithChanges(log.add), registry.WithLogged(registry.LogTail{Sessions: map[string]registry.Logged{
		"closed":  logged(ended(closedOnDisk, protocol.ReasonClosedByClient, t0.Add(2*time.Second))),
		"live":    logged(liveOnDisk),
		"endlost": logged(conn("endlost", "s-3", t0)),
		"again":   logged(newer),
		"new":     logged(unknown),
	}, From: t0}))
	n, err := r.Load()
	require.NoError(t, err)
	assert.Equal(t, 5, n, "the store's four and the log's new one")

	ends := map[string]registry.Record{}
	for _, c := range log.all() {
		require.Equal(t, registry.ChangeDisconnected, c.Kind)
		require.NotContains(t, ends, c.Record.CID, "one end a session")
		ends[c.Record.CID] = c.Record
	}
	assert.NotContains(t, ends, "closed", "its end is in the log already")
	assert.Equal(t, protocol.ReasonServerRestarted, ends["live"].Reason)
	assert.Equal(t, protocol.ReasonKicked, ends["endlost"].Reason, "the store's end, which the log lost, is logged")
	assert.Equal(t, "s-5", ends["again"].Session, "the log's newer session is the one ended")
	assert.Equal(t, protocol.ReasonServerRestarted, ends["again"].Reason)
	assert.Equal(t, "s-6", ends["new"].Session)
	assert.Len(t, ends, 4)
	assert.Equal(t, 3, r.Restarted())

	got, _ := r.Get("closed")
	assert.Equal(t, protocol.ReasonClosedByClient, got.Reason, "the record says the log's end")
	assert.Equal(t, t0.Add(2*time.Second), got.DisconnectedAt)
	got, _ = r.Get("new")
	assert.False(t, got.CStatus)
	assert.Equal(t, "192.0.2.1", got.CIP, "a session only the log knew has its record")
	require.NoError(t, r.Flush())
	disk := stored(t, store)
	assert.Equal(t, "s-6", disk["new"].Session, "and it is written")
	assert.Equal(t, protocol.ReasonClosedByClient, disk["closed"].Reason)
}

// A kill -9 can keep from the log a batch the store's flush took: a
// takeover's "replaced" and the new session's connect, or a fresh
// client's connect. Load logs each lost connect before the session's end,
// and ends the log's older session it left open, so every session in the
// log starts and ends once (an audit's kill -9 during a takeover burst
// left 174 of 200 old sessions open in the log, and their new sessions
// ended unstarted). A session that connected before the log's From, or
// whose log this build cannot read, gets no connect: the log may hold it.
func TestLoadLogsTheConnectsTheLogLost(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	conn := func(cid, session string, at time.Time) registry.Record {
		return registry.Record{CID: cid, SID: 9, CIP: "192.0.2.7", CPort: "41000", CStatus: true,
			ConnectedAt: at, LastSeen: at.Add(time.Second), Session: session}
	}
	gone := conn("gone", "s-4", t0.Add(time.Second))
	gone.CStatus, gone.Reason, gone.DisconnectedAt = false, protocol.ReasonKicked, t0.Add(3*time.Second)
	dir := t.TempDir()
	store := openStore(t, dir)
	for _, rec := range []registry.Record{conn("taken", "s-2", t0.Add(2*time.Second)), conn("fresh", "s-3", t0.Add(time.Second)), gone,
		conn("old", "s-5", t0.Add(-time.Hour)), conn("unread", "s-6", t0.Add(time.Second)), conn("after", "s-8", t0.Add(2*time.Second))} {
		require.NoError(t, store.Save([]registry.Record{rec}, nil))
	}
	require.NoError(t, store.Close())
	endedLog := conn("after", "s-7", t0)
	endedLog.CStatus, endedLog.Reason, endedLog.DisconnectedAt = false, protocol.ReasonClosedByClient, t0.Add(time.Second)

	var log changeLog
	store = openStore(t, dir)
	r := registry.New(registry.WithStore(store), registry.WithChanges(log.add), registry.WithLogged(registry.LogTail{
		Sessions: map[string]registry.Logged{
			"taken":  {Rec: conn("taken", "s-1", t0)},
			"unread": {Unread: true},
			"after":  {Rec: endedLog, Ended: true},
		}, From: t0}))
	_, err := r.Load()
	require.NoError(t, err)

	type ev struct {
		kind    registry.ChangeKind
		session string
		reason  protocol.Reason
		at      time.Time
	}
	got := map[string][]ev{}
	for _, c := range log.all() {
		got[c.Record.CID] = append(got[c.Record.CID], ev{c.Kind, c.Record.Session, c.Record.Reason, c.At})
	}
	restarted := protocol.ReasonServerRestarted
	assert.Equal(t, []ev{
		{registry.ChangeDisconnected, "s-1", restarted, t0}, // the log's open one, at its connect
		{registry.ChangeConnected, "s-2", 0, t0.Add(2 * time.Second)},
		{registry.ChangeDisconnected, "s-2", restarted, t0.Add(3 * time.Second)},
	}, got["taken"])
	assert.Equal(t, []ev{{registry.ChangeConnected, "s-3", 0, t0.Add(time.Second)},
		{registry.ChangeDisconnected, "s-3", restarted, t0.Add(2 * time.Second)}}, got["fresh"])
	assert.Equal(t, []ev{{registry.ChangeConnected, "s-4", 0, t0.Add(time.Second)},
		{registry.ChangeDisconnected, "s-4", protocol.ReasonKicked, t0.Add(3 * time.Second)}}, got["gone"], "the store's end, lost with its connect")
	assert.Equal(t, []ev{{registry.ChangeDisconnected, "s-5", restarted, t0.Add(-time.Hour + time.Second)}}, got["old"], "connected before the log's From")
	assert.Equal(t, []ev{{registry.ChangeDisconnected, "s-6", restarted, t0.Add(2 * time.Second)}}, got["unread"])
	assert.Equal(t, []ev{{registry.ChangeConnected, "s-8", 0, t0.Add(2 * time.Second)},
		{registry.ChangeDisconnected, "s-8", restarted, t0.Add(3 * time.Second)}}, got["after"], "the log's ended session stays as it is")
	assert.Len(t, got, 6)
	assert.Equal(t, 4, r.LostConnects())
	assert.Equal(t, 6, r.Restarted())
}
