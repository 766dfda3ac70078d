package baseline_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/bench/baseline"
	"github.com/cliser/cliser/protocol"
)

// Every invalid golden line, sent by a registered client, is answered with
// the close reason the codec names for it, and the registry records it.
func TestGoldenInvalidLinesAfterRegistration(t *testing.T) {
	ts := startServer(t, nil)
	n := 0
	for i, g := range protocol.GoldenLines {
		if g.Err == nil {
			continue
		}
		n++
		t.Run(g.Name, func(t *testing.T) {
			cid := fmt.Sprintf("golden-%d", i)
			c := ts.connect(t, cid)
			c.Send(g.Wire)
			want := protocol.ReasonFor(g.Err)
			c.expectClose(want)
			requireDisconnected(t, ts.reg, cid, want)
		})
	}
	require.NotZero(t, n, "the golden table has invalid lines")
}

// The same lines as the very first line of a connection.
func TestGoldenInvalidLinesBeforeHandshake(t *testing.T) {
	ts := startServer(t, nil)
	for _, g := range protocol.GoldenLines {
		if g.Err == nil {
			continue
		}
		t.Run(g.Name, func(t *testing.T) {
			c := dial(t, ts.srv.Addr())
			c.Send(g.Wire)
			c.Expect("110 password")
			c.expectClose(protocol.ReasonFor(g.Err))
		})
	}
}

// The valid golden lines a client may not send unasked are protocol errors
// for a registered client with nothing outstanding.
func TestUnaskedLinesAfterRegistration(t *testing.T) {
	ts := startServer(t, nil)
	for i, wire := range []string{"100 1\n", "130 ok\n", "110 " + testPassword + "\n", "120 again\n", "140 connected 1\n", "999 x\n", "130\n"} {
		t.Run(wire[:len(wire)-1], func(t *testing.T) {
			cid := fmt.Sprintf("unasked-%d", i)
			c := ts.connect(t, cid)
			c.Send(wire)
			c.expectClose(protocol.ReasonProtocolError)
			requireDisconnected(t, ts.reg, cid, protocol.ReasonProtocolError)
		})
	}
}

func TestKeepAliveOverSeveralIntervals(t *testing.T) {
	ts := startServer(t, func(cfg *baseline.Config) {
		cfg.KeepAliveInterval = 50 * time.Millisecond
		cfg.KeepAliveTimeout = ioTimeout
	})
	c := ts.connect(t, "alive")
	rec, _ := ts.reg.Get("alive")
	lastSeen := rec.LastSeen
	var prev uint64
	for i := range 6 {
		tok := c.expectKeepAlive()
		require.Greater(t, tok, prev, "keep-alive %d: tokens grow", i)
		prev = tok
		c.Send("100 " + formatToken(tok) + "\n")
		// Touch happens on the echo; the next keep-alive proves it was read.
	}
	c.expectKeepAlive()
	rec, _ = ts.reg.Get("alive")
	assert.True(t, rec.CStatus)
	assert.True(t, rec.LastSeen.After(lastSeen), "last_seen moves with each echo")
}

func TestKeepAliveErrors(t *testing.T) {
	// The timeout must outlast a bad echo's trip through a loaded,
	// race-built test: at 150 ms it once fired first ("190 keepalive
	// timeout" for the wrong token). The "no answer" case waits it out.
	ts := startServer(t, func(cfg *baseline.Config) {
		cfg.KeepAliveInterval = 50 * time.Millisecond
		cfg.KeepAliveTimeout = time.Second
	})
	tests := []struct {
		name  string
		reply func(tok uint64) string // "" sends nothing
		want  protocol.Reason
	}{
		{"no answer", func(uint64) string { return "" }, protocol.ReasonKeepaliveTimeout},
		{"wrong token", func(tok uint64) string { return "100 " + formatToken(tok+1) + "\n" }, protocol.ReasonProtocolError},
		{"leading zero", func(tok uint64) string { return "100 0" + formatToken(tok) + "\n" }, protocol.ReasonProtocolError},
		{"not a number", func(uint64) string { return "100 one\n" }, protocol.ReasonProtocolError},
		{"echo twice", func(tok uint64) string { t := formatToken(tok); return "100 " + t + "\n100 " + t + "\n" }, protocol.ReasonProtocolError},
		{"wrong code", func(tok uint64) string { return "120 " + formatToken(tok) + "\n" }, protocol.ReasonProtocolError},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cid := fmt.Sprintf("ka-%d", i)
			c := ts.connect(t, cid)
			tok := c.expectKeepAlive()
			if s := tt.reply(tok); s != "" {
				c.Send(s)
			}
			c.expectClose(tt.want)
			requireDisconnected(t, ts.reg, cid, tt.want)
		})
	}
}

func TestShutdownAckRecordsShutdown(t *testing.T) {
	ts := startServer(t, nil)
	c := ts.connect(t, "pos-0042")
	idle := dial(t, ts.srv.Addr())
	idle.Expect("110 password") // not registered: no 130 for it

	require.Equal(t, 1, ts.srv.ShutdownAll("maintenance window"))
	c.Expect("130 shutdown maintenance window")
	c.Send("130 ok\n")
	c.expectEOF() // shutdown is not a wire reason: no 190
	requireDisconnected(t, ts.reg, "pos-0042", protocol.ReasonShutdown)
	require.Zero(t, ts.srv.ShutdownAll(""), "nobody left to shut down")
}

func TestShutdownWithoutAckClosesAfterKeepAliveTimeout(t *testing.T) {
	ts := startServer(t, func(cfg *baseline.Config) {
		cfg.KeepAliveTimeout = 100 * time.Millisecond
	})
	c := ts.connect(t, "silent")
	require.Equal(t, 1, ts.srv.ShutdownAll("now"))
	require.Zero(t, ts.srv.ShutdownAll("again"), "one 130 per client")
	c.Expect("130 shutdown now")
	c.expectEOF() // no second 130, no 190: closed as ordered
	requireDisconnected(t, ts.reg, "silent", protocol.ReasonShutdown)
}

func TestShutdownThroughRegistryHandle(t *testing.T) {
	ts := startServer(t, nil)
	c := ts.connect(t, "handle")
	conn := ts.handle(t, "handle")
	require.NoError(t, conn.Shutdown("line\nbreak"))
	c.Expect("130 shutdown line break") // operator text made safe by the codec
	c.Send("130 ok\r\n")
	c.expectEOF()
	requireDisconnected(t, ts.reg, "handle", protocol.ReasonShutdown)
	// A command to a connection already gone does nothing.
	require.NoError(t, conn.Shutdown(""))
	require.NoError(t, conn.Close(protocol.ReasonKicked))
}

func TestShutdownThenKeepAliveStillWorks(t *testing.T) {
	ts := startServer(t, func(cfg *baseline.Config) {
		cfg.KeepAliveInterval = 50 * time.Millisecond
	})
	c := ts.connect(t, "busy")
	tok := c.expectKeepAlive()
	require.Equal(t, 1, ts.srv.ShutdownAll(""))
	c.Expect("130 shutdown")
	c.Send("100 " + formatToken(tok) + "\n130 ok\n")
	c.expectEOF()
	requireDisconnected(t, ts.reg, "busy", protocol.ReasonShutdown)
}

func TestKickThroughRegistryHandle(t *testing.T) {
	ts := startServer(t, nil)
	c := ts.connect(t, "kick-me")
	conn := ts.handle(t, "kick-me")
	require.NoError(t, conn.Close(protocol.ReasonKicked))
	c.expectClose(protocol.ReasonKicked)
	requireDisconnected(t, ts.reg, "kick-me", protocol.ReasonKicked)
}

func TestTakeoverNewestWins(t *testing.T) {
	ts := startServer(t, nil)
	old := dial(t, ts.srv.Addr())
	oldSID := old.Handshake(testPassword, "same")
	newer := dial(t, ts.srv.Addr())
	newSID := newer.Handshake(testPassword, "same")
	old.expectClose(protocol.ReasonReplaced)

	assert.NotEqual(t, oldSID, newSID, "sids rotate")
	rec, ok := ts.reg.Get("same")
	require.True(t, ok)
	assert.True(t, rec.CStatus, "the newer connection keeps the record")
	assert.Equal(t, newSID, rec.SID)
	assert.Equal(t, newer.localPort(), rec.CPort)
	connected, _ := ts.reg.Counts()
	assert.Equal(t, 1, connected)

	// The survivor is fully alive: it still answers to a shutdown.
	require.Equal(t, 1, ts.srv.ShutdownAll(""))
	newer.Expect("130 shutdown")
}

func TestConcurrentClientsGetUniqueSIDs(t *testing.T) {
	const clients = 200
	ts := startServer(t, nil)
	sids := make([]uint16, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			c := dial(t, ts.srv.Addr())
			c.Send("110 " + testPassword + "\n" + fmt.Sprintf("120 agent-%03d\n", i))
			c.Expect("110 password")
			c.Expect("120 id")
			sids[i] = c.ExpectConnected()
		})
	}
	wg.Wait()
	seen := make(map[uint16]int, clients)
	for i, sid := range sids {
		require.NotZero(t, sid)
		if j, dup := seen[sid]; dup {
			t.Fatalf("clients %d and %d share sid %d", j, i, sid)
		}
		seen[sid] = i
		rec, ok := ts.reg.Get(fmt.Sprintf("agent-%03d", i))
		require.True(t, ok)
		require.Equal(t, sid, rec.SID)
	}
	connected, total := ts.reg.Counts()
	require.Equal(t, clients, connected)
	require.Equal(t, clients, total)
	require.Equal(t, clients, ts.srv.ShutdownAll(""))
}

func TestStopSendsServerShuttingDown(t *testing.T) {
	ts := startServer(t, nil)
	var registered []*testClient
	for i := range 3 {
		c := ts.connect(t, fmt.Sprintf("stop-%d", i))
		registered = append(registered, c)
	}
	handshaking := dial(t, ts.srv.Addr())
	handshaking.Expect("110 password")

	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stopped <- ts.srv.Stop(ctx)
	}()
	for i, c := range registered {
		c.expectClose(protocol.ReasonServerShuttingDown)
		_ = c.Conn.Close()
		requireDisconnected(t, ts.reg, fmt.Sprintf("stop-%d", i), protocol.ReasonServerShuttingDown)
	}
	handshaking.expectClose(protocol.ReasonServerShuttingDown)
	_ = handshaking.Conn.Close()
	select {
	case err := <-stopped:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not return")
	}
	// The listener is closed: nobody new gets in.
	_, err := dialOnce(ts.srv.Addr())
	require.Error(t, err)
	require.Zero(t, ts.srv.ShutdownAll(""))
	require.NoError(t, ts.srv.Stop(context.Background()), "Stop twice is fine")
}

// A client that neither reads nor closes cannot hold Stop past its context.
func TestStopContextEndsLinger(t *testing.T) {
	ts := newServer(t, nil)
	c := ts.connect(t, "lingers")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := ts.srv.Stop(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	requireDisconnected(t, ts.reg, "lingers", protocol.ReasonServerShuttingDown)
	c.Expect("190 " + protocol.ReasonServerShuttingDown.String())
}
