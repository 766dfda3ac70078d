package events_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
)

// Two nodes' streams on one JetStream stream: one order for both, read the
// same from either, per client from the subject filter, and 410 for what
// MaxMsgs dropped.
func TestStreamOneOrderAndRetention(t *testing.T) {
	nc, _ := testkit.JetStream(t, testkit.NATS(t).ClientURL())
	open := func() *events.Stream { return openStream(t, nc, []events.Option{events.WithRetention(10)}) }
	a, b := open(), open()
	assert.Zero(t, a.Oldest(), "empty")
	for i := range 8 {
		a.Append(events.Event{Type: events.TypeConnected, CID: fmt.Sprintf("a.%d@x", i%2), Node: "a"})
		b.Append(events.Event{Type: events.TypeConnected, CID: fmt.Sprintf("b-%d", i%2), Node: "b"})
	}
	waitNewest(t, a, 16)
	waitNewest(t, b, 16)
	ctx := context.Background()
	_, err := a.Read(ctx, 0, 100)
	var gone *events.GoneError
	require.True(t, errors.As(err, &gone), "MaxMsgs 10 keeps 7..16: %v", err)
	assert.Equal(t, uint64(7), gone.Oldest)
	assert.Equal(t, uint64(7), a.Oldest(), "the webhook's lag counts from it")

	fromA, err := a.Read(ctx, 6, 100)
	require.NoError(t, err)
	fromB, err := b.Read(ctx, 6, 100)
	require.NoError(t, err)
	require.Len(t, fromA, 10)
	require.Equal(t, len(fromA), len(fromB))
	for i := range fromA {
		assert.Equal(t, uint64(7+i), fromA[i].Seq)
		assert.Equal(t, fromA[i].ID, fromB[i].ID, "one order")
	}
	last, err := a.Read(ctx, math.MaxUint64, 100)
	require.NoError(t, err, "the last seq there can be is not before the oldest")
	assert.Empty(t, last)
	last, err = b.ReadCID(ctx, "b-0", math.MaxUint64, 100)
	require.NoError(t, err)
	assert.Empty(t, last)
	page, err := b.Read(ctx, 14, 1)
	require.NoError(t, err)
	require.Len(t, page, 1)
	assert.Equal(t, uint64(15), page[0].Seq)

	mine, err := a.ReadCID(ctx, "a.1@x", 6, 100)
	require.NoError(t, err)
	for _, ev := range mine {
		assert.Equal(t, "a.1@x", ev.CID, "the subject filter keeps one client, '.' and '@' and all")
	}
	assert.NotEmpty(t, mine)
	var kept []uint64 // b-0's seqs still in the stream, from the read above
	for _, ev := range fromA {
		if ev.CID == "b-0" {
			kept = append(kept, ev.Seq)
		}
	}
	latest, err := b.LatestCID(ctx, "b-0", 2)
	require.NoError(t, err)
	require.Len(t, latest, min(2, len(kept)))
	for i, ev := range latest {
		assert.Equal(t, kept[len(kept)-1-i], ev.Seq, "newest first")
	}

	got := waiting(b, 16)
	a.Append(events.Event{Type: events.TypeDisconnected, CID: "a.0@x"})
	require.NoError(t, <-got, "b's waiters hear a's event")

	// A reader that starts after the fact reads the kept events from the
	// stream, not from a tail of its own.
	late := open()
	waitNewest(t, late, 17)
	var evs []events.Event
	for after := uint64(7); after < 17; {
		page, err := late.Read(ctx, after, 100)
		require.NoError(t, err)
		require.NotEmpty(t, page, "nothing after %d while the newest is 17", after)
		evs = append(evs, page...)
		after = page[len(page)-1].Seq
	}
	require.Len(t, evs, 10)
	for i, ev := range evs {
		assert.Equal(t, uint64(8+i), ev.Seq)
	}
}
