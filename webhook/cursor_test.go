package webhook

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFileCursorSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	c, err := OpenFileCursor(dir, "http://127.0.0.1:1/hook")
	require.NoError(t, err)
	_, found, err := c.Load(ctx)
	require.NoError(t, err)
	require.False(t, found, "a new webhook has no cursor")
	require.NoError(t, c.Save(ctx, State{Acked: 40}))
	require.NoError(t, c.Save(ctx, State{Acked: 41, First: 42, Last: 50}))
	require.NoError(t, c.Close())

	c, err = OpenFileCursor(dir, "http://127.0.0.1:1/hook")
	require.NoError(t, err)
	st, found, err := c.Load(ctx)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, State{Acked: 41, First: 42, Last: 50}, st)
	require.True(t, st.pending())
	// A save after a reopen goes on from the file's newest slot: counted
	// from none, it overwrote the newest and left the one before it the
	// state (a mutation audit found open's generation droppable).
	require.NoError(t, c.Save(ctx, State{Acked: 50}))
	require.NoError(t, c.Close())
	c, err = OpenFileCursor(dir, "http://127.0.0.1:1/hook")
	require.NoError(t, err)
	st, _, err = c.Load(ctx)
	require.NoError(t, err)
	require.Equal(t, State{Acked: 50}, st, "the save after the reopen is the state")
	require.NoError(t, c.Close())

	other, err := OpenFileCursor(dir, "http://127.0.0.1:1/other")
	require.NoError(t, err)
	defer other.Close()
	_, found, err = other.Load(ctx)
	require.NoError(t, err)
	require.False(t, found, "another URL is another webhook")
}

func TestCursorKeyHidesTheURL(t *testing.T) {
	k := cursorKey("https://user:hunter2@example.net/hook?token=s3cret")
	require.NotContains(t, k, "hunter2")
	require.NotContains(t, k, "s3cret")
	require.Regexp(t, `^[A-Za-z0-9_]+$`, k, "a valid NATS KV key")
}

// stateGolden are stored cursors: whole, empty and broken ones.
var stateGolden = []string{`{"acked":41,"first":42,"last":50}`, `{"acked":0}`, `{"first":5,"last":1}`, `{}`, `null`, `{"acked":-1}`, ``}

// FuzzDecodeState: a stored cursor decodes whole or is refused.
func FuzzDecodeState(f *testing.F) {
	for _, seed := range stateGolden {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		st, err := decodeState(in)
		if err != nil {
			require.Zero(t, st)
			return
		}
		require.LessOrEqual(t, st.First, st.Last)
		back, err := encodeState(st)
		require.NoError(t, err)
		again, err := decodeState(back)
		require.NoError(t, err)
		require.Equal(t, st, again)
	})
}

// countingCursor is a real cursor that counts its writes.
type countingCursor struct {
	Cursor
	saves atomic.Int64
}

func (c *countingCursor) Save(ctx context.Context, st State) error {
	c.saves.Add(1)
	return c.Cursor.Save(ctx, st)
}

// Events that trickle in go out as short batches, each written to the
// cursor before it goes; that write also stores the batch before's
// acknowledgement, so a batch costs one cursor write, not two. Once
// nothing more comes, the last acknowledgement is stored within a second.
func TestCursorOneWriteAShortBatch(t *testing.T) {
	l, dir := tempLog(t)
	rc := newReceiver(t, nil)
	bc := openCursor(t, dir, rc.srv.URL)
	defer bc.Close()
	c := &countingCursor{Cursor: bc}
	r := startDeliverer(t, rc.srv.URL, l, c, WithLinger(0))
	eventually(t, func() bool { return r.d.Delivering() }, "delivering")
	before := c.saves.Load()
	for i := 1; i <= 40; i++ {
		appendN(t, l, 1)
		eventually(t, func() bool { return r.d.Acked() == uint64(i) }, "event %d delivered", i)
	}
	reqs := int64(len(rc.requests()))
	require.EqualValues(t, 40, reqs, "one short batch an event")
	eventually(t, func() bool {
		st, _, err := bc.Load(t.Context())
		return err == nil && st.Acked == 40 && !st.pending()
	}, "the last acknowledgement stored")
	saves := c.saves.Load() - before
	t.Logf("%d short batches, %d cursor writes", reqs, saves)
	assert.LessOrEqual(t, saves, reqs+5, "about one write a short batch")
}

// A backlog goes out in many batches but not as many cursor writes, yet
// one a second or so while it goes (a crash sends again at most a
// second's batches: a mutation audit found the pace slowable tenfold with
// every test passing); once caught up the stored cursor is the newest
// event, and a stop stores what was acknowledged.
func TestCursorWritesArePacedInABacklog(t *testing.T) {
	l, dir := tempLog(t)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter) {
		time.Sleep(10 * time.Millisecond) // 300 batches: 3 s or more
		w.WriteHeader(http.StatusNoContent)
	})
	bc := openCursor(t, dir, rc.srv.URL)
	defer bc.Close()
	require.NoError(t, bc.Save(t.Context(), State{Acked: 0})) // configured before the backlog
	appendN(t, l, 3000)
	c := &countingCursor{Cursor: bc}
	r := startDeliverer(t, rc.srv.URL, l, c, WithBatch(10), WithLinger(10*time.Millisecond))
	var stored uint64
	eventually(t, func() bool {
		st, _, err := bc.Load(t.Context())
		stored = st.Acked
		return err == nil && st.Acked > 0
	}, "the cursor stored")
	assert.Less(t, stored, uint64(3000), "stored while the backlog goes out, not only once caught up")
	eventually(t, func() bool { return r.d.Acked() == 3000 }, "the backlog is delivered")
	require.Equal(t, seqRange(1, 3000), seqsOf(rc.requests(), all))
	eventually(t, func() bool {
		st, _, err := bc.Load(t.Context())
		return err == nil && st.Acked == 3000
	}, "caught up, the stored cursor is the newest event")
	assert.Less(t, c.saves.Load(), int64(150), "300 batches, far fewer cursor writes")

	appendN(t, l, 1)
	eventually(t, func() bool { return r.d.Acked() == 3001 }, "one more")
	require.NoError(t, r.halt())
	st, _, err := bc.Load(t.Context())
	require.NoError(t, err)
	assert.Equal(t, uint64(3001), st.Acked)
}

// A burst after a quiet spell writes the cursor once, when it is over
// and caught up (within a second of its first acknowledgement), not also
// at its first batch because the last write is old: the pacing counts
// from the oldest acknowledgement not stored. A burst longer than a
// second may write once more a second.
func TestCursorOneWriteABurstAfterQuiet(t *testing.T) {
	l, dir := tempLog(t)
	rc := newReceiver(t, nil)
	bc := openCursor(t, dir, rc.srv.URL)
	defer bc.Close()
	require.NoError(t, bc.Save(t.Context(), State{}))
	c := &countingCursor{Cursor: bc}
	// Full batches only (a batch waits up to 5 s to fill): no short
	// batch's write before it goes.
	r := startDeliverer(t, rc.srv.URL, l, c, WithBatch(10), WithLinger(5*time.Second))
	eventually(t, func() bool { return r.d.Delivering() }, "delivering")
	stored := func(acked uint64) func() bool {
		return func() bool {
			st, _, err := bc.Load(t.Context())
			return err == nil && st.Acked == acked && !st.pending()
		}
	}
	appendN(t, l, 10)
	eventually(t, stored(10), "the first batch stored once caught up")
	quietFrom := time.Now()
	eventually(t, func() bool { return time.Since(quietFrom) > cursorEvery }, "quiet for longer than cursorEvery")

	before, sent := c.saves.Load(), len(rc.requests())
	appendN(t, l, 30)
	eventually(t, stored(40), "the burst stored once caught up")
	burst := rc.requests()[sent:]
	require.Len(t, burst, 3, "three full batches")
	require.Equal(t, seqRange(11, 40), seqsOf(burst, all))
	spread := burst[len(burst)-1].at.Sub(burst[0].at)
	saves := c.saves.Load() - before
	t.Logf("3 batches over %v, %d cursor writes", spread, saves)
	assert.LessOrEqual(t, saves, int64(1)+int64(spread/cursorEvery), "one write at the burst's end")
}
