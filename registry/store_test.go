package registry_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
	"github.com/cliser/cliser/registry/logstore"
)

func openStore(t *testing.T, dir string) *logstore.Store {
	t.Helper()
	s, err := logstore.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// stored reads what is on disk now, through the store's own Load (under
// the store's lock: it sees whole Saves only).
func stored(t *testing.T, s registry.Store) map[string]registry.Record {
	t.Helper()
	recs, err := s.Load()
	require.NoError(t, err)
	out := make(map[string]registry.Record, len(recs))
	for _, rec := range recs {
		out[rec.CID] = rec
	}
	return out
}

// startRun runs r.Run until the test ends (or stop is called) and returns
// stop, which cancels it and hands back Run's result.
func startRun(t *testing.T, r *registry.Registry) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			err = <-done
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// probeCID is the cid startRunSynced uses to see Run at work.
const probeCID = "~run-probe"

// startRunSynced starts Run and waits until it has flushed once. Run reads
// the clock for its first checkpoint when it starts, so a test that moves a
// fake clock must not move it before then, or the checkpoint it waits for
// would be scheduled from the moved time. It leaves a connected record
// probeCID behind.
func startRunSynced(t *testing.T, r *registry.Registry, s registry.Store) (stop func() error) {
	t.Helper()
	stop = startRun(t, r)
	_, _ = mustRegister(t, r, probeCID)
	require.Eventually(t, func() bool { return stored(t, s)[probeCID].CStatus }, waitFor, tick, "Run never flushed")
	return stop
}

const (
	waitFor = 5 * time.Second
	tick    = 2 * time.Millisecond
)

func TestRestartKeepsRecords(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	s1, err := logstore.Open(dir)
	require.NoError(t, err)
	r1 := registry.New(registry.WithStore(s1), registry.WithClock(clk.Now))
	_, _ = mustRegister(t, r1, "a")
	_, b := mustRegister(t, r1, "b")
	_, _ = mustRegister(t, r1, "c")
	require.NoError(t, r1.Flush())
	clk.Advance(time.Minute)
	sidC, _ := r1.Get("c")
	r1.Touch(sidC.SID, must(r1.Conn("c")))
	require.True(t, r1.Disconnect("b", b, protocol.ReasonKicked))
	require.NoError(t, r1.Flush())
	before := map[string]registry.Record{}
	for _, rec := range all(t, r1, registry.StatusAll) {
		before[rec.CID] = rec
	}
	// The process ends without disconnecting a and c.
	require.NoError(t, s1.Close())

	s2 := openStore(t, dir)
	r2 := registry.New(registry.WithStore(s2))
	n, err := r2.Load()
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	connected, total := r2.Counts()
	assert.Equal(t, 0, connected)
	assert.Equal(t, 3, total)
	assert.Empty(t, r2.Conns())

	for _, cid := range []string{"a", "c"} {
		got, ok := r2.Get(cid)
		require.True(t, ok, cid)
		want := before[cid]
		// Touch alone is not flushed (only a checkpoint writes it), so
		// last_seen on disk is the registration's.
		want.LastSeen = want.ConnectedAt
		want.CStatus = false
		want.Reason = protocol.ReasonServerRestarted
		want.DisconnectedAt = want.LastSeen
		assert.Equal(t, want, got, cid)
	}
	got, _ := r2.Get("b")
	assert.Equal(t, before["b"], got, "a disconnected record keeps its reason and time")
	assert.Equal(t, protocol.ReasonKicked, got.Reason)

	// The restart's verdict reaches the disk on the next flush.
	require.NoError(t, r2.Flush())
	disk := stored(t, s2)
	assert.False(t, disk["a"].CStatus)
	assert.Equal(t, protocol.ReasonServerRestarted, disk["a"].Reason)

	// And a returning client takes its record back.
	_, c := mustRegister(t, r2, "a")
	rec, _ := r2.Get("a")
	assert.True(t, rec.CStatus)
	assert.Equal(t, protocol.ReasonNone, rec.Reason)
	assert.Same(t, c, must(r2.Conn("a")))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestRunFlushesEveryInterval(t *testing.T) {
	s := openStore(t, t.TempDir())
	r := registry.New(registry.WithStore(s), registry.WithFlushInterval(5*time.Millisecond))
	stop := startRun(t, r)

	_, c := mustRegister(t, r, "a")
	require.Eventually(t, func() bool { return stored(t, s)["a"].CStatus }, waitFor, tick,
		"a registration reaches the disk within a flush interval")

	require.True(t, r.Disconnect("a", c, protocol.ReasonShutdown))
	require.Eventually(t, func() bool {
		rec := stored(t, s)["a"]
		return !rec.CStatus && rec.Reason == protocol.ReasonShutdown
	}, waitFor, tick)

	// Stopping Run flushes what is still pending.
	_, _ = mustRegister(t, r, "b")
	require.NoError(t, stop())
	assert.True(t, stored(t, s)["b"].CStatus)
}

func TestCheckpointWritesLastSeen(t *testing.T) {
	clk := newClock()
	s := openStore(t, t.TempDir())
	r := registry.New(registry.WithStore(s), registry.WithClock(clk.Now),
		registry.WithFlushInterval(2*time.Millisecond), registry.WithCheckpoint(time.Minute))
	sid, c := mustRegister(t, r, "a")
	registered := clk.Now()
	require.NoError(t, r.Flush())
	startRunSynced(t, r, s)

	touched := clk.Advance(10 * time.Second)
	r.Touch(sid, c)
	require.NoError(t, r.Flush())
	assert.Equal(t, registered, stored(t, s)["a"].LastSeen, "a touch alone costs no write")

	clk.Advance(time.Minute)
	require.Eventually(t, func() bool { return stored(t, s)["a"].LastSeen.Equal(touched) }, waitFor, tick,
		"the checkpoint writes last_seen of connected records")
}

func TestRetentionPrunesMemoryAndStore(t *testing.T) {
	clk := newClock()
	s := openStore(t, t.TempDir())
	r := registry.New(registry.WithStore(s), registry.WithClock(clk.Now),
		registry.WithRetention(time.Hour), registry.WithCheckpoint(time.Minute),
		registry.WithFlushInterval(2*time.Millisecond))
	_, old := mustRegister(t, r, "old")
	_, mid := mustRegister(t, r, "mid")
	_, _ = mustRegister(t, r, "live")
	require.True(t, r.Disconnect("old", old, protocol.ReasonClosedByClient))
	clk.Advance(30 * time.Minute)
	require.True(t, r.Disconnect("mid", mid, protocol.ReasonClosedByClient))
	require.NoError(t, r.Flush())
	require.Len(t, stored(t, s), 3)
	startRunSynced(t, r, s)

	// 61 minutes after old left, 31 after mid left.
	clk.Advance(31 * time.Minute)
	require.Eventually(t, func() bool {
		_, inMemory := r.Get("old")
		_, onDisk := stored(t, s)["old"]
		return !inMemory && !onDisk
	}, waitFor, tick, "a record past retention is pruned from memory and disk")
	_, ok := r.Get("mid")
	assert.True(t, ok, "mid is within retention")
	assert.Contains(t, stored(t, s), "mid")

	// Long after: mid goes too; a connected record never does.
	clk.Advance(10 * time.Hour)
	require.Eventually(t, func() bool {
		_, onDisk := stored(t, s)["mid"]
		return !onDisk
	}, waitFor, tick)
	_, ok = r.Get("mid")
	assert.False(t, ok)
	rec, ok := r.Get("live")
	require.True(t, ok)
	assert.True(t, rec.CStatus)
	assert.Contains(t, stored(t, s), "live")
	_, total := r.Counts()
	assert.Equal(t, 2, total, "live and the run probe")

	// A pruned client that comes back starts a fresh record.
	_, _ = mustRegister(t, r, "old")
	require.Eventually(t, func() bool { return stored(t, s)["old"].CStatus }, waitFor, tick)
}

func TestRetentionZeroKeepsForever(t *testing.T) {
	clk := newClock()
	s := openStore(t, t.TempDir())
	r := registry.New(registry.WithStore(s), registry.WithClock(clk.Now), registry.WithRetention(0),
		registry.WithCheckpoint(time.Minute), registry.WithFlushInterval(2*time.Millisecond))
	_, c := mustRegister(t, r, "a")
	require.True(t, r.Disconnect("a", c, protocol.ReasonKicked))
	_, live := mustRegister(t, r, "probe")
	startRunSynced(t, r, s)

	// Prove a checkpoint ran after the clock moved (it rewrites the
	// connected record's last_seen), then check nothing was pruned.
	clk.Advance(365 * 24 * time.Hour)
	rec, _ := r.Get("probe")
	touched := clk.Now()
	r.Touch(rec.SID, live)
	clk.Advance(time.Minute)
	require.Eventually(t, func() bool { return stored(t, s)["probe"].LastSeen.Equal(touched) }, waitFor, tick)
	_, ok := r.Get("a")
	assert.True(t, ok)
	assert.Contains(t, stored(t, s), "a")
}

// reopenable is a registry.Store that forwards every call to a real
// logstore.Store which the test may close and reopen. It is not a mock:
// failures come from the store itself; it only lets one Registry keep using
// the same data dir across a close and an open.
type reopenable struct {
	mu  sync.Mutex
	s   *logstore.Store
	dir string
}

// newReopenable opens a store in a fresh data dir.
func newReopenable(t *testing.T) *reopenable {
	st := &reopenable{dir: t.TempDir()}
	st.reopen(t)
	return st
}

// prunedWhileClosed runs a registry that keeps disconnected records an
// hour, on a reopenable store, with cid disconnected and on disk; then it
// closes the store and moves the clock past the hour: the registry prunes
// cid in memory while the store cannot take the delete.
func prunedWhileClosed(t *testing.T, cid string) (*registry.Registry, *reopenable) {
	t.Helper()
	clk := newClock()
	st := newReopenable(t)
	r := registry.New(registry.WithStore(st), registry.WithClock(clk.Now),
		registry.WithRetention(time.Hour), registry.WithCheckpoint(time.Minute),
		registry.WithFlushInterval(2*time.Millisecond))
	_, c := mustRegister(t, r, cid)
	require.True(t, r.Disconnect(cid, c, protocol.ReasonClosedByClient))
	require.NoError(t, r.Flush())
	startRunSynced(t, r, st)

	require.NoError(t, st.Close())
	clk.Advance(2 * time.Hour)
	require.Eventually(t, func() bool { _, ok := r.Get(cid); return !ok }, waitFor, tick)
	return r, st
}

func (r *reopenable) cur() *logstore.Store {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.s
}
func (r *reopenable) Load() ([]registry.Record, error)                { return r.cur().Load() }
func (r *reopenable) Save(put []registry.Record, gone []string) error { return r.cur().Save(put, gone) }
func (r *reopenable) Close() error                                    { return r.cur().Close() }
func (r *reopenable) WhatToFix() string                               { return r.cur().WhatToFix() }

func (r *reopenable) reopen(t *testing.T) {
	t.Helper()
	s, err := logstore.Open(r.dir)
	require.NoError(t, err)
	r.mu.Lock()
	r.s = s
	r.mu.Unlock()
	t.Cleanup(func() { _ = s.Close() })
}

func TestFailedSaveStaysPending(t *testing.T) {
	st := newReopenable(t)
	r := registry.New(registry.WithStore(st))
	_, a := mustRegister(t, r, "a")
	_, _ = mustRegister(t, r, "b")
	require.NoError(t, r.Flush())

	require.NoError(t, st.Close())
	require.True(t, r.Disconnect("a", a, protocol.ReasonKicked))
	_, _ = mustRegister(t, r, "c")
	err := r.Flush()
	require.ErrorIs(t, err, logstore.ErrClosed, "the store's real error comes through")
	err = r.Flush()
	require.ErrorIs(t, err, logstore.ErrClosed, "still pending, still failing")

	st.reopen(t)
	require.NoError(t, r.Flush(), "the kept batch goes with the next save")
	disk := stored(t, st)
	require.Len(t, disk, 3)
	assert.Equal(t, protocol.ReasonKicked, disk["a"].Reason)
	assert.True(t, disk["c"].CStatus)
	c, _ := r.Get("c")
	assert.Equal(t, c, disk["c"])
}

func TestFailedPruneStaysPending(t *testing.T) {
	_, st := prunedWhileClosed(t, "old")
	st.reopen(t)
	require.Eventually(t, func() bool {
		_, onDisk := stored(t, st)["old"]
		return !onDisk
	}, waitFor, tick, "the delete is retried once the store works again")
}

// A previous build's registry.db with a record that does not decode: the
// store migrates it as it is, and Load refuses it.
func TestLoadFailsOnCorruptStore(t *testing.T) {
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, logstore.LegacyName), 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("clients"))
		if err != nil {
			return err
		}
		return b.Put([]byte("a"), []byte("not a record"))
	}))
	require.NoError(t, db.Close())

	r := registry.New(registry.WithStore(openStore(t, dir)))
	n, err := r.Load()
	require.ErrorIs(t, err, logstore.ErrCorrupt)
	assert.Zero(t, n)
	_, total := r.Counts()
	assert.Zero(t, total)
}

func TestNoStore(t *testing.T) {
	r := registry.New(registry.WithFlushInterval(time.Millisecond))
	n, err := r.Load()
	require.NoError(t, err)
	assert.Zero(t, n)
	_, _ = mustRegister(t, r, "a")
	require.NoError(t, r.Flush())
	stop := startRun(t, r)
	require.NoError(t, stop())
}

func TestNonPositiveDurationsAreSafe(t *testing.T) {
	// A zero flush interval must not panic Run (time.NewTicker would), a
	// negative checkpoint must not break it, and a negative retention must
	// not prune every disconnected record.
	clk := newClock()
	s := openStore(t, t.TempDir())
	r := registry.New(registry.WithStore(s), registry.WithClock(clk.Now),
		registry.WithFlushInterval(0), registry.WithCheckpoint(-time.Second), registry.WithRetention(-time.Hour))
	_, c := mustRegister(t, r, "a")
	require.True(t, r.Disconnect("a", c, protocol.ReasonKicked))
	stop := startRunSynced(t, r, s)
	touched := clk.Advance(24 * time.Hour)
	probe, _ := r.Get(probeCID)
	r.Touch(probe.SID, must(r.Conn(probeCID)))
	require.Eventually(t, func() bool { return stored(t, s)[probeCID].LastSeen.Equal(touched) }, waitFor, tick,
		"a checkpoint ran after the clock moved")
	require.NoError(t, stop())
	_, ok := r.Get("a")
	assert.True(t, ok)
	assert.Contains(t, stored(t, s), "a")
}

// TestPrunedThenReturnedInOneBatch: a client pruned by retention that
// registers again before the prune reached the disk puts its cid in both
// halves of one Save. The store applies the deletes first, so the new
// record survives on disk.
func TestPrunedThenReturnedInOneBatch(t *testing.T) {
	r, st := prunedWhileClosed(t, "x")
	_, _ = mustRegister(t, r, "x") // back before the next successful flush
	st.reopen(t)

	require.Eventually(t, func() bool { return stored(t, st)["x"].CStatus }, waitFor, tick)
	rec, _ := r.Get("x")
	assert.Equal(t, rec, stored(t, st)["x"])
}

// A flush larger than one store transaction's chunk still writes every
// record (a checkpoint of thousands of connected clients).
func TestFlushAcrossChunks(t *testing.T) {
	st := openStore(t, t.TempDir())
	r := registry.New(registry.WithStore(st))
	const n = 2500
	for i := range n {
		_, _, err := r.Register(fmt.Sprintf("chunk-%04d", i), "127.0.0.1", "1000", &testConn{})
		require.NoError(t, err)
	}
	require.NoError(t, r.Flush())
	got := stored(t, st)
	require.Len(t, got, n)
	assert.True(t, got["chunk-0000"].CStatus)
	assert.True(t, got["chunk-2499"].CStatus)
}

// A flush finds its changed records by a search each when few changed,
// and by one ordered walk when many did (a burst): both must save exactly
// the changed records, as they are now.
func TestFlushFewOrManyChanged(t *testing.T) {
	st := openStore(t, t.TempDir())
	r := registry.New(registry.WithStore(st))
	const n = 200
	conns := make([]*testConn, n)
	for i := range n {
		_, conns[i] = mustRegister(t, r, cidN(i))
	}
	require.NoError(t, r.Flush())
	for _, c := range []struct {
		name    string
		changed []int
	}{{"few", []int{7, 150}}, {"many", []int{0, 3, 50, 51, 52, 120, 199}}} {
		for _, i := range c.changed {
			require.True(t, r.Disconnect(cidN(i), conns[i], protocol.ReasonKicked), c.name)
		}
		require.NoError(t, r.Flush(), c.name)
		got := stored(t, st)
		require.Len(t, got, n, c.name)
		for _, i := range c.changed {
			assert.False(t, got[cidN(i)].CStatus, "%s: %s", c.name, cidN(i))
			assert.Equal(t, protocol.ReasonKicked, got[cidN(i)].Reason, "%s: %s", c.name, cidN(i))
		}
		assert.True(t, got[cidN(8)].CStatus, c.name)
		for _, i := range c.changed { // reconnect for the next case
			_, _, err := r.Register(cidN(i), "192.0.2.1", "4000", conns[i])
			require.NoError(t, err)
		}
		require.NoError(t, r.Flush(), c.name)
	}
}

// TestConcurrentUse hammers one registry from many goroutines at once, the
// way several event loops and the admin API do: register (with takeovers
// on shared cids), disconnect, touch, get, list, conns, counts, while Run
// flushes to a real store. Run it with -race. At the end the
// registry's books must balance and the store must hold what memory holds.
func TestConcurrentUse(t *testing.T) {
	dir := t.TempDir()
	store := openStore(t, dir)
	const maxClients = 150
	r := registry.New(registry.WithStore(store), registry.WithMaxClients(maxClients),
		registry.WithFlushInterval(time.Millisecond), registry.WithCheckpoint(3*time.Millisecond))
	stop := startRun(t, r)

	const workers, ops = 8, 3000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			type live struct {
				sid  uint16
				conn *testConn
			}
			mine := map[string]live{}
			for range ops {
				// 40 cids of its own, 10 shared with every worker so that
				// takeovers race with disconnects and touches.
				cid := fmt.Sprintf("w%d-%02d", w, rng.IntN(40))
				if rng.IntN(5) == 0 {
					cid = fmt.Sprintf("shared-%d", rng.IntN(10))
				}
				switch op := rng.IntN(10); {
				case op < 4:
					c := newConn()
					sid, replaced, err := r.Register(cid, "192.0.2.1", "1", c)
					if err != nil {
						assert.ErrorIs(t, err, registry.ErrFull)
						if replaced != nil {
							// The place was freed but not retaken: the
							// old conn must still be told to go.
							_ = replaced.Close(protocol.ReasonReplaced)
						}
						continue
					}
					assert.NotZero(t, sid)
					if replaced != nil {
						_ = replaced.Close(protocol.ReasonReplaced)
					}
					mine[cid] = live{sid, c}
				case op < 7:
					if l, ok := mine[cid]; ok {
						replaced := len(l.conn.closed()) > 0
						ok := r.Disconnect(cid, l.conn, protocol.ReasonClosedByClient)
						if replaced {
							assert.False(t, ok, "a replaced conn disconnected %s", cid)
						}
						delete(mine, cid)
					}
				case op < 8:
					if l, ok := mine[cid]; ok {
						r.Touch(l.sid, l.conn)
					}
				case op < 9:
					if rec, ok := r.Get(cid); ok {
						assert.Equal(t, cid, rec.CID)
					}
					if c, err := r.Conn(cid); err == nil {
						assert.NotNil(t, c)
					}
				default:
					p := r.List(registry.Query{Status: registry.StatusConnected, Limit: 20})
					for _, rec := range p.Records {
						assert.True(t, rec.CStatus)
						assert.NotZero(t, rec.SID)
					}
					connected, total := r.Counts()
					assert.LessOrEqual(t, connected, total)
					assert.LessOrEqual(t, connected, maxClients)
					assert.LessOrEqual(t, len(r.Conns()), maxClients)
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, stop())

	// The books balance.
	connected, total := r.Counts()
	conns := r.Conns()
	recs := all(t, r, registry.StatusAll)
	require.Len(t, recs, total)
	sids := map[uint16]string{}
	var nConnected int
	for _, rec := range recs {
		if !rec.CStatus {
			assert.NotEqual(t, protocol.ReasonNone, rec.Reason, rec.CID)
			assert.False(t, rec.DisconnectedAt.IsZero(), rec.CID)
			continue
		}
		nConnected++
		require.NotZero(t, rec.SID)
		prev, dup := sids[rec.SID]
		require.False(t, dup, "sid %d held by %s and %s", rec.SID, prev, rec.CID)
		sids[rec.SID] = rec.CID
		c, err := r.Conn(rec.CID)
		require.NoError(t, err)
		assert.Empty(t, c.(*testConn).closed(), "%s is owned by a conn that was replaced", rec.CID)
	}
	assert.Equal(t, connected, nConnected, "connected count == records with cstatus")
	assert.Equal(t, connected, len(conns), "connected count == len(Conns())")
	assert.Len(t, all(t, r, registry.StatusConnected), connected)
	assert.Len(t, all(t, r, registry.StatusDisconnected), total-connected)

	// Run's last flush left the store equal to memory (last_seen aside:
	// a Touch alone is written only by a checkpoint).
	require.NoError(t, store.Close())
	disk, err := openStore(t, dir).Load()
	require.NoError(t, err)
	require.Len(t, disk, len(recs))
	for i := range recs {
		assert.False(t, disk[i].LastSeen.After(recs[i].LastSeen), recs[i].CID)
		disk[i].LastSeen, recs[i].LastSeen = time.Time{}, time.Time{}
	}
	assert.Equal(t, recs, disk)
}

// Records changed and then pruned before a flush wrote them leave the
// list of changed records, all in one pass that keeps the others on it:
// the flush deletes them, does not write them back after the delete, and
// still writes the connected record the same sweep marked.
func TestChangedThenPrunedIsNotWrittenBack(t *testing.T) {
	clk := newClock()
	st := openStore(t, t.TempDir())
	r := registry.New(registry.WithStore(st), registry.WithClock(clk.Now),
		registry.WithRetention(time.Hour), registry.WithCheckpoint(time.Minute),
		registry.WithFlushInterval(100*time.Millisecond))
	gone := []string{"x", "y", "z"}
	for _, cid := range gone {
		_, c := mustRegister(t, r, cid)
		require.True(t, r.Disconnect(cid, c, protocol.ReasonClosedByClient))
	}
	_, _ = mustRegister(t, r, "live")
	require.NoError(t, r.Flush())
	startRunSynced(t, r, st)

	// Within one flush interval: the next step of Run prunes them, then
	// flushes, with them still changed.
	for _, cid := range gone {
		require.True(t, r.Rewrite(cid))
	}
	clk.Advance(2 * time.Hour)
	require.Eventually(t, func() bool { _, ok := r.Get("z"); return !ok }, waitFor, tick, "pruned")
	require.NoError(t, r.Flush())
	onDisk := stored(t, st)
	for _, cid := range gone {
		assert.NotContains(t, onDisk, cid, "a pruned record is deleted, not written back")
	}
	assert.Contains(t, onDisk, "live")
}

// A start goes on with the sids after the one the previous run handed
// out last (the record that connected last), where it began again at 1:
// sid 1 named another client seconds after a restart (protocol audit).
// Past 65535 it comes round to 1, as within a run.
func TestLoadResumesTheSIDRotation(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		sids []uint16 // in the order the records connected
		next uint16
	}{
		{"after the last connected", []uint16{3, 9, 5}, 6},
		{"round past 65535", []uint16{7, 65535}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			store := openStore(t, dir)
			for i, sid := range tc.sids {
				at := t0.Add(time.Duration(i) * time.Second)
				require.NoError(t, store.Save([]registry.Record{{CID: fmt.Sprintf("c%d", i), SID: sid, CIP: "192.0.2.1", CPort: "1",
					ConnectedAt: at, LastSeen: at, DisconnectedAt: at, Reason: protocol.ReasonClosedByClient}}, nil))
			}
			require.NoError(t, store.Close())
			r := registry.New(registry.WithStore(openStore(t, dir)))
			_, err := r.Load()
			require.NoError(t, err)
			sid, _ := mustRegister(t, r, "after-restart")
			assert.Equal(t, tc.next, sid)
		})
	}
}
