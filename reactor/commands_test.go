package reactor

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
)

func TestShutdownOrderAckedRecordsShutdown(t *testing.T) {
	srv := startServer(t)
	c := srv.connect(t, "sd-1")
	conn := srv.handle(t, "sd-1")
	require.NoError(t, conn.Shutdown("maintenance window"))
	c.Expect("130 shutdown maintenance window")
	c.Send(protocol.ShutdownAck)
	c.ExpectClosed()
	srv.waitDisconnected(t, "sd-1", protocol.ReasonShutdown)
}

// A second order while the first is out sends nothing: one "130 ok"
// answers one order, and the first's text and timeout stand.
func TestSecondShutdownOrderWhileOneIsOutSendsNothing(t *testing.T) {
	obs := newCountingObserver()
	srv := startServer(t, WithObserver(obs), WithKeepAlive(time.Hour, time.Minute))
	c := srv.connect(t, "sd-twice")
	s := registeredSession(t, srv, "sd-twice")
	require.NoError(t, s.Shutdown("first"))
	c.Expect("130 shutdown first")
	require.NoError(t, s.Shutdown("second"))
	onLoopSync(t, s.lp, func() {}) // after the second order's task
	_, _, shutSent := obs.counts()
	assert.Equal(t, 1, shutSent)
	c.Send(protocol.ShutdownAck)
	c.ExpectClosed() // no "130 shutdown second" before the close
	srv.waitDisconnected(t, "sd-twice", protocol.ReasonShutdown)
}

func TestShutdownWithoutAckClosesAfterTimeout(t *testing.T) {
	srv := startServer(t, WithKeepAlive(time.Minute, 80*time.Millisecond))
	c := srv.connect(t, "sd-deaf")
	conn := srv.handle(t, "sd-deaf")
	require.NoError(t, conn.Shutdown(""))
	c.Expect("130 shutdown")
	c.ExpectClosed()
	r, _ := srv.reg.Get("sd-deaf")
	assert.Equal(t, protocol.ReasonShutdown, r.Reason)
}

func TestKickClosesWithReason(t *testing.T) {
	srv := startServer(t)
	c := srv.connect(t, "kick-1")
	conn := srv.handle(t, "kick-1")
	require.NoError(t, conn.Close(protocol.ReasonKicked))
	c.ExpectClosed(closeLine(protocol.ReasonKicked))
	srv.waitDisconnected(t, "kick-1", protocol.ReasonKicked)
}

// A command that reaches a connection already gone does nothing, even when
// the same client has registered again in between.
func TestLateCommandHitsNothing(t *testing.T) {
	srv := startServer(t)
	first := srv.connect(t, "late-1")
	stale := srv.handle(t, "late-1")
	_ = first.Conn.Close()
	eventually(t, func() bool { r, _ := srv.reg.Get("late-1"); return !r.CStatus }, "first gone")

	second := srv.connect(t, "late-1")
	require.NoError(t, stale.Close(protocol.ReasonKicked))
	// Had the stale handle reached the new connection, it would read
	// "190 kicked" here instead of its own shutdown order.
	fresh := srv.handle(t, "late-1")
	require.NoError(t, fresh.Shutdown(""))
	second.Expect("130 shutdown")
	second.Send(protocol.ShutdownAck)
	second.ExpectClosed()
	eventually(t, func() bool { r, _ := srv.reg.Get("late-1"); return !r.CStatus }, "second gone")
	r, _ := srv.reg.Get("late-1")
	assert.Equal(t, protocol.ReasonShutdown, r.Reason)
}

func TestStopTellsEveryClientAndRefusesNewOnes(t *testing.T) {
	srv := startServer(t)
	clients := make([]*testkit.RawClient, 5)
	for i := range clients {
		clients[i] = srv.dial(t)
		clients[i].Handshake(testPassword, "stop-"+itoa(i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, srv.Stop(ctx))
	for _, c := range clients {
		c.ExpectClosed(closeLine(protocol.ReasonServerShuttingDown))
	}
	for i := range clients {
		r, _ := srv.reg.Get("stop-" + itoa(i))
		assert.False(t, r.CStatus)
		assert.Equal(t, protocol.ReasonServerShuttingDown, r.Reason)
	}
	assert.False(t, srv.Ready())
}

func TestShutdownAllOneTaskPerLoop(t *testing.T) {
	srv := startServer(t, WithLoops(2))
	clients := make([]*testkit.RawClient, 6)
	for i := range clients {
		clients[i] = srv.dial(t)
		clients[i].Handshake(testPassword, "all-"+itoa(i))
	}
	half := srv.dial(t) // in its handshake: not ordered
	half.Expect("110 password")

	assert.Equal(t, len(clients), srv.ShutdownAll("fleet update"))
	assert.Zero(t, srv.ShutdownAll("again"), "an order is already pending for each")
	for _, c := range clients {
		c.Expect("130 shutdown fleet update")
		c.Send(protocol.ShutdownAck)
		c.ExpectClosed()
	}
	eventually(t, func() bool { n, _ := srv.reg.Counts(); return n == 0 }, "all acked and closed")
}

// An unanswered order closes its client after a keep-alive timeout
// (docs/protocol.md, reason `shutdown`: "or did not within the
// keep-alive timeout"), counted from the order. Found by a mutation
// audit: with the order's deadline three timeouts away every test still
// passed, as the one above only waits for the close.
func TestShutdownOrderDeadlineIsOneKeepAliveTimeout(t *testing.T) {
	const timeout = 2 * time.Minute
	srv := startServer(t, WithLoops(1), WithKeepAlive(time.Hour, timeout))
	c := srv.connect(t, "sd-deadline")
	s := registeredSession(t, srv, "sd-deadline")
	var before, after int64
	onLoopSync(t, s.lp, func() { before = s.lp.now() })
	require.NoError(t, s.Shutdown(""))
	c.Expect("130 shutdown")
	var due int64
	onLoopSync(t, s.lp, func() {
		after = s.lp.now()
		require.True(t, s.is(shutdownPending))
		due = s.lp.wheel.dueAt(s)
	})
	tick := int64(srv.opts.tick)
	assert.GreaterOrEqual(t, due, before+int64(timeout), "not before a timeout from the order")
	assert.LessOrEqual(t, due, after+int64(timeout)+tick, "one timeout from the order, rounded up to the tick")
}

// A client ordered down while a keep-alive of its is out, and silent
// since, is dead, not slow to ack: it gets "190 keepalive timeout" at
// that keep-alive's deadline. The order's deadline used to replace it,
// and the client went a timeout later, as "shutdown" (protocol audit).
func TestAnOrderLeavesTheKeepAliveOutItsDeadline(t *testing.T) {
	srv := startServer(t, WithLoops(1), WithKeepAlive(50*time.Millisecond, 2*time.Second))
	c := srv.connect(t, "sd-silent")
	s := registeredSession(t, srv, "sd-silent")
	line := c.ReadLine()
	require.True(t, strings.HasPrefix(line, "100 "), line)
	var sentAt int64
	onLoopSync(t, s.lp, func() { sentAt = s.sentAt })
	require.NoError(t, s.Shutdown(""))
	c.Expect("130 shutdown")
	var due int64
	onLoopSync(t, s.lp, func() { due = s.lp.wheel.dueAt(s) })
	assert.Less(t, due, sentAt+int64(2*time.Second)+int64(srv.opts.tick), "the keep-alive's deadline, not the order's")
	c.ExpectClosed(closeLine(protocol.ReasonKeepaliveTimeout))
	srv.waitDisconnected(t, "sd-silent", protocol.ReasonKeepaliveTimeout)
}

// Its echo after the order hands the session to the order's deadline: a
// timeout from the order, not from the echo.
func TestAnEchoAfterAnOrderKeepsTheOrdersDeadline(t *testing.T) {
	const timeout = 2 * time.Minute
	srv := startServer(t, WithLoops(1), WithKeepAlive(50*time.Millisecond, timeout))
	c := srv.connect(t, "sd-echo")
	s := registeredSession(t, srv, "sd-echo")
	line := c.ReadLine()
	require.True(t, strings.HasPrefix(line, "100 "), line)
	var before, after int64
	onLoopSync(t, s.lp, func() { before = s.lp.now() })
	require.NoError(t, s.Shutdown(""))
	c.Expect("130 shutdown")
	onLoopSync(t, s.lp, func() { after = s.lp.now() })
	time.Sleep(100 * time.Millisecond) // the echo comes well after the order
	c.Send(line + "\n")
	var due int64
	var keep bool
	eventually(t, func() bool {
		onLoopSync(t, s.lp, func() { keep, due = s.is(keepPending), s.lp.wheel.dueAt(s) })
		return !keep
	}, "the echo is read")
	tick := int64(srv.opts.tick)
	assert.GreaterOrEqual(t, due, before+int64(timeout), "not before a timeout from the order")
	assert.LessOrEqual(t, due, after+int64(timeout)+tick, "one timeout from the order, rounded up to the tick")
	onLoopSync(t, s.lp, func() { assert.Empty(t, s.lp.orderedAt) })
	c.Send(protocol.ShutdownAck)
	c.ExpectClosed()
	srv.waitDisconnected(t, "sd-echo", protocol.ReasonShutdown)
}
