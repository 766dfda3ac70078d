package client

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// Tests from a mutation audit of Conn: each pins a rule a mutant broke
// with every other test passing.

// The handshake's deadline is lifted once the 140 is in: a session
// outlives HandshakeTimeout (with no IdleTimeout, which would reset the
// read deadline anyway). Left set, every session of an agent with
// --idle-timeout 0 ended HandshakeTimeout after it registered.
func TestSessionOutlivesTheHandshakeTimeout(t *testing.T) {
	const handshakeTimeout = 100 * time.Millisecond
	rounds := make(chan int, 1)
	srv := newScriptedServer(t, afterHandshake("4", func(c *scriptConn) {
		// Keep-alive rounds until four handshake timeouts have passed
		// since the 140 went out, so that three have since the client
		// took it in (which comes later: 299.4 ms of 300 once, at load
		// 5): each must be echoed.
		tick := time.NewTicker(handshakeTimeout / 10) // paces the rounds
		defer tick.Stop()
		n := 0
		for start := time.Now(); time.Since(start) < 4*handshakeTimeout; n++ {
			if !c.send("100 1\n") {
				break
			}
			if line, ok := c.readLine(); !ok || line != "100 1" {
				break
			}
			<-tick.C
		}
		rounds <- n
		c.waitEOF()
	}))
	cfg := testConfig(srv.addr())
	cfg.HandshakeTimeout = handshakeTimeout
	conn := dialT(t, cfg)
	n := <-rounds
	select {
	case <-conn.Done():
		t.Fatalf("the session ended after %d rounds: %v", n, conn.Wait())
	default:
	}
	assert.GreaterOrEqual(t, time.Since(conn.ConnectedAt()), 3*handshakeTimeout)
}

// A cancelled ctx ends the handshake at once, not when HandshakeTimeout
// would have: the cancel unblocks the read. The server holds the
// connection open and silent until the test ends.
func TestDialCancelUnblocksTheHandshakeAtOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	srv := newScriptedServer(t, func(c *scriptConn) {
		c.readLine()
		c.readLine()
		cancel() // the client now waits for the 140 that never comes
		<-release
	})
	t.Cleanup(func() { close(release) }) // before the server's stop
	cfg := testConfig(srv.addr())
	cfg.HandshakeTimeout = time.Minute
	done := make(chan error, 1)
	go func() {
		_, err := Dial(ctx, cfg)
		done <- err
	}()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, ErrHandshake)
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("the cancel did not end the handshake")
	}
}

// A server that sends and never reads (its process stuck, the kernel's
// buffers full) must not hold the reader in an echo's write for ever:
// WriteTimeout ends the session as lost. IdleTimeout cannot, the reader
// being in a write, not a read.
func TestWriteTimeoutEndsASessionWhoseServerDoesNotRead(t *testing.T) {
	srv := newScriptedServer(t, afterHandshake("8", func(c *scriptConn) {
		// Long keep-alives, written until the client is gone; their
		// echoes fill both ends' buffers, as nothing reads them.
		batch := []byte(strings.Repeat("100 "+strings.Repeat("7", 400)+"\n", 150))
		for {
			_ = c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.nc.Write(batch); err != nil {
				return
			}
		}
	}))
	cfg := testConfig(srv.addr())
	cfg.WriteTimeout = 200 * time.Millisecond
	err := waitErr(t, dialT(t, cfg))
	assert.ErrorIs(t, err, ErrConnLost)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded, "the write timed out")
}
