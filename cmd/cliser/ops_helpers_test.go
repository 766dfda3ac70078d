package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/reactor"
	"github.com/cliser/cliser/registry"
)

const opsPassword = "ops-s3cret"

// Polling bounds for require.Eventually.
const (
	waitFor = 10 * time.Second
	tick    = 5 * time.Millisecond
)

// opsServer is a real server in this process: registry, reactor and admin
// API, each on 127.0.0.1:0. The CLI tests run against it.
type opsServer struct {
	reg   *registry.Registry
	srv   *reactor.Server
	admin string // http://host:port
}

func startOpsServer(t *testing.T, token string) *opsServer {
	t.Helper()
	reg := registry.New()
	m := admin.NewMetrics(reg)
	srv, err := reactor.New(reg, reactor.WithAddr("127.0.0.1:0"),
		reactor.WithPasswords([][]byte{[]byte(opsPassword)}), reactor.WithLoops(2),
		reactor.WithKeepAlive(time.Hour, 5*time.Second), reactor.WithObserver(m),
		reactor.WithLogger(zaptest.NewLogger(t)))
	require.NoError(t, err)
	hs, err := admin.New(reg, admin.WithReady(srv.Ready), admin.WithMetrics(m), admin.WithToken(token)).Listen("127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, srv.Start())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Stop(ctx)
		_ = hs.Shutdown(ctx)
	})
	return &opsServer{reg: reg, srv: srv, admin: "http://" + hs.Addr()}
}

// opsClient speaks the protocol by hand over a real TCP connection.
type opsClient struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

// opsConnect dials addr and registers cid with password.
func opsConnect(t testing.TB, addr, password, cid string) *opsClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	c := &opsClient{t: t, conn: conn, r: bufio.NewReader(conn)}
	_, err = conn.Write([]byte("110 " + password + "\n120 " + cid + "\n"))
	require.NoError(t, err)
	c.expect("110 password")
	c.expect("120 id")
	line := c.readLine()
	require.True(t, strings.HasPrefix(line, "140 connected "), "want 140, got %q", line)
	return c
}

func (c *opsClient) readLine() string {
	c.t.Helper()
	require.NoError(c.t, c.conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	line, err := c.r.ReadString('\n')
	require.NoError(c.t, err, "read so far: %q", line)
	return strings.TrimSuffix(line, "\n")
}

func (c *opsClient) expect(want string) {
	c.t.Helper()
	require.Equal(c.t, want, c.readLine())
}

// expectClosed reads the lines in want, then the server's close.
func (c *opsClient) expectClosed(want ...string) {
	c.t.Helper()
	for _, w := range want {
		c.expect(w)
	}
	require.NoError(c.t, c.conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	rest, err := c.r.ReadString('\n')
	require.Error(c.t, err, "expected close, got %q", rest)
	if ne, ok := err.(net.Error); ok {
		require.False(c.t, ne.Timeout(), "server did not close the connection")
	}
}

func (c *opsClient) send(s string) {
	c.t.Helper()
	_, err := c.conn.Write([]byte(s))
	require.NoError(c.t, err)
}

// runCLI runs the cliser root command in this process with args and
// returns what it printed and its error.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = root.ExecuteContext(ctx)
	return out.String(), errb.String(), err
}

func decodeJSON[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal([]byte(s), &v), "output: %s", s)
	return v
}

func closeText(r protocol.Reason) string { return "190 " + r.String() }
