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
