package admin_test

import (
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/internal/prom"
	"github.com/cliser/cliser/registry"
)

// The standby answers as a node that is alive and not ready: /healthz
// 200, /readyz 503 with its reason (no token needed), /metrics what it is
// given (behind the token), anything else 503; a foreign Host is refused
// as by the API.
func TestStandbyAnswersProbesWithItsReason(t *testing.T) {
	const token = "standby-token"
	why := "cluster: waiting for NATS at nats://127.0.0.1:1: nats: no servers available for connection"
	gauge := prom.Gauge("cliser_test_waiting", "a gauge the standby serves")
	gauge.Set(1)
	reg := prometheus.NewRegistry()
	reg.MustRegister(gauge)
	s, err := admin.ListenStandby("127.0.0.1:0", func() string { return why }, reg,
		admin.WithToken(token), admin.WithLogger(zaptest.NewLogger(t)))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Close()) })
	base := "http://" + s.Addr()

	assert.Equal(t, http.StatusOK, send(t, base, request{path: "/healthz"}).status)
	r := send(t, base, request{path: "/readyz"})
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	assert.Equal(t, why, r.errorText(t))
	assert.Equal(t, http.StatusUnauthorized, send(t, base, request{path: "/metrics"}).status)
	r = send(t, base, request{path: "/metrics", token: token})
	assert.Equal(t, http.StatusOK, r.status)
	assert.Contains(t, string(r.body), "cliser_test_waiting 1")
	assert.Contains(t, string(r.body), "\ncliser_clients_connected 0\n", "INTERFACE.md's gauge, on every /metrics")
	assert.Contains(t, string(r.body), "\ncliser_ready 0\n", "/readyz's 503 as the gauge the alerting rules read")
	r = send(t, base, request{path: "/v1/clients", token: token})
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	assert.Contains(t, r.errorText(t), why)
	// /v1/health is /readyz's verdict as a 200 here too, behind the token.
	assert.Equal(t, http.StatusUnauthorized, send(t, base, request{path: "/v1/health"}).status)
	r = send(t, base, request{path: "/v1/health", token: token})
	assert.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, `{"ready": false, "error": "`+why+`"}`, string(r.body))
	assert.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"))
	assert.Equal(t, http.StatusForbidden, send(t, base, request{path: "/metrics", token: token, host: "evil.example"}).status)
}

// With a dashboard, the standby's /ui/ is a page that says why, without
// the token, under a CSP without inline scripts that lets its one script
// file (the reload) run; the
// page's data is 503, its static files are served, the API stays behind
// the token, and a POST is refused.
func TestStandbyDashboardPageSaysWhy(t *testing.T) {
	const token = "standby-token"
	why := "cluster: waiting for NATS at nats://127.0.0.1:1: <no servers>"
	static := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("static file")) })
	s, err := admin.ListenStandby("127.0.0.1:0", func() string { return why }, nil,
		admin.WithToken(token), admin.WithLogger(zaptest.NewLogger(t)), admin.WithUI(static))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Close()) })
	base := "http://" + s.Addr()

	r := send(t, base, request{path: "/ui/"})
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	assert.Equal(t, "text/html; charset=utf-8", r.header.Get("Content-Type"))
	assert.Contains(t, string(r.body), "cluster: waiting for NATS at nats://127.0.0.1:1: &lt;no servers&gt;", "why, escaped")
	assert.Contains(t, string(r.body), `<script src="/ui/standby-reload.js"></script>`)
	assert.NotContains(t, string(r.body), "<script>", "no inline script")
	assert.Equal(t, "default-src 'none'; script-src 'self'; frame-ancestors 'none'", r.header.Get("Content-Security-Policy"))
	r = send(t, base, request{path: "/ui/standby-reload.js"})
	assert.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "text/javascript; charset=utf-8", r.header.Get("Content-Type"))
	assert.Contains(t, string(r.body), "location.reload()")
	r = send(t, base, request{path: admin.UIConfigPath})
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	assert.Contains(t, r.errorText(t), why)
	r = send(t, base, request{path: "/ui/app.js"})
	assert.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "static file", string(r.body))
	assert.Equal(t, http.StatusMethodNotAllowed, send(t, base, request{method: http.MethodPost, path: "/ui/"}).status)
	assert.Equal(t, http.StatusUnauthorized, send(t, base, request{path: "/v1/clients"}).status)
}

// The API takes the standby's socket over: same address, its own answers,
// and no request made meanwhile fails. A closed standby's port refuses.
func TestAPITakesTheStandbysListener(t *testing.T) {
	s, err := admin.ListenStandby("127.0.0.1:0", func() string { return "starting" }, nil,
		admin.WithLogger(zaptest.NewLogger(t)))
	require.NoError(t, err)
	base := "http://" + s.Addr()
	assert.Equal(t, http.StatusServiceUnavailable, send(t, base, request{path: "/readyz"}).status)
	r := send(t, base, request{path: "/metrics"})
	assert.Equal(t, http.StatusOK, r.status)
	assert.Contains(t, string(r.body), "\ncliser_clients_connected 0\n", "without metrics of its own too")

	// Probes all along the handover: each gets an answer, the standby's
	// or the API's.
	var failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			resp, err := http.Get(base + "/healthz")
			if err != nil {
				failed.Add(1)
				continue
			}
			_ = resp.Body.Close()
		}
	})
	api := admin.New(registry.New(), admin.WithLogger(zaptest.NewLogger(t)))
	hs, err := api.Take(s)
	require.NoError(t, err)
	close(stop)
	wg.Wait()
	t.Cleanup(func() { _ = hs.Shutdown(t.Context()) })
	assert.Zero(t, failed.Load(), "probes failed during the handover")
	assert.Equal(t, s.Addr(), hs.Addr())
	r = send(t, base, request{path: "/readyz"})
	assert.Equal(t, http.StatusOK, r.status, "the API answers now: %s", r.body)
	assert.NoError(t, s.Close(), "a standby taken over closes nothing")
	assert.Equal(t, http.StatusOK, send(t, base, request{path: "/healthz"}).status)
	_, err = api.Take(s)
	assert.Error(t, err, "a standby is taken once")

	closed, err := admin.ListenStandby("127.0.0.1:0", func() string { return "starting" }, nil)
	require.NoError(t, err)
	require.NoError(t, closed.Close())
	_, err = net.Dial("tcp", closed.Addr())
	assert.Error(t, err, "a closed standby's port refuses")
}
