package registry

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/protocol"
)

// The one free sid is found wherever it is, the last one given out
// included: alloc looks at all 65535 before it says the space is full
// (a mutation audit found a search one sid short passed every test).
func TestSIDAllocatorFindsTheOnlyFreeSIDEvenTheLastGiven(t *testing.T) {
	var a sidAllocator
	for range 65535 {
		require.NotZero(t, a.alloc())
	}
	require.Zero(t, a.alloc(), "full")
	last := a.last
	a.free(last)
	assert.Equal(t, last, a.alloc())
	assert.Zero(t, a.alloc())
}

// A delete whose probe run wraps round the table's end moves the entries
// after it back, so that each stays reachable from its home slot (the
// random seeds of TestCIDIndexAgreesWithAMap seldom put a run there).
func TestCIDIndexDeleteAcrossTheTableEnd(t *testing.T) {
	x := newCIDIndex()
	x.resize(minIndexSlots)
	last := len(x.slots) - 1
	var homed []*entry // three cids whose home is the last slot
	for i := 0; len(homed) < 3; i++ {
		cid := "c" + strconv.Itoa(i)
		if h, _ := x.hash(cid); h == last {
			homed = append(homed, &entry{cid: cid})
		}
	}
	for _, e := range homed {
		x.put(e)
	}
	x.del(homed[0])
	for _, e := range homed[1:] {
		assert.Same(t, e, x.get(e.cid), "%s, wrapped past the end", e.cid)
	}
	assert.Nil(t, x.get(homed[0].cid))
}

// edgeConn is a Conn that does nothing; its field keeps two of them
// apart (pointers to zero-size values may be equal).
type edgeConn struct{ _ byte }

func (*edgeConn) Shutdown(string) error       { return nil }
func (*edgeConn) Close(protocol.Reason) error { return nil }

// A connection replaced by a takeover that then ends through Disconnect
// leaves nothing behind in the map of replaced connections.
func TestDisconnectOfAReplacedConnForgetsIt(t *testing.T) {
	r := New()
	first, second := &edgeConn{}, &edgeConn{}
	_, _, err := r.Register("dev", "", "", first)
	require.NoError(t, err)
	_, replaced, err := r.Register("dev", "", "", second)
	require.NoError(t, err)
	require.Equal(t, Conn(first), replaced)
	assert.False(t, r.Disconnect("dev", first, 0))
	assert.Empty(t, r.taken)
}
