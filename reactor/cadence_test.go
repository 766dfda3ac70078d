package reactor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// keepAliveTimes is each scheduled session's due and last send, read on
// its loop: the due is the next send once the echo is in.
type keepAliveTimes struct{ due, sentAt int64 }

func scheduledTimes(t *testing.T, srv *testServer) (times []keepAliveTimes, pending int) {
	t.Helper()
	for _, lp := range srv.loopList() {
		done := make(chan struct{})
		err := lp.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
			defer close(done)
			lp.wheel.each(func(s *session) {
				if s.keepPending {
					pending++
					return
				}
				times = append(times, keepAliveTimes{s.due, s.sentAt})
			})
			return nil
		}))
		require.NoError(t, err)
		<-done
	}
	return times, pending
}

// The clients one wheel walk sends to are due again together, one
// interval after the walk, however long the walk spent writing: counted
// from each send's own instant they would drift apart and spread over
// more ticks, each one waking the loop.
func TestOneWalksKeepAlivesFallDueTogether(t *testing.T) {
	const interval, tick = 500 * time.Millisecond, 50 * time.Millisecond
	srv := startServer(t, WithLoops(1), WithKeepAlive(interval, 5*time.Second), WithTick(tick))
	clients := make([]interface{ EchoKeepAlive() string }, 40)
	for i := range clients {
		clients[i] = srv.connect(t, fmt.Sprintf("walk-%d", i))
	}
	for _, c := range clients { // registered within a tick or two: a walk or two sends them all
		c.EchoKeepAlive()
	}
	var times []keepAliveTimes
	eventually(t, func() bool {
		var pending int
		times, pending = scheduledTimes(t, srv)
		return pending == 0 && len(times) == len(clients)
	}, "every echo in")

	sends, dues := map[int64]bool{}, map[int64]int{}
	for _, kt := range times {
		walk := kt.due - int64(interval)
		assert.LessOrEqual(t, walk, kt.sentAt, "the next send counts from no later than the send")
		assert.Less(t, kt.sentAt-walk, int64(interval)/10, "…and from the walk that sent it")
		sends[kt.sentAt] = true
		dues[kt.due]++
	}
	assert.Less(t, len(dues), len(sends), "clients sent in one walk share their next due: %d dues for %d send instants", len(dues), len(sends))
	assert.LessOrEqual(t, len(dues), 3, "40 clients registered within a few ticks are sent by a few walks")
}
