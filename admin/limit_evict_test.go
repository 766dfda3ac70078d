package admin_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/registry"
)

// One peer, no token, filled the admin listener for minutes: a /healthz
// and an idle keep-alive held a slot for the 2-minute idle timeout, half a
// request's headers for 5 s, and a body trickled after the headers for
// 30 s, the 401 held back until it was read. /healthz then went unanswered
// (a liveness probe restarts a healthy server, its fleet dropped). Now the
// full listener closes the connection that has waited longest for a
// request, and a request with a body is closed after its answer, so a
// probe is answered through each of these.
func TestIdlePeersCannotHoldTheAdminListener(t *testing.T) {
	t.Parallel()
	const maxConns = 8
	holders := map[string]func(t *testing.T, addr string) *testkit.RawClient{
		"idle keep-alives": healthzKeepAlive,
		"unfinished headers": func(t *testing.T, addr string) *testkit.RawClient {
			c := testkit.Dial(t, addr)
			c.Send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
			return c
		},
		"trickled bodies": func(t *testing.T, addr string) *testkit.RawClient {
			c := testkit.Dial(t, addr)
			c.Send("POST /v1/shutdown HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
			return c
		},
		// Pages pipelined, their answers never read: the server's write
		// blocks once the socket buffers are full, and the connection was
		// being served for the 30 s write timeout.
		"answers never read": func(t *testing.T, addr string) *testkit.RawClient {
			c := dialSmallReadBuffer(t, addr)
			_, err := c.Write([]byte(strings.Repeat("GET /v1/clients?limit=1000 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer tok\r\n\r\n", 64)))
			require.NoError(t, err)
			return nil // never read
		},
	}
	for name, hold := range holders {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			reg := registry.New()
			for i := range 1000 { // a page of ~150 KB
				_, _, err := reg.Register(fmt.Sprintf("client-%04d", i), "192.0.2.1", "4000", nil)
				require.NoError(t, err)
			}
			m := admin.NewMetrics(reg)
			addr := listen(t, admin.New(reg, admin.WithMaxConns(maxConns), admin.WithMetrics(m), admin.WithToken("tok")))
			for range 2 * maxConns {
				hold(t, addr)
			}
			for i := range 3 {
				start := time.Now()
				c, resp := getOn(t, addr, "/healthz")
				assert.Equal(t, http.StatusOK, resp.StatusCode, "probe %d", i)
				// Each batch of holders ahead of it has to have waited a
				// second (evictAfter): two batches, then the probes. The
				// bound is loose (a race build on 2 busy cores took 4.2 s):
				// what fails is a hold, the 30 s of a timeout, which
				// getOn's 10 s read deadline catches first.
				assert.Less(t, time.Since(start), 8*time.Second, "probe %d answered within seconds", i)
				require.NoError(t, c.Conn.Close())
			}
			assert.LessOrEqual(t, metricValue(t, m, admin.MetricAdminConnections), float64(maxConns))
		})
	}
}

// The admin listener holds at most its cap of connections, and one being
// served is never closed to make room: with every slot reading a body, one
// more waits, unanswered, until a slot is free.
func TestAdminListenerCapsConnections(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	m := admin.NewMetrics(reg)
	addr := listen(t, admin.New(reg, admin.WithMaxConns(3), admin.WithMetrics(m)))
	const body = `{"reason":"x"}`
	held := make([]*testkit.RawClient, 3)
	for i := range held {
		held[i] = testkit.Dial(t, addr)
		held[i].Send("POST /v1/shutdown HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
			strconv.Itoa(len(body)) + "\r\n\r\n" + body[:1])
	}
	require.Eventually(t, func() bool { return metricValue(t, m, admin.MetricAdminConnections) == 3 },
		10*time.Second, 10*time.Millisecond, "the three held")
	// The kernel completes the next connection; cliser does not accept it.
	extra := unanswered(t, addr, 300*time.Millisecond, "the connection past the cap was served")
	assert.Zero(t, metricValue(t, m, admin.MetricAdminEvicted), "no request being read was closed")

	// A body ends: its answer goes out, its connection closes (it had a
	// body), and the waiting one is served.
	held[0].Send(body[1:])
	require.NoError(t, extra.Conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	line, err := extra.R.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "HTTP/1.1 200 OK\r\n", line)
	assert.Equal(t, 1.0, metricValue(t, m, admin.MetricAdminCapReached))
}

// dialSmallReadBuffer connects with a receive buffer of a few KB, set
// before the handshake so that the window the server sees is small too.
func dialSmallReadBuffer(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	c, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}
