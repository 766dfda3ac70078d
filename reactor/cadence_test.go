package reactor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// keepAliveTimes is each scheduled session's due (the start of its tick,
// what the wheel keeps) and last send, read on its loop: the due is the
// next send once the echo is in.
type keepAliveTimes struct{ due, sentAt int64 }

func scheduledTimes(t *testing.T, srv *testServer) (times []keepAliveTimes, pending int) {
	t.Helper()
	for _, lp := range srv.loopList() {
		done := make(chan struct{})
		err := lp.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
			defer close(done)
			lp.wheel.each(func(s *session) {
				if s.is(keepPending) {
					pending++
					return
				}
				times = append(times, keepAliveTimes{lp.wheel.dueAt(s), s.sentAt})
			})
			return nil
		}))
		require.NoError(t, err)
		<-done
	}
	return times, pending
}

// registerPipelined registers n clients <prefix>-<i>, each sending both
// answers in one write before reading the prompts, so that they register
// within a tick or two even on a loaded machine.
func registerPipelined(t *testing.T, srv *testServer, prefix string, n int) []*testkit.RawClient {
	t.Helper()
	clients := make([]*testkit.RawClient, n)
	for i := range clients {
		clients[i] = srv.dial(t)
		clients[i].Send(fmt.Sprintf("110 %s\n120 %s-%d\n", testPassword, prefix, i))
	}
	for _, c := range clients {
		c.Expect("110 password")
		c.Expect("120 id")
		c.ExpectConnected()
	}
	return clients
}

// The clients one wheel walk sends to are due again together, one
// interval after the walk, however long the walk spent writing: counted
// from each send's own instant they would drift apart and spread over
// more ticks, each one waking the loop.
func TestOneWalksKeepAlivesFallDueTogether(t *testing.T) {
	const interval, tick = 500 * time.Millisecond, 50 * time.Millisecond
	srv := startServer(t, WithLoops(1), WithKeepAlive(interval, 5*time.Second), WithTick(tick))
	// Pipelined: one connect after another spread the registrations over
	// more than three ticks on a loaded machine, which is not what this
	// test is about.
	clients := registerPipelined(t, srv, "walk", 40)
	// Their first dues count from their registrations' ticks: that many
	// walks send their first keep-alives, a few on a quiet machine, more on
	// a loaded one, and no more walks send any later ones.
	first, pending := scheduledTimes(t, srv)
	require.Zero(t, pending, "a keep-alive sent before every client was registered: the test needs them registered within an interval")
	registrationTicks := map[int64]bool{}
	for _, kt := range first {
		registrationTicks[kt.due] = true
	}
	for _, c := range clients {
		c.EchoKeepAlive()
	}
	var times []keepAliveTimes
	eventually(t, func() bool {
		times, pending = scheduledTimes(t, srv)
		return pending == 0 && len(times) == len(clients)
	}, "every echo in")

	sends, dues := map[int64]bool{}, map[int64]int{}
	for _, kt := range times {
		// The due is kept to its tick, rounded up: the walk it counts
		// from, a tick or less late.
		walk := kt.due - int64(interval)
		assert.LessOrEqual(t, walk-int64(tick), kt.sentAt, "the next send counts from no later than the send")
		assert.Less(t, kt.sentAt-walk, int64(interval)/10, "…and from the walk that sent it")
		sends[kt.sentAt] = true
		dues[kt.due]++
	}
	assert.Less(t, len(dues), len(sends), "clients sent in one walk share their next due: %d dues for %d send instants", len(dues), len(sends))
	assert.LessOrEqual(t, len(dues), len(registrationTicks), "40 clients registered at %d ticks are sent by no more walks", len(registrationTicks))
}

// A keep-alive sent late in a long walk is due again one interval after
// the walk began, not after its own send: otherwise every walk that spans
// a tick pushes its later clients a tick on, round after round. The walk
// is made long by hand (its start set five ticks back, on the loop): a
// real one writes that long only under a load no test can order.
func TestALongWalksLastKeepAliveCountsFromTheWalk(t *testing.T) {
	const interval, tick = 2 * time.Second, 10 * time.Millisecond
	srv := startServer(t, WithLoops(1), WithKeepAlive(interval, 10*time.Second), WithTick(tick))
	c := srv.dial(t)
	c.Register(testPassword, "late-in-walk")

	var walkAt, sentAt int64
	lp := srv.loopList()[0]
	done := make(chan struct{})
	require.NoError(t, lp.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
		defer close(done)
		lp.wheel.each(func(s *session) {
			if !s.sendsKeepAliveWhenDue() {
				return
			}
			lp.walkAt = lp.now() - 5*int64(tick)
			s.sendKeepAlive()
			walkAt, sentAt = lp.walkAt, s.sentAt
		})
		return nil
	})))
	<-done
	require.NotZero(t, sentAt, "no registered session to send to")
	c.EchoKeepAlive()

	var times []keepAliveTimes
	eventually(t, func() bool {
		var pending int
		times, pending = scheduledTimes(t, srv)
		return pending == 0 && len(times) == 1
	}, "the echo in")
	from := times[0].due - int64(interval)
	assert.GreaterOrEqual(t, from, walkAt, "the next send counts from the walk, rounded up to its tick")
	assert.Less(t, from, walkAt+int64(tick), "…not from the send %v after the walk began", time.Duration(sentAt-walkAt))
}

// A walk sends at most sendsPerWalk keep-alives and leaves the rest to the
// next tick: walks that merged could otherwise grow into one burst whose
// first clients' echoes wait for the whole of it.
func TestAWalkSendsABoundedBatch(t *testing.T) {
	// The bound is the larger of minWalkSends and four times the average
	// per tick, 4 × 192 × 250ms / 4s = 48 here: minWalkSends. With a 1 s
	// interval it was 192, and the test held only while the registrations
	// spread over more than one tick (a loaded machine once put 92 in one).
	const interval, tick = 4 * time.Second, 250 * time.Millisecond
	const n = 3 * minWalkSends
	srv := startServer(t, WithLoops(1), WithKeepAlive(interval, 20*time.Second), WithTick(tick))
	clients := registerPipelined(t, srv, "batch", n) // within a tick or two
	for _, c := range clients {
		c.EchoKeepAlive()
	}
	var times []keepAliveTimes
	eventually(t, func() bool {
		var pending int
		times, pending = scheduledTimes(t, srv)
		return pending == 0 && len(times) == n
	}, "every echo in")
	perWalk := map[int64]int{} // one walk's clients share their next due
	for _, kt := range times {
		perWalk[kt.due]++
	}
	for due, sent := range perWalk {
		assert.LessOrEqual(t, sent, minWalkSends, "the walk due at %d", due)
	}
}
