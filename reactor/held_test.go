package reactor

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
)

// Every client of a broadcast that acks is closed, with reason shutdown,
// and no order is left counted as out.
func TestBroadcastAcksAreAllClosedAsShutdown(t *testing.T) {
	srv := startServer(t, WithLoops(2))
	clients := make([]*testkit.RawClient, 100)
	for i := range clients {
		clients[i] = srv.connect(t, "held-"+itoa(i))
	}
	require.Equal(t, len(clients), srv.ShutdownAll("fleet update"))
	for _, c := range clients {
		c.Expect("130 shutdown fleet update")
		c.Send(protocol.ShutdownAck)
	}
	for _, c := range clients {
		c.ExpectClosed()
	}
	for i := range clients {
		srv.waitDisconnected(t, "held-"+itoa(i), protocol.ReasonShutdown)
	}
	assert.Zero(t, srv.ordersOut.Load())
}

// An acked client's close is held while another's order is out, until
// the loop has read no ack for ackQuiet, and never past ackHold from the
// first held; it goes with the ack that leaves no order out, and the
// loop then asks no walk of the ticker. The tick is an hour, so no walk
// closes anything. Found by mutation: the
// quiet time, the cap, and a release time kept after the list emptied
// (the ticker woke the loop every tick from then on) all passed.
func TestAckedCloseHeldWhileAnOrderIsOut(t *testing.T) {
	srv := startServer(t, WithLoops(1), WithTick(time.Hour))
	a := srv.connect(t, "held-a")
	b := srv.connect(t, "held-b")
	c := srv.connect(t, "held-c")
	sa := registeredSession(t, srv, "held-a")
	sc := registeredSession(t, srv, "held-c")
	lp := sa.lp
	require.Equal(t, 3, srv.ShutdownAll(""))
	for _, rc := range []*testkit.RawClient{a, b, c} {
		rc.Expect("130 shutdown")
	}
	a.Send(protocol.ShutdownAck)
	waitOnLoop(t, lp, func() bool { return sa.state == acked }, "a's ack read")

	onLoopSync(t, lp, func() {
		at := lp.releaseAt.Load()
		assert.Len(t, lp.held, 1)
		// docs/protocol.md: "read no ack for 100 ms, or 1 s after the first ack it held".
		assert.Equal(t, int64(100*time.Millisecond), at-lp.holdSince, "the first ack is held for the quiet time")
		assert.False(t, lp.heldDue(at-1), "b's order is out and the hold has time left")
		assert.True(t, lp.heldDue(at), "the hold runs out")
		lp.holdSince -= int64(time.Second) // as if a had been held a second
	})
	c.Send(protocol.ShutdownAck)
	waitOnLoop(t, lp, func() bool { return sc.state == acked }, "c's ack read")
	onLoopSync(t, lp, func() {
		assert.Equal(t, lp.holdSince+int64(time.Second), lp.releaseAt.Load(), "acks read since do not hold a past its cap")
	})
	assert.Equal(t, int64(1), srv.ordersOut.Load(), "b's order")

	b.Send(protocol.ShutdownAck)
	waitOnLoop(t, lp, func() bool { return len(lp.held) == 0 }, "no order out: the last ack closed the held at once")
	onLoopSync(t, lp, func() {
		assert.False(t, lp.heldDue(math.MaxInt64), "nothing held: the ticker has no walk to ask for")
	})
	for _, rc := range []*testkit.RawClient{a, b, c} {
		rc.ExpectClosed()
	}
	for _, cid := range []string{"held-a", "held-b", "held-c"} {
		srv.waitDisconnected(t, cid, protocol.ReasonShutdown)
	}
}

// Stop closes a held client as its ack asked (no 190, reason shutdown),
// and tells one whose order is still out that the server is going.
func TestStopClosesHeldClientsAsShutdown(t *testing.T) {
	srv := startServer(t, WithLoops(1), WithTick(time.Hour))
	a := srv.connect(t, "stop-held")
	b := srv.connect(t, "stop-deaf")
	sa := registeredSession(t, srv, "stop-held")
	require.Equal(t, 2, srv.ShutdownAll(""))
	a.Expect("130 shutdown")
	b.Expect("130 shutdown")
	a.Send(protocol.ShutdownAck)
	waitOnLoop(t, sa.lp, func() bool { return sa.state == acked }, "a's ack read")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, srv.Stop(ctx))
	a.ExpectClosed()
	b.ExpectClosed(closeLine(protocol.ReasonServerShuttingDown))
	srv.waitDisconnected(t, "stop-held", protocol.ReasonShutdown)
	srv.waitDisconnected(t, "stop-deaf", protocol.ReasonServerShuttingDown)
}

// What a client sends after its "130 ok" is not read: it is closed as
// shutdown, not as a protocol error.
func TestLinesAfterTheAckAreIgnored(t *testing.T) {
	srv := startServer(t)
	c := srv.connect(t, "held-chatty")
	require.Equal(t, 1, srv.ShutdownAll(""))
	c.Expect("130 shutdown")
	c.Send(protocol.ShutdownAck + "not a line the server reads\n")
	c.ExpectClosed()
	srv.waitDisconnected(t, "held-chatty", protocol.ReasonShutdown)
}

// An order is out until it is acked or its connection closes: by the
// order's timeout, or by the client.
func TestOrdersOutCountsUnansweredOrders(t *testing.T) {
	srv := startServer(t, WithLoops(1), WithKeepAlive(time.Minute, 200*time.Millisecond))
	deaf := srv.connect(t, "out-deaf")
	gone := srv.connect(t, "out-gone")
	require.Equal(t, 2, srv.ShutdownAll(""))
	deaf.Expect("130 shutdown")
	gone.Expect("130 shutdown")
	assert.Equal(t, int64(2), srv.ordersOut.Load())

	require.NoError(t, gone.Conn.Close())
	srv.waitDisconnected(t, "out-gone", protocol.ReasonClosedByClient)
	assert.Equal(t, int64(1), srv.ordersOut.Load(), "the deaf client's order")
	deaf.ExpectClosed()
	srv.waitDisconnected(t, "out-deaf", protocol.ReasonShutdown)
	assert.Zero(t, srv.ordersOut.Load())
}

// waitOnLoop polls cond on lp's loop until it holds.
func waitOnLoop(t *testing.T, lp *loop, cond func() bool, msg string) {
	t.Helper()
	eventually(t, func() bool {
		var ok bool
		onLoopSync(t, lp, func() { ok = cond() })
		return ok
	}, msg)
}

// A walk closes an eighth of what the first due walk found held, and at
// least minWalkSends: a fleet's closes take nine walks at most.
func TestCloseShareIsAnEighthOfTheHeld(t *testing.T) {
	for held, want := range map[int]int{1: minWalkSends, 512: minWalkSends, 9500: 1188} {
		lp := &loop{held: make([]*session, held)}
		assert.Equal(t, want, lp.closeShare(), "%d held", held)
		lp.held = lp.held[:held/2]
		assert.Equal(t, want, lp.closeShare(), "the share stays until the list is empty")
	}
}

// With no other order out, the close that answers a "130 ok" goes at
// once: the session is never seen acked and held. It waited for the
// ticker's next walk, up to its idle tick (100 ms, protocol audit).
func TestTheLastAckIsClosedAtOnce(t *testing.T) {
	srv := startServer(t, WithLoops(1), WithKeepAlive(time.Hour, time.Second))
	for i := range 3 {
		cid := fmt.Sprintf("sd-alone-%d", i)
		c := srv.connect(t, cid)
		s := registeredSession(t, srv, cid)
		require.NoError(t, s.Shutdown(""))
		c.Expect("130 shutdown")
		c.Send(protocol.ShutdownAck)
		var st state
		eventually(t, func() bool {
			onLoopSync(t, s.lp, func() { st = s.state })
			return st != registered
		}, "the ack is read")
		assert.NotEqual(t, acked, st, "%s held after the last ack", cid)
		c.ExpectClosed()
		srv.waitDisconnected(t, cid, protocol.ReasonShutdown)
	}
}
