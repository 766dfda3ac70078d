package registry_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// changeLog gathers what the registry reports, as the event log would.
type changeLog struct {
	mu  sync.Mutex
	got []registry.Change
}

func (l *changeLog) add(c registry.Change) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, c)
}

func (l *changeLog) all() []registry.Change {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]registry.Change(nil), l.got...)
}

func TestChangesInOrderWithSessions(t *testing.T) {
	var log changeLog
	r := registry.New(registry.WithChanges(log.add), registry.WithNode("n1"))
	sid1, c1 := mustRegister(t, r, "a")
	r.ShutdownSent(sid1, c1, "bye")
	r.ShutdownSent(sid1, newConn(), "not its conn")
	c2 := newConn()
	sid2, replaced, err := r.Register("a", "192.0.2.2", "5000", c2)
	require.NoError(t, err)
	require.Same(t, c1, replaced)
	assert.False(t, r.Disconnect("a", c1, protocol.ReasonReplaced), "the stale disconnect")
	r.ShutdownAcked(sid1, c1) // the old conn's late ack says nothing either
	r.ShutdownAcked(sid2, c2)
	require.True(t, r.Disconnect("a", c2, protocol.ReasonShutdown))

	got := log.all()
	kinds := make([]registry.ChangeKind, len(got))
	for i, c := range got {
		kinds[i] = c.Kind
		assert.Equal(t, "a", c.Record.CID)
		assert.Equal(t, "n1", c.Record.Node)
	}
	require.Equal(t, []registry.ChangeKind{
		registry.ChangeConnected, registry.ChangeShutdownSent,
		registry.ChangeDisconnected, registry.ChangeConnected,
		registry.ChangeShutdownAcked, registry.ChangeDisconnected,
	}, kinds)
	s1, s2 := got[0].Record.Session, got[3].Record.Session
	assert.NotEmpty(t, s1)
	assert.NotEqual(t, s1, s2, "each registration is its own session")
	assert.Equal(t, "bye", got[1].Text)
	assert.Equal(t, s1, got[2].Record.Session, "the replaced session's end carries its own session")
	assert.Equal(t, protocol.ReasonReplaced, got[2].Record.Reason)
	assert.Equal(t, sid1, got[2].Record.SID)
	assert.Equal(t, s2, got[4].Record.Session)
	assert.Equal(t, protocol.ReasonShutdown, got[5].Record.Reason)
	assert.Equal(t, "192.0.2.2", got[5].Record.CIP)
}

func TestChangesServerRestartedAtLoad(t *testing.T) {
	dir := t.TempDir()
	store := openStore(t, dir)
	r := registry.New(registry.WithStore(store))
	mustRegister(t, r, "a")
	rec, _ := r.Get("a")
	require.NoError(t, r.Flush())
	require.NoError(t, store.Close()) // a crash: "a" is still connected on disk

	var log changeLog
	store = openStore(t, dir)
	defer store.Close()
	r = registry.New(registry.WithStore(store), registry.WithChanges(log.add))
	_, err := r.Load()
	require.NoError(t, err)
	got := log.all()
	require.Len(t, got, 1)
	assert.Equal(t, registry.ChangeDisconnected, got[0].Kind)
	assert.Equal(t, protocol.ReasonServerRestarted, got[0].Record.Reason)
	assert.Equal(t, rec.Session, got[0].Record.Session, "the session survives on disk")
}

// The changes of a reconnecting fleet allocate next to nothing: each
// change's port and session name are cut from the registry's slab (issue
// 17, session 20). They were two strings a change, a handshake's two
// events four allocations.
func TestChangesCutTheirTextFromASlab(t *testing.T) {
	var last registry.Change
	r := registry.New(registry.WithChanges(func(c registry.Change) { last = c }))
	c := newConn()
	cids := benchCIDs(1000)
	for _, cid := range cids {
		_, _, err := r.RegisterPort(cid, &testCIP, 40000, c)
		require.NoError(t, err)
		_, owned := r.DisconnectSID(last.Record.SID, c, protocol.ReasonClosedByClient)
		require.True(t, owned)
	}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		sid, _, err := r.RegisterPort(cids[i%len(cids)], &testCIP, 40000, c)
		require.NoError(t, err)
		r.DisconnectSID(sid, c, protocol.ReasonClosedByClient)
		i++
	})
	require.LessOrEqual(t, allocs, 0.05)
	want, ok := r.Get(last.Record.CID)
	require.True(t, ok)
	require.Equal(t, want.Session, last.Record.Session)
	require.Equal(t, "40000", last.Record.CPort)
}
