package main

import (
	"net"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
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

// --ipv6-guard-prefix reaches the admin API's wrong-token limit too: once
// ::1 has sent the default 10 wrong tokens, it is answered 429 as its
// network of the prefix given (/48), the right token included.
func TestBinaryAdminTokenLimitCountsIPv6ByTheGuardPrefix(t *testing.T) {
	if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	} else {
		_ = ln.Close()
	}
	env := []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN=the-admin-token"}
	p := testkit.Serve(t, env, "--listen", "127.0.0.1:0", "--admin-listen", "[::1]:0", "--data-dir", t.TempDir(),
		"--ipv6-guard-prefix", "48")
	call := func(token string) (int, string) {
		return testkit.HTTPDo(t, http.MethodGet, p.AdminURL(t)+"/v1/clients", "", http.Header{"Authorization": {"Bearer " + token}})
	}
	for i := range admin.DefaultAuthFailLimit {
		code, body := call("wrong")
		require.Equal(t, http.StatusUnauthorized, code, "guess %d: %s", i, body)
	}
	code, body := call("the-admin-token")
	assert.Equal(t, http.StatusTooManyRequests, code, body)
	assert.Contains(t, body, "network ::/48", "counted by --ipv6-guard-prefix, not the default /64")
}
