package admin

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/cliser/cliser/registry"
)

// The tests below pin the wrong-token limiter's bounds (docs/security.md:
// at most 10,000 addresses, up to 1,000 known for a day), which a
// mutation audit found no test held to the entry.

func boundsLimiter(t *testing.T) *authLimiter {
	t.Helper()
	a := New(registry.New(), WithToken("tok"), WithLogger(zap.NewNop()), WithAuthFailLimit(3, time.Hour))
	t.Cleanup(a.stopAuthLog)
	return a.authLimiter()
}

func TestAdminAuthTablesStayWithinTheirBounds(t *testing.T) {
	lim := boundsLimiter(t)
	lim.maxIPs = 4
	t0 := time.Now()
	for i := range 10 {
		ip := "192.0.2." + strconv.Itoa(i)
		lim.failed(ip, ip, true, t0)
	}
	assert.Len(t, lim.ips, 4, "addresses tracked: at most maxIPs")

	for i := range authMaxKnown + 5 {
		lim.succeeded("198.51.100."+strconv.Itoa(i), t0)
	}
	assert.Len(t, lim.known, authMaxKnown, "addresses known: at most authMaxKnown")

	// A day after, every one of them is forgotten, to make room.
	lim.succeeded("203.0.113.1", t0.Add(authKnownFor))
	assert.Equal(t, map[string]time.Time{"203.0.113.1": t0.Add(authKnownFor)}, lim.known)
	lim.mu.Lock()
	defer lim.mu.Unlock()
	assert.False(t, lim.knownLocked("203.0.113.1", t0.Add(2*authKnownFor)), "known for a day, not a day and a moment")
}

// Once the table is full, a prune that frees room lets a new address
// have a bucket of its own again, not the spray's shared one.
func TestAdminAuthPrunedTableTracksNewAddresses(t *testing.T) {
	lim := boundsLimiter(t)
	lim.maxIPs = 4
	t0 := time.Now()
	for i := range 4 {
		ip := "192.0.2." + strconv.Itoa(i)
		lim.failed(ip, ip, true, t0)
	}
	later := t0.Add(2 * time.Hour) // every bucket refilled: prunable
	lim.failed("192.0.2.99", "192.0.2.99", true, later)
	assert.Contains(t, lim.ips, "192.0.2.99")
}

// Retry-After is rounded up: a client that waits the whole seconds it is
// told finds a token refilled, never a second 429.
func TestAdminRetryAfterRoundsUp(t *testing.T) {
	// One guess per 1.5 s: the wait after it is just under 1.5 s.
	a := New(registry.New(), WithToken("tok"), WithLogger(zap.NewNop()), WithAuthFailLimit(1, 1500*time.Millisecond))
	s, err := a.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Shutdown(t.Context()) })
	get := func() *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, "http://"+s.Addr()+"/v1/clients", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer wrong")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		return resp
	}
	start := time.Now()
	require.Equal(t, http.StatusUnauthorized, get().StatusCode)
	resp := get()
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	if time.Since(start) >= 500*time.Millisecond {
		t.Skip("the machine took over 0.5 s for two local requests: the wait is no longer over 1 s")
	}
	assert.Equal(t, "2", resp.Header.Get("Retry-After"))
}
