package admin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/registry"
)

// Event streams and long-polls never end on their own: as many of them as
// --admin-max-connections took every slot of the listener, and /healthz
// then waited in the kernel's queue (a liveness probe failing on a healthy
// server). At most half the slots wait for events; the rest get a JSON 503
// with Retry-After, counted and logged once, and probes still answer.
func TestEventWaitsLeaveRoomForProbes(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zap.WarnLevel)
	const maxConns = 8
	addr := listenWithEvents(t, admin.WithMaxConns(maxConns), admin.WithLogger(zap.New(core)))
	base := "http://" + addr

	// As many streams as the listener holds connections, each on its own.
	var open []*testkit.RawClient
	refused := 0
	for range maxConns {
		c, resp := getOn(t, addr, "/v1/events/stream")
		switch resp.StatusCode {
		case http.StatusOK:
			open = append(open, c)
		case http.StatusServiceUnavailable:
			refused++
			assert.Equal(t, "5", resp.Header.Get("Retry-After"))
			var e admin.ErrorResponse
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&e))
			assert.Contains(t, e.Error, "--admin-max-connections")
			require.NoError(t, c.Conn.Close())
		default:
			t.Fatalf("stream answered %d", resp.StatusCode)
		}
	}
	assert.Len(t, open, maxConns/2, "half the slots wait for events")
	assert.Equal(t, maxConns/2, refused)

	// A long-poll shares the bound.
	c, resp := getOn(t, addr, "/v1/events?wait=30s")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.NoError(t, c.Conn.Close())

	// The probes and the other calls still answer.
	for _, path := range []string{"/healthz", "/readyz", "/v1/clients"} {
		c, resp := getOn(t, addr, path)
		assert.Equal(t, http.StatusOK, resp.StatusCode, path)
		require.NoError(t, c.Conn.Close())
	}
	assert.Equal(t, float64(maxConns/2+1), metricOf(t, base, admin.MetricEventWaitsRefused))
	assert.Equal(t, float64(maxConns/2), metricOf(t, base, admin.MetricEventWaits))
	assert.Equal(t, 1, logs.FilterMessageSnippet("event stream or long-poll was refused").Len(), "logged once, not per refusal")

	// A stream that ends gives its slot back.
	require.NoError(t, open[0].Conn.Close())
	require.Eventually(t, func() bool { return metricOf(t, base, admin.MetricEventWaits) == float64(maxConns/2-1) },
		10*time.Second, 20*time.Millisecond, "the slot of a closed stream is freed")
	c, resp = getOn(t, addr, "/v1/events/stream")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, c.Conn.Close())
	for _, c := range open[1:] {
		require.NoError(t, c.Conn.Close())
	}
}

// getOn sends GET path on a new connection and reads the answer's head
// (10 s at most: a request left in the kernel's queue fails the test).
func getOn(t *testing.T, addr, path string) (*testkit.RawClient, *http.Response) {
	t.Helper()
	return getWith(t, addr, path, nil)
}

func metricOf(t *testing.T, base, series string) float64 {
	t.Helper()
	v, ok := testkit.Metric(base, series)
	require.True(t, ok, "no %s on %s/metrics", series, base)
	return v
}

// listenWithEvents serves an admin API with metrics and an event log on
// 127.0.0.1:0 until the test ends, and returns its host:port.
func listenWithEvents(t *testing.T, opts ...admin.Option) string {
	t.Helper()
	l, err := events.Open(filepath.Join(t.TempDir(), events.FileName))
	require.NoError(t, err)
	reg := registry.New()
	opts = append([]admin.Option{admin.WithEvents(l), admin.WithMetrics(admin.NewMetrics(reg))}, opts...)
	hs, err := admin.New(reg, opts...).Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
		require.NoError(t, l.Close())
	})
	return hs.Addr()
}

// HEAD of the stream is its head and no more: the answer ends there, its
// wait slot is given back, and the connection takes its next request.
// Before, the stream ran with its body thrown away until the client
// closed: the slot held, and a keep-alive's next request never answered.
func TestHeadOfTheStreamEnds(t *testing.T) {
	t.Parallel()
	addr := listenWithEvents(t)
	base := "http://" + addr
	c := testkit.Dial(t, addr)
	c.Send("HEAD /v1/events/stream HTTP/1.1\r\nHost: " + addr + "\r\n\r\n" +
		"GET /healthz HTTP/1.1\r\nHost: " + addr + "\r\n\r\n")
	require.NoError(t, c.Conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	head, err := http.ReadResponse(c.R, &http.Request{Method: http.MethodHead})
	require.NoError(t, err)
	require.NoError(t, head.Body.Close())
	assert.Equal(t, http.StatusOK, head.StatusCode)
	assert.Equal(t, "text/event-stream", head.Header.Get("Content-Type"))
	next, err := http.ReadResponse(c.R, nil)
	require.NoError(t, err, "the request after the HEAD is answered")
	require.NoError(t, next.Body.Close())
	assert.Equal(t, http.StatusOK, next.StatusCode)
	assert.Zero(t, metricOf(t, base, admin.MetricEventWaits), "the HEAD holds no wait slot")
}
