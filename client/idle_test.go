package client

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/reactor"
	"github.com/cliser/cliser/registry"
)

// A server that registers the client and then says nothing more (a frozen
// process: the kernel still ACKs, so TCP sees nothing wrong) must not hold
// the client forever: IdleTimeout ends the session as a lost connection.
func TestConnIdleTimeoutEndsSessionWithSilentServer(t *testing.T) {
	sawClose := make(chan bool, 1)
	srv := newScriptedServer(t, afterHandshake("5", func(c *scriptConn) { sawClose <- c.waitEOF() }))
	cfg := testConfig(srv.addr())
	cfg.IdleTimeout = 200 * time.Millisecond
	conn := dialT(t, cfg)

	err := waitErr(t, conn)
	assert.ErrorIs(t, err, ErrServerSilent)
	assert.ErrorIs(t, err, ErrConnLost)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.Contains(t, err.Error(), "no line from the server for 200ms")
	assert.Contains(t, err.Error(), "no keep-alive came since the handshake", "the likely cause, named")
	assert.GreaterOrEqual(t, time.Since(conn.ConnectedAt()), cfg.IdleTimeout)
	assert.True(t, <-sawClose, "the client closed its end")
}

// A server that kept the session alive and then froze: the silence is
// the server's, not a keep-alive interval above the idle timeout.
func TestConnIdleTimeoutAfterKeepAlivesBlamesNoInterval(t *testing.T) {
	srv := newScriptedServer(t, afterHandshake("5", func(c *scriptConn) {
		if c.send("100 7\n") {
			c.readLine() // the echo
			c.waitEOF()
		}
	}))
	cfg := testConfig(srv.addr())
	cfg.IdleTimeout = 200 * time.Millisecond
	err := waitErr(t, dialT(t, cfg))
	assert.ErrorIs(t, err, ErrServerSilent)
	assert.NotContains(t, err.Error(), "no keep-alive came")
}

// A whole line restarts the idle clock, not a byte: a server that
// trickles a keep-alive a byte at a time and never ends it held the
// session until the line limit (512 bytes: at a byte every 119 s of the
// agent's 2m idle timeout, ~17 h). The trickle runs until the client
// closes; the session must end one idle timeout after the last whole line.
func TestConnIdleTimeoutIsNotKeptOffByATrickle(t *testing.T) {
	srv := newScriptedServer(t, afterHandshake("5", func(c *scriptConn) {
		if !c.send("100 1\n") || !c.send("100 ") {
			return
		}
		for c.send("7") {
			time.Sleep(20 * time.Millisecond)
		}
	}))
	cfg := testConfig(srv.addr())
	cfg.IdleTimeout = 300 * time.Millisecond
	conn := dialT(t, cfg)
	select {
	case <-conn.Done():
	case <-time.After(20 * cfg.IdleTimeout): // the trickle reaches the line limit after ~10 s
		t.Fatal("a trickle of bytes without a line kept the idle timeout off")
	}
	err := conn.Wait()
	assert.ErrorIs(t, err, ErrServerSilent)
	assert.NotContains(t, err.Error(), "no keep-alive came", "one came before the trickle")
}

// Each keep-alive restarts the idle clock: against the real server with
// keep-alives far more often than IdleTimeout, the session outlives many
// idle timeouts. The idle timeout is 20 keep-alive intervals: with 5, a
// loaded 2-core machine stalled the pair past it. What is checked is that
// the clock restarts, not how tight it may be.
func TestConnIdleTimeoutKeptOffByKeepAlives(t *testing.T) {
	reg := registry.New()
	srv := startReactor(t, reg, "127.0.0.1:0", reactor.WithKeepAlive(50*time.Millisecond, 5*time.Second))
	cfg := realConfig(srv.Addr(), "idle-1")
	cfg.IdleTimeout = time.Second
	conn := dialT(t, cfg)
	first, _ := reg.Get("idle-1")
	require.Eventually(t, func() bool {
		r, _ := reg.Get("idle-1")
		return r.LastSeen.Sub(first.LastSeen) >= 3*cfg.IdleTimeout
	}, 20*time.Second, 10*time.Millisecond)
	select {
	case <-conn.Done():
		t.Fatalf("session ended: %v", conn.Wait())
	default:
	}
}

// Run treats silence like a dropped connection: it dials again.
func TestRunReconnectsAfterServerGoesSilent(t *testing.T) {
	srv := newScriptedServer(t, afterHandshake("5", func(c *scriptConn) { c.waitEOF() }))
	cfg := testConfig(srv.addr())
	cfg.IdleTimeout = 100 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var l eventLog
	done := runAsync(ctx, cfg, Backoff{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond}, &l)
	require.Eventually(t, func() bool { return l.connected() >= 2 }, 5*time.Second, 5*time.Millisecond)
	for _, e := range l.All() {
		if d, ok := e.(Disconnected); ok {
			assert.ErrorIs(t, d.Err, ErrServerSilent)
			break
		}
	}
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
}
