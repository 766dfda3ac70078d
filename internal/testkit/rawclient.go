package testkit

import (
	"bufio"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/protocol"
)

// RawClient speaks the line protocol by hand over a real TCP connection,
// so a test controls every byte a client sends and sees every line the
// server writes. It belongs to the one goroutine of its test; Conn and R
// are there for tests that need the raw socket (closing it half-way,
// reading with their own deadline).
type RawClient struct {
	t    testing.TB
	Conn net.Conn
	R    *bufio.Reader
	// Timeout bounds every read: a line that does not come within it fails
	// the test. Dial sets 5s.
	Timeout time.Duration
	// AnswerKeepAlives makes ReadLine echo every "100 <token>" line and
	// return the next other line, for tests that read across keep-alives.
	AnswerKeepAlives bool
}

// Dial connects to addr; the connection is closed when the test ends.
func Dial(t testing.TB, addr string) *RawClient {
	t.Helper()
	return DialFrom(t, addr, "")
}

// DialFrom connects from a chosen loopback source address (127.x.y.z), as
// a fleet behind several addresses would; "" lets the system choose.
func DialFrom(t testing.TB, addr, sourceIP string) *RawClient {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if sourceIP != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(sourceIP)}
	}
	c, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return &RawClient{t: t, Conn: c, R: bufio.NewReader(c), Timeout: 5 * time.Second}
}

// Send writes s as it is (the caller adds the "\n").
func (c *RawClient) Send(s string) {
	c.t.Helper()
	_, err := c.Conn.Write([]byte(s))
	require.NoError(c.t, err)
}

// Expect reads the next line and checks it equals want (without "\n").
func (c *RawClient) Expect(want string) {
	c.t.Helper()
	require.Equal(c.t, want, c.ReadLine())
}

// ReadLine reads the next line, without its "\n", within Timeout (each
// keep-alive answered restarts it).
func (c *RawClient) ReadLine() string {
	c.t.Helper()
	for {
		require.NoError(c.t, c.Conn.SetReadDeadline(time.Now().Add(c.Timeout)))
		line, err := c.R.ReadString('\n')
		require.NoError(c.t, err, "read so far: %q", line)
		line = strings.TrimSuffix(line, "\n")
		if c.AnswerKeepAlives && strings.HasPrefix(line, "100 ") {
			c.Send(line + "\n")
			continue
		}
		return line
	}
}

// ExpectClosed checks that the server sends the lines in want and then
// closes the connection (within Timeout; a timeout fails the test).
func (c *RawClient) ExpectClosed(want ...string) {
	c.t.Helper()
	for _, w := range want {
		c.Expect(w)
	}
	require.NoError(c.t, c.Conn.SetReadDeadline(time.Now().Add(c.Timeout)))
	rest, err := c.R.ReadString('\n')
	require.Error(c.t, err, "expected close, got %q", rest)
	var ne net.Error
	if errors.As(err, &ne) {
		require.False(c.t, ne.Timeout(), "server did not close the connection")
	}
}

// Handshake answers each prompt as it comes (110 password, then 120 id)
// and returns the sid of the 140 connected line.
func (c *RawClient) Handshake(password, id string) uint16 {
	c.t.Helper()
	c.Expect(strings.TrimSuffix(protocol.PromptPassword, "\n"))
	c.Send("110 " + password + "\n")
	c.Expect(strings.TrimSuffix(protocol.PromptID, "\n"))
	c.Send("120 " + id + "\n")
	return c.ExpectConnected()
}

// Register sends both answers at once, as a pipelining client does, then
// reads the two prompts and the 140 connected line, and returns its sid.
func (c *RawClient) Register(password, id string) uint16 {
	c.t.Helper()
	c.Send("110 " + password + "\n120 " + id + "\n")
	c.Expect(strings.TrimSuffix(protocol.PromptPassword, "\n"))
	c.Expect(strings.TrimSuffix(protocol.PromptID, "\n"))
	return c.ExpectConnected()
}

// ExpectConnected reads a "140 connected <sid>" line and returns the sid.
func (c *RawClient) ExpectConnected() uint16 {
	c.t.Helper()
	line := c.ReadLine()
	arg, ok := strings.CutPrefix(line, "140 ")
	require.True(c.t, ok, "want 140, got %q", line)
	sid, err := protocol.ParseConnected([]byte(arg))
	require.NoError(c.t, err)
	return sid
}

// EchoKeepAlive reads a "100 <token>" line, echoes it and returns it.
func (c *RawClient) EchoKeepAlive() string {
	c.t.Helper()
	line := c.ReadLine()
	require.True(c.t, strings.HasPrefix(line, "100 "), "want keep-alive, got %q", line)
	c.Send(line + "\n")
	return line
}
