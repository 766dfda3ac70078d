package e2e

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/client"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/node/nodetest"
	"github.com/cliser/cliser/reactor"
)

// testPassword is long and odd enough that finding it in a log line can
// only mean the password was logged.
const testPassword = "e2e-Pa55word-9f3c1d"

// server is a whole node (package node) on 127.0.0.1:0, records in
// memory, the admin API on. Every log line it writes (debug and up) is
// kept, so a test can check that no secret reached the logs.
type server struct {
	*node.Node
	logs *observer.ObservedLogs
}

func startServer(t *testing.T, opts ...reactor.Option) *server {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	base := []reactor.Option{
		reactor.WithPasswords([][]byte{[]byte(testPassword)}),
		reactor.WithLoops(2),
	}
	n := nodetest.Start(t, node.WithLogger(zap.New(core)), node.WithReactorOptions(append(base, opts...)...))
	return &server{Node: n, logs: logs}
}

// assertNoSecretInLogs checks every field of every log line the server
// wrote for the password.
func (s *server) assertNoSecretInLogs(t *testing.T, secrets ...string) {
	t.Helper()
	entries := s.logs.All()
	require.NotEmpty(t, entries, "the server logged nothing: the check would prove nothing")
	for _, e := range entries {
		text := e.Message
		for k, v := range e.ContextMap() {
			text += " " + k + "=" + stringify(v)
		}
		for _, secret := range secrets {
			require.NotContains(t, text, secret, "a secret reached the logs")
		}
	}
}

func stringify(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case error:
		return x.Error()
	case interface{ String() string }:
		return x.String()
	}
	return ""
}

// rawConn is testkit's raw client, from a chosen loopback source address
// (the whole 127.0.0.0/8 is local on Linux, so each case can have an IP of
// its own for the per-IP limits), with a hostile sender's habits: a write
// to a closed connection is returned, not fatal, and a transcript reads to
// the server's close.
type rawConn struct {
	*testkit.RawClient
	t testing.TB
}

func dialFrom(t testing.TB, addr, sourceIP string) *rawConn {
	t.Helper()
	return &rawConn{RawClient: testkit.DialFrom(t, addr, sourceIP), t: t}
}

func tryDialFrom(addr, sourceIP string) (*net.TCPConn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	if sourceIP != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(sourceIP)}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// send writes s; a hostile sender does not care whether the server has
// already closed, so write errors are returned, not fatal.
func (c *rawConn) send(s string) error {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := c.Conn.Write([]byte(s))
	return err
}

func (c *rawConn) mustSend(s string) {
	c.t.Helper()
	require.NoError(c.t, c.send(s))
}

func (c *rawConn) readLine(within time.Duration) (string, error) {
	_ = c.Conn.SetReadDeadline(time.Now().Add(within))
	line, err := c.R.ReadString('\n')
	if err != nil {
		return line, err
	}
	return strings.TrimSuffix(line, "\n"), nil
}

// transcript reads every line until the server closes the connection, or
// fails the test when it is still open after within. A partial last line
// is returned as it is.
func (c *rawConn) transcript(within time.Duration) []string {
	c.t.Helper()
	deadline := time.Now().Add(within)
	var lines []string
	for {
		_ = c.Conn.SetReadDeadline(deadline)
		line, err := c.R.ReadString('\n')
		if line != "" {
			lines = append(lines, strings.TrimSuffix(line, "\n"))
		}
		if err == nil {
			continue
		}
		require.True(c.t, closedByPeer(err), "connection not closed by the server within %v (%v); read %q", within, err, lines)
		return lines
	}
}

// closedByPeer: EOF, or a reset (the server closed with our bytes unread).
func closedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

// handshake registers id with the pipelined answers and returns the sid.
func (c *rawConn) handshake(id string) uint16 {
	c.t.Helper()
	c.mustSend("110 " + testPassword + "\n120 " + id + "\n")
	c.Expect("110 password")
	c.Expect("120 id")
	return c.ExpectConnected()
}

// nextKeepAlive reads up to the next "100 <token>" and returns its token.
func (c *rawConn) nextKeepAlive() string {
	c.t.Helper()
	line, err := c.readLine(5 * time.Second)
	require.NoError(c.t, err)
	tok, ok := strings.CutPrefix(line, "100 ")
	require.True(c.t, ok, "want a keep-alive, got %q", line)
	return tok
}

// fleet is a group of healthy clients (client.Run, the reconnecting
// runner) that must ride out whatever a test does to the server: each must
// connect once and never be disconnected.
type fleet struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	srv    *server

	mu      sync.Mutex
	members []*member
}

type member struct {
	id        string
	connected []uint16 // sids, in order
	lost      []client.Disconnected
}

func startFleet(t *testing.T, s *server, n int, prefix string) *fleet {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f := &fleet{cancel: cancel, srv: s}
	for i := range n {
		m := &member{id: prefix + "-" + strconv.Itoa(i)}
		f.members = append(f.members, m)
		cfg := client.Config{Addr: s.Addr(), Password: testPassword, ID: m.id, HandshakeTimeout: 5 * time.Second}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			_ = client.Run(ctx, cfg, client.Backoff{Min: 50 * time.Millisecond, Max: time.Second}, func(ev client.Event) {
				f.mu.Lock()
				defer f.mu.Unlock()
				switch e := ev.(type) {
				case client.Connected:
					m.connected = append(m.connected, e.SID)
				case client.Disconnected:
					if ctx.Err() == nil {
						m.lost = append(m.lost, e)
					}
				}
			})
		}()
	}
	t.Cleanup(f.stop)
	require.Eventually(t, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, m := range f.members {
			if len(m.connected) == 0 {
				return false
			}
		}
		return true
	}, 10*time.Second, 5*time.Millisecond, "the healthy fleet did not connect")
	return f
}

func (f *fleet) stop() {
	f.cancel()
	f.wg.Wait()
}

// sids returns each member's current sid.
func (f *fleet) sids() map[string]uint16 {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]uint16, len(f.members))
	for _, m := range f.members {
		out[m.id] = m.connected[len(m.connected)-1]
	}
	return out
}

// assertIntact checks that no member was ever disconnected or reconnected,
// that the registry still has each one connected with the sid it was given
// at the start, and that each answered a keep-alive since since.
func (f *fleet) assertIntact(t *testing.T, before map[string]uint16, since time.Time) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range f.members {
		assert.Empty(t, m.lost, "healthy client %s was disconnected", m.id)
		assert.Len(t, m.connected, 1, "healthy client %s reconnected", m.id)
		rec, ok := f.srv.Registry().Get(m.id)
		if !assert.True(t, ok, m.id) {
			continue
		}
		assert.True(t, rec.CStatus, "healthy client %s not connected in the registry (reason %s)", m.id, rec.Reason)
		assert.Equal(t, before[m.id], rec.SID, "healthy client %s changed sid", m.id)
		assert.True(t, rec.LastSeen.After(since), "healthy client %s answered no keep-alive since %v (last %v)", m.id, since, rec.LastSeen)
	}
}

func (f *fleet) lostCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, m := range f.members {
		n += len(m.lost)
	}
	return n
}

// freshHandshake proves the server still takes new clients.
func freshHandshake(t *testing.T, addr, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := client.Dial(ctx, client.Config{Addr: addr, Password: testPassword, ID: id})
	require.NoError(t, err, "the server no longer accepts a fresh handshake")
	require.NotZero(t, conn.SID())
	require.NoError(t, conn.Close(ctx))
}
