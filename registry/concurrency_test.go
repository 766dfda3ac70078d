package registry_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
	"github.com/cliser/cliser/registry/boltstore"
)

// TestConcurrentUse hammers one registry from many goroutines at once, the
// way several event loops and the admin API do: register (with takeovers
// on shared cids), disconnect, touch, get, list, conns, counts, while Run
// flushes to a real bbolt store. Run it with -race. At the end the
// registry's books must balance and the store must hold what memory holds.
func TestConcurrentUse(t *testing.T) {
	dir := t.TempDir()
	store, err := boltstore.Open(dir)
	require.NoError(t, err)
	const maxClients = 150
	r := registry.New(registry.WithStore(store), registry.WithMaxClients(maxClients),
		registry.WithFlushInterval(time.Millisecond), registry.WithCheckpoint(3*time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- r.Run(ctx) }()

	const workers, ops = 8, 3000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			type live struct {
				sid  uint16
				conn *testConn
			}
			mine := map[string]live{}
			for range ops {
				// 40 cids of its own, 10 shared with every worker so that
				// takeovers race with disconnects and touches.
				cid := fmt.Sprintf("w%d-%02d", w, rng.IntN(40))
				if rng.IntN(5) == 0 {
					cid = fmt.Sprintf("shared-%d", rng.IntN(10))
				}
				switch op := rng.IntN(10); {
				case op < 4:
					c := newConn()
					sid, replaced, err := r.Register(cid, "192.0.2.1", "1", c)
					if err != nil {
						assert.ErrorIs(t, err, registry.ErrFull)
						if replaced != nil {
							// The place was freed but not retaken: the
							// old conn must still be told to go.
							_ = replaced.Close(protocol.ReasonReplaced)
						}
						continue
					}
					assert.NotZero(t, sid)
					if replaced != nil {
						_ = replaced.Close(protocol.ReasonReplaced)
					}
					mine[cid] = live{sid, c}
				case op < 7:
					if l, ok := mine[cid]; ok {
						replaced := len(l.conn.closed()) > 0
						ok := r.Disconnect(cid, l.conn, protocol.ReasonClosedByClient)
						if replaced {
							assert.False(t, ok, "a replaced conn disconnected %s", cid)
						}
						delete(mine, cid)
					}
				case op < 8:
					if l, ok := mine[cid]; ok {
						r.Touch(l.sid, l.conn)
					}
				case op < 9:
					if rec, ok := r.Get(cid); ok {
						assert.Equal(t, cid, rec.CID)
					}
					if c, err := r.Conn(cid); err == nil {
						assert.NotNil(t, c)
					}
				default:
					p := r.List(registry.Query{Status: registry.StatusConnected, Limit: 20})
					for _, rec := range p.Records {
						assert.True(t, rec.CStatus)
						assert.NotZero(t, rec.SID)
					}
					connected, total := r.Counts()
					assert.LessOrEqual(t, connected, total)
					assert.LessOrEqual(t, connected, maxClients)
					assert.LessOrEqual(t, len(r.Conns()), maxClients)
				}
			}
		})
	}
	wg.Wait()
	cancel()
	require.NoError(t, <-runDone)

	// The books balance.
	connected, total := r.Counts()
	conns := r.Conns()
	recs := all(t, r, registry.StatusAll)
	require.Len(t, recs, total)
	sids := map[uint16]string{}
	var nConnected int
	for _, rec := range recs {
		if !rec.CStatus {
			assert.NotEqual(t, protocol.ReasonNone, rec.Reason, rec.CID)
			assert.False(t, rec.DisconnectedAt.IsZero(), rec.CID)
			continue
		}
		nConnected++
		require.NotZero(t, rec.SID)
		prev, dup := sids[rec.SID]
		require.False(t, dup, "sid %d held by %s and %s", rec.SID, prev, rec.CID)
		sids[rec.SID] = rec.CID
		c, err := r.Conn(rec.CID)
		require.NoError(t, err)
		assert.Empty(t, c.(*testConn).closed(), "%s is owned by a conn that was replaced", rec.CID)
	}
	assert.Equal(t, connected, nConnected, "connected count == records with cstatus")
	assert.Equal(t, connected, len(conns), "connected count == len(Conns())")
	assert.Len(t, all(t, r, registry.StatusConnected), connected)
	assert.Len(t, all(t, r, registry.StatusDisconnected), total-connected)

	// Run's last flush left the store equal to memory (last_seen aside:
	// a Touch alone is written only by a checkpoint).
	require.NoError(t, store.Close())
	store, err = boltstore.Open(dir)
	require.NoError(t, err)
	defer store.Close()
	stored, err := store.Load()
	require.NoError(t, err)
	require.Len(t, stored, len(recs))
	for i := range recs {
		assert.False(t, stored[i].LastSeen.After(recs[i].LastSeen), recs[i].CID)
		stored[i].LastSeen, recs[i].LastSeen = time.Time{}, time.Time{}
	}
	assert.Equal(t, recs, stored)
}
