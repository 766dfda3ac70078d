package events_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
)

// A node stopped while NATS is away lost its queued events (exit 1). With
// a spill file the stop keeps them there, and the next open publishes
// them first, under the ids and times they had, and removes the file.
func TestStreamSpillKeepsWhatNATSDidNotTakeForTheNextStart(t *testing.T) {
	natsDir := t.TempDir()
	spill := filepath.Join(t.TempDir(), "data", events.SpillFile("node a.1"))
	ns := testkit.NATSAt(t, natsDir, -1)
	port := ns.Addr().(*net.TCPAddr).Port
	nc, _ := testkit.JetStream(t, ns.ClientURL())
	s, err := events.OpenStream(nc, nil, events.WithSpill(spill))
	require.NoError(t, err)
	require.True(t, s.Append(events.Event{Type: events.TypeConnected, CID: "before"}))
	// Acknowledged to the writer, not only in the stream: seen there
	// (Newest) before its ack was read, it was put back when NATS went,
	// and kept in the file too (once, under load).
	stored, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	require.NoError(t, s.Stored(stored))
	cancel()

	ns.Shutdown()
	ns.WaitForShutdown()
	for i := range 10 {
		require.True(t, s.Append(events.Event{Type: events.TypeConnected, CID: fmt.Sprintf("away-%d", i)}))
	}
	require.Eventually(t, func() bool { return s.Healthy() != nil }, 10*time.Second, 10*time.Millisecond, "publishing fails")
	require.NoError(t, s.Close(), "kept, not lost")
	nc.Close() // the process ends with its stop, and so does the connection
	b, err := os.ReadFile(spill)
	require.NoError(t, err)
	require.Len(t, strings.Split(strings.TrimSuffix(string(b), "\n"), "\n"), 10, "%s", b)

	ns = testkit.NATSAt(t, natsDir, port)
	nc2, _ := testkit.JetStream(t, ns.ClientURL())
	core, logs := observer.New(zap.InfoLevel)
	s2, err := events.OpenStream(nc2, []events.Option{events.WithLogger(zap.New(core))}, events.WithSpill(spill))
	require.NoError(t, err)
	defer s2.Close()
	s2.ReleaseSpill(nil)
	require.True(t, s2.Append(events.Event{Type: events.TypeConnected, CID: "after"}))
	require.Eventually(t, func() bool { return s2.Newest() == 12 }, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { _, err := os.Stat(spill); return os.IsNotExist(err) }, 10*time.Second, 10*time.Millisecond,
		"removed once published")
	assert.Equal(t, 1, logs.FilterMessageSnippet("publishing the events the last stop kept").Len())

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := s2.Read(ctx, 0, 100)
	require.NoError(t, err)
	require.Len(t, got, 12)
	kept := strings.Split(string(b), "\n")
	for i, ev := range got {
		want := map[bool]string{true: "before", false: "after"}[i == 0]
		if i > 0 && i < 11 {
			want = fmt.Sprintf("away-%d", i-1)
			assert.Contains(t, kept[i-1], `"id":"`+ev.ID+`"`, "published under the id it was kept with")
			assert.False(t, ev.Time.IsZero())
		}
		assert.Equal(t, want, ev.CID, "seq %d: the kept events first, in order", ev.Seq)
	}
}

// A spill file that does not parse stops the open and says what to do:
// skipping it would lose its events without a word.
func TestStreamSpillThatDoesNotParseStopsTheOpen(t *testing.T) {
	ns := testkit.NATS(t)
	nc, _ := testkit.JetStream(t, ns.ClientURL())
	spill := filepath.Join(t.TempDir(), events.SpillFile("n"))
	good := `{"id":"evt-1","type":"client.connected","time":"2026-12-04T16:57:42Z","node":"n","cid":"c","session":"s"}`
	for _, tc := range []struct{ second, says string }{
		{"not json", "line 2"},
		// Lines that parse but are no event: published, they went into the
		// cluster's log and to the webhook as an event of no type.
		{"{}", `line 2: event type "" is not one of cliser's`},
		{`{"type":"client.gone","time":"2026-12-04T16:57:42Z"}`, `line 2: event type "client.gone"`},
		{`{"id":"evt-2","type":"client.connected","cid":"c"}`, "line 2: event without a time"},
	} {
		require.NoError(t, os.WriteFile(spill, []byte(good+"\n"+tc.second+"\n"), 0o600))
		_, err := events.OpenStream(nc, nil, events.WithSpill(spill))
		require.ErrorContains(t, err, tc.says, tc.second)
		require.ErrorContains(t, err, "move it aside to start without them")
		require.FileExists(t, spill, "kept for the operator")
	}
	newest, err := events.OpenStream(nc, nil)
	require.NoError(t, err)
	defer newest.Close()
	assert.Zero(t, newest.Newest(), "nothing of the file went into the log")
}

// A spill file's name holds any node id, and stays a file name.
func TestSpillFileNames(t *testing.T) {
	assert.Equal(t, "events-node-1.spill", events.SpillFile("node-1"))
	assert.Equal(t, "events-a=2Fb.spill", events.SpillFile("a/b"))
	long := events.SpillFile(strings.Repeat("é", 200))
	assert.LessOrEqual(t, len(long), 255)
	assert.NotEqual(t, long, events.SpillFile(strings.Repeat("é", 199)+"e"))
}

// A stop out of time while NATS is away, on a node that follows the
// stream (the webhook's lease holder, an SSE reader), keeps its events in
// the spill file at once. The tail's consumer delete waited out its 5 s
// first, so the stop took 13-14 s with the default grace, past
// --shutdown-timeout's 10 s (and a supervisor's kill), before anything
// was kept (seen on three binaries).
func TestStreamStopOutOfTimeWithATailKeepsItsEventsAtOnce(t *testing.T) {
	ns := testkit.NATS(t)
	nc, js := testkit.JetStream(t, ns.ClientURL())
	spill := filepath.Join(t.TempDir(), events.SpillFile("n"))
	s, err := events.OpenStream(nc, nil, events.WithSpill(spill))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = s.Wait(ctx, 1<<40) }() // a live reader: the node follows
	waitConsumers(t, js, 1, "a Wait makes the node follow")

	ns.Shutdown()
	ns.WaitForShutdown()
	for i := range 10 {
		require.True(t, s.Append(events.Event{Type: events.TypeConnected, CID: fmt.Sprintf("away-%d", i)}))
	}
	require.Eventually(t, func() bool { return s.Healthy() != nil }, 10*time.Second, 10*time.Millisecond, "publishing fails")
	out, stop := context.WithCancel(context.Background())
	stop() // the stop is out of time
	t0 := time.Now()
	require.NoError(t, s.CloseWithin(out), "kept, not lost")
	assert.Less(t, time.Since(t0), 2*time.Second, "nothing waits on the NATS that is away")
	b, err := os.ReadFile(spill)
	require.NoError(t, err)
	assert.Len(t, strings.Split(strings.TrimSuffix(string(b), "\n"), "\n"), 10, "%s", b)
}

// The spill's events wait for the node's release, which may leave some
// out (a session another node already ended): those are never published,
// the rest are, and the file goes. A stop before the release, NATS away,
// keeps what was read in the file, with what it could not publish.
func TestStreamSpillWaitsForItsRelease(t *testing.T) {
	ns := testkit.NATS(t)
	nc, _ := testkit.JetStream(t, ns.ClientURL())
	spill := filepath.Join(t.TempDir(), events.SpillFile("n"))
	at := time.Date(2026, 12, 4, 16, 0, 0, 0, time.UTC)
	var b []byte
	for i, typ := range []string{events.TypeConnected, events.TypeDisconnected, events.TypeDisconnected} {
		line, err := events.AppendJSON(nil, &events.Event{ID: fmt.Sprintf("kept-%d", i), Type: typ, Time: at, CID: fmt.Sprintf("c%d", i), Session: "s"})
		require.NoError(t, err)
		b = append(append(b, line...), '\n')
	}
	require.NoError(t, os.WriteFile(spill, b, 0o600))

	s, err := events.OpenStream(nc, nil, events.WithSpill(spill))
	require.NoError(t, err)
	defer s.Close()
	ends := s.SpilledEnds()
	require.Len(t, ends, 2)
	assert.Equal(t, "c1", ends[0].CID)
	require.True(t, s.Append(events.Event{Type: events.TypeConnected, CID: "meanwhile"}))
	require.Eventually(t, func() bool { return s.Newest() == 1 }, 10*time.Second, 10*time.Millisecond)
	assert.FileExists(t, spill, "held until released")

	s.ReleaseSpill(func(ev events.Event) bool { return ev.CID != "c2" })
	require.Eventually(t, func() bool { _, err := os.Stat(spill); return os.IsNotExist(err) }, 10*time.Second, 10*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := s.Read(ctx, 0, 10)
	require.NoError(t, err)
	var cids []string
	for _, ev := range got {
		cids = append(cids, ev.CID)
	}
	assert.Equal(t, []string{"meanwhile", "c0", "c1"}, cids, "c2 left out")
	s.ReleaseSpill(nil) // once only
	assert.Never(t, func() bool { return s.Newest() > 3 }, 200*time.Millisecond, 20*time.Millisecond)
}

// A stop before the release, with NATS away, writes the file again with
// what it read and what it could not publish: nothing read is lost.
func TestStreamSpillNotReleasedIsKeptAtTheNextStop(t *testing.T) {
	ns := testkit.NATS(t)
	nc, _ := testkit.JetStream(t, ns.ClientURL())
	spill := filepath.Join(t.TempDir(), events.SpillFile("n"))
	line, err := events.AppendJSON(nil, &events.Event{ID: "old-1", Type: events.TypeConnected, Time: time.Now(), CID: "old"})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(spill, append(line, '\n'), 0o600))
	s, err := events.OpenStream(nc, nil, events.WithSpill(spill))
	require.NoError(t, err)
	ns.Shutdown()
	ns.WaitForShutdown()
	require.True(t, s.Append(events.Event{Type: events.TypeConnected, CID: "new"}))
	require.Eventually(t, func() bool { return s.Healthy() != nil }, 10*time.Second, 10*time.Millisecond, "publishing fails")
	require.NoError(t, s.Close())
	b, err := os.ReadFile(spill)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	require.Len(t, lines, 2, "%s", b)
	assert.Contains(t, lines[0], `"id":"old-1"`)
	assert.Contains(t, lines[1], `"cid":"new"`)
}

// A spill larger than the queue's limit is published whole: two stops in
// a row with NATS away can spill more than the queue holds, and its
// release dropped what did not fit (counted as dropped, said nowhere
// else) and then removed the file with the rest stored (mutation audit).
func TestStreamSpillLargerThanTheQueueIsPublishedWhole(t *testing.T) {
	ns := testkit.NATS(t)
	nc, _ := testkit.JetStream(t, ns.ClientURL())
	spill := filepath.Join(t.TempDir(), events.SpillFile("n"))
	var b []byte
	for i := range 5 {
		line, err := events.AppendJSON(nil, &events.Event{ID: fmt.Sprintf("kept-%d", i), Type: events.TypeConnected, Time: time.Now(), CID: fmt.Sprintf("c%d", i)})
		require.NoError(t, err)
		b = append(append(b, line...), '\n')
	}
	require.NoError(t, os.WriteFile(spill, b, 0o600))

	s, err := events.OpenStream(nc, []events.Option{events.WithQueueLimit(2)}, events.WithSpill(spill))
	require.NoError(t, err)
	defer s.Close()
	s.ReleaseSpill(nil)
	require.Eventually(t, func() bool { _, err := os.Stat(spill); return os.IsNotExist(err) }, 10*time.Second, 10*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := s.Read(ctx, 0, 10)
	require.NoError(t, err)
	var ids []string
	for _, ev := range got {
		ids = append(ids, ev.ID)
	}
	assert.Equal(t, []string{"kept-0", "kept-1", "kept-2", "kept-3", "kept-4"}, ids, "every spilled event, in order")
	assert.Nil(t, s.Healthy(), "nothing dropped")
}
