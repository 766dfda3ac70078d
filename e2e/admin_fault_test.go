package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/client"
	"github.com/cliser/cliser/reactor"
	"github.com/cliser/cliser/registry"
)

// TestStuckAdminClientsDoNotTouchTheProtocol: the admin API is a plain
// net/http server on goroutines of its own, the protocol runs on gnet's
// loops, and they share only the registry's short critical sections. So
// admin clients that stall — half a request, a body that never comes, a
// big list read a few bytes at a time — must not slow a handshake or a
// keep-alive. This holds them stalled while 100 fresh clients handshake
// and the healthy fleet keeps echoing.
func TestStuckAdminClientsDoNotTouchTheProtocol(t *testing.T) {
	s := startServer(t,
		reactor.WithKeepAlive(hostileKeepInterval, hostileKeepTimeout),
		reactor.WithHandshakeTimeout(hostileHandshakeTimeout),
	)

	// A registry big enough that a full page is ~200 KiB of JSON.
	const records = 1000
	fillRegistry(t, s, records)
	healthy := startFleet(t, s, 20, "admin-fault-healthy")
	sids := healthy.sids()

	// The stalls.
	const (
		halfHeaders = 50
		stuckBodies = 10
		slowReaders = 10
	)
	// A stall's ReadHeaderTimeout runs from its dial: time them all from
	// before the first, or a slow dial loop eats into the check below.
	stallsBegan := time.Now()
	var stalled []net.Conn
	dialAdmin := func() net.Conn {
		c, err := net.Dial("tcp", s.AdminAddr())
		require.NoError(t, err)
		stalled = append(stalled, c)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	for i := range halfHeaders {
		c := dialAdmin()
		_, err := fmt.Fprintf(c, "GET /v1/clients?limit=%d HTTP/1.1\r\nHost: localhost\r\nX-Half: ", 1+i)
		require.NoError(t, err)
	}
	for range stuckBodies {
		c := dialAdmin()
		_, err := io.WriteString(c, "POST /v1/clients/nobody/shutdown HTTP/1.1\r\nHost: localhost\r\n"+
			"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"reason\": ")
		require.NoError(t, err)
	}
	var slowRead atomic.Int64
	var readersWG sync.WaitGroup
	stopReaders := make(chan struct{})
	for range slowReaders {
		c := dialAdmin()
		require.NoError(t, c.(*net.TCPConn).SetReadBuffer(2048))
		_, err := fmt.Fprintf(c, "GET /v1/clients?limit=%d HTTP/1.1\r\nHost: localhost\r\n\r\n", registry.MaxPageLimit)
		require.NoError(t, err)
		readersWG.Add(1)
		go func() { // 64 bytes every 50ms: about 1 KiB/s
			defer readersWG.Done()
			buf := make([]byte, 64)
			for {
				select {
				case <-stopReaders:
					return
				case <-time.After(50 * time.Millisecond):
				}
				n, err := c.Read(buf)
				slowRead.Add(int64(n))
				if err != nil {
					return
				}
			}
		}()
	}

	// Meanwhile the protocol works as ever: 100 fresh handshakes.
	const fresh = 100
	durations := make([]time.Duration, fresh)
	var wg sync.WaitGroup
	errs := make(chan error, fresh)
	for i := range fresh {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			began := time.Now()
			conn, err := client.Dial(ctx, client.Config{Addr: s.Addr(), Password: testPassword, ID: fmt.Sprintf("during-stall-%d", i)})
			if err != nil {
				errs <- err
				return
			}
			durations[i] = time.Since(began)
			// and keep-alives flow on it: two echoes within a second
			rec0, _ := s.Registry().Get(conn.ID())
			deadline := time.Now().Add(3 * time.Second)
			for time.Now().Before(deadline) {
				if rec, _ := s.Registry().Get(conn.ID()); rec.LastSeen.Sub(rec0.LastSeen) >= 2*hostileKeepInterval {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if rec, _ := s.Registry().Get(conn.ID()); rec.LastSeen.Sub(rec0.LastSeen) < 2*hostileKeepInterval {
				errs <- fmt.Errorf("%s: no keep-alive echoed while the admin API was stalled", conn.ID())
			}
			_ = conn.Close(ctx)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// The stalls were real: the slow readers are still reading their page.
	require.Positive(t, slowRead.Load(), "the slow readers read nothing: the list never started")
	assert.Less(t, slowRead.Load(), int64(slowReaders)*100<<10, "the slow readers were not slow")
	// The half requests are still pending (the API gives up on them only
	// after its 5s ReadHeaderTimeout, checked here while that is far off).
	if time.Since(stallsBegan) < 4*time.Second {
		for _, c := range stalled[:halfHeaders+stuckBodies] {
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
			n, err := c.Read(make([]byte, 1))
			var ne net.Error
			require.True(t, n == 0 && err != nil && asNetErr(err, &ne) && ne.Timeout(), "a stalled admin request was answered or closed (%d, %v)", n, err)
		}
	} else {
		t.Logf("took %v: not checking that the half requests are still pending", time.Since(stallsBegan))
	}
	close(stopReaders)
	readersWG.Wait()

	healthy.assertIntact(t, sids, stallsBegan)
	// The admin API itself still answers, stalls and all.
	resp, err := http.Get("http://" + s.AdminAddr() + "/healthz")
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	slices.Sort(durations)
	t.Logf("admin stalls (%d half headers, %d stuck bodies, %d slow readers of a %d-record page): %d fresh handshakes ok, p50 %v, max %v; %d healthy clients lost",
		halfHeaders, stuckBodies, slowReaders, registry.MaxPageLimit, fresh,
		durations[fresh/2].Round(time.Microsecond), durations[fresh-1].Round(time.Microsecond), healthy.lostCount())
}

func asNetErr(err error, target *net.Error) bool {
	ne, ok := err.(net.Error)
	if ok {
		*target = ne
	}
	return ok
}

// fillRegistry registers n clients over real connections and closes them,
// leaving n disconnected records.
func fillRegistry(t *testing.T, s *server, n int) {
	t.Helper()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c := dialFrom(t, s.Addr(), "")
			c.handshake(fmt.Sprintf("filler-%04d-with-a-longish-client-id", i))
			_ = c.Conn.Close()
		}()
	}
	wg.Wait()
	require.Eventually(t, func() bool {
		connected, total := s.Registry().Counts()
		return connected == 0 && total == n
	}, 10*time.Second, 5*time.Millisecond)
}
