package admin_test

import (
	"cmp"
	"context"
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

// What the guard refuses is counted by cause and logged once a minute a
// cause, and every answer is counted by code: a page probing the API, or
// a scraper calling it by a name not allowed, left no trace but its own
// 403 (admin audit).
func TestGuardRefusalsAndAnswersAreCountedAndLogged(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	reg := registry.New()
	api := admin.New(reg, admin.WithMetrics(admin.NewMetrics(reg)), admin.WithLogger(zap.New(core)))
	hs, err := api.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = hs.Shutdown(context.Background()) })
	base := "http://" + hs.Addr()
	do := func(method, path string, header map[string]string) int {
		req, err := http.NewRequest(method, base+path, nil)
		require.NoError(t, err)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		req.Host = cmp.Or(header["Host"], req.Host) // net/http sends req.Host, not the header
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	for range 3 {
		assert.Equal(t, http.StatusForbidden, do("POST", "/v1/shutdown", map[string]string{"Origin": "http://evil.example"}))
		assert.Equal(t, http.StatusForbidden, do("GET", "/v1/clients", map[string]string{"Host": "rebind.example"}))
		assert.Equal(t, http.StatusUnsupportedMediaType, do("POST", "/v1/shutdown",
			map[string]string{"Referer": "http://" + hs.Addr() + "/", "Content-Type": "text/plain"}))
		assert.Equal(t, http.StatusMethodNotAllowed, do("DELETE", "/v1/clients", nil))
		assert.Equal(t, http.StatusOK, do("GET", "/healthz", nil))
	}
	metric := func(series string) float64 {
		v, ok := testkit.Metric(base, series)
		require.True(t, ok, series)
		return v
	}
	assert.Equal(t, 3.0, metric(`cliser_admin_requests_total{code="200"}`), "the probes (a scrape counts once it is answered)")
	assert.Equal(t, 3.0, metric(`cliser_admin_guard_refused_total{cause="origin"}`))
	assert.Equal(t, 3.0, metric(`cliser_admin_guard_refused_total{cause="host"}`))
	assert.Equal(t, 3.0, metric(`cliser_admin_guard_refused_total{cause="content type"}`))
	assert.Equal(t, 6.0, metric(`cliser_admin_requests_total{code="403"}`))
	assert.Equal(t, 3.0, metric(`cliser_admin_requests_total{code="415"}`))
	assert.Equal(t, 3.0, metric(`cliser_admin_requests_total{code="405"}`))

	lines := logs.FilterMessageSnippet("admin API refused a request as a browser's from elsewhere").All()
	require.Len(t, lines, 3, "one a cause")
	causes := map[any]bool{}
	for _, l := range lines {
		f := l.ContextMap()
		causes[f["cause"]] = true
		assert.Equal(t, "127.0.0.1", f["remote"])
		assert.NotEmpty(t, f["reason"])
	}
	assert.Equal(t, map[any]bool{"host": true, "origin": true, "content type": true}, causes)
}

// A long-poll its client leaves is counted 499, not 500: no server fault
// (regression audit: every closed tab read as one).
func TestALongPollLeftByItsClientIsNoServerError(t *testing.T) {
	log, err := events.Open(filepath.Join(t.TempDir(), events.FileName))
	require.NoError(t, err)
	t.Cleanup(func() { _ = log.Close() })
	reg := registry.New()
	api := admin.New(reg, admin.WithMetrics(admin.NewMetrics(reg)), admin.WithEvents(log))
	hs, err := api.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = hs.Shutdown(context.Background()) })
	base := "http://" + hs.Addr()

	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/events?after=0&wait=1m", nil)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	require.Eventually(t, func() bool {
		v, _ := testkit.Metric(base, "cliser_admin_event_waits")
		return v == 1
	}, 10*time.Second, 10*time.Millisecond, "the long-poll waits")
	cancel()
	require.Error(t, <-done)
	require.Eventually(t, func() bool {
		v, _ := testkit.Metric(base, `cliser_admin_requests_total{code="499"}`)
		return v == 1
	}, 10*time.Second, 10*time.Millisecond, "counted as the client's doing")
	v, _ := testkit.Metric(base, `cliser_admin_requests_total{code="500"}`)
	assert.Zero(t, v)
}
