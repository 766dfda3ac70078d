package webhook

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
)

// appendAt appends client.connected events happened at the given times
// (a backlog's old ones, or a peer's whose clock is ahead) and waits
// until the log has them.
func appendAt(t *testing.T, l *events.Log, at ...time.Time) {
	t.Helper()
	want := l.Newest() + uint64(len(at))
	for _, when := range at {
		require.True(t, l.Append(events.Event{Type: events.TypeConnected, CID: "dev", Node: "n1", Time: when}))
	}
	eventually(t, func() bool { return l.Newest() >= want }, "appended")
}

// A batch that is not full goes linger after its OLDEST event: a
// backlog's old events go at once, even when a fresh one joins them. A
// mutation audit found the bound changeable to the newest event's time,
// or to our clock alone, with every test passing: the backlog then
// waited a whole linger (here a minute).
func TestABacklogsOldEventsGoAtOnce(t *testing.T) {
	l, dir := tempLog(t)
	rc := newReceiver(t, nil)
	c := openCursor(t, dir, rc.srv.URL)
	require.NoError(t, c.Save(t.Context(), State{Acked: 0})) // configured before the events
	hourAgo := time.Now().Add(-time.Hour)
	appendAt(t, l, hourAgo, hourAgo, time.Now())
	startDeliverer(t, rc.srv.URL, l, c, WithBatch(100), WithLinger(time.Minute))
	eventually(t, func() bool { return len(rc.requests()) >= 1 }, "the backlog went without waiting the minute's linger")
	require.Equal(t, []uint64{1, 2, 3}, seqsOf(rc.requests(), all))
}

// Our clock bounds the linger too: events from a node whose clock is an
// hour ahead go linger after we read them, not an hour later.
func TestEventsFromAClockAheadWaitOnlyTheLinger(t *testing.T) {
	l, dir := tempLog(t)
	rc := newReceiver(t, nil)
	r := startDeliverer(t, rc.srv.URL, l, openCursor(t, dir, rc.srv.URL), WithBatch(100), WithLinger(50*time.Millisecond))
	eventually(t, r.d.Delivering, "delivering")
	inAnHour := time.Now().Add(time.Hour)
	appendAt(t, l, inAnHour, inAnHour)
	eventually(t, func() bool { return len(seqsOf(rc.requests(), all)) >= 2 }, "sent after the linger, not an hour later")
	require.Equal(t, []uint64{1, 2}, seqsOf(rc.requests(), all))
}

// lingerSpy is the real log, telling when delivery waits out a linger
// (a Wait under a deadline): the moment a short batch was read. With
// hold set, the wait begins only once hold is closed.
type lingerSpy struct {
	*events.Log
	lingering chan struct{}
	hold      chan struct{}
	release   sync.Once
}

// goOn lets a held linger begin.
func (s *lingerSpy) goOn() { s.release.Do(func() { close(s.hold) }) }

func (s *lingerSpy) Wait(ctx context.Context, after uint64) error {
	if _, ok := ctx.Deadline(); ok {
		select {
		case s.lingering <- struct{}{}:
		default:
		}
		if s.hold != nil {
			<-s.hold
		}
	}
	return s.Log.Wait(ctx, after)
}

// lingered waits until the deliverer lingers over a short batch.
func (s *lingerSpy) lingered(t *testing.T) {
	t.Helper()
	select {
	case <-s.lingering:
	case <-time.After(20 * time.Second):
		t.Fatal("the short batch did not linger")
	}
}

// A short batch that becomes full while it lingers goes at once, full:
// the batch's last seq is waited for, not one more. A mutation audit
// found the seq waited for changeable to one past the batch with every
// test passing; the full batch then waited out the linger (here a minute).
func TestABatchFilledWhileItLingersGoesAtOnce(t *testing.T) {
	l, dir := tempLog(t)
	spy := &lingerSpy{Log: l, lingering: make(chan struct{}, 1)}
	rc := newReceiver(t, nil)
	r := startDeliverer(t, rc.srv.URL, spy, openCursor(t, dir, rc.srv.URL), WithBatch(5), WithLinger(time.Minute))
	eventually(t, r.d.Delivering, "delivering")
	appendN(t, l, 1)
	spy.lingered(t)
	appendN(t, l, 4)
	eventually(t, func() bool { return len(rc.requests()) >= 1 }, "the batch went once full, not after the minute")
	require.Equal(t, seqRange(1, 5), seqsOf(rc.requests(), all))
}

// What a lingering batch gathers stops at the batch size: events past it
// go in the next request. A mutation audit found the second read's limit
// changeable to a whole batch more with every test passing: a batch of 5
// went out with 10 events.
func TestALingeringBatchGathersNoMoreThanTheBatchSize(t *testing.T) {
	l, dir := tempLog(t)
	spy := &lingerSpy{Log: l, lingering: make(chan struct{}, 1), hold: make(chan struct{})}
	rc := newReceiver(t, nil)
	r := startDeliverer(t, rc.srv.URL, spy, openCursor(t, dir, rc.srv.URL), WithBatch(5), WithLinger(time.Minute))
	t.Cleanup(spy.goOn) // before the deliverer's stop, should the test fail first
	eventually(t, r.d.Delivering, "delivering")
	appendN(t, l, 1)
	spy.lingered(t)
	appendN(t, l, 9) // while the batch of one lingers: ten in the log
	spy.goOn()
	eventually(t, func() bool { return len(rc.requests()) >= 1 }, "the first batch sent")
	require.Equal(t, seqRange(1, 5), seqsOf(rc.requests()[:1], all), "the first request is the batch's 5")
	eventually(t, func() bool { return len(seqsOf(rc.requests(), all)) >= 10 }, "all ten sent")
	reqs := rc.requests()
	require.Len(t, reqs, 2)
	require.Equal(t, seqRange(6, 10), seqsOf(reqs[1:], all))
}
