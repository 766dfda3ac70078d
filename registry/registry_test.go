package registry_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

func TestRegisterFillsTheRecord(t *testing.T) {
	clk := newClock()
	r := registry.New(registry.WithClock(clk.Now), registry.WithNode("n1"))
	c := newConn()
	sid, replaced, err := r.Register("pos-0042", "127.0.0.1", "53122", c)
	require.NoError(t, err)
	assert.Nil(t, replaced)
	assert.NotZero(t, sid)

	rec, ok := r.Get("pos-0042")
	require.True(t, ok)
	assert.NotEmpty(t, rec.Session, "every registered connection is named")
	assert.Equal(t, registry.Record{
		SID: sid, CID: "pos-0042", CIP: "127.0.0.1", CPort: "53122", CStatus: true,
		ConnectedAt: clk.Now(), LastSeen: clk.Now(), Node: "n1", Session: rec.Session,
	}, rec)

	got, err := r.Conn("pos-0042")
	require.NoError(t, err)
	assert.Same(t, c, got)
	connected, total := r.Counts()
	assert.Equal(t, 1, connected)
	assert.Equal(t, 1, total)
	assert.Empty(t, c.closed(), "the registry never acts on a conn itself")
}

func TestSIDsUniqueAmongConnectedAndNeverZero(t *testing.T) {
	r := registry.New()
	seen := map[uint16]string{}
	for i := range 2000 {
		sid, _ := mustRegister(t, r, cidN(i))
		require.NotZero(t, sid)
		prev, dup := seen[sid]
		require.False(t, dup, "sid %d given to %s and %s", sid, prev, cidN(i))
		seen[sid] = cidN(i)
	}
	// Free every other one and register as many again: still unique
	// among the connected.
	for i := 0; i < 2000; i += 2 {
		rec, _ := r.Get(cidN(i))
		c, err := r.Conn(cidN(i))
		require.NoError(t, err)
		require.True(t, r.Disconnect(cidN(i), c, protocol.ReasonClosedByClient))
		delete(seen, rec.SID)
	}
	for i := 2000; i < 3000; i++ {
		sid, _ := mustRegister(t, r, cidN(i))
		require.NotZero(t, sid)
		_, dup := seen[sid]
		require.False(t, dup, "sid %d given twice", sid)
		seen[sid] = cidN(i)
	}
	connected, total := r.Counts()
	assert.Equal(t, 2000, connected)
	assert.Equal(t, 3000, total)
}

func TestFreedSIDIsNotReusedAtOnce(t *testing.T) {
	r := registry.New()
	sid, c := mustRegister(t, r, "a")
	require.True(t, r.Disconnect("a", c, protocol.ReasonClosedByClient))

	again, _ := mustRegister(t, r, "a")
	assert.NotEqual(t, sid, again, "a reconnecting client gets a new sid")

	// Churn: one client coming and going never sees an old sid again until
	// the whole range came round.
	seen := map[uint16]bool{sid: true, again: true}
	c2, _ := r.Conn("a")
	for range 1000 {
		require.True(t, r.Disconnect("a", c2, protocol.ReasonClosedByClient))
		var s uint16
		s, c2 = mustRegister(t, r, "a")
		require.False(t, seen[s], "sid %d reused within 1000 reconnects", s)
		seen[s] = true
	}
}

func TestSIDWrapsRoundSkippingZero(t *testing.T) {
	r := registry.New()
	// One client holds sid 1 for good; another one reconnects more than
	// the whole range: the sids go round, skip 0 and the held sid 1.
	held, _ := mustRegister(t, r, "held")
	require.Equal(t, uint16(1), held)
	sid, c := mustRegister(t, r, "churn")
	var prev uint16
	for range 70000 {
		require.True(t, r.Disconnect("churn", c, protocol.ReasonClosedByClient))
		prev = sid
		sid, c = mustRegister(t, r, "churn")
		require.NotZero(t, sid)
		require.NotEqual(t, held, sid)
		require.NotEqual(t, prev, sid)
	}
}

func TestMaxClients(t *testing.T) {
	r := registry.New(registry.WithMaxClients(3))
	var conns []*testConn
	for i := range 3 {
		_, c := mustRegister(t, r, cidN(i))
		conns = append(conns, c)
	}
	sid, replaced, err := r.Register("late", "192.0.2.1", "1", newConn())
	require.ErrorIs(t, err, registry.ErrFull)
	assert.Zero(t, sid)
	assert.Nil(t, replaced)
	_, ok := r.Get("late")
	assert.False(t, ok, "a refused client leaves no record")

	// Takeover still works at the ceiling: it frees a place first.
	c := newConn()
	_, replaced, err = r.Register(cidN(1), "192.0.2.9", "2", c)
	require.NoError(t, err)
	assert.Same(t, conns[1], replaced)

	// A disconnect makes room.
	require.True(t, r.Disconnect(cidN(0), conns[0], protocol.ReasonClosedByClient))
	_, _ = mustRegister(t, r, "late")
	connected, total := r.Counts()
	assert.Equal(t, 3, connected)
	assert.Equal(t, 4, total)
}

func TestMaxClientsBounds(t *testing.T) {
	r := registry.New(registry.WithMaxClients(0))
	_, _, err := r.Register("a", "", "", newConn())
	require.ErrorIs(t, err, registry.ErrFull, "0 admits nobody")

	r = registry.New(registry.WithMaxClients(-5))
	_, _, err = r.Register("a", "", "", newConn())
	require.ErrorIs(t, err, registry.ErrFull, "negative is 0")
}

func TestFullSIDSpace(t *testing.T) {
	if testing.Short() {
		t.Skip("registers 65535 clients")
	}
	// More than the sid space is asked for; 65535 is the cap either way.
	r := registry.New(registry.WithMaxClients(1 << 20))
	conns := make([]*testConn, 65535)
	used := make([]bool, 65536)
	for i := range conns {
		var sid uint16
		sid, conns[i] = mustRegister(t, r, cidN(i))
		require.False(t, used[sid], "sid %d twice", sid)
		used[sid] = true
	}
	assert.False(t, used[0])
	assert.Len(t, r.Conns(), 65535)

	_, _, err := r.Register("one-more", "", "", newConn())
	require.ErrorIs(t, err, registry.ErrFull)

	// Takeover when full: the only free sid is the one just given back.
	old, _ := r.Get(cidN(42))
	c := newConn()
	sid, replaced, err := r.Register(cidN(42), "", "", c)
	require.NoError(t, err)
	assert.Same(t, conns[42], replaced)
	assert.Equal(t, old.SID, sid)
	assert.False(t, r.Disconnect(cidN(42), conns[42], protocol.ReasonClosedByClient))

	// Freeing one lets exactly one more in.
	gone, _ := r.Get(cidN(7))
	require.True(t, r.Disconnect(cidN(7), conns[7], protocol.ReasonKicked))
	sid, _ = mustRegister(t, r, "one-more")
	assert.Equal(t, gone.SID, sid)
	_, _, err = r.Register("two-more", "", "", newConn())
	require.ErrorIs(t, err, registry.ErrFull)
	connected, total := r.Counts()
	assert.Equal(t, 65535, connected)
	assert.Equal(t, 65536, total)
}

func TestTakeover(t *testing.T) {
	clk := newClock()
	r := registry.New(registry.WithClock(clk.Now))
	oldSID, oldConn := mustRegister(t, r, "a")
	before, _ := r.Get("a")

	clk.Advance(time.Second)
	newC := newConn()
	sid, replaced, err := r.Register("a", "198.51.100.7", "9999", newC)
	require.NoError(t, err)
	require.Same(t, oldConn, replaced, "the caller gets the old conn to close")
	assert.NotEqual(t, oldSID, sid)

	rec, _ := r.Get("a")
	assert.True(t, rec.CStatus)
	assert.Equal(t, sid, rec.SID)
	assert.Equal(t, "198.51.100.7", rec.CIP)
	assert.Equal(t, "9999", rec.CPort)
	assert.Equal(t, clk.Now(), rec.ConnectedAt)
	assert.True(t, rec.ConnectedAt.After(before.ConnectedAt))
	assert.Equal(t, protocol.ReasonNone, rec.Reason)

	// The old conn's late calls change nothing.
	clk.Advance(time.Second)
	r.Touch(oldSID, oldConn)
	r.Touch(sid, oldConn)
	assert.False(t, r.Disconnect("a", oldConn, protocol.ReasonReplaced))
	after, _ := r.Get("a")
	assert.Equal(t, rec, after)

	got, err := r.Conn("a")
	require.NoError(t, err)
	assert.Same(t, newC, got)
	assert.Equal(t, []registry.Conn{newC}, r.Conns())
	connected, total := r.Counts()
	assert.Equal(t, 1, connected)
	assert.Equal(t, 1, total)

	// The new conn still owns it.
	assert.True(t, r.Disconnect("a", newC, protocol.ReasonShutdown))
}

func TestDisconnectRecordsReasonAndTime(t *testing.T) {
	clk := newClock()
	r := registry.New(registry.WithClock(clk.Now))
	sid, c := mustRegister(t, r, "a")
	connectedAt := clk.Now()
	clk.Advance(time.Minute)

	assert.False(t, r.Disconnect("a", newConn(), protocol.ReasonKicked), "a stranger's disconnect")
	assert.False(t, r.Disconnect("nobody", c, protocol.ReasonKicked))

	at := clk.Advance(time.Second)
	require.True(t, r.Disconnect("a", c, protocol.ReasonKeepaliveTimeout))
	rec, ok := r.Get("a")
	require.True(t, ok, "the record stays")
	assert.Equal(t, registry.Record{
		SID: sid, CID: "a", CIP: "192.0.2.1", CPort: "4000", CStatus: false,
		ConnectedAt: connectedAt, LastSeen: connectedAt, DisconnectedAt: at,
		Reason: protocol.ReasonKeepaliveTimeout, Session: rec.Session,
	}, rec, "the last sid is kept for the operator")

	clk.Advance(time.Second)
	assert.False(t, r.Disconnect("a", c, protocol.ReasonKicked), "twice")
	rec2, _ := r.Get("a")
	assert.Equal(t, rec, rec2, "the first reason stands")

	_, err := r.Conn("a")
	require.ErrorIs(t, err, registry.ErrNotConnected)
	_, err = r.Conn("nobody")
	require.ErrorIs(t, err, registry.ErrNotFound)
	assert.Empty(t, r.Conns())
	connected, total := r.Counts()
	assert.Equal(t, 0, connected)
	assert.Equal(t, 1, total)

	// Reconnecting clears the reason and the disconnect time.
	clk.Advance(time.Second)
	_, _ = mustRegister(t, r, "a")
	rec, _ = r.Get("a")
	assert.True(t, rec.CStatus)
	assert.Equal(t, protocol.ReasonNone, rec.Reason)
	assert.True(t, rec.DisconnectedAt.IsZero())
	assert.Equal(t, clk.Now(), rec.ConnectedAt)
}

func TestTouchOnlyForTheOwningConn(t *testing.T) {
	clk := newClock()
	r := registry.New(registry.WithClock(clk.Now))
	sidA, a := mustRegister(t, r, "a")
	sidB, b := mustRegister(t, r, "b")
	start := clk.Now()

	t1 := clk.Advance(time.Second)
	r.Touch(sidA, a)
	recA, _ := r.Get("a")
	assert.Equal(t, t1, recA.LastSeen)
	assert.Equal(t, start, recA.ConnectedAt, "touch moves last_seen only")

	clk.Advance(time.Second)
	r.Touch(sidB, a) // a's conn, b's sid
	r.Touch(sidA, b)
	r.Touch(sidA, nil)
	r.Touch(0, a)
	r.Touch(65535, a) // a sid nobody holds
	recA, _ = r.Get("a")
	recB, _ := r.Get("b")
	assert.Equal(t, t1, recA.LastSeen)
	assert.Equal(t, start, recB.LastSeen)

	// After a disconnect, a touch is a no-op, and so is a touch through
	// the old sid after another client got it.
	require.True(t, r.Disconnect("a", a, protocol.ReasonClosedByClient))
	clk.Advance(time.Second)
	r.Touch(sidA, a)
	recA, _ = r.Get("a")
	assert.Equal(t, t1, recA.LastSeen)
}

func TestGetReturnsACopy(t *testing.T) {
	r := registry.New()
	_, _ = mustRegister(t, r, "a")
	rec, _ := r.Get("a")
	rec.CIP = "changed"
	rec2, _ := r.Get("a")
	assert.Equal(t, "192.0.2.1", rec2.CIP)

	p := r.List(registry.Query{})
	p.Records[0].CIP = "changed"
	rec2, _ = r.Get("a")
	assert.Equal(t, "192.0.2.1", rec2.CIP)
}

func TestConnsIsTheConnectedSet(t *testing.T) {
	r := registry.New()
	want := map[registry.Conn]bool{}
	for i := range 50 {
		_, c := mustRegister(t, r, cidN(i))
		want[c] = true
	}
	for i := 0; i < 50; i += 5 {
		c, err := r.Conn(cidN(i))
		require.NoError(t, err)
		require.True(t, r.Disconnect(cidN(i), c, protocol.ReasonKicked))
		delete(want, c)
	}
	got := map[registry.Conn]bool{}
	for _, c := range r.Conns() {
		require.False(t, got[c], "conn listed twice")
		got[c] = true
	}
	assert.Equal(t, want, got)
}

func TestParseStatus(t *testing.T) {
	for in, want := range map[string]registry.Status{
		"": registry.StatusAll, "all": registry.StatusAll,
		"connected": registry.StatusConnected, "disconnected": registry.StatusDisconnected,
	} {
		got, ok := registry.ParseStatus(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"Connected", "online", " all", "1"} {
		_, ok := registry.ParseStatus(in)
		assert.False(t, ok, in)
	}
}

func TestConnOfReachesOnlyThatSession(t *testing.T) {
	r := registry.New()
	first := &testConn{}
	sid1, _, err := r.Register("one", "127.0.0.1", "1000", first)
	require.NoError(t, err)
	got, err := r.ConnOf("one", sid1)
	require.NoError(t, err)
	assert.Same(t, first, got)

	second := &testConn{}
	sid2, replaced, err := r.Register("one", "127.0.0.1", "1001", second)
	require.NoError(t, err)
	assert.Same(t, first, replaced)
	_, err = r.ConnOf("one", sid1)
	assert.ErrorIs(t, err, registry.ErrNotConnected, "the older session's sid no longer reaches anyone")
	got, err = r.ConnOf("one", sid2)
	require.NoError(t, err)
	assert.Same(t, second, got)
	_, err = r.ConnOf("nobody", sid2)
	assert.ErrorIs(t, err, registry.ErrNotFound)
}

// seerConn keeps its own last sign of life, as the reactor's sessions do.
type seerConn struct {
	testConn
	seen atomic.Int64
}

func (c *seerConn) LastSeen() int64 { return c.seen.Load() }

// A connection that keeps its own last sign of life is read when its
// record is built, kept when it ends, and never moves last_seen back.
func TestSeerConnCarriesLastSeen(t *testing.T) {
	clk := newClock()
	r := registry.New(registry.WithClock(clk.Now))
	c := &seerConn{}
	_, _, err := r.Register("a", "192.0.2.1", "4000", c)
	require.NoError(t, err)
	registered := clk.Now()

	rec, _ := r.Get("a")
	assert.Equal(t, registered, rec.LastSeen, "nothing seen yet: the registration")

	echo := registered.Add(3 * time.Second)
	c.seen.Store(echo.UnixNano())
	rec, _ = r.Get("a")
	assert.Equal(t, echo, rec.LastSeen)

	later := clk.Advance(10 * time.Second)
	r.Touch(rec.SID, c) // the registry's own is later now
	rec, _ = r.Get("a")
	assert.Equal(t, later, rec.LastSeen)

	echo = later.Add(time.Second)
	c.seen.Store(echo.UnixNano())
	clk.Advance(5 * time.Second)
	require.True(t, r.Disconnect("a", c, protocol.ReasonKeepaliveTimeout))
	c.seen.Store(echo.Add(time.Hour).UnixNano()) // after its end: not read
	rec, _ = r.Get("a")
	assert.Equal(t, echo, rec.LastSeen, "kept at the end, not read after")
}
