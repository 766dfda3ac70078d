package admin

import (
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/registry"
)

// A reader that stops reading is cut off once a write has waited
// streamWriteTimeout, and the log says why: it was cut without a trace
// (events audit).
func TestStalledStreamReaderIsCutAndLogged(t *testing.T) {
	old := streamWriteTimeout
	streamWriteTimeout = 300 * time.Millisecond
	defer func() { streamWriteTimeout = old }()
	log, err := events.Open(filepath.Join(t.TempDir(), events.FileName))
	require.NoError(t, err)
	defer log.Close()
	core, logs := observer.New(zap.InfoLevel)
	hs, err := New(registry.New(), WithEvents(log), WithLogger(zap.New(core))).Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer hs.Shutdown(t.Context())

	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	conn, err := d.Dial("tcp", hs.Addr())
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Write([]byte("GET /v1/events/stream?after=0 HTTP/1.1\r\nHost: " + hs.Addr() + "\r\n\r\n"))
	require.NoError(t, err)
	// Never read: the events fill the socket's buffers, and a write waits.
	cut := func() bool {
		return logs.FilterMessageSnippet("events stream cut off: its reader read nothing").Len() > 0
	}
	deadline := time.Now().Add(20 * time.Second)
	for !cut() {
		require.True(t, time.Now().Before(deadline), "a stalled reader was not cut off, or not logged: newest %d, logs %v", log.Newest(), logs.All())
		for range 1000 {
			log.Append(events.Event{Type: events.TypeConnected, CID: "stalled-reader-test-client", Session: "s"})
		}
		time.Sleep(20 * time.Millisecond) // the writer's pace, not a wait for a result
	}
}
