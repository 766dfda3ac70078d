package admin_test

import (
	"bufio"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/internal/testkit"
)

// A page on another site could not read the API (no CORS), but its
// EventSource, fetch or <img> was served all the same: a stream or a
// long-poll held one of the listener's wait slots for as long as the
// browser kept it. Now a read from another origin, or one the browser marks
// cross-site, is refused before the token or the slot; a link followed
// from another site, the page's own calls and the tools still pass.
func TestForeignPagesCannotHoldTheEventStream(t *testing.T) {
	t.Parallel()
	addr := listenWithEvents(t)
	base := "http://" + addr
	own := map[string]string{"Origin": base}
	evil := map[string]string{"Origin": "http://evil.example"}
	noCORS := map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}
	link := map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}

	for _, path := range []string{"/v1/events/stream", "/v1/events?after=0&wait=1m", "/v1/clients", "/metrics"} {
		for _, h := range []map[string]string{evil, {"Origin": "http://127.0.0.1:1"}, {"Origin": "null"}, noCORS} {
			c, resp := getWith(t, addr, path, h)
			assert.Equal(t, http.StatusForbidden, resp.StatusCode, "%s %v", path, h)
			require.NoError(t, c.Conn.Close())
		}
	}
	assert.Zero(t, metricOf(t, base, admin.MetricEventWaits), "no refused read took a wait slot")

	// What may read still reads: the page's own origin, a link from
	// elsewhere, a tool; the probes answer anyone.
	for _, tc := range []struct {
		path string
		h    map[string]string
	}{
		{"/v1/events/stream", own}, {"/v1/events/stream", nil}, {"/v1/clients", link},
		{"/v1/clients", map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"}},
		{"/healthz", evil}, {"/readyz", noCORS},
	} {
		c, resp := getWith(t, addr, tc.path, tc.h)
		assert.Equal(t, http.StatusOK, resp.StatusCode, "%s %v", tc.path, tc.h)
		require.NoError(t, c.Conn.Close())
	}
}

// getWith sends GET path with the headers h on a new connection and reads
// the answer's head only (a stream's body never ends).
func getWith(t *testing.T, addr, path string, h map[string]string) (*testkit.RawClient, *http.Response) {
	t.Helper()
	c := testkit.Dial(t, addr)
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\n"
	for k, v := range h {
		req += k + ": " + v + "\r\n"
	}
	c.Send(req + "\r\n")
	require.NoError(t, c.Conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(c.R), nil)
	require.NoError(t, err, "GET %s: no answer", path)
	return c, resp
}

// docs/security.md: Sec-Fetch-Site same-site gets 403 as cross-site does.
// Ports are not part of a site: a page another program serves on this
// host (http://localhost:3000) is same-site with the API, and its <img>
// or <script> sends no Origin. Dropping same-site from checkOrigin passed
// every test (mutation audit).
func TestSameSitePagesCannotHoldTheEventStream(t *testing.T) {
	t.Parallel()
	addr := listenWithEvents(t)
	sameSite := map[string]string{"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "no-cors"}
	for _, path := range []string{"/v1/events/stream", "/v1/events?after=0&wait=1m", "/v1/clients"} {
		c, resp := getWith(t, addr, path, sameSite)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, path)
		require.NoError(t, c.Conn.Close())
	}
	assert.Zero(t, metricOf(t, "http://"+addr, admin.MetricEventWaits), "no refused read took a wait slot")
	c, resp := getWith(t, addr, "/v1/clients", map[string]string{"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "navigate"})
	assert.Equal(t, http.StatusOK, resp.StatusCode, "a link followed still reads")
	require.NoError(t, c.Conn.Close())
}
