package admin_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/registry"
)

// clientFrom is an HTTP client whose connections leave from a chosen
// loopback address, as a second machine's would.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
}

func getWith(t *testing.T, c *http.Client, url, token string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
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
	url := s.base + "/v1/clients"

	for i := range 5 {
		code, _, _ := getWith(t, guesser, url, "guess-"+strconv.Itoa(i))
		require.Equal(t, http.StatusUnauthorized, code, "guess %d", i)
	}
	code, _, _ := getWith(t, guesser, url, "")
	require.Equal(t, http.StatusTooManyRequests, code, "even without a token once the bucket is empty")
	code, hdr, body := getWith(t, guesser, url, token)
	require.Equal(t, http.StatusTooManyRequests, code, "the right token too: %s", body)
	secs, err := strconv.Atoi(hdr.Get("Retry-After"))
	require.NoError(t, err, "Retry-After is whole seconds: %q", hdr.Get("Retry-After"))
	assert.True(t, secs >= 1 && secs <= 12, "Retry-After %d: at most one refill (12s) away", secs)
	assert.Contains(t, body, "too many wrong admin tokens")

	code, _, _ = getWith(t, other, url, token)
	assert.Equal(t, http.StatusOK, code, "another address is not slowed")
	code, _, _ = getWith(t, other, s.base+"/healthz", "")
	assert.Equal(t, http.StatusOK, code, "the probes need no token and are never slowed")

	assert.Equal(t, 5.0, metricValue(t, s.metrics, admin.MetricAdminAuthFailures, "reason", "wrong"))
	assert.Equal(t, 0.0, metricValue(t, s.metrics, admin.MetricAdminAuthFailures, "reason", "missing"))
	assert.Equal(t, 2.0, metricValue(t, s.metrics, admin.MetricAdminAuthThrottled))
}

// The slowdown ends once the bucket has refilled.
func TestAdminAuthSlowdownEnds(t *testing.T) {
	t.Parallel()
	const token = "the-right-admin-token"
	s := newStack(t, stackConfig{token: token, apiOpts: []admin.Option{admin.WithAuthFailLimit(2, 600*time.Millisecond)}})
	url := s.base + "/v1/clients"
	throttled := false
	for range 100 { // guess until the bucket runs empty
		if code, _, _ := getWith(t, http.DefaultClient, url, "wrong"); code == http.StatusTooManyRequests {
			throttled = true
			break
		}
	}
	require.True(t, throttled, "wrong tokens in a row empty the bucket")
	require.Eventually(t, func() bool {
		code, _, _ := getWith(t, http.DefaultClient, url, token)
		return code == http.StatusOK
	}, 10*time.Second, 50*time.Millisecond, "the bucket refills")
}

// A missing token is counted but takes nothing from the bucket: it tells a
// guesser nothing, and an operator who forgot the header is not locked out.
func TestMissingAdminTokenIsCountedNotSlowed(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{token: "tok", apiOpts: []admin.Option{admin.WithAuthFailLimit(2, time.Hour)}})
	for range 5 {
		code, _, _ := getWith(t, http.DefaultClient, s.base+"/v1/clients", "")
		require.Equal(t, http.StatusUnauthorized, code)
	}
	code, _, _ := getWith(t, http.DefaultClient, s.base+"/v1/clients", "tok")
	assert.Equal(t, http.StatusOK, code)
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
	hs, err := api.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = hs.Shutdown(t.Context()) })
	for i := range 50 {
		code, _, _ := getWith(t, http.DefaultClient, "http://"+hs.Addr()+"/v1/clients", "secret-guess-"+strconv.Itoa(i))
		require.Equal(t, http.StatusUnauthorized, code)
	}
	assert.Equal(t, 50.0, metricValue(t, m, admin.MetricAdminAuthFailures, "reason", "wrong"))
	lines := logs.FilterMessageSnippet("missing or wrong token").All()
	require.Len(t, lines, 1, "one line for the first failure; the rest wait for the interval's end")
	assert.Equal(t, int64(1), lines[0].ContextMap()["failures"])
	for _, l := range logs.All() {
		for _, v := range l.ContextMap() {
			assert.NotContains(t, fmt.Sprint(v), "secret-guess", "a token never reaches the log")
		}
	}
}
