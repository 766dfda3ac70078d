package events_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
)

// The retention deletes the blocks that hold only events before the
// oldest kept, not the block that ends with it: a reader after the oldest
// less one gets every event from the oldest (docs/events.md: 410 only
// when after + 1 is below it). Each event here is committed alone, a
// block of one, so a block ends at each seq; a mutation audit found
// "deletes through the oldest" passing every test.
func TestLogRetentionKeepsTheBlockEndingAtTheOldest(t *testing.T) {
	l := openLog(t, logPath(t), events.WithRetention(3))
	defer l.Close()
	for range 5 {
		appendConnected(t, l, 1)
	}
	require.EqualValues(t, 3, l.Oldest())
	evs, err := l.Read(context.Background(), l.Oldest()-1, 10)
	require.NoError(t, err)
	require.Len(t, evs, 3)
	assert.EqualValues(t, 3, evs[0].Seq)
}
