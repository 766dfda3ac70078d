package client

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

// An agent pointed at an HTTP port (the admin API's) is told so: the
// server's "HTTP/1.1 400 Bad Request" to its answers was logged as a
// malformed line with no fix (CLI audit).
func TestAnHTTPPortIsNamedAsOne(t *testing.T) {
	web := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(web.Close)
	line := firstDisconnect(t, web.Listener.Addr().String(), "http-1")
	assert.Contains(t, line["error"], "answered in HTTP")
	assert.Contains(t, line["fix"], "--server names an HTTP port")
}
