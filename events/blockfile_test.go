package events_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/cliser/cliser/events"
)

// A file of an earlier build (one event per key) reads as it is: each of
// its values is a block of one. New events go on after its newest seq.
func TestLogReadsAFileOfOneEventPerKey(t *testing.T) {
	path := logPath(t)
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	at := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		evs, err := tx.CreateBucket([]byte("events"))
		require.NoError(t, err)
		for seq := uint64(1); seq <= 30; seq++ {
			ev := events.Event{Seq: seq, ID: fmt.Sprintf("evt-old-%d", seq), Type: events.TypeConnected, Time: at,
				CID: fmt.Sprintf("c%d", seq%3), Session: fmt.Sprintf("s%d", seq)}
			js, err := events.AppendJSON(nil, &ev)
			require.NoError(t, err)
			require.NoError(t, evs.Put(binary.BigEndian.AppendUint64(nil, seq), js))
		}
		meta, err := tx.CreateBucket([]byte("meta"))
		require.NoError(t, err)
		return meta.Put([]byte("newest"), binary.BigEndian.AppendUint64(nil, 30))
	}))
	require.NoError(t, db.Close())

	l := openLog(t, path)
	defer l.Close()
	assert.Equal(t, uint64(30), l.Newest())
	assert.Equal(t, uint64(1), l.Oldest())
	for range 10 {
		require.True(t, l.Append(events.Event{Type: events.TypeConnected, CID: "c1", Session: "new"}))
	}
	waitNewest(t, l, 40)
	evs, err := l.Read(context.Background(), 25, 100)
	require.NoError(t, err)
	require.Len(t, evs, 15)
	for i, ev := range evs {
		assert.Equal(t, uint64(26+i), ev.Seq)
	}
	assert.Equal(t, "evt-old-26", evs[0].ID)
	mine, err := l.LatestCID(context.Background(), "c1", 100)
	require.NoError(t, err)
	require.Len(t, mine, 20, "c1: every third of the old 30 and the new 10")
	assert.Equal(t, uint64(40), mine[0].Seq)
	assert.Equal(t, uint64(28), mine[10].Seq)
}

// Blocks are deleted whole, yet the retention is exact: what is before
// the oldest kept is never read, across a reopen too, by Read, ReadRaw,
// ReadCID and the index.
func TestLogRetentionAcrossBlocks(t *testing.T) {
	path := logPath(t)
	const keep, total = 1000, 12000
	l := openLog(t, path, events.WithRetention(keep))
	for i := range total {
		require.True(t, l.Append(events.Event{Type: events.TypeConnected, CID: fmt.Sprintf("c%d", i%7), Session: "s"}))
		if i%3000 == 2999 {
			waitNewest(t, l, uint64(i+1)) // several transactions
		}
	}
	waitNewest(t, l, total)
	check := func(l *events.Log) {
		t.Helper()
		require.Eventually(t, func() bool { return l.Oldest() == total-keep+1 }, 10*time.Second, time.Millisecond)
		evs, err := l.Read(context.Background(), total-keep, 2*keep)
		require.NoError(t, err)
		require.Len(t, evs, keep)
		assert.Equal(t, uint64(total-keep+1), evs[0].Seq)
		_, err = l.Read(context.Background(), total-keep-1, 10)
		var gone *events.GoneError
		require.ErrorAs(t, err, &gone)
		assert.Equal(t, uint64(total-keep+1), gone.Oldest)
		_, err = l.ReadRaw(context.Background(), total-keep-1, 10)
		require.ErrorAs(t, err, &gone)
		mine, err := l.LatestCID(context.Background(), "c3", 10*keep)
		require.NoError(t, err)
		n := 0
		for s := total - keep + 1; s <= total; s++ {
			if (s-1)%7 == 3 {
				n++
			}
		}
		require.Len(t, mine, n)
		for _, ev := range mine {
			assert.Equal(t, "c3", ev.CID)
			assert.GreaterOrEqual(t, ev.Seq, uint64(total-keep+1))
		}
		after, err := l.ReadCID(context.Background(), "c3", total-keep, 5)
		require.NoError(t, err)
		require.Len(t, after, 5)
		assert.Equal(t, mine[len(mine)-1].Seq, after[0].Seq, "oldest first")
	}
	check(l)
	require.NoError(t, l.Close())
	l = openLog(t, path, events.WithRetention(keep))
	defer l.Close()
	check(l)
}

// Once the log holds its retention, the transaction that writes events
// lets go of as many old ones in the same commit (not in one of its own
// after it): a reader that sees an event as the newest sees the
// retention's oldest with it, never more than the retention's events.
func TestLogTrimsInTheWritersTransaction(t *testing.T) {
	const keep, batch = 500, 37
	l := openLog(t, logPath(t), events.WithRetention(keep))
	defer l.Close()
	appended := 0
	appendBatch := func(n int) {
		for range n {
			require.True(t, l.Append(events.Event{Type: events.TypeConnected, CID: fmt.Sprintf("c%d", appended%11)}))
			appended++
		}
		waitNewest(t, l, uint64(appended))
	}
	appendBatch(keep)
	for range 10 {
		appendBatch(batch)
		newest := l.Newest() // before Oldest: the writer moves oldest first
		assert.Equal(t, uint64(appended), newest)
		assert.Equal(t, newest-keep+1, l.Oldest(), "oldest as the newest came")
	}
	evs, err := l.Read(context.Background(), uint64(appended-keep), 2*keep)
	require.NoError(t, err)
	require.Len(t, evs, keep)
}
