package main

import (
	"net"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An answer that is not about the client is not told as one: a 404 from
// a path put in front of the API (--admin .../prefix) or from another
// server said "no client X" of a client that was connected (CLI audit),
// and another server's 400 exited 2, as a mistake in the flags.
func TestCLIClientCommandsTellAWrongAddressFromAMissingClient(t *testing.T) {
	cliEnv(t)
	s := startOpsServer(t, "")
	opsConnect(t, s.Addr(), opsPassword, "pos-0042")
	for _, args := range [][]string{{"get", "pos-0042"}, {"kick", "pos-0042"}, {"shutdown", "pos-0042"}} {
		_, _, err := runCLI(t, append(append([]string{"clients"}, args...), "--admin", s.admin+"/prefix")...)
		require.Error(t, err, args)
		assert.NotContains(t, err.Error(), "no client", args)
		assert.Contains(t, err.Error(), "no endpoint /prefix/v1/clients/pos-0042", args)
		assert.Equal(t, 1, exitCode(err), args)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	other := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		status := http.StatusNotFound
		if r.Method == http.MethodPost {
			status = http.StatusBadRequest
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte("<html><body><h1>nginx</h1></body></html>"))
	})}
	go func() { _ = other.Serve(ln) }()
	t.Cleanup(func() { _ = other.Close() })
	for _, args := range [][]string{{"get", "pos-1"}, {"kick", "pos-1"}} {
		_, _, err := runCLI(t, append(append([]string{"clients"}, args...), "--admin", ln.Addr().String())...)
		require.Error(t, err, args)
		assert.NotContains(t, err.Error(), "no client", args)
		assert.NotContains(t, err.Error(), "refused the request", args)
		assert.Contains(t, err.Error(), "HTML page instead of cliser's JSON error", args)
		assert.Equal(t, 1, exitCode(err), args)
	}
	// cliser's own answers keep their words.
	_, _, err = runCLI(t, "clients", "get", "nobody", "--admin", s.admin)
	require.Error(t, err)
	assert.Equal(t, "no client nobody", err.Error())
}
