package events

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/internal/testkit"
)

// writeSpill writes evs as a stop keeps them in the spill file at path.
func writeSpill(t *testing.T, path string, evs ...Event) {
	t.Helper()
	var b []byte
	for i := range evs {
		line, err := AppendJSON(nil, &evs[i])
		require.NoError(t, err)
		b = append(append(b, line...), '\n')
	}
	require.NoError(t, os.WriteFile(path, b, 0o600))
}

func waitGone(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := os.Stat(path)
		if os.IsNotExist(err) {
			return
		}
		require.True(t, time.Now().Before(deadline), "%s still there: %v", path, err)
		time.Sleep(5 * time.Millisecond)
	}
}

// TestStreamSpillFileStaysUntilItsEventsAreStored: released while the
// writer publishes a batch of other events, the spill's events queue
// behind it; that batch's acknowledgment does not remove the file, which
// goes only once the spill's own events are stored (else a kill between
// the two lost them). A second release does nothing, and the file's
// removal is done once, not at every batch after it (a mutation audit:
// a target of 0, a pending never reset, or a release run twice passed
// every test).
func TestStreamSpillFileStaysUntilItsEventsAreStored(t *testing.T) {
	nc, _ := testkit.JetStream(t, testkit.NATS(t).ClientURL())
	spill := filepath.Join(t.TempDir(), SpillFile("n"))
	writeSpill(t, spill, Event{ID: "kept-0", Type: TypeConnected, Time: time.Now().UTC(), CID: "kept"})
	var s *Stream
	var takes atomic.Int32
	opened, checked := make(chan struct{}), make(chan struct{})
	hook := func(took int) {
		if took == 0 {
			return
		}
		<-opened
		switch takes.Add(1) {
		case 1: // "first" is being published: the spill's event queues behind it
			s.ReleaseSpill(nil)
		case 2: // the spill's event, taken, not published yet
			assert.FileExists(t, spill, "removed before its events were stored")
			close(checked)
		}
	}
	core, logs := observer.New(zap.InfoLevel)
	s, err := OpenStream(nc, []Option{WithLogger(zap.New(core)), func(o *options) { o.afterTake = hook }}, WithSpill(spill))
	require.NoError(t, err)
	defer s.Close()
	close(opened)
	require.True(t, s.Append(Event{Type: TypeConnected, CID: "first"}))
	select {
	case <-checked:
	case <-time.After(10 * time.Second):
		t.Fatal("the writer never took the spill's events")
	}
	waitGone(t, spill)

	s.ReleaseSpill(nil) // once only
	require.True(t, s.Append(Event{Type: TypeConnected, CID: "later"}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.Stored(ctx))
	got, err := s.Read(ctx, 0, 10)
	require.NoError(t, err)
	var cids []string
	for _, ev := range got {
		cids = append(cids, ev.CID)
	}
	assert.Equal(t, []string{"first", "kept", "later"}, cids)
	assert.Equal(t, 1, logs.FilterMessageSnippet("publishing the events the last stop kept").Len(), "released once")
	assert.Equal(t, 1, logs.FilterMessageSnippet("file removed").Len(), "removed once")
}

// TestStreamSpillAllLeftOutIsRemoved: a release that leaves every event
// of the spill out (ends of sessions other nodes already ended) publishes
// nothing and removes the file at once: no batch of the writer comes to
// remove it (a mutation audit: skipping that removal passed every test).
func TestStreamSpillAllLeftOutIsRemoved(t *testing.T) {
	nc, _ := testkit.JetStream(t, testkit.NATS(t).ClientURL())
	spill := filepath.Join(t.TempDir(), SpillFile("n"))
	reason := "keepalive timeout"
	writeSpill(t, spill, Event{ID: "kept-0", Type: TypeDisconnected, Time: time.Now().UTC(), CID: "c", Session: "s", Reason: &reason})
	s, err := OpenStream(nc, nil, WithSpill(spill))
	require.NoError(t, err)
	defer s.Close()
	s.ReleaseSpill(func(Event) bool { return false })
	waitGone(t, spill)
	assert.Zero(t, s.Newest(), "nothing published")
}

// TestDecodeSpillLineTooLong: a line past the scanner's 1 MiB (a file
// damaged or edited by hand) is an error, as any line that does not
// parse: read as the end of the file, the events after it were lost and
// the file removed once the ones before it were published (a mutation
// audit: dropping the scanner's error passed every test).
func TestDecodeSpillLineTooLong(t *testing.T) {
	good, err := AppendJSON(nil, &Event{ID: "evt-1", Type: TypeConnected, Time: time.Now().UTC(), CID: "c"})
	require.NoError(t, err)
	b := append(append(good, '\n'), strings.Repeat("x", 2<<20)+"\n"...)
	b = append(append(b, good...), '\n')
	_, err = decodeSpill(b)
	require.Error(t, err)
}

// TestStreamSpillKeepsEveryBlock: a stop that keeps more than a block of
// events (blockSize) keeps them all, and its WARN line says how many (a
// mutation audit: a take one short of the queue's length, which left the
// last block out, and a count of 0 passed every test: theirs keep 10).
func TestStreamSpillKeepsEveryBlock(t *testing.T) {
	ns := testkit.NATS(t)
	nc, _ := testkit.JetStream(t, ns.ClientURL())
	spill := filepath.Join(t.TempDir(), SpillFile("n"))
	core, logs := observer.New(zap.InfoLevel)
	s, err := OpenStream(nc, []Option{WithLogger(zap.New(core))}, WithSpill(spill))
	require.NoError(t, err)
	ns.Shutdown()
	ns.WaitForShutdown()
	const n = blockSize + 2
	for i := range n {
		require.True(t, s.Append(Event{Type: TypeConnected, CID: fmt.Sprint("away-", i)}))
	}
	require.Eventually(t, func() bool { return s.Healthy() != nil }, 10*time.Second, 5*time.Millisecond, "publishing fails")
	out, stop := context.WithCancel(context.Background())
	stop() // out of time: kept at once
	require.NoError(t, s.CloseWithin(out))
	b, err := os.ReadFile(spill)
	require.NoError(t, err)
	evs, err := decodeSpill(b)
	require.NoError(t, err)
	require.Len(t, evs, n)
	assert.Equal(t, fmt.Sprint("away-", n-1), evs[n-1].CID, "the last block too")
	kept := logs.FilterMessageSnippet("kept in the spill file").All()
	require.Len(t, kept, 1)
	assert.EqualValues(t, n, kept[0].ContextMap()["events"])
}
