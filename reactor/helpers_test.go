package reactor

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

const testPassword = "s3cret"

// testServer is a real server on 127.0.0.1:0 with its registry.
type testServer struct {
	*Server
	reg *registry.Registry
}

func startServer(t *testing.T, opts ...Option) *testServer {
	t.Helper()
	return startServerWithRegistry(t, registry.New(), opts...)
}

func startServerWithRegistry(t *testing.T, reg *registry.Registry, opts ...Option) *testServer {
	t.Helper()
	base := []Option{
		WithAddr("127.0.0.1:0"),
		WithPasswords([][]byte{[]byte(testPassword)}),
		WithLoops(2),
		WithLogger(zaptest.NewLogger(t)),
	}
	srv, err := New(reg, append(base, opts...)...)
	require.NoError(t, err)
	require.NoError(t, srv.Start())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Stop(ctx)
	})
	return &testServer{Server: srv, reg: reg}
}

// rawClient speaks the protocol by hand over a real TCP connection.
type rawClient struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

func dial(t testing.TB, addr string) *rawClient {
	t.Helper()
	return dialFrom(t, addr, "")
}

// dialFrom connects from a chosen loopback source address (127.x.y.z), as
// a fleet behind several addresses would.
func dialFrom(t testing.TB, addr, sourceIP string) *rawClient {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if sourceIP != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(sourceIP)}
	}
	c, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return &rawClient{t: t, conn: c, r: bufio.NewReader(c)}
}

func (c *rawClient) send(s string) {
	c.t.Helper()
	_, err := c.conn.Write([]byte(s))
	require.NoError(c.t, err)
}

// expect reads the next line (within 5s) and checks it.
func (c *rawClient) expect(want string) {
	c.t.Helper()
	require.Equal(c.t, want, c.readLine())
}

func (c *rawClient) readLine() string {
	c.t.Helper()
	require.NoError(c.t, c.conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	line, err := c.r.ReadString('\n')
	require.NoError(c.t, err, "read so far: %q", line)
	return strings.TrimSuffix(line, "\n")
}

// expectClosed checks that the server closes the connection, after any
// lines in want.
func (c *rawClient) expectClosed(want ...string) {
	c.t.Helper()
	for _, w := range want {
		c.expect(w)
	}
	require.NoError(c.t, c.conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	rest, err := c.r.ReadString('\n')
	require.Error(c.t, err, "expected close, got %q", rest)
	var ne net.Error
	if errors.As(err, &ne) {
		require.False(c.t, ne.Timeout(), "server did not close the connection")
	}
}

// handshake registers id and returns the sid.
func (c *rawClient) handshake(id string) uint16 {
	c.t.Helper()
	c.expect(strings.TrimSuffix(protocol.PromptPassword, "\n"))
	c.send("110 " + testPassword + "\n")
	c.expect(strings.TrimSuffix(protocol.PromptID, "\n"))
	c.send("120 " + id + "\n")
	return c.expectConnected()
}

func (c *rawClient) expectConnected() uint16 {
	c.t.Helper()
	line := c.readLine()
	arg, ok := strings.CutPrefix(line, "140 ")
	require.True(c.t, ok, "want 140, got %q", line)
	sid, err := protocol.ParseConnected([]byte(arg))
	require.NoError(c.t, err)
	return sid
}

// echoKeepAlive reads a "100 <token>" and echoes it.
func (c *rawClient) echoKeepAlive() string {
	c.t.Helper()
	line := c.readLine()
	require.True(c.t, strings.HasPrefix(line, "100 "), "want keep-alive, got %q", line)
	c.send(line + "\n")
	return line
}

func eventually(t testing.TB, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 5*time.Second, 2*time.Millisecond, msg)
}

func closeLine(r protocol.Reason) string { return "190 " + r.String() }
