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
// nothing and names no cid.
func TestDisconnectSID(t *testing.T) {
	r := registry.New()
	sidA, connA := mustRegister(t, r, "a")
	sidB, connB := mustRegister(t, r, "b")

	assert.Empty(t, r.DisconnectSID(sidA, connB, protocol.ReasonClosedByClient), "another connection's sid")
	assert.Equal(t, "a", r.DisconnectSID(sidA, connA, protocol.ReasonKeepaliveTimeout))
	rec, _ := r.Get("a")
	assert.False(t, rec.CStatus)
	assert.Equal(t, protocol.ReasonKeepaliveTimeout, rec.Reason)
	assert.Empty(t, r.DisconnectSID(sidA, connA, protocol.ReasonClosedByClient), "twice")

	newB := newConn()
	_, replaced, err := r.Register("b", "192.0.2.1", "4000", newB)
	require.NoError(t, err)
	require.Equal(t, registry.Conn(connB), replaced)
	assert.Empty(t, r.DisconnectSID(sidB, connB, protocol.ReasonClosedByClient), "the replaced connection")
	rec, _ = r.Get("b")
	assert.True(t, rec.CStatus, "a replaced connection's late end must not end its successor")
}
