package reactor

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/cliser/cliser/protocol"
)

// While Stop drains, a new connection is refused with "190 server
// shutting down" as its first and only line, counted as a rejection
// (Stop's doc). The drain lasts only until the open connections are
// closed, so the test holds the server where Stop's first step leaves
// it. Found by a mutation audit: with OnOpen's draining case removed,
// every test passed, and such a client got "110 password" until the
// engine's stop cut it.
func TestDrainingServerRefusesNewConnections(t *testing.T) {
	obs := newCountingObserver()
	srv := startServer(t, WithObserver(obs))
	srv.draining.Store(true) // Stop's first step
	srv.dial(t).ExpectClosed(closeLine(protocol.ReasonServerShuttingDown))
	eventually(t, func() bool { return srv.Connections() == 0 }, "the refused connection closed")
	handshakes, rejected, _ := obs.counts()
	assert.Equal(t, 1, rejected[protocol.ReasonServerShuttingDown])
	assert.Empty(t, handshakes, "refused before its handshake: no handshake counted")
}

// A registered connection that ends during the drain with no reason of
// its own (its peer's close, or the engine's stop cutting it untold) is
// recorded "server shutting down": the server was stopping, and "server
// restarted" says the process died (docs/protocol.md). Found by a
// mutation audit: with the two swapped in OnClose, every test passed.
func TestConnectionEndingDuringTheDrainIsRecordedShuttingDown(t *testing.T) {
	srv := startServer(t)
	c := srv.connect(t, "drain-leaver")
	srv.draining.Store(true) // Stop's first step, before its loops tell anyone
	_ = c.Conn.Close()
	srv.waitDisconnected(t, "drain-leaver", protocol.ReasonServerShuttingDown)
}
