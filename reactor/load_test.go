package reactor

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

func TestThousandConcurrentClientsGetUniqueSIDs(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 1000 sockets")
	}
	srv := startServer(t)
	const n = 1000
	sids := make([]uint16, n)
	errs := make([]error, n)
	conns := make([]net.Conn, n) // held: an unreachable conn is closed by its finalizer
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Four source addresses: the per-IP handshake cap (512) stays on.
			conns[i], sids[i], errs[i] = testkit.PipelinedRegister(srv.Addr(), "127.0.0."+itoa(1+i%4), testPassword, "many-"+itoa(i))
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, c := range conns {
			if c != nil {
				_ = c.Close()
			}
		}
	})
	seen := make(map[uint16]int, n)
	for i, sid := range sids {
		require.NoError(t, errs[i], "client %d", i)
		prev, dup := seen[sid]
		require.False(t, dup, "sid %d given to %d and %d", sid, prev, i)
		seen[sid] = i
		rec, ok := srv.reg.Get("many-" + itoa(i))
		require.True(t, ok)
		assert.Equal(t, sid, rec.SID)
		assert.True(t, rec.CStatus)
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
		srv.dial(t)
		half := srv.dial(t)
		half.Send("110 " + testPassword[:3])
		deaf := srv.dial(t)
		deaf.Send("110 " + testPassword + "\n120 deaf-" + itoa(i) + "\n")
	}
	healthy := make([]*testkit.RawClient, 6)
	for i := range healthy {
		healthy[i] = srv.dial(t)
		healthy[i].Handshake(testPassword, "healthy-"+itoa(i))
	}
	for range 3 {
		for _, c := range healthy {
			c.EchoKeepAlive()
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
