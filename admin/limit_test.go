package admin_test

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/registry"
)

// /healthz follows the liveness check: 503 with a JSON error once the
// protocol engine is dead, so a supervisor restarts the process.
func TestHealthzFollowsLiveness(t *testing.T) {
	t.Parallel()
	var live atomic.Bool
	live.Store(true)
	base := "http://" + listen(t, admin.New(registry.New(), admin.WithLive(live.Load)))
	r := send(t, base, request{path: "/healthz"})
	assert.Equal(t, http.StatusOK, r.status)
	var body map[string]string
	r.decode(t, &body)
	assert.Equal(t, map[string]string{"status": "ok"}, body, "docs/operations.md's body")

	live.Store(false)
	r = send(t, base, request{path: "/healthz"})
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	assert.Contains(t, r.errorText(t), "protocol engine stopped")
}

// healthzKeepAlive asks /healthz on a new connection, reads the answer
// and leaves the connection open and idle, as a keep-alive client does.
func healthzKeepAlive(t *testing.T, addr string) *testkit.RawClient {
	t.Helper()
	c := testkit.Dial(t, addr)
	c.Send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	require.NoError(t, c.Conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	resp, err := http.ReadResponse(c.R, nil)
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
		require.NoError(t, a.Conn.Close())
		require.NoError(t, b.Conn.Close())
		require.Eventually(t, func() bool {
			return metricValue(t, m, admin.MetricAdminConnections) == 0
		}, 10*time.Second, 20*time.Millisecond, "the closed connections are still counted")
	}
	assert.Equal(t, 3.0, metricValue(t, m, admin.MetricAdminCapReached), "each filling counted")
	assert.Equal(t, 1, logs.FilterMessageSnippet("admin listener full").Len(), "warned once")
	assert.LessOrEqual(t, logs.FilterMessageSnippet("has room again").Len(), 1, "room again only after a warning")
}

// clientFrom is an HTTP client whose connections leave from a chosen
// loopback address, as a second machine's would.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
}

// Guessing tokens is counted, and slowed per address: after the limit of
// wrong tokens, that address gets 429 with Retry-After, the right token
// included (else the 429 would tell which guess was right); another
// address is not affected, and the bucket refills.
func TestWrongAdminTokensAreCountedAndSlowed(t *testing.T) {
	t.Parallel()
	const token = "the-right-admin-token"
	// A bucket that refills slowly (one guess per 12s), so that a loaded
	// machine cannot refill it between the guesses and the checks.
	s := newStack(t, stackConfig{token: token, apiOpts: []admin.Option{admin.WithAuthFailLimit(5, time.Minute)}})
	guesser, other := clientFrom("127.0.0.21"), clientFrom("127.0.0.22")

	for i := range 5 {
		r := s.send(t, request{path: "/v1/clients", token: "guess-" + strconv.Itoa(i), client: guesser})
		require.Equal(t, http.StatusUnauthorized, r.status, "guess %d", i)
	}
	r := s.send(t, request{path: "/v1/clients", client: guesser})
	require.Equal(t, http.StatusTooManyRequests, r.status, "even without a token once the bucket is empty")
	r = s.send(t, request{path: "/v1/clients", token: token, client: guesser})
	require.Equal(t, http.StatusTooManyRequests, r.status, "the right token too: %s", r.body)
	secs, err := strconv.Atoi(r.header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After is whole seconds: %q", r.header.Get("Retry-After"))
	assert.True(t, secs >= 1 && secs <= 12, "Retry-After %d: at most one refill (12s) away", secs)
	assert.Contains(t, r.errorText(t), "too many wrong admin tokens")

	r = s.send(t, request{path: "/v1/clients", token: token, client: other})
	assert.Equal(t, http.StatusOK, r.status, "another address is not slowed")
	r = s.send(t, request{path: "/healthz", client: other})
	assert.Equal(t, http.StatusOK, r.status, "the probes need no token and are never slowed")

	assert.Equal(t, 5.0, metricValue(t, s.metrics, admin.MetricAdminAuthFailures, "reason", "wrong"))
	assert.Equal(t, 0.0, metricValue(t, s.metrics, admin.MetricAdminAuthFailures, "reason", "missing"))
	assert.Equal(t, 2.0, metricValue(t, s.metrics, admin.MetricAdminAuthThrottled))
}

// The slowdown ends once the bucket has refilled.
func TestAdminAuthSlowdownEnds(t *testing.T) {
	t.Parallel()
	const token = "the-right-admin-token"
	s := newStack(t, stackConfig{token: token, apiOpts: []admin.Option{admin.WithAuthFailLimit(2, 600*time.Millisecond)}})
	throttled := false
	for range 100 { // guess until the bucket runs empty
		if s.callToken(t, http.MethodGet, "/v1/clients", "", "wrong").status == http.StatusTooManyRequests {
			throttled = true
			break
		}
	}
	require.True(t, throttled, "wrong tokens in a row empty the bucket")
	require.Eventually(t, func() bool {
		return s.call(t, http.MethodGet, "/v1/clients", "").status == http.StatusOK
	}, 10*time.Second, 50*time.Millisecond, "the bucket refills")
}

// A missing token is counted but takes nothing from the bucket: it tells a
// guesser nothing, and an operator who forgot the header is not locked out.
func TestMissingAdminTokenIsCountedNotSlowed(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{token: "tok", apiOpts: []admin.Option{admin.WithAuthFailLimit(2, time.Hour)}})
	for range 5 {
		require.Equal(t, http.StatusUnauthorized, s.callToken(t, http.MethodGet, "/v1/clients", "", "").status)
	}
	assert.Equal(t, http.StatusOK, s.call(t, http.MethodGet, "/v1/clients", "").status)
	assert.Equal(t, 5.0, metricValue(t, s.metrics, admin.MetricAdminAuthFailures, "reason", "missing"))
}

// Failed authentications are logged once per interval, saying how many,
// never once per request, and never with the token.
func TestAdminAuthFailuresLogRateLimited(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zap.WarnLevel)
	reg := registry.New()
	m := admin.NewMetrics(reg)
	api := admin.New(reg, admin.WithToken("tok"), admin.WithMetrics(m), admin.WithLogger(zap.New(core)),
		admin.WithAuthFailLimit(0, 0))
	addr := listen(t, api)
	for i := range 50 {
		r := send(t, "http://"+addr, request{path: "/v1/clients", token: "secret-guess-" + strconv.Itoa(i)})
		require.Equal(t, http.StatusUnauthorized, r.status)
	}
	assert.Equal(t, 50.0, metricValue(t, m, admin.MetricAdminAuthFailures, "reason", "wrong"))
	lines := logs.FilterMessageSnippet("missing or wrong token").All()
	require.Len(t, lines, 1, "one line for the first failure; the rest wait for the interval's end")
	assert.Equal(t, int64(1), lines[0].ContextMap()["failures"])
	assert.Contains(t, lines[0].Message, "a tool at last_ip still sends a token from before a rotation", "where to look")
	assert.NotContains(t, lines[0].ContextMap(), "since_last_line", "the first line has none before it")
	for _, l := range logs.All() {
		for _, v := range l.ContextMap() {
			assert.NotContains(t, fmt.Sprint(v), "secret-guess", "a token never reaches the log")
		}
	}
}
