package reactor

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestThousandConcurrentClientsGetUniqueSIDs(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 1000 sockets")
	}
	srv := startServer(t)
	const n = 1000
	sids := make([]uint16, n)
	clients := make([]*rawClient, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					errs <- fmt.Errorf("client %d: %v", i, r)
				}
			}()
			c := dial(t, srv.Addr())
			c.send("110 " + testPassword + "\n120 many-" + itoa(i) + "\n")
			c.expect("110 password")
			c.expect("120 id")
			sids[i] = c.expectConnected()
			clients[i] = c
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	seen := make(map[uint16]int, n)
	for i, sid := range sids {
		require.NotZero(t, sid, "client %d", i)
		prev, dup := seen[sid]
		require.False(t, dup, "sid %d given to %d and %d", sid, prev, i)
		seen[sid] = i
		rec, ok := srv.reg.Get("many-" + itoa(i))
		require.True(t, ok)
		assert.Equal(t, sid, rec.SID)
	}
	connected, _ := srv.reg.Counts()
	assert.Equal(t, n, connected)
}

// A client that stops talking (mid-handshake) or stops reading must not
// delay anyone else: the others register and echo keep-alives on time
// while the silent ones sit on the same loops.
func TestSilentClientsDoNotDelayOthers(t *testing.T) {
	srv := startServer(t, WithKeepAlive(40*time.Millisecond, 3*time.Second), WithHandshakeTimeout(3*time.Second))
	// Silent ones on every loop: one that never answers, one that sent
	// half a line, one registered that never reads.
	for i := range 4 {
		dial(t, srv.Addr())
		half := dial(t, srv.Addr())
		half.send("110 " + testPassword[:3])
		deaf := dial(t, srv.Addr())
		deaf.send("110 " + testPassword + "\n120 deaf-" + itoa(i) + "\n")
	}
	healthy := make([]*rawClient, 6)
	for i := range healthy {
		healthy[i] = dial(t, srv.Addr())
		healthy[i].handshake("healthy-" + itoa(i))
	}
	for range 3 {
		for _, c := range healthy {
			c.echoKeepAlive()
		}
	}
	// Had a silent client blocked its loop, the healthy ones could only
	// have progressed after it was dropped; instead all 12 silent
	// connections are still open, waiting for their handshake timeout.
	assert.Equal(t, 12+len(healthy), srv.Connections())
	for i := range healthy {
		r, _ := srv.reg.Get("healthy-" + itoa(i))
		assert.True(t, r.CStatus)
	}
}
