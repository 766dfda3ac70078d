package main

import (
	"net"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// A token kept in a file ends in a newline: the server and the CLI both
// take it without, so the token the operator meant works on both sides.
func TestBinaryAdminTokenWithALineEnd(t *testing.T) {
	const token = "file-kept-token"
	p := testkit.Serve(t, []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN=" + token + "\n"},
		"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--keepalive-interval", "1h")
	req, err := http.NewRequest(http.MethodGet, "http://"+p.AdminAddr+"/v1/clients", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the token without its line end")

	env := []string{"CLISER_ADMIN=http://" + p.AdminAddr}
	out, code := runBinary(t, append(env, "CLISER_ADMIN_TOKEN= "+token+"\r\n"), "clients", "list", "-o", "json")
	assert.Equal(t, 0, code, out)
	out, code = runBinary(t, append(env, "CLISER_ADMIN_TOKEN=file kept"), "clients", "list")
	assert.Equal(t, 2, code, out)
	assert.Contains(t, out, "CLISER_ADMIN_TOKEN holds a space")
	assert.NotContains(t, p.LogText(), token, "the admin token reached the logs")
}

// What nats.go dials passes; what it would only fail to dial is exit 2.
func TestCheckNATSURLs(t *testing.T) {
	for _, ok := range []string{"nats://127.0.0.1:4222", "127.0.0.1:4222", "nats://a:4222, nats://b:4222",
		"tls://nats.example", "ws://nats.example:8080", "nats://user:pass@nats.example:4222"} {
		assert.NoError(t, checkNATSURLs(ok), ok)
	}
	for _, bad := range []string{"http://nats.example:4222", "nats://", "nats://a:4222,", "nats://%zz",
		"nats://a:99999", "nats://a:0", "nats://u:hunter2@a:65536"} {
		assert.Error(t, checkNATSURLs(bad), bad)
	}
	// The message names the list without its passwords and tokens.
	for _, bad := range []string{"http://u:hunter2@nats.example:4222", "hunter2@nats.example:4222,nats://",
		"nats://u:hunter2@nats.example:port",
		"nats://u:hunter2#x@nats.example:4222", "nats://u:hun/ter2@nats.example:4222", "hunter2tok#@nats.example:4222"} {
		err := checkNATSURLs(bad)
		require.Error(t, err, bad)
		assert.NotContains(t, err.Error(), "hunter2", bad)
	}
}

// A port is digits: Go's net package takes "+80" or "-0" for a service
// name to look up, so the listen or dial would fail later, at run time,
// on an address the check had let through.
func TestListenAndServerPortsAreDigits(t *testing.T) {
	for _, ok := range []string{":7070", "127.0.0.1:0", "[::1]:080", "h:65535"} {
		assert.NoError(t, checkListenAddr("--listen", ok, "7070", false), ok)
	}
	for _, bad := range []string{":+80", ":-0", "h: 80", "h:65536", "h:", "h:http"} {
		err := checkListenAddr("--listen", bad, "7070", false)
		require.Error(t, err, bad)
		assert.Equal(t, 2, exitCode(err), bad)
	}
	assert.NoError(t, checkServerAddr("cliser.example.net:7070"))
	for _, bad := range []string{"h:+7070", "h:0", "h:-1", "h:070000"} {
		err := checkServerAddr(bad)
		require.Error(t, err, bad)
		assert.Equal(t, 2, exitCode(err), bad)
	}
}

// A password or token with an unencoded "," is cut there, as nats.go
// cuts it; the front piece reads as a host and a port that does not
// parse, or as a URL without a host (a "?" read as a query). The
// refusal shows neither that piece nor the rest.
func TestCheckNATSURLsCommaInPasswordStaysHidden(t *testing.T) {
	for _, bad := range []string{"nats://u:hun,ter2@n1:4222", "nats://u:hunter,2xyz@n1:4222", "nats://n0:4222,nats://u:ab cd,hunter2@n1:4222",
		"nats://?hunter2,x@n1:4222", "nats://me@corp:hunter2,x@n1:4222"} {
		err := checkNATSURLs(bad)
		require.Error(t, err, bad)
		assert.Equal(t, 2, exitCode(err), bad)
		assert.Contains(t, err.Error(), "percent-encoded as %2C", bad)
		for _, piece := range []string{"hun", "hunter", "ter2", "2xyz", "ab cd"} {
			assert.NotContains(t, err.Error(), piece, bad)
		}
	}
	// The front of a token cut at a "," reads as a host; the list is not
	// shown when a later URL is refused.
	err := checkNATSURLs("s3cr,3t-tok@n1:4222,nats://")
	require.Error(t, err)
	assert.Equal(t, `--cluster: URL 3 is a URL without a host (the list is not shown: it holds a user or a token): `+
		`give nats://HOST:PORT[,nats://HOST:PORT...] (tls://, ws:// and wss:// too)`, err.Error())
}

// --listen and --admin-listen meet where both would bind one address;
// apart, each binds (port 0 is any free port). The protocol's IPv4
// wildcard meets the admin API's IPv6 host too, names meet in any case
// and ports as numbers: each bound the admin API, then failed the
// protocol's bind, exit 1 (audit).
func TestListenersApart(t *testing.T) {
	for _, tc := range []struct {
		listen, admin string
		meet          bool
	}{
		{"127.0.0.1:7070", "127.0.0.1:7070", true},
		{":7070", "127.0.0.1:7070", true},
		{"[::]:7070", "127.0.0.1:7070", true},
		{"0.0.0.0:7070", "127.0.0.1:7070", true},
		{"127.0.0.1:7070", "0.0.0.0:7070", true},
		{"localhost:7070", "localhost:7070", true},
		{"localhost:7070", "127.0.0.1:7070", true},
		{"[::1]:7070", "localhost:7070", true},
		{"127.0.0.1:7070", "[::ffff:127.0.0.1]:7070", true},
		{"localhost:7070", "10.0.0.1:7070", false},
		{"0.0.0.0:7070", "[::1]:7070", true},
		{"[::1]:7070", "0.0.0.0:7070", false}, // gnet binds [::1] IPv6 only
		{"[::1]:7070", ":7070", true},
		{"[::1]:7070", "[::]:7070", true},
		{"0.0.0.0:7070", "[2001:db8::1]:7070", true},
		{"0.0.0.0:7070", "cliser.example.net:7070", true},
		{"LOCALHOST:7070", "127.0.0.1:7070", true},
		{"127.0.0.1:7070", "LocalHost:7070", true},
		{"Cliser.Example.NET:7070", "cliser.example.net:7070", true},
		{":7070", ":07070", true},
		{"127.0.0.1:007070", "localhost:7070", true},
		{"127.0.0.1:0", "127.0.0.1:00", false},
		{"[::1]:7070", "127.0.0.1:7070", false},
		{"cliser.example.net:7070", "other.example.net:7070", false},
		{"127.0.0.1:7070", "127.0.0.2:7070", false},
		{":7070", "127.0.0.1:7071", false},
		{"127.0.0.1:0", "127.0.0.1:0", false},
		{":7070", "off", false},
	} {
		err := checkListenersApart(tc.listen, tc.admin)
		assert.Equal(t, tc.meet, err != nil, "%s and %s: %v", tc.listen, tc.admin, err)
	}
}

// The pair the check leaves apart binds and serves: gnet binds the
// protocol's IPv6 address IPv6 only, beside the admin API's 0.0.0.0 on
// the same port.
func TestBinaryProtocolIPv6BesideAdminIPv4Wildcard(t *testing.T) {
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback")
	}
	_ = l.Close()
	port := freePort(t)
	p := testkit.Serve(t, []string{"CLISER_PASSWORD=" + opsPassword}, "--listen", "[::1]:"+port,
		"--admin-listen", "0.0.0.0:"+port, "--data-dir", t.TempDir())
	testkit.Dial(t, p.Addr).Register(opsPassword, "v6-beside-v4")
}
