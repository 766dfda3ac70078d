package main

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// The binary takes its allowed admin host names from the environment (or
// --admin-allowed-hosts), refuses other names, and lets IPs, localhost and
// the operator CLI through.
func TestBinaryAdminAllowedHosts(t *testing.T) {
	env := []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN=", "CLISER_ADMIN_ALLOWED_HOSTS=ops.example, cliser.internal"}
	p := testkit.Serve(t, env, serveArgs(t.TempDir())...)
	base := p.AdminURL(t)
	status := func(host string) int {
		req, err := http.NewRequest(http.MethodGet, base+"/v1/clients", nil)
		require.NoError(t, err)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusOK, status(""), "the listener's own IP address")
	assert.Equal(t, http.StatusOK, status("localhost"))
	assert.Equal(t, http.StatusOK, status("ops.example:7071"))
	assert.Equal(t, http.StatusOK, status("cliser.internal"))
	assert.Equal(t, http.StatusForbidden, status("evil.example"))

	// The operator CLI still commands clients.
	c := opsConnect(t, p.Addr, opsPassword, "guard-cli-1")
	_, stderr, err := runCLI(t, "clients", "shutdown", "guard-cli-1", "--reason", "via the CLI", "--admin", base)
	require.NoError(t, err, stderr)
	c.Expect("130 shutdown via the CLI")
	_, stderr, err = runCLI(t, "health", "--ready", "--admin", base)
	require.NoError(t, err, stderr)
}

func TestBinaryRefusesAdminAllowedHostsWithPort(t *testing.T) {
	out, code := testkit.Run(t, testkit.Environ(nil, "CLISER_PASSWORD="+opsPassword), "serve", "--listen", "127.0.0.1:0",
		"--admin-listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--admin-allowed-hosts", "ops.example:7071")
	assert.Equal(t, 2, code, out)
	assert.Contains(t, out, "--admin-allowed-hosts")
	assert.Contains(t, out, "without scheme or port")
}
