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
	r := registry.New(registry.WithStore(store), registry.WithChanges(log.add), registry.WithLogged(map[string]registry.Logged{
		"closed":  logged(ended(closedOnDisk, protocol.ReasonClosedByClient, t0.Add(2*time.Second))),
		"live":    logged(liveOnDisk),
		"endlost": logged(conn("endlost", "s-3", t0)),
		"again":   logged(newer),
		"new":     logged(unknown),
	}))
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
