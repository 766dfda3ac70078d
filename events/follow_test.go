package events_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
)

// streamState is the NATS server's state of the events stream.
func streamState(t *testing.T, js jetstream.JetStream) jetstream.StreamState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, events.DefaultStreamName)
	require.NoError(t, err)
	info, err := st.Info(ctx)
	require.NoError(t, err)
	return info.State
}

// consumers is how many consumers the NATS server holds on the events
// stream: a node that follows the stream holds one.
func consumers(t *testing.T, js jetstream.JetStream) int {
	return streamState(t, js).Consumers
}

func waitConsumers(t *testing.T, js jetstream.JetStream, want int, why string) {
	t.Helper()
	require.Eventually(t, func() bool { return consumers(t, js) == want }, 15*time.Second, 5*time.Millisecond,
		"%s: want %d consumers on the stream", why, want)
}

// A node follows the stream only while something reads live events: with
// no reader it holds no consumer, yet its Newest, Read and ReadCID answer
// what the other node published; a Wait starts the tail, the event it
// waits for wakes it, and once idle the consumer is deleted again.
func TestStreamFollowsOnlyWhileRead(t *testing.T) {
	nc, js := testkit.JetStream(t, testkit.NATS(t).ClientURL())
	open := func() *events.Stream { return openStream(t, nc, nil, events.WithTailIdle(200*time.Millisecond)) }
	a, b := open(), open()
	for i := range 5 {
		a.Append(events.Event{Type: events.TypeConnected, CID: fmt.Sprintf("c-%d", i%2), Node: "a"})
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(b.Collectors()...)
	require.Eventually(t, func() bool { return testkit.GatheredFrom(t, reg, events.MetricNewestSeq, "") == 5 }, 15*time.Second, 5*time.Millisecond,
		"the newest-seq gauge of a node that does not follow asks the stream")
	assert.Equal(t, uint64(5), b.Newest())
	assert.Equal(t, 0, consumers(t, js), "no live reader, no tail: nothing delivers each event to the nodes")
	ctx := context.Background()
	page, err := b.Read(ctx, 0, 100)
	require.NoError(t, err)
	require.Len(t, page, 5, "reads fetch from the stream")
	mine, err := b.ReadCID(ctx, "c-1", 0, 100)
	require.NoError(t, err)
	assert.Len(t, mine, 2)
	waitConsumers(t, js, 0, "the reads' short-lived consumers are deleted")

	got := make(chan error, 1)
	go func() {
		wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		got <- b.Wait(wctx, 5)
	}()
	waitConsumers(t, js, 1, "a Wait makes the node follow")
	a.Append(events.Event{Type: events.TypeDisconnected, CID: "c-0", Node: "a"})
	require.NoError(t, <-got, "the tail wakes the waiter")
	page, err = b.Read(ctx, 5, 100)
	require.NoError(t, err)
	require.Len(t, page, 1)
	assert.Equal(t, uint64(6), page[0].Seq)
	assert.Equal(t, uint64(6), b.Newest())

	waitConsumers(t, js, 0, "idle for longer than the idle time, the tail stops")
	a.Append(events.Event{Type: events.TypeConnected, CID: "c-2", Node: "a"})
	require.Eventually(t, func() bool { return b.Newest() == 7 }, 15*time.Second, 5*time.Millisecond)
	page, err = b.Read(ctx, 5, 100)
	require.NoError(t, err)
	require.Len(t, page, 2, "after the tail stopped, reads fetch again")
	assert.Equal(t, []uint64{6, 7}, []uint64{page[0].Seq, page[1].Seq})
}

// A live reader (Wait, then Read from where it was: what SSE and the
// webhook do) that pauses longer than the idle time between rounds, so
// that the tail stops and starts again under it, still sees every event
// of the other node once, in order.
func TestStreamLiveReaderAcrossTailRestarts(t *testing.T) {
	nc, _ := testkit.JetStream(t, testkit.NATS(t).ClientURL())
	open := func() *events.Stream { return openStream(t, nc, nil, events.WithTailIdle(30*time.Millisecond)) }
	a, b := open(), open()
	const total = 600
	go func() {
		for i := range total {
			a.Append(events.Event{Type: events.TypeConnected, CID: fmt.Sprintf("c-%d", i), Node: "a"})
			if i%50 == 49 {
				time.Sleep(40 * time.Millisecond) // bursts, with pauses past the idle time
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var seqs []uint64
	for after, round := uint64(0), 0; after < total; round++ {
		require.NoError(t, b.Wait(ctx, after), "waiting after %d", after)
		page, err := b.Read(ctx, after, 37)
		require.NoError(t, err)
		for _, ev := range page {
			seqs = append(seqs, ev.Seq)
			after = ev.Seq
		}
		if round%5 == 4 {
			time.Sleep(60 * time.Millisecond) // the tail goes idle and stops
		}
	}
	require.Len(t, seqs, total)
	for i, seq := range seqs {
		require.Equal(t, uint64(i+1), seq, "every event once, in order")
	}
}

// A stream closed while a live reader tries to follow it with NATS away:
// the close does not wait on the reader's start (it held the tail's lock
// through its 5 s request, and a stop out of time waited with it, 1 CI
// run in 10), and the reader ends with ErrClosed rather than retrying
// until its own context ends.
func TestStreamCloseEndsAFollowInFlight(t *testing.T) {
	ns := testkit.NATS(t)
	nc, _ := testkit.JetStream(t, ns.ClientURL())
	s, err := events.OpenStream(nc, nil)
	require.NoError(t, err)
	ns.Shutdown()
	ns.WaitForShutdown()
	waited := make(chan error, 1)
	go func() { waited <- s.Wait(context.Background(), 1<<40) }()
	require.Eventually(t, func() bool { return !nc.IsConnected() }, 10*time.Second, 10*time.Millisecond)

	out, stop := context.WithCancel(context.Background())
	stop()
	t0 := time.Now()
	_ = s.CloseWithin(out)
	assert.Less(t, time.Since(t0), 2*time.Second, "the close waited on a follow's request to the NATS that is away")
	select {
	case err := <-waited:
		require.ErrorIs(t, err, events.ErrClosed)
	case <-time.After(10 * time.Second):
		t.Fatal("a live reader of a closed stream still waits")
	}
}
