package events_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
)

// Tests found by a mutation audit of the stream backend: each names the
// mutant it kills.

// storedWithin waits until s has stored everything appended to it.
func storedWithin(t *testing.T, s *events.Stream) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.Eventually(t, func() bool { return s.Stored(ctx) == nil }, 10*time.Second, 5*time.Millisecond, "stored")
}

// A node that opens a stream others wrote knows its newest seq at once:
// Oldest asks NATS nothing (the webhook's lag reads it), so it goes by
// what the open read. Kills: OpenStream's s.n.advance(LastSeq) dropped
// (Oldest was 0 until something asked NATS).
func TestStreamOpenKnowsTheNewestSeq(t *testing.T) {
	nc, _ := testkit.JetStream(t, testkit.NATS(t).ClientURL())
	opts := []events.Option{events.WithRetention(10)}
	a := openStream(t, nc, opts)
	for i := range 15 {
		a.Append(events.Event{Type: events.TypeConnected, CID: fmt.Sprintf("c-%d", i)})
	}
	storedWithin(t, a)
	b := openStream(t, nc, opts)
	assert.Equal(t, uint64(6), b.Oldest(), "seqs 6..15 kept, known from the open")
}

// An event of no client (an IP ban) goes to <prefix>.=, as docs/events.md
// says, and a read of the no-client events finds it alone. Kills:
// subject's `cid == ""` branch dropped (the subject was "<prefix>.").
func TestStreamEventOfNoClientGoesToTheEqualsSubject(t *testing.T) {
	nc, js := testkit.JetStream(t, testkit.NATS(t).ClientURL())
	s := openStream(t, nc, nil)
	s.Append(events.Event{Type: events.TypeConnected, CID: "a"})
	s.Append(events.Event{Type: events.TypeConnected})
	storedWithin(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, events.DefaultStreamName)
	require.NoError(t, err)
	msg, err := st.GetLastMsgForSubject(ctx, events.DefaultSubjectPrefix+".=")
	require.NoError(t, err, "the event of no client under <prefix>.=")
	assert.Equal(t, uint64(2), msg.Sequence)
	evs, err := s.LatestCID(ctx, "", 10)
	require.NoError(t, err)
	require.Len(t, evs, 1)
	assert.Equal(t, uint64(2), evs[0].Seq)
}

// A stream closed while it follows deletes its tail's consumer: nc stays
// open (it is the node's), so nothing else would. Kills: close's
// stopTailLocked dropped.
func TestStreamCloseDeletesItsTail(t *testing.T) {
	nc, js := testkit.JetStream(t, testkit.NATS(t).ClientURL())
	s, err := events.OpenStream(nc, nil) // the default idle time: the tail outlives the test unless closed
	require.NoError(t, err)
	got := waiting(s, 0)
	waitConsumers(t, js, 1, "the Wait follows")
	s.Append(events.Event{Type: events.TypeConnected, CID: "a"})
	require.NoError(t, <-got)
	require.NoError(t, s.Close())
	waitConsumers(t, js, 0, "closed, the tail's consumer is deleted")
}

// A stream closed before its node's connection lets go of that
// connection: opened and closed again and again on one nc (a test, or a
// node's restart of its log) it leaves nothing running behind. Kills:
// writerConn.close's RemoveStatusListener dropped (each close left a
// goroutine waiting for nc's end).
func TestStreamCloseLeavesNothingOnTheNodesConnection(t *testing.T) {
	nc, _ := testkit.JetStream(t, testkit.NATS(t).ClientURL())
	cycle := func() {
		s, err := events.OpenStream(nc, nil)
		require.NoError(t, err)
		require.NoError(t, s.Close())
	}
	cycle()
	before := runtime.NumGoroutine()
	const cycles = 40
	for range cycles {
		cycle()
	}
	// The writers' connections end asynchronously: poll. One goroutine
	// left per cycle is the leak; a few of the last still ending are not.
	require.Eventually(t, func() bool { return runtime.NumGoroutine() < before+cycles/2 }, 10*time.Second, 10*time.Millisecond,
		"goroutines left after %d opens and closes", cycles)
}

// jsAPIRequests is how many JetStream API requests ns has served.
func jsAPIRequests(t *testing.T, ns *server.Server) uint64 {
	t.Helper()
	info, err := ns.Jsz(nil)
	require.NoError(t, err)
	return info.API.Total
}

// askedNATSNothing reports whether read, tried again for up to 2 s, once
// ran with no JetStream API request served meanwhile. The streams' own
// background requests land in between now and then (one did in a loaded
// CI run; another time five tries in a row met them, all within 40 ms); a
// read that asks NATS adds one every time.
func askedNATSNothing(t *testing.T, ns *server.Server, read func()) bool {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		before := jsAPIRequests(t, ns)
		read()
		if jsAPIRequests(t, ns) == before {
			return true
		}
		time.Sleep(10 * time.Millisecond) // let the background requests pass
	}
	return false
}

// A node that follows the stream answers its live readers from memory: a
// reader caught up with an empty stream, one that reads what the tail
// holds from its first event on, and one caught up at the newest cost no
// NATS request (that is what the tail is for: SSE, the webhook). Kills:
// Read's `after >= s.Newest()` as `>` (both places) and the cache's
// `after+1 >= cache[0].Seq` as `after >=` (each a fetch instead), and
// the page's bound `min(n, i+limit)` as `i+limit+1`.
func TestStreamFollowingReadsAskNATSNothing(t *testing.T) {
	ns := testkit.NATS(t)
	nc, _ := testkit.JetStream(t, ns.ClientURL())
	a, b := openStream(t, nc, nil), openStream(t, nc, nil)
	got := waiting(b, 0)
	ctx := context.Background()
	require.Eventually(t, func() bool { return b.Newest() == 0 && consumersOf(t, ns) == 1 }, 10*time.Second, 5*time.Millisecond, "b follows")

	assert.True(t, askedNATSNothing(t, ns, func() {
		evs, err := b.Read(ctx, 0, 10)
		require.NoError(t, err)
		assert.Empty(t, evs)
	}), "a reader caught up with the empty stream")

	for i := range 3 {
		a.Append(events.Event{Type: events.TypeConnected, CID: fmt.Sprintf("c-%d", i)})
	}
	require.NoError(t, <-got)
	require.Eventually(t, func() bool { // the tail holds all three
		evs, err := b.Read(ctx, 2, 10)
		return err == nil && len(evs) == 1
	}, 10*time.Second, 5*time.Millisecond)
	assert.True(t, askedNATSNothing(t, ns, func() {
		evs, err := b.Read(ctx, 0, 10)
		require.NoError(t, err)
		assert.Len(t, evs, 3)
		evs, err = b.Read(ctx, 3, 10)
		require.NoError(t, err)
		assert.Empty(t, evs)
	}), "reads from the tail's first event and at the newest")
	evs, err := b.Read(ctx, 0, 2)
	require.NoError(t, err)
	assert.Len(t, evs, 2, "a page from memory is limit long")
}

// consumersOf is how many consumers ns holds (a following node holds one).
func consumersOf(t *testing.T, ns *server.Server) int {
	t.Helper()
	info, err := ns.Jsz(nil)
	require.NoError(t, err)
	return info.Consumers
}

// A node that follows the stream answers 410 for what the stream dropped,
// though its memory still holds it: the stream keeps its MaxMsgs newest,
// on every node alike. Kills: Read's `goneBefore(after, newest-keep+1)`
// as `newest-keep` (event 2, dropped by the stream, was served from the
// tail's memory).
func TestStreamFollowingNodeAnswersGoneForWhatTheStreamDropped(t *testing.T) {
	ns := testkit.NATS(t)
	nc, _ := testkit.JetStream(t, ns.ClientURL())
	s := openStream(t, nc, []events.Option{events.WithRetention(10)})
	got := waiting(s, 0)
	require.Eventually(t, func() bool { return consumersOf(t, ns) == 1 }, 10*time.Second, 5*time.Millisecond,
		"the tail runs before the first event: it holds every one from seq 1")
	ctx := context.Background()
	tailHas := func(seq uint64) {
		require.Eventually(t, func() bool {
			evs, err := s.Read(ctx, seq-1, 10)
			return err == nil && len(evs) == 1
		}, 10*time.Second, 5*time.Millisecond, "the tail has seq %d", seq)
	}
	for i := range 12 {
		s.Append(events.Event{Type: events.TypeConnected, CID: fmt.Sprintf("c-%d", i)})
		if i == 9 { // the tail takes 1..10 before the stream drops any
			require.NoError(t, <-got)
			tailHas(10)
		}
	}
	tailHas(12)
	evs, err := s.Read(ctx, 1, 100)
	var gone *events.GoneError
	require.ErrorAs(t, err, &gone, "seqs 3..12 kept; read: %v", evs)
	assert.Equal(t, uint64(3), gone.Oldest)
	evs, err = s.Read(ctx, 2, 100)
	require.NoError(t, err)
	assert.Len(t, evs, 10)
}

// A read with NATS away answers ErrUnavailable at once, not after its
// 3 s timeout (an admin client waits 5 s, and a Newest for a scrape 1 s).
// Kills: connected()'s status check dropped.
func TestStreamReadWithNATSAwayIsUnavailableAtOnce(t *testing.T) {
	ns := testkit.NATS(t)
	nc, _ := testkit.JetStream(t, ns.ClientURL())
	s := openStream(t, nc, nil)
	ns.Shutdown()
	require.Eventually(t, func() bool { return !nc.IsConnected() }, 10*time.Second, 5*time.Millisecond)
	start := time.Now()
	_, err := s.Read(context.Background(), 0, 10)
	require.ErrorIs(t, err, events.ErrUnavailable)
	assert.Less(t, time.Since(start), 2*time.Second, "at once, not after the read's timeout")
}

// Events published one at a time are counted as stored one by one:
// cliser_events_total counts each, and cliser_events_queued falls back to
// 0. Kills: the writer's `sent > 0` as `sent > 1` (a batch of one was
// neither counted nor taken off the queued gauge).
func TestStreamCountsEventsPublishedOneAtATime(t *testing.T) {
	nc, _ := testkit.JetStream(t, testkit.NATS(t).ClientURL())
	s := openStream(t, nc, nil)
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.Collectors()...)
	for i := range 2 {
		s.Append(events.Event{Type: events.TypeConnected, CID: fmt.Sprintf("c-%d", i)})
		storedWithin(t, s) // a batch of one each
	}
	require.Eventually(t, func() bool {
		return testkit.GatheredFrom(t, reg, events.MetricEvents, events.TypeConnected) == 2 &&
			testkit.GatheredFrom(t, reg, events.MetricQueued, "") == 0
	}, 10*time.Second, 5*time.Millisecond, "each stored event counted, none left queued")
}
