package admin

import (
	"io"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
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
	api := New(registry.New(), WithEvents(log), WithLogger(zap.New(core)))
	hs, err := api.Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer hs.Shutdown(t.Context())

	openSlowStream(t, hs.Addr(), "") // never read
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
	require.Equal(t, 1.0, testutil.ToFloat64(api.waits.ended.WithLabelValues("stalled")), "counted too (stream audit)")
}

// A reader that fell behind what the log keeps (a small retention, a
// burst while its stream waited on a write) finds the stream's end said
// in a last comment line: it ended without a word (events audit), and
// only the reconnect's 410 told.
func TestStreamFallenBehindTheLogSaysSoAtItsEnd(t *testing.T) {
	log, err := events.Open(filepath.Join(t.TempDir(), events.FileName), events.WithRetention(5))
	require.NoError(t, err)
	defer log.Close()
	api := New(registry.New(), WithEvents(log))
	hs, err := api.Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer hs.Shutdown(t.Context())

	conn := openSlowStream(t, hs.Addr(), "Connection: close\r\n")
	// Unread, ~12 MB of events overflow the sockets' buffers (4 MB at
	// most each way): a write waits while the log moves on past it.
	cid := strings.Repeat("c", 64)
	for log.Newest() < 40_000 {
		if !log.Append(events.Event{Type: events.TypeConnected, CID: cid, Session: "s", CIP: "192.0.2.1", CPort: "40000"}) {
			require.Eventually(t, func() bool { return log.Newest() > 0 }, time.Second, time.Millisecond) // the queue drains
		}
	}
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(30*time.Second)))
	all, err := io.ReadAll(conn)
	require.NoError(t, err, "the stream did not end")
	require.True(t, strings.Contains(string(all), ": stream ended: events after"), "no end line in the last bytes: %q", all[max(0, len(all)-300):])
	require.Equal(t, 1.0, testutil.ToFloat64(api.waits.ended.WithLabelValues("overtaken")), "counted too (stream audit)")
}

// openSlowStream asks addr for the event stream from seq 0 on a
// connection whose receive buffer is 4 KiB, with the extra header lines,
// and leaves the reading to the caller.
func openSlowStream(t *testing.T, addr, header string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	conn, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	_, err = conn.Write([]byte("GET /v1/events/stream?after=0 HTTP/1.1\r\nHost: " + addr + "\r\n" + header + "\r\n"))
	require.NoError(t, err)
	return conn
}
