package events_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
)

func openLog(t *testing.T, path string, opts ...events.Option) *events.Log {
	t.Helper()
	l, err := events.Open(path, opts...)
	require.NoError(t, err)
	return l
}

// waitNewest polls until the log's newest seq reaches seq.
func waitNewest(t *testing.T, l events.Reader, seq uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, l.Wait(ctx, seq-1), "newest seq never reached %d", seq)
}

func reason(s string) *string { return &s }

func TestLogOrderAndSeq(t *testing.T) {
	l := openLog(t, logPath(t))
	defer l.Close()
	for i := range 50 {
		require.True(t, l.Append(events.Event{Type: events.TypeConnected, CID: fmt.Sprintf("c%d", i%5)}))
	}
	waitNewest(t, l, 50)
	evs, err := l.Read(context.Background(), 0, 1000)
	require.NoError(t, err)
	require.Len(t, evs, 50)
	ids := map[string]bool{}
	for i, ev := range evs {
		assert.Equal(t, uint64(i+1), ev.Seq)
		assert.Equal(t, fmt.Sprintf("c%d", i%5), ev.CID, "append order is log order")
		assert.False(t, ev.Time.IsZero())
		assert.False(t, ids[ev.ID], "ids are unique")
		ids[ev.ID] = true
	}
	page, err := l.Read(context.Background(), 45, 3)
	require.NoError(t, err)
	require.Len(t, page, 3)
	assert.Equal(t, uint64(46), page[0].Seq)

	mine, err := l.ReadCID(context.Background(), "c3", 10, 100)
	require.NoError(t, err)
	require.Len(t, mine, 8) // c3 is at seqs 4, 9, 14, ... 49: eight of them after 10
	for _, ev := range mine {
		assert.Equal(t, "c3", ev.CID)
		assert.Greater(t, ev.Seq, uint64(10))
	}
}

func TestLogSeqGrowsAcrossReopen(t *testing.T) {
	path := logPath(t)
	l := openLog(t, path, events.WithRetention(3))
	for range 5 {
		l.Append(events.Event{Type: events.TypeConnected, CID: "a"})
	}
	require.NoError(t, l.Close(), "close writes what is queued")
	l = openLog(t, path, events.WithRetention(3))
	defer l.Close()
	assert.Equal(t, uint64(5), l.Newest())
	assert.Equal(t, uint64(3), l.Oldest())
	l.Append(events.Event{Type: events.TypeDisconnected, CID: "a", Reason: reason("kicked")})
	waitNewest(t, l, 6)
	evs, err := l.Read(context.Background(), 3, 10)
	require.NoError(t, err)
	require.Len(t, evs, 3)
	assert.Equal(t, []uint64{4, 5, 6}, []uint64{evs[0].Seq, evs[1].Seq, evs[2].Seq})
	assert.Equal(t, "kicked", *evs[2].Reason)
}

func TestLogGoneAfterRetention(t *testing.T) {
	l := openLog(t, logPath(t), events.WithRetention(10))
	defer l.Close()
	for range 25 {
		l.Append(events.Event{Type: events.TypeConnected, CID: "a"})
	}
	waitNewest(t, l, 25)
	deadline := time.Now().Add(10 * time.Second)
	for l.Oldest() != 16 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	require.Equal(t, uint64(16), l.Oldest())
	_, err := l.Read(context.Background(), 3, 10)
	var gone *events.GoneError
	require.True(t, errors.As(err, &gone), "got %v", err)
	assert.Equal(t, uint64(16), gone.Oldest)
	_, err = l.ReadCID(context.Background(), "a", 3, 10)
	require.True(t, errors.As(err, &gone))
	evs, err := l.Read(context.Background(), 15, 100)
	require.NoError(t, err, "after = oldest-1 is still whole")
	assert.Len(t, evs, 10)
	evs, err = l.Read(context.Background(), 25, 100)
	require.NoError(t, err)
	assert.Empty(t, evs)
	evs, err = l.Read(context.Background(), math.MaxUint64, 100)
	require.NoError(t, err, "the last seq there can be is not before the oldest")
	assert.Empty(t, evs)
	raws, err := l.ReadRaw(context.Background(), math.MaxUint64, 100)
	require.NoError(t, err)
	assert.Empty(t, raws)
	evs, err = l.ReadCID(context.Background(), "a", math.MaxUint64, 100)
	require.NoError(t, err)
	assert.Empty(t, evs)
	mine, err := l.LatestCID(context.Background(), "a", 100)
	require.NoError(t, err)
	assert.Len(t, mine, 10, "the index lost the deleted events too")
}

func TestLogWait(t *testing.T) {
	l := openLog(t, logPath(t))
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, l.Wait(ctx, 0), context.DeadlineExceeded)
	got := waiting(l, 0)
	l.Append(events.Event{Type: events.TypeConnected, CID: "a"})
	assert.NoError(t, <-got)
}

func TestLogQueueFullDropsAndCounts(t *testing.T) {
	l := openLog(t, logPath(t), events.WithQueueLimit(1))
	defer l.Close()
	dropped := 0
	for range 10000 {
		if !l.Append(events.Event{Type: events.TypeConnected, CID: "a"}) {
			dropped++
		}
	}
	require.Positive(t, dropped, "a queue of one cannot hold a burst of 10000")
	assert.Error(t, l.Healthy(), "dropping shows until the writer catches up")
	waitNewest(t, l, uint64(10000-dropped))
	deadline := time.Now().Add(10 * time.Second)
	for l.Healthy() != nil && time.Now().Before(deadline) {
		l.Append(events.Event{Type: events.TypeConnected, CID: "b"})
		time.Sleep(10 * time.Millisecond)
	}
	assert.NoError(t, l.Healthy())
}

func TestHistorySessions(t *testing.T) {
	l := openLog(t, logPath(t))
	defer l.Close()
	t0 := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	c := func(s string, sid uint16, at time.Time) events.Event {
		return events.Event{Type: events.TypeConnected, CID: "x", Session: s, SID: sid, Time: at, CIP: "10.0.0.1", CPort: "1"}
	}
	d := func(s string, sid uint16, conn, at time.Time, r string) events.Event {
		return events.Event{Type: events.TypeDisconnected, CID: "x", Session: s, SID: sid, Time: at, ConnectedAt: &conn, Reason: &r, CIP: "10.0.0.1", CPort: "1"}
	}
	l.Append(c("s1", 1, t0))
	l.Append(d("s1", 1, t0, t0.Add(time.Minute), "keepalive timeout"))
	l.Append(c("s2", 2, t0.Add(2*time.Minute)))
	l.Append(c("s3", 3, t0.Add(3*time.Minute)))
	l.Append(d("s2", 2, t0.Add(2*time.Minute), t0.Add(3*time.Minute), "replaced"))
	l.Append(events.Event{Type: events.TypeConnected, CID: "other", Session: "o"})
	waitNewest(t, l, 6)
	hs, err := l.History(context.Background(), "x", 20)
	require.NoError(t, err)
	require.Len(t, hs, 3)
	assert.Equal(t, "s3", hs[0].Session)
	assert.Nil(t, hs[0].DisconnectedAt, "s3 is still connected")
	assert.Equal(t, "s2", hs[1].Session)
	assert.Equal(t, "replaced", hs[1].Reason)
	assert.Equal(t, t0.Add(2*time.Minute), *hs[1].ConnectedAt)
	assert.Equal(t, "s1", hs[2].Session)
	assert.Equal(t, "keepalive timeout", hs[2].Reason)
	hs, err = l.History(context.Background(), "x", 1)
	require.NoError(t, err)
	require.Len(t, hs, 1)
	assert.Equal(t, "s3", hs[0].Session)
}

// ReadRaw gives Read's events as their stored JSON, and the same 410.
func TestLogReadRawIsRead(t *testing.T) {
	l := openLog(t, logPath(t), events.WithRetention(20))
	defer l.Close()
	for i := range 30 {
		require.True(t, l.Append(events.Event{Type: events.TypeDisconnected, CID: fmt.Sprintf("c%d", i), Reason: reason("replaced")}))
	}
	waitNewest(t, l, 30)
	require.Eventually(t, func() bool { return l.Oldest() == 11 }, 10*time.Second, time.Millisecond, "trimmed to the retention")
	evs, err := l.Read(context.Background(), 15, 7)
	require.NoError(t, err)
	raws, err := l.ReadRaw(context.Background(), 15, 7)
	require.NoError(t, err)
	require.Len(t, raws, len(evs))
	for i := range evs {
		want, err := events.AppendJSON(nil, &evs[i])
		require.NoError(t, err)
		assert.Equal(t, evs[i].Seq, raws[i].Seq)
		assert.Equal(t, string(want), string(raws[i].JSON))
		assert.True(t, evs[i].Time.Equal(raws[i].Time()))
	}
	_, err = l.ReadRaw(context.Background(), 5, 7)
	var gone *events.GoneError
	require.ErrorAs(t, err, &gone)
	assert.Equal(t, uint64(11), gone.Oldest)
}

// ReadRaw answers the same from memory (the newest events) as from the
// file (older ones, and all of them after a reopen), across the seams of
// transactions.
func TestLogReadRawFromMemoryIsTheFile(t *testing.T) {
	path := logPath(t)
	l := openLog(t, path)
	const total = 20000
	for burst := range 4 { // several transactions, so the ring wraps
		for i := range total / 4 {
			require.True(t, l.Append(events.Event{Type: events.TypeConnected, CID: fmt.Sprintf("c%d-%d", burst, i), Session: "s"}))
		}
		waitNewest(t, l, uint64((burst+1)*total/4))
	}
	ctx := context.Background()
	reads := []struct{ after uint64 }{{0}, {4999}, {11000}, {14999}, {19950}, {total}}
	before := map[uint64][]events.Raw{}
	for _, r := range reads {
		raws, err := l.ReadRaw(ctx, r.after, 1000)
		require.NoError(t, err)
		evs, err := l.Read(ctx, r.after, 1000)
		require.NoError(t, err)
		requireRawIs(t, evs, raws, r.after)
		before[r.after] = raws
	}
	require.NoError(t, l.Close())

	l = openLog(t, path) // nothing in memory: every answer from the file
	defer l.Close()
	for _, r := range reads {
		raws, err := l.ReadRaw(ctx, r.after, 1000)
		require.NoError(t, err)
		require.Equal(t, before[r.after], raws, "after %d", r.after)
	}
}

func requireRawIs(t *testing.T, evs []events.Event, raws []events.Raw, after uint64) {
	t.Helper()
	require.Len(t, raws, len(evs), "after %d", after)
	for i := range evs {
		want, err := events.AppendJSON(nil, &evs[i])
		require.NoError(t, err)
		require.Equal(t, after+uint64(i)+1, raws[i].Seq)
		require.Equal(t, string(want), string(raws[i].JSON), "seq %d", raws[i].Seq)
	}
}

// The writer keeps the date of the last time it encoded (for a storm's
// times, all of one day): each event's times still come back as they
// went in (to the microsecond: EVENTS.md's form) when they hop between days, within an event and from one event
// to the next, in one transaction and across two.
func TestLogKeepsEachTimesOwnDate(t *testing.T) {
	l := openLog(t, logPath(t))
	defer l.Close()
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	times := []time.Time{
		day.Add(-time.Nanosecond), day, day.Add(12 * time.Hour), time.Unix(0, 0).UTC(),
		time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC), time.Date(2024, 3, 1, 0, 0, 1, 5, time.UTC),
		time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	var want []events.Event
	for round := range 2 { // the first event of each round finds the writer idle: a transaction of its own
		for i, at := range times {
			connected := times[(i+1)%len(times)]
			ev := events.Event{Type: events.TypeDisconnected, Time: at, CID: fmt.Sprintf("c%d-%d", round, i),
				ConnectedAt: &connected, Reason: reason("closed")}
			require.True(t, l.Append(ev))
			want = append(want, ev)
		}
		waitNewest(t, l, uint64(len(want)))
	}
	got, err := l.Read(context.Background(), 0, len(want)+1)
	require.NoError(t, err)
	require.Len(t, got, len(want))
	for i := range want {
		at, connected := want[i].Time.Truncate(time.Microsecond), want[i].ConnectedAt.Truncate(time.Microsecond)
		assert.True(t, at.Equal(got[i].Time), "seq %d: time %v, want %v", got[i].Seq, got[i].Time, at)
		require.NotNil(t, got[i].ConnectedAt)
		assert.True(t, connected.Equal(*got[i].ConnectedAt), "seq %d: connected_at %v, want %v", got[i].Seq, *got[i].ConnectedAt, connected)
	}
}
