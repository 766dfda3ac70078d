package admin

import (
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/cliser/cliser/registry"
)

// Wrong tokens from more addresses than the limiter tracks shared one
// bucket, and emptied it: the operator's tools and the Prometheus scrape,
// at addresses not in the table, got 429 with the right token for as long
// as the spray went on (leak audit: 15,000 addresses). An address that
// sent the right token keeps a bucket of its own past the bound; one that
// never did shares the spray's, as before.
func TestRightTokenKeepsItsAddressOutOfTheSprayBucket(t *testing.T) {
	a := New(registry.New(), WithToken("tok"), WithLogger(zap.NewNop()), WithAuthFailLimit(3, time.Hour))
	lim := a.authLimiter()
	lim.maxIPs = 4
	s, err := a.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Shutdown(t.Context()) })
	_, port, err := net.SplitHostPort(s.Addr())
	require.NoError(t, err)

	get := func(from, token string) int {
		t.Helper()
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}).DialContext}}
		defer c.CloseIdleConnections()
		req, err := http.NewRequest(http.MethodGet, "http://127.0.0.1:"+port+"/v1/clients", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		return resp.StatusCode
	}

	operator, newcomer := "127.0.0.2", "127.0.0.3"
	require.Equal(t, http.StatusOK, get(operator, "tok"))
	for i := range 8 { // the table full, then the shared bucket emptied
		get("127.0.1."+strconv.Itoa(10+i), "wrong")
	}
	require.Equal(t, http.StatusTooManyRequests, get("127.0.1.99", "wrong"), "the spray's shared bucket is empty")

	assert.Equal(t, http.StatusOK, get(operator, "tok"), "an address that sent the right token is not the spray's")
	assert.Equal(t, http.StatusUnauthorized, get(operator, "wrong"), "its own bucket counts its own guesses")
	assert.Equal(t, http.StatusTooManyRequests, get(newcomer, "tok"), "an address never seen shares the spray's bucket")
}
