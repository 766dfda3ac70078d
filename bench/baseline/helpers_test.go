package baseline_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/bench/baseline"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

const (
	testPassword = "s3cret"
	// ioTimeout bounds a test client's wait for the close (its reads have
	// testkit's 5s), so a server that forgets to answer fails the test
	// instead of hanging it.
	ioTimeout = 5 * time.Second
)

// testServer is a real baseline server on 127.0.0.1:0 with its registry.
type testServer struct {
	srv *baseline.Server
	reg *registry.Registry
}

// startServer starts a server with test defaults (long keep-alive interval,
// so keep-alives only appear in tests that ask for them), changed by mod.
// It is stopped when the test ends.
func startServer(t *testing.T, mod func(*baseline.Config), regOpts ...registry.Option) *testServer {
	t.Helper()
	ts := newServer(t, mod, regOpts...)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, ts.srv.Stop(ctx))
	})
	return ts
}

// newServer starts a server the test itself must stop.
func newServer(t testing.TB, mod func(*baseline.Config), regOpts ...registry.Option) *testServer {
	t.Helper()
	reg := registry.New(regOpts...)
	cfg := baseline.Config{
		Addr:              "127.0.0.1:0",
		Passwords:         [][]byte{[]byte(testPassword)},
		KeepAliveInterval: time.Minute,
		KeepAliveTimeout:  ioTimeout,
		HandshakeTimeout:  ioTimeout,
	}
	if mod != nil {
		mod(&cfg)
	}
	srv := baseline.New(reg, cfg)
	require.NoError(t, srv.Start())
	return &testServer{srv: srv, reg: reg}
}

// testClient is testkit's raw protocol client with the baseline tests'
// stricter close: nothing after the last line, then a clean EOF.
type testClient struct {
	*testkit.RawClient
	t *testing.T
}

func dial(t *testing.T, addr string) *testClient {
	t.Helper()
	return &testClient{RawClient: testkit.Dial(t, addr), t: t}
}

// connect dials ts and completes the handshake as id.
func (ts *testServer) connect(t *testing.T, id string) *testClient {
	t.Helper()
	c := dial(t, ts.srv.Addr())
	c.Handshake(testPassword, id)
	return c
}

// handle is the registry's handle on id's connection.
func (ts *testServer) handle(t *testing.T, id string) registry.Conn {
	t.Helper()
	conn, err := ts.reg.Conn(id)
	require.NoError(t, err)
	return conn
}

// expectEOF checks that the server closed the connection with nothing more
// to say.
func (c *testClient) expectEOF() {
	c.t.Helper()
	require.NoError(c.t, c.Conn.SetReadDeadline(time.Now().Add(ioTimeout)))
	rest, err := c.R.ReadString('\n')
	require.Equal(c.t, "", rest, "no bytes after the last line")
	require.True(c.t, errors.Is(err, io.EOF), "want EOF, got %v", err)
}

// expectClose checks for "190 <reason>" followed by the close.
func (c *testClient) expectClose(r protocol.Reason) {
	c.t.Helper()
	c.Expect("190 " + r.String())
	c.expectEOF()
}

// expectKeepAlive reads "100 <token>" and returns the token.
func (c *testClient) expectKeepAlive() uint64 {
	c.t.Helper()
	line := c.ReadLine()
	l, err := protocol.Parse([]byte(line))
	require.NoError(c.t, err)
	require.Equal(c.t, protocol.CodeKeepAlive, l.Code, "line %q", line)
	tok, err := protocol.ParseToken(l.Arg)
	require.NoError(c.t, err)
	return tok
}

func (c *testClient) localPort() string {
	return strconv.Itoa(c.Conn.LocalAddr().(*net.TCPAddr).Port)
}

// requireDisconnected checks the registry's record of cid after its connection ended.
func requireDisconnected(t *testing.T, reg *registry.Registry, cid string, r protocol.Reason) {
	t.Helper()
	rec, ok := reg.Get(cid)
	require.True(t, ok, "record of %q", cid)
	require.False(t, rec.CStatus, "cstatus of %q", cid)
	require.Equal(t, r, rec.Reason, "reason of %q: %s", cid, rec.Reason)
	require.False(t, rec.DisconnectedAt.IsZero())
}
