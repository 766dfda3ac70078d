package testkit

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// RestartHTTPOn closes srv and serves h again on addr, srv's old address
// taken back: a receiver that went down and comes back up where the
// server under test still sends. The new server closes with the test.
func RestartHTTPOn(t testing.TB, srv *httptest.Server, addr string, h http.Handler) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	srv.Close()
	srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: h}}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}
