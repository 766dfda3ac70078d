package events_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
)

// A message published on the stream's subjects by hand is no event: every
// read skips it, and says so, counted each time and logged once, rather
// than drop it without a word (a read's fetch skipped it silently; the
// tail logged each one).
func TestStreamSkipsAMessageThatIsNoEvent(t *testing.T) {
	nc, _ := testkit.JetStream(t, testkit.NATS(t).ClientURL())
	core, logs := observer.New(zapcore.WarnLevel)
	s := openStream(t, nc, []events.Option{events.WithLogger(zap.New(core))})
	s.Append(events.Event{Type: events.TypeConnected, CID: "a"})
	waitNewest(t, s, 1)
	require.NoError(t, nc.Publish(events.DefaultSubjectPrefix+".junk", []byte("not an event")))
	require.NoError(t, nc.Flush())
	s.Append(events.Event{Type: events.TypeConnected, CID: "b"})
	waitNewest(t, s, 3)

	for range 2 {
		evs, err := s.Read(context.Background(), 0, 100)
		require.NoError(t, err)
		var seqs []uint64
		for _, ev := range evs {
			seqs = append(seqs, ev.Seq)
		}
		assert.Equal(t, []uint64{1, 3}, seqs, "the events, the message between them skipped")
	}
	assert.GreaterOrEqual(t, testkit.Gathered(t, s.Collectors(), events.MetricUnreadable, ""), 2.0, "each read's skip counted")
	assert.Equal(t, 1, logs.FilterMessageSnippet("is no event").Len(), "logged once")
}

// An event damaged inside its value (bit rot: its JSON whole, its time
// not) opens, the load reading only its cid; a read that reaches it
// says which file and what to do, and the log says it once. It said
// only "corrupt event", the file unnamed, and nothing in the log.
func TestLogDamagedEventNamesTheFileOnce(t *testing.T) {
	path := logPath(t)
	l := openLog(t, path)
	// One write each: event 2's leaf is written twice, and its first copy
	// left in a freed page (a run under load batched them like this).
	for i, cid := range []string{"a", "b", "c"} {
		require.True(t, l.Append(events.Event{Type: events.TypeConnected, CID: cid}))
		waitNewest(t, l, uint64(i+1))
	}
	require.NoError(t, l.Close())
	testkit.GarbleEvery(t, path, `{"seq":2,`, `"time":"`, 'x')

	core, logs := observer.New(zapcore.ErrorLevel)
	l = openLog(t, path, events.WithLogger(zap.New(core)))
	defer l.Close()
	for range 2 {
		_, err := l.Read(context.Background(), 0, 10)
		require.ErrorIs(t, err, events.ErrCorrupt)
		assert.Contains(t, err.Error(), path)
		assert.Contains(t, err.Error(), "move it away")
		_, err = l.ReadCID(context.Background(), "b", 0, 10)
		require.ErrorIs(t, err, events.ErrCorrupt)
		assert.Contains(t, err.Error(), path)
	}
	assert.Equal(t, 1, logs.FilterMessage("event log: an event could not be read back").Len(), "logged once")
}
