package registry

// White-box checks: the sid allocator, the sid index and the cid tree must
// agree after any mix of operations. The black-box tests (package
// registry_test) cannot see the allocator, so a sid leaked from it (held
// but no longer indexed) would only show up 65535 registrations later.

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/protocol"
)

type handle struct{ n int }

func (*handle) Shutdown(string) error       { return nil }
func (*handle) Close(protocol.Reason) error { return nil }

func checkInvariants(t *testing.T, r *Registry) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	require.False(t, r.sids.inUse(0), "sid 0 marked used")
	require.Nil(t, r.bySID[0], "sid 0 indexed")
	indexed := 0
	for s := range 65536 {
		e := r.bySID[s]
		require.Equal(t, e != nil, r.sids.inUse(uint16(s)), "sid %d: allocator and index disagree", s)
		if e == nil {
			continue
		}
		indexed++
		require.Equal(t, uint16(s), e.sid, "sid %d indexes %s holding %d", s, e.cid, e.sid)
		require.True(t, e.cstatus, "sid %d indexes disconnected %s", s, e.cid)
		require.NotNil(t, e.conn)
		tree, ok := r.byCID.Get(&entry{cid: e.cid})
		require.True(t, ok)
		require.Same(t, e, tree, "sid %d indexes an entry not in the tree", s)
	}
	require.Equal(t, r.connected, indexed)
	connected := 0
	require.Equal(t, r.byCID.Len(), r.byHash.n, "the tree and the hash index hold different counts")
	r.byCID.Ascend(func(e *entry) bool {
		require.Same(t, e, r.byHash.get(e.cid), "%s: the hash index finds another entry", e.cid)
		if e.cstatus {
			connected++
			require.Same(t, e, r.bySID[e.sid], "%s connected but not indexed", e.cid)
		} else {
			require.Nil(t, e.conn, "%s disconnected but holds a conn", e.cid)
		}
		return true
	})
	require.Equal(t, r.connected, connected)
}

func TestIndexesAgreeAfterMixedOps(t *testing.T) {
	r := New(WithMaxClients(100))
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			mine := map[string]*handle{}
			for i := range 5000 {
				cid := fmt.Sprintf("c%d", rng.IntN(150)) // shared: takeovers across goroutines
				switch rng.IntN(3) {
				case 0:
					h := &handle{i}
					if _, _, err := r.Register(cid, "", "", h); err == nil {
						mine[cid] = h
					}
				case 1:
					if h, ok := mine[cid]; ok {
						r.Disconnect(cid, h, protocol.ReasonClosedByClient)
						delete(mine, cid)
					}
				default:
					if h, ok := mine[cid]; ok {
						rec, _ := r.Get(cid)
						r.Touch(rec.SID, h)
					}
				}
			}
		})
	}
	wg.Wait()
	checkInvariants(t, r)
}

func TestIndexesAgreeAfterTakeoverWhenFull(t *testing.T) {
	r := New(WithMaxClients(2))
	a, b, a2 := &handle{1}, &handle{2}, &handle{3}
	_, _, err := r.Register("a", "", "", a)
	require.NoError(t, err)
	_, _, err = r.Register("b", "", "", b)
	require.NoError(t, err)
	_, _, err = r.Register("c", "", "", &handle{4})
	require.ErrorIs(t, err, ErrFull)
	checkInvariants(t, r)
	_, replaced, err := r.Register("a", "", "", a2)
	require.NoError(t, err)
	require.Same(t, a, replaced)
	checkInvariants(t, r)
	require.False(t, r.Disconnect("a", a, protocol.ReasonReplaced))
	require.True(t, r.Disconnect("b", b, protocol.ReasonKicked))
	checkInvariants(t, r)
}
