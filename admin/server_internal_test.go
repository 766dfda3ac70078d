package admin

import (
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/registry"
)

// A listener that dies under the API is said when it dies, not only by
// the stop that reads its error (review: it was silent until then).
func TestServeSaysAListenerThatStopped(t *testing.T) {
	core, logs := observer.New(zapcore.ErrorLevel)
	a := New(registry.New(), WithLogger(zap.New(core)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := a.serve(ln)
	require.NoError(t, ln.Close())
	require.Eventually(t, func() bool { return logs.FilterMessageSnippet("the HTTP listener stopped").Len() == 1 },
		5*time.Second, 5*time.Millisecond, "%v", logs.All())
	assert.Error(t, s.Shutdown(t.Context()), "the stop still returns the listener's error")
}

// Every admin connection's send buffer is capped, so a peer that never
// reads blocks the server's write (and becomes a connection to close for
// room) after 256 KiB queued, not after the 4 MB autotuning gave it.
func TestAdminConnectionsHaveABoundedSendBuffer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	l := New(registry.New()).limit(ln)
	t.Cleanup(func() { _ = l.Close() })
	peer, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = peer.Close() })
	c, err := l.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })

	raw, err := c.(*cappedConn).Conn.(*net.TCPConn).SyscallConn()
	require.NoError(t, err)
	var size int
	var serr error
	require.NoError(t, raw.Control(func(fd uintptr) { size, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF) }))
	require.NoError(t, serr)
	assert.Equal(t, 256<<10, size, "docs/security.md's 256 KiB: Linux doubles the size asked")
}
