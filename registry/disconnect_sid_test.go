package registry_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// DisconnectSID ends a session by the sid it was given, as Disconnect does
// by cid: only while its connection still owns the record, so a replaced
// connection's late call, or one for a sid handed on since, changes
// nothing. A replaced connection's call still names the cid it was
// replaced for, once, so its log line can say which client it was.
func TestDisconnectSID(t *testing.T) {
	r := registry.New()
	sidA, connA := mustRegister(t, r, "a")
	sidB, connB := mustRegister(t, r, "b")

	cid, owned := r.DisconnectSID(sidA, connB, protocol.ReasonClosedByClient)
	assert.False(t, owned, "another connection's sid")
	assert.Empty(t, cid, "another connection's sid")
	cid, owned = r.DisconnectSID(sidA, connA, protocol.ReasonKeepaliveTimeout)
	assert.True(t, owned)
	assert.Equal(t, "a", cid)
	rec, _ := r.Get("a")
	assert.False(t, rec.CStatus)
	assert.Equal(t, protocol.ReasonKeepaliveTimeout, rec.Reason)
	cid, owned = r.DisconnectSID(sidA, connA, protocol.ReasonClosedByClient)
	assert.False(t, owned, "twice")
	assert.Empty(t, cid, "twice")

	newB := newConn()
	_, replaced, err := r.Register("b", "192.0.2.1", "4000", newB)
	require.NoError(t, err)
	require.Equal(t, registry.Conn(connB), replaced)
	cid, owned = r.DisconnectSID(sidB, connB, protocol.ReasonClosedByClient)
	assert.False(t, owned, "the replaced connection")
	assert.Equal(t, "b", cid, "the replaced connection is named by the cid it was replaced for")
	rec, _ = r.Get("b")
	assert.True(t, rec.CStatus, "a replaced connection's late end must not end its successor")
	assert.Equal(t, protocol.ReasonNone, rec.Reason)
	cid, owned = r.DisconnectSID(sidB, connB, protocol.ReasonClosedByClient)
	assert.False(t, owned, "the replaced connection, twice")
	assert.Empty(t, cid, "the replaced connection's cid is handed out once")
}
