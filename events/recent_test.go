package events

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// recentFeed commits n events of about size bytes each to a bare recent,
// per transactions of tx, each in an arena laid out as the writer lays
// one (an 8-byte key, then JSON a line each).
func recentFeed(r *recent, n, tx, size int) {
	js := `{"value":"` + strings.Repeat("x", size-12) + `"}`
	for first := 1; first <= n; first += tx {
		k := min(tx, n-first+1)
		arena := make([]byte, 8, k*(size+1)+8)
		offs := make([]int, 0, 2*k)
		for range k {
			arena = append(arena, '\n')
			offs = append(offs, len(arena))
			arena = append(arena, js...)
			offs = append(offs, len(arena))
		}
		r.add(uint64(first), arena, offs)
	}
}

// What recent holds is the newest events' bytes, whatever transactions
// carried them: it held each transaction's arena whole before, and a
// ramp's 512 KB arenas grew it with the ramp (issue 17).
func TestRecentHeldBytesDoNotGrowWithTransactionSize(t *testing.T) {
	var small, large recent
	recentFeed(&small, 3*recentKeep, 10, 250)
	recentFeed(&large, 3*recentKeep, 1000, 250)
	require.Equal(t, recentKeep, small.n)
	require.Equal(t, recentKeep, large.n)
	need := recentKeep*250 + recentKeep*16 // the events and their places
	for name, r := range map[string]*recent{"10 a transaction": &small, "1,000 a transaction": &large} {
		require.LessOrEqual(t, r.heldBytes(), need+need/4, name)
	}
	require.Equal(t, small.heldBytes(), large.heldBytes())
}

// A trickle's one-event transactions hold a small ring until events say
// it needs more (a burst's sizes held 40 MB once: session 8).
func TestRecentTrickleHoldsLittle(t *testing.T) {
	l := openLog(t)
	for i := range 3 {
		appendConnects(t, l, "trickle-", i, 1)
	}
	require.LessOrEqual(t, l.recent.heldBytes(), recentMin+recentKeep*16)
	requireRecentAsFile(t, l)
}

// A real Log's ring wraps around many times with events smaller and
// larger than the average, and a transaction larger than the ring (it
// keeps the newest that fit): every read from memory is what the file
// holds, in order, and a read from before the ring's oldest goes to the
// file.
func TestRecentWrapsAroundAsTheFileHolds(t *testing.T) {
	l := openLog(t)
	now := time.Now().UTC()
	seq := 0
	appendSized := func(n int, size func(i int) int) {
		for i := range n {
			require.True(t, l.Append(Event{Type: TypeBanCreated, Time: now, Kind: "ip", Value: strings.Repeat("v", size(i)), By: "t"}))
		}
		seq += n
		waitNewest(t, l, uint64(seq))
	}
	for round := range 4 {
		appendSized(1500, func(i int) int { return 20 + (i*37)%400 }) // 20-420 B of value
		appendSized(3, func(int) int { return 30000 })                // far above the average
		require.LessOrEqual(t, l.recent.heldBytes(), recentMax+recentKeep*16, "round %d", round)
		requireRecentAsFile(t, l)
	}
	// One transaction whose events are more than the ring's most: ~2,048
	// of ~1.5 KB (queued before the writer wakes from its pacing).
	appendSized(logChunk, func(int) int { return 1500 })
	l.recent.mu.RLock()
	held, first := l.recent.n, l.recent.first
	l.recent.mu.RUnlock()
	require.Less(t, held, logChunk, "the ring holds the newest that fit")
	require.Equal(t, uint64(seq)-uint64(held)+1, first)
	requireRecentAsFile(t, l)
}

// requireRecentAsFile reads every event recent holds, from each place in
// it (and one before it), and requires what the file holds.
func requireRecentAsFile(t *testing.T, l *Log) {
	t.Helper()
	l.recent.mu.RLock()
	first, n := l.recent.first, l.recent.n
	l.recent.mu.RUnlock()
	require.Positive(t, n, "recent holds nothing")
	_, _, ok := l.recent.read(nil, nil, first-2, l.Newest(), 10)
	require.False(t, ok, "recent answered for an event it does not hold")
	for after := first - 1; after < first+uint64(n); after += uint64(max(1, n/7)) {
		got, _, ok := l.recent.read(nil, nil, after, l.Newest(), 500)
		require.True(t, ok, "after %d", after)
		var want []Raw
		require.NoError(t, l.scan(context.Background(), after, 500, func(seq uint64, js []byte) error {
			want = append(want, Raw{Seq: seq, JSON: append([]byte(nil), js...)})
			return nil
		}))
		require.Equal(t, want, got, "after %d", after)
	}
}

// Readers racing the writer (run under -race) see whole events, each seq
// once, in order, whether from memory or the file.
func TestRecentReadersRaceTheWriter(t *testing.T) {
	l := openLog(t)
	const total = 12000
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			after := uint64(0)
			for after < total {
				raws, err := l.ReadRaw(context.Background(), after, 100+r*300)
				if err != nil {
					errs <- err
					return
				}
				if len(raws) == 0 {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					err = l.Wait(ctx, after)
					cancel()
					if err != nil {
						errs <- err
						return
					}
				}
				for _, raw := range raws {
					var ev Event
					if err := json.Unmarshal(raw.JSON, &ev); err != nil || raw.Seq != after+1 || ev.Seq != raw.Seq {
						errs <- &seqError{after: after, raw: raw}
						return
					}
					after = raw.Seq
				}
			}
		}()
	}
	now := time.Now().UTC()
	for i := range total {
		require.True(t, l.Append(Event{Type: TypeBanCreated, Time: now, Kind: "ip", Value: strings.Repeat("w", i%300), By: strconv.Itoa(i)}))
		if i%500 == 0 {
			time.Sleep(time.Millisecond) // a few transactions' worth of sizes
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

type seqError struct {
	after uint64
	raw   Raw
}

func (e *seqError) Error() string {
	return "after " + strconv.FormatUint(e.after, 10) + " read seq " + strconv.FormatUint(e.raw.Seq, 10) + ": " + string(e.raw.JSON)
}

func waitNewest(t *testing.T, l *Log, seq uint64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for l.Newest() < seq {
		require.True(t, time.Now().Before(deadline), "the writer did not reach seq %d", seq)
		time.Sleep(time.Millisecond)
	}
}

// TestRecentGrowsWithoutCopyingItsRing: as the events' average size rises
// (a burst's disconnects replacing a ramp's connects) the ring grows by
// segments and keeps its own. One buffer made anew at each growth step
// was 1.77 MB made in a process's life for a ring of 0.66 MB (issue 17).
// Every held event reads back as it was put, across the growths.
func TestRecentGrowsWithoutCopyingItsRing(t *testing.T) {
	type tx struct {
		first  uint64
		arena  []byte
		offs   []int
		events [][]byte
	}
	var txs []tx
	seq := uint64(1)
	for size := 150; size <= 400; size += 10 {
		for range 4 { // 4 transactions of 256 events of this size
			x := tx{first: seq, arena: make([]byte, 8)}
			for range 256 {
				js := fmt.Sprintf(`{"seq":%d,"value":"%s"}`, seq, strings.Repeat("x", size))
				x.arena = append(x.arena, '\n')
				x.offs = append(x.offs, len(x.arena))
				x.arena = append(x.arena, js...)
				x.offs = append(x.offs, len(x.arena))
				x.events = append(x.events, []byte(js))
				seq++
			}
			txs = append(txs, x)
		}
	}
	var r recent
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for _, x := range txs {
		r.add(x.first, x.arena, x.offs)
	}
	runtime.ReadMemStats(&m1)
	require.Greater(t, r.heldBytes(), 4*recentMin, "the ring grew")
	require.LessOrEqual(t, m1.TotalAlloc-m0.TotalAlloc, uint64(r.heldBytes()+recentSeg), "bytes made for a ring of %d", r.heldBytes())

	// And what it holds reads back, at each growth too.
	var r2 recent
	for _, x := range txs {
		r2.add(x.first, x.arena, x.offs)
		got, _, ok := r2.read(nil, nil, r2.first-1, x.first+uint64(len(x.events))-1, recentKeep)
		require.True(t, ok)
		require.Len(t, got, r2.n)
		for _, g := range got {
			require.Equal(t, fmt.Sprintf(`{"seq":%d,`, g.Seq), string(g.JSON[:bytes.IndexByte(g.JSON, ',')+1]))
		}
	}
	require.Equal(t, recentKeep, r2.n)
}

// An event larger than a segment is not held: a read of it goes to the
// file, and the ring holds the events after it again.
func TestRecentLeavesAnEventLargerThanASegmentToTheFile(t *testing.T) {
	l := openLog(t)
	now := time.Now().UTC()
	for i, size := range []int{100, recentSeg + 1, 100, 100} {
		require.True(t, l.Append(Event{Type: TypeBanCreated, Time: now, Kind: "ip", Value: strings.Repeat("v", size), By: "t"}))
		waitNewest(t, l, uint64(i+1))
	}
	_, _, ok := l.recent.read(nil, nil, 1, l.Newest(), 10)
	require.False(t, ok, "the large event came from memory")
	got, err := l.ReadRaw(context.Background(), 1, 10)
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.Contains(t, string(got[0].JSON), strings.Repeat("v", recentSeg+1))
	requireRecentAsFile(t, l)
	require.Equal(t, uint64(3), l.recent.first)
}
