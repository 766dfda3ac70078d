package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// An agent pointed at an HTTP port (the admin API's) is told so: the
// server's "HTTP/1.1 400 Bad Request" to its answers was logged as a
// malformed line with no fix (CLI audit).
func TestAnHTTPPortIsNamedAsOne(t *testing.T) {
	web := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(web.Close)
	core, logs := observer.New(zap.WarnLevel)
	cfg := realConfig(web.Listener.Addr().String(), "http-1")
	cfg.Logger = zap.New(core)
	ctx, cancel := context.WithCancel(t.Context())
	var l eventLog
	done := runAsync(ctx, cfg, Backoff{Min: 10 * time.Millisecond, Max: 20 * time.Millisecond}, &l)
	require.Eventually(t, func() bool { return logs.FilterMessage("disconnected").Len() > 0 },
		5*time.Second, 5*time.Millisecond)
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
	line := logs.FilterMessage("disconnected").All()[0].ContextMap()
	assert.Contains(t, line["error"], "answered in HTTP")
	assert.Contains(t, line["fix"], "--server names an HTTP port")
}
