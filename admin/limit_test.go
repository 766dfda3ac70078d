package admin_test

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/registry"
)

// /healthz follows the liveness check: 503 with a JSON error once the
// protocol engine is dead, so a supervisor restarts the process.
func TestHealthzFollowsLiveness(t *testing.T) {
	t.Parallel()
	var live atomic.Bool
	live.Store(true)
	base := "http://" + listen(t, admin.New(registry.New(), admin.WithLive(live.Load)))
	assert.Equal(t, http.StatusOK, send(t, base, request{path: "/healthz"}).status)

	live.Store(false)
	r := send(t, base, request{path: "/healthz"})
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	assert.Contains(t, r.errorText(t), "protocol engine stopped")
}

// The admin listener holds at most its cap of connections: one more
// waits (unanswered) until a held one closes, then is served.
func TestAdminListenerCapsConnections(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	m := admin.NewMetrics(reg)
	addr := listen(t, admin.New(reg, admin.WithMaxConns(3), admin.WithMetrics(m)))

	held := make([]net.Conn, 3)
	for i := range held {
		held[i] = healthzKeepAlive(t, addr)
	}
	extra, err := net.Dial("tcp", addr) // the kernel completes it; cliser does not accept it
	require.NoError(t, err)
	defer extra.Close()
	_, err = extra.Write([]byte("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
	require.NoError(t, err)
	require.NoError(t, extra.SetReadDeadline(time.Now().Add(300*time.Millisecond)))
	_, err = bufio.NewReader(extra).ReadString('\n')
	var ne net.Error
	require.ErrorAs(t, err, &ne, "the connection past the cap was served")
	require.True(t, ne.Timeout())

	require.NoError(t, held[0].Close())
	require.NoError(t, extra.SetReadDeadline(time.Now().Add(10*time.Second)))
	line, err := bufio.NewReader(extra).ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "HTTP/1.1 200 OK\r\n", line)

	// Once the held ones leave, /metrics says the cap was reached once.
	require.NoError(t, held[1].Close())
	require.NoError(t, held[2].Close())
	require.Eventually(t, func() bool {
		body := string(send(t, "http://"+addr, request{path: "/metrics"}).body)
		return strings.Contains(body, admin.MetricAdminCapReached+" 1") &&
			strings.Contains(body, admin.MetricAdminConnections+" ")
	}, 10*time.Second, 20*time.Millisecond, "no cap metrics")
}

// healthzKeepAlive asks /healthz on a new connection, reads the answer
// and leaves the connection open and idle, as a keep-alive client does.
func healthzKeepAlive(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	_, err = c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return c
}

// A listener that fills, empties and fills again within a minute (a
// flood's queued peers accepted in waves) counts each filling but warns
// once.
func TestAdminListenerFullWarnsOncePerMinute(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zap.InfoLevel)
	reg := registry.New()
	m := admin.NewMetrics(reg)
	addr := listen(t, admin.New(reg, admin.WithMaxConns(2), admin.WithMetrics(m), admin.WithLogger(zap.New(core))))

	for range 3 {
		a, b := healthzKeepAlive(t, addr), healthzKeepAlive(t, addr)
		require.NoError(t, a.Close())
		require.NoError(t, b.Close())
		require.Eventually(t, func() bool {
			return metricValue(t, m, admin.MetricAdminConnections) == 0
		}, 10*time.Second, 20*time.Millisecond, "the closed connections are still counted")
	}
	assert.Equal(t, 3.0, metricValue(t, m, admin.MetricAdminCapReached), "each filling counted")
	assert.Equal(t, 1, logs.FilterMessageSnippet("admin listener full").Len(), "warned once")
	assert.LessOrEqual(t, logs.FilterMessageSnippet("has room again").Len(), 1, "room again only after a warning")
}
