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

	require.True(t, r.Disconnect("a", c, protocol.ReasonClosedByClient))
	c.seen.Store(later.Add(time.Hour).UnixNano()) // after its end: not read
	rec, _ = r.Get("a")
	assert.Equal(t, later, rec.LastSeen, "kept at the end, not read after")
}

// The last sign of life a connection kept reaches the store with its end.
func TestSeerLastSeenKeptAtDisconnect(t *testing.T) {
	clk := newClock()
	r := registry.New(registry.WithClock(clk.Now))
	c := &seerConn{}
	_, _, err := r.Register("a", "192.0.2.1", "4000", c)
	require.NoError(t, err)
	echo := clk.Now().Add(2 * time.Second)
	c.seen.Store(echo.UnixNano())
	clk.Advance(5 * time.Second)
	require.True(t, r.Disconnect("a", c, protocol.ReasonKeepaliveTimeout))
	rec, _ := r.Get("a")
	assert.Equal(t, echo, rec.LastSeen)
}
